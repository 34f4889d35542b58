"""A small app that exercises the durable protocol, one orchestrator per feature.

Used by tests/emulator; not part of the deployed app.
"""

import asyncio
import json
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# Failures left per key for the "flaky" activity; tests set it through the input.
_FAILURES: dict[str, int] = {}
# The activity that `drifting` schedules first: tests change it to simulate a code change.
DRIFT = {"first": "echo"}


@app.activity_trigger(input_name="value")
def echo(value):
    return value


@app.activity_trigger(input_name="value")
async def double(value: int) -> int:
    return value * 2


@app.activity_trigger(input_name="spec")
async def nap(spec: dict) -> int:
    await asyncio.sleep(spec["seconds"])
    return spec.get("value", 0)


@app.activity_trigger(input_name="spec")
def flaky(spec: dict) -> str:
    key = spec["key"]
    left = _FAILURES.setdefault(key, spec["fail_times"])
    if left > 0:
        _FAILURES[key] = left - 1
        raise ValueError(f"transient failure, {left - 1} left")
    return "ok"


@app.activity_trigger(input_name="message")
def explode(message: str):
    raise ValueError(message)


@app.activity_trigger(input_name="value")
def not_a_number(value):
    return float("nan")


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    value = context.get_input()
    results = []
    for suffix in ("a", "b", "c"):
        context.set_custom_status(f"step {suffix}")
        results.append((yield context.call_activity("echo", f"{value}-{suffix}")))
    return results


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    spec = context.get_input()
    if spec.get("seconds"):
        tasks = [context.call_activity("nap", {"seconds": spec["seconds"], "value": i})
                 for i in range(spec["count"])]
    else:
        tasks = [context.call_activity("double", i) for i in range(spec["count"])]
    results = yield context.task_all(tasks)
    return sum(results)


@app.orchestration_trigger(context_name="context")
def retrying(context: df.DurableOrchestrationContext):
    spec = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=spec.get("interval_ms", 60000),
                              max_number_of_attempts=spec["attempts"])
    return (yield context.call_activity_with_retry("flaky", options, spec))


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    first = yield context.call_sub_orchestrator("chain", "x")
    both = yield context.task_all([
        context.call_sub_orchestrator("chain", "y"),
        context.call_sub_orchestrator("chain", "z", instance_id=f"{context.instance_id}-z"),
    ])
    return [first, *both]


@app.orchestration_trigger(context_name="context")
def parent_of_waiter(context: df.DurableOrchestrationContext):
    return (yield context.call_sub_orchestrator("waiter", None,
                                                instance_id=f"{context.instance_id}-child"))


@app.orchestration_trigger(context_name="context")
def parent_of_failure(context: df.DurableOrchestrationContext):
    try:
        yield context.call_sub_orchestrator("failing", "child boom")
    except Exception as exc:  # noqa: BLE001 - the test reads the message
        return f"caught: {exc}"
    return "no error"


@app.orchestration_trigger(context_name="context")
def sleeper(context: df.DurableOrchestrationContext):
    hours = context.get_input()
    yield context.create_timer(context.current_utc_datetime + timedelta(hours=hours))
    return context.current_utc_datetime.isoformat()


@app.orchestration_trigger(context_name="context")
def waiter(context: df.DurableOrchestrationContext):
    context.set_custom_status("waiting")
    data = yield context.wait_for_external_event("go")
    return data


@app.orchestration_trigger(context_name="context")
def busy_then_wait(context: df.DurableOrchestrationContext):
    yield context.call_activity("nap", {"seconds": 0.3, "value": 1})
    data = yield context.wait_for_external_event("go")
    return data


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    timeout = context.create_timer(context.current_utc_datetime + timedelta(hours=24))
    event = context.wait_for_external_event("approve")
    context.set_custom_status("awaiting approval")
    winner = yield context.task_any([event, timeout])
    if winner == event:
        timeout.cancel()
        data = event.result
        return {"approved": json.loads(data) if isinstance(data, str) else data}
    return {"timed_out": True}


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):
    count = context.get_input() or 0
    if count < 3:
        context.continue_as_new(count + 1)
        return None
    return count


