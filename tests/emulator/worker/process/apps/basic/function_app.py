"""A small app for the worker-process tests: one function of each kind, and functions that log,
print, raise, crash their process, hang, burn CPU, wait for each other or report where they run."""

import asyncio
import logging
import os
import sys
import threading
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
_pair = threading.Barrier(2)


@app.activity_trigger(input_name="value")
def echo(value):
    return value


@app.activity_trigger(input_name="value")
async def double(value: int) -> int:
    await asyncio.sleep(0)
    return value * 2


@app.activity_trigger(input_name="value")
def where(value, context):
    return {"pid": os.getpid(), "thread": threading.current_thread().name,
            "python": sys.version.split()[0], "dev_mode": bool(sys.flags.dev_mode),
            "cwd": os.getcwd(), "function": context.function_name,
            "setting": os.environ.get("BASIC_APP_SETTING")}


@app.activity_trigger(input_name="message")
def talk(message):
    logging.getLogger("basic.talk").warning("said %s", message)
    print(f"printed {message}")
    return message


@app.activity_trigger(input_name="message")
def explode(message):
    raise ValueError(message)


@app.activity_trigger(input_name="code")
def die(code):
    time.sleep(0.05)
    os._exit(code)


@app.activity_trigger(input_name="seconds")
def hang(seconds):
    time.sleep(seconds)
    return seconds


@app.activity_trigger(input_name="seconds")
async def hang_async(seconds):
    await asyncio.sleep(seconds)
    return seconds


@app.activity_trigger(input_name="seconds")
async def hog(seconds):
    """Holds the worker's event loop (a blocking call in an ``async def``)."""
    time.sleep(seconds)
    return seconds


@app.activity_trigger(input_name="ms")
def burn(ms):
    """Real CPU work for ``ms`` milliseconds of this thread's CPU time."""
    end = time.thread_time() + ms / 1000
    count = 0
    while time.thread_time() < end:
        count += 1
    return os.getpid()


@app.activity_trigger(input_name="timeout")
def pair(timeout):
    """Returns only when two calls run at once (a thread pool of at least two threads)."""
    _pair.wait(timeout)
    return "paired"


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("echo", context.get_input())
    second = yield context.call_activity("double", first)
    return second


@app.orchestration_trigger(context_name="context")
def burn_fan_out(context: df.DurableOrchestrationContext):
    """``count`` CPU calls of ``ms`` each, retried (a worker killed under one fails it)."""
    spec = context.get_input()
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=3)
    pids = yield context.task_all([context.call_activity_with_retry("burn", retry, spec["ms"])
                                   for _ in range(spec["count"])])
    return {"calls": len(pids), "pids": sorted(set(pids))}


@app.orchestration_trigger(context_name="context")
def plain_fan_out(context: df.DurableOrchestrationContext):
    spec = context.get_input()
    pids = yield context.task_all([context.call_activity("burn", spec["ms"])
                                   for _ in range(spec["count"])])
    return len(pids)


@app.orchestration_trigger(context_name="context")
def calls_die(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("die", context.get_input())
    return result


@app.orchestration_trigger(context_name="context")
def crash_once(context: df.DurableOrchestrationContext):
    """Kills its worker the first time it runs (a marker file says it did), then completes."""
    marker = context.get_input()
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(9)
    value = yield context.call_activity("echo", "after the crash")
    return value


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext):
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    context.set_state(value)
    context.set_result(value)


@app.route(route="hello/{name}", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"hello {req.route_params['name']} {req.params.get('x', '')}",
                             status_code=201, headers={"X-Worker": str(os.getpid())})


@app.route(route="length", methods=["POST"])
def length(req: func.HttpRequest) -> str:
    return str(len(req.get_body()))


@app.route(route="data", methods=["POST"])
@app.durable_client_input(client_name="client")
async def data(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    return {"body": req.get_json(), "hub": client._orchestration_bindings.task_hub_name}
