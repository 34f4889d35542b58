"""An app with a timer function beside durable ones: the timer runs in the host's process, the
rest in the worker processes (SplitWorker)."""

import os

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer", run_on_startup=False)
def yearly(timer: func.TimerRequest) -> None:
    pass


@app.activity_trigger(input_name="value")
def pid(value):
    return os.getpid()


@app.orchestration_trigger(context_name="context")
def where(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("pid", None))
