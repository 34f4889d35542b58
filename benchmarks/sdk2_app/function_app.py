"""The 2.x benchmark app (azure-functions-durable 2.x, Python 3.13+): ``benchmarks/app``'s
orchestrations in the durabletask style the 2.x SDK's README puts first (``def f(ctx, input)``,
``task.when_all``), with the same async activity."""

import asyncio

import azure.durable_functions as df
import azure.functions as func
from durabletask import task

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="seconds")
async def wait(seconds: float) -> float:
    if seconds:
        await asyncio.sleep(seconds)
    return seconds


@app.orchestration_trigger(context_name="ctx")
def fan_out(ctx: task.OrchestrationContext, spec: dict):
    results = yield task.when_all([ctx.call_activity("wait", input=spec["seconds"])
                                   for _ in range(spec["count"])])
    return len(results)


@app.orchestration_trigger(context_name="ctx")
def chain(ctx: task.OrchestrationContext, steps: int):
    for _ in range(steps):
        yield ctx.call_activity("wait", input=0)
    return steps
