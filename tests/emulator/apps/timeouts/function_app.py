"""Functions that never return, under a one-second ``functionTimeout`` (host.json).

Used by tests/emulator/test_hostile_http.py; not part of the deployed app.
"""

import asyncio
import os

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _block_on_fifo() -> str:
    """Read the FIFO named by the HANG_FIFO setting (a file swapped for a FIFO): open() blocks
    until a writer appears, which only the test's clean-up does."""
    with open(os.environ["HANG_FIFO"]) as fifo:
        return fifo.read() or "released"


@app.activity_trigger(input_name="value")
def hang_sync(value):
    return _block_on_fifo()


@app.activity_trigger(input_name="value")
async def hang_async(value):
    await asyncio.Event().wait()


@app.activity_trigger(input_name="value")
def quick(value):
    return value


@app.orchestration_trigger(context_name="context")
def hanging(context: df.DurableOrchestrationContext):
    activity = context.get_input()
    try:
        yield context.call_activity(activity, 1)
    except Exception as exc:  # noqa: BLE001 - the test reads the message
        return f"caught: {exc}"
    return "returned"


@app.orchestration_trigger(context_name="context")
def quick_chain(context: df.DurableOrchestrationContext):
    results = []
    for n in range(3):
        results.append((yield context.call_activity("quick", n)))
    return results


@app.route(route="hang", methods=["GET"])
def hang_http(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(_block_on_fifo())


@app.route(route="hang_async", methods=["GET"])
async def hang_http_async(req: func.HttpRequest) -> func.HttpResponse:
    await asyncio.Event().wait()


@app.route(route="hang_stubborn", methods=["GET"])
async def hang_http_stubborn(req: func.HttpRequest) -> func.HttpResponse:
    """Catches its cancellation and goes on waiting: the host must not wait for it."""
    while True:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            continue


@app.route(route="late_answer", methods=["GET"])
async def late_answer(req: func.HttpRequest) -> func.HttpResponse:
    """Catches its cancellation and answers: still a timeout."""
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        return func.HttpResponse("too late")


@app.route(route="block_loop", methods=["GET"])
async def block_loop(req: func.HttpRequest) -> func.HttpResponse:
    """An async function that blocks the event loop (the mistake the watchdog names)."""
    return func.HttpResponse(_block_on_fifo())


@app.route(route="quick", methods=["GET"])
def quick_http(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("quick")