@app.orchestration_trigger(context_name="context")
def failing(context: df.DurableOrchestrationContext):
    message = context.get_input()
    yield context.call_activity("explode", message)
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def non_finite(context: df.DurableOrchestrationContext):
    value = yield context.call_activity("not_a_number", 1)
    context.set_custom_status({"inf": float("inf")})
    return [value, float("-inf")]


@app.orchestration_trigger(context_name="context")
def catching(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("explode", "caught boom")
    except Exception as exc:  # noqa: BLE001 - the host raises a plain Exception
        return str(exc)
    return "no error"


@app.orchestration_trigger(context_name="context")
def raising(context: df.DurableOrchestrationContext):
    yield context.call_activity("echo", 1)
    raise RuntimeError("orchestrator boom")


@app.orchestration_trigger(context_name="context")
def drifting(context: df.DurableOrchestrationContext):
    yield context.call_activity(DRIFT["first"], 1)
    data = yield context.wait_for_external_event("go")
    return data


@app.orchestration_trigger(context_name="context")
def http_caller(context: df.DurableOrchestrationContext):
    response = yield context.call_http("GET", context.get_input())
    return {"status": response["statusCode"], "content": response["content"]}


@app.orchestration_trigger(context_name="context")
def flaky_child(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("flaky", context.get_input()))


@app.orchestration_trigger(context_name="context")
def sub_retrying(context: df.DurableOrchestrationContext):
    spec = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=30_000,
                              max_number_of_attempts=spec["attempts"])
    return (yield context.call_sub_orchestrator_with_retry("flaky_child", options, spec))


@app.orchestration_trigger(context_name="context")
def unknown_sub(context: df.DurableOrchestrationContext):
    return (yield context.call_sub_orchestrator("no_such_orchestrator", 1))


@app.orchestration_trigger(context_name="context")
def unknown_activity(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("does_not_exist", 1))


@app.route(route="client/{operation}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def client_ops(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """Drives the SDK's own DurableOrchestrationClient against the host."""
    operation = req.route_params["operation"]
    body = req.get_json() if req.get_body() else {}
    if operation == "start":
        instance_id = await client.start_new(body["name"], body.get("instance_id"),
                                             body.get("input"))
        return client.create_check_status_response(req, instance_id)
    if operation == "run":
        instance_id = await client.start_new(body["name"], None, body.get("input"))
        return await client.wait_for_completion_or_create_check_status_response(
            req, instance_id, timeout_in_milliseconds=body.get("timeout_ms", 10000),
            retry_interval_in_milliseconds=50)
    if operation == "status":
        status = await client.get_status(body["instance_id"], show_history=True,
                                         show_history_output=True, show_input=True)
        body = status.to_json()
        # The SDK keeps the host's historyEvents as an attribute of that name (to_json drops it).
        body["historyEvents"] = getattr(status, "historyEvents", None)
        return func.HttpResponse(json.dumps(body, default=str),
                                 mimetype="application/json")
    if operation == "raise":
        await client.raise_event(body["instance_id"], body["event"], body.get("data"))
        return func.HttpResponse(status_code=202)
    if operation == "terminate":
        await client.terminate(body["instance_id"], body.get("reason", "stop"))
        return func.HttpResponse(status_code=202)
    if operation == "purge":
        result = await client.purge_instance_history(body["instance_id"])
        return func.HttpResponse(json.dumps({"deleted": result.instances_deleted}),
                                 mimetype="application/json")
    if operation == "list":
        statuses = await client.get_status_all()
        return func.HttpResponse(json.dumps([s.instance_id for s in statuses]),
                                 mimetype="application/json")
    return func.HttpResponse(json.dumps({"error": f"unknown operation {operation}"}),
                             status_code=400, mimetype="application/json")


@app.route(route="hello/{name?}", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("name") or req.params.get("name") or "world"
    return func.HttpResponse(f"hello {name}", headers={"X-Test": "yes"})


@app.route(route="boom", methods=["GET"])
async def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("user code failed")


@app.route(route="echo", methods=["POST", "PUT"])
async def echo_http(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({
        "method": req.method, "params": dict(req.params), "body": req.get_body().decode(),
        "header": req.headers.get("x-custom")}), mimetype="application/json")
