"""The workers benchmark app: a fan-out of CPU-bound activities, and the cheapest activity for
the per-call overhead of a worker process against the in-process worker."""

import os
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="ms")
def burn(ms: int) -> int:
    """``ms`` milliseconds of this thread's CPU time (real work on one core); the process id."""
    end = time.thread_time() + ms / 1000
    while time.thread_time() < end:
        pass
    return os.getpid()


@app.orchestration_trigger(context_name="context")
def cpu_fan_out_50ms(context: df.DurableOrchestrationContext):
    count = context.get_input()
    pids = yield context.task_all([context.call_activity("burn", 50) for _ in range(count)])
    return len(set(pids))


@app.orchestration_trigger(context_name="context")
def zero_fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()
    results = yield context.task_all([context.call_activity("burn", 0) for _ in range(count)])
    return len(results)


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    steps = context.get_input()
    for _ in range(steps):
        yield context.call_activity("burn", 0)
    return steps
