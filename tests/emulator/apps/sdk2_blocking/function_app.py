"""A 2.x app (azure-functions-durable 2.x) whose ``async def`` activity blocks the app's own
event loop until the test releases it: the host's loop watchdog must name it. Used by
tests/emulator/sdk2/test_app_loop_watchdog.py; not part of the deployed app."""

import threading

import azure.durable_functions as df
import azure.functions as func
from durabletask import task

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
RELEASE = threading.Event()


@app.activity_trigger(input_name="name")
async def hold(name: str) -> str:
    RELEASE.wait(30)  # blocks the loop, as time.sleep in an async def would
    return f"released {name}"


@app.orchestration_trigger(context_name="ctx")
def holds(ctx: task.OrchestrationContext, name: str):
    return (yield ctx.call_activity("hold", input=name))
