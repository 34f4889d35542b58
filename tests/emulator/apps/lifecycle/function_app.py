"""A small app for versioning and rewind: orchestrators that branch on ``context.version`` and
activities that fail until a test "repairs" them.

Used by tests/emulator; not part of the deployed app. Tests copy it to a temporary folder when
they need another host.json.
"""

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# Keys whose ``fragile`` calls fail: a test puts a key in, lets the instance fail, takes it out
# ("repairs the downstream system") and rewinds.
BROKEN: set[str] = set()
CALLS: dict[str, int] = {}


@app.activity_trigger(input_name="value")
def echo(value):
    return value


@app.activity_trigger(input_name="key")
def fragile(key: str) -> str:
    CALLS[key] = CALLS.get(key, 0) + 1
    if key in BROKEN:
        raise RuntimeError(f"{key} is down")
    return f"{key} ok"


@app.orchestration_trigger(context_name="context")
def versioned(context: df.DurableOrchestrationContext):
    """Waits for "go", then takes the branch of the version it was started with."""
    started_as = context.version
    context.set_custom_status({"version": started_as})
    yield context.wait_for_external_event("go")
    if context.version == "1.0":
        step = yield context.call_activity("echo", "legacy step")
    else:
        step = yield context.call_activity("echo", "new step")
    return {"version": context.version, "step": step}


@app.orchestration_trigger(context_name="context")
def version_of(context: df.DurableOrchestrationContext):
    return context.version


@app.orchestration_trigger(context_name="context")
def version_loop(context: df.DurableOrchestrationContext):
    """Continues as new once; the new execution reports its version."""
    if context.get_input() is None:
        context.continue_as_new("again")
        return None
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=2)
    child = yield context.call_sub_orchestrator_with_retry("version_of", retry, None, None,
                                                           "0.1")
    return {"after_continue_as_new": context.version, "retried_child": child}


@app.orchestration_trigger(context_name="context")
def versioned_parent(context: df.DurableOrchestrationContext):
    pinned = yield context.call_sub_orchestrator("version_of", None, None, "0.9")
    default = yield context.call_sub_orchestrator("version_of")
    return {"parent": context.version, "pinned_child": pinned, "default_child": default}


@app.orchestration_trigger(context_name="context")
def newer_child_parent(context: df.DurableOrchestrationContext):
    """Calls a child pinned to a version newer than any host here; reports how it ended."""
    try:
        return (yield context.call_sub_orchestrator("version_of", None, None, "9.0"))
    except Exception as exc:  # the SDK's Exception("<Reason> \n <Details>")
        return {"child_failed": str(exc)}


@app.orchestration_trigger(context_name="context")
def fragile_chain(context: df.DurableOrchestrationContext):
    key = context.get_input()
    first = yield context.call_activity("echo", f"{key}: first")
    second = yield context.call_activity("fragile", key)
    third = yield context.call_activity("echo", f"{key}: third")
    return [first, second, third]


@app.orchestration_trigger(context_name="context")
def fragile_fan(context: df.DurableOrchestrationContext):
    keys = context.get_input()
    return (yield context.task_all([context.call_activity("fragile", k) for k in keys]))


@app.orchestration_trigger(context_name="context")
def fragile_parent(context: df.DurableOrchestrationContext):
    key = context.get_input()
    healthy = yield context.call_sub_orchestrator("fragile_chain", f"{key}-healthy")
    broken = yield context.call_sub_orchestrator("fragile_chain", key, f"{key}-child")
    return {"healthy": healthy, "broken": broken}


@app.orchestration_trigger(context_name="context")
def fragile_grandparent(context: df.DurableOrchestrationContext):
    key = context.get_input()
    return (yield context.call_sub_orchestrator("fragile_parent", key, f"{key}-parent"))


@app.route(route="client/{operation}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def client_ops(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """Drives the SDK's own DurableOrchestrationClient against the host."""
    operation = req.route_params["operation"]
    body = req.get_json() if req.get_body() else {}
    try:
        if operation == "start":
            instance_id = await client.start_new(body["name"], body.get("instance_id"),
                                                 body.get("input"), body.get("version"))
            return client.create_check_status_response(req, instance_id)
        if operation == "run":
            instance_id = await client.start_new(body["name"], body.get("instance_id"),
                                                 body.get("input"), body.get("version"))
            return await client.wait_for_completion_or_create_check_status_response(
                req, instance_id, timeout_in_milliseconds=body.get("timeout_ms", 10000),
                retry_interval_in_milliseconds=body.get("interval_ms", 50))
        if operation == "status":
            status = await client.get_status(body["instance_id"])
            result = status.to_json()
            result["version"] = getattr(status, "version", None)
            return func.HttpResponse(json.dumps(result, default=str),
                                     mimetype="application/json")
        if operation == "rewind":
            await client.rewind(body["instance_id"], body.get("reason", "repaired"))
            return func.HttpResponse(status_code=202)
        if operation == "raise":
            await client.raise_event(body["instance_id"], body["event"], body.get("data"))
            return func.HttpResponse(status_code=202)
    except Exception as exc:  # the SDK's own error, for the test to read
        return func.HttpResponse(json.dumps({"error": str(exc)}), status_code=409,
                                 mimetype="application/json")
    return func.HttpResponse(json.dumps({"error": f"unknown operation {operation}"}),
                             status_code=400, mimetype="application/json")
