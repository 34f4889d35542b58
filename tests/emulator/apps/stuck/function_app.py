"""Orchestrator code that never returns, and one that does (orchestrator deadline tests)."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="value")
def echo(value: str) -> str:
    return value


def spin_forever(counter: int) -> int:
    while True:
        counter += 1


@app.orchestration_trigger(context_name="context")
def spin(context: df.DurableOrchestrationContext):
    yield context.call_activity("echo", "before")
    spin_forever(0)


@app.orchestration_trigger(context_name="context")
def quick(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("echo", context.get_input()))
