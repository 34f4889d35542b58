"""The benchmark app: the smallest orchestrations that exercise each cost of the engine."""

import asyncio

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="seconds")
async def wait(seconds: float) -> float:
    if seconds:
        await asyncio.sleep(seconds)
    return seconds


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    spec = context.get_input()
    results = yield context.task_all([context.call_activity("wait", spec["seconds"])
                                      for _ in range(spec["count"])])
    return len(results)


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    steps = context.get_input()
    for _ in range(steps):
        yield context.call_activity("wait", 0)
    return steps
