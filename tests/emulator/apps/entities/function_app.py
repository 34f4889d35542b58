"""A small app with function-based durable entities (SDK 1.7, v2 programming model).

Used by tests/emulator and benchmarks/entities.py; not part of the deployed app.
"""

import json
import os
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

COUNTER = "Counter"


@app.entity_trigger(context_name="context")
def Counter(context: df.DurableEntityContext):  # noqa: N802 - entity names are the function's
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        value += context.get_input()
        context.set_state(value)
    elif operation == "reset":
        value = 0
        context.set_state(value)
    elif operation == "fail":
        # The state change of a failing operation is kept by the real host for Python
        # entities (no rollback out of process); the error goes to the caller.
        context.set_state(value + 1000)
        raise ValueError(f"boom at {value}")
    elif operation == "delete":
        context.set_result(value)
        context.destruct_on_exit()
        return
    elif operation == "stall":
        # Crash tests: while the flag file holds a positive count, the batch decrements it,
        # says so through the marker file and blocks, so that the test can kill the host
        # mid-batch (once per count).
        spec = context.get_input()
        left = int(open(spec["flag"]).read() or 0) if os.path.exists(spec["flag"]) else 0
        if left > 0:
            with open(spec["flag"], "w") as flag:
                flag.write(str(left - 1))
            with open(spec["marker"], "w") as marker:
                marker.write(str(left))
            time.sleep(spec.get("seconds", 60))
        value += 100
        context.set_state(value)
    elif operation == "nan":
        value = float("nan")  # the SDK writes NaN into the state text; the host serves null
        context.set_state({"value": value})
        context.set_result(None)
        return
    elif operation == "spin":
        while True:  # never returns: the batch runs into functionTimeout
            value += 1
    elif operation == "whoami":
        context.set_result([context.entity_name, context.entity_key])
        return
    elif operation != "get":
        raise NotImplementedError(f"unknown operation {operation!r}")
    context.set_result(value)


@app.entity_trigger(context_name="context", entity_name="Log")
def log_entity(context: df.DurableEntityContext):
    """Appends each input to a list: the order operations ran in."""
    entries = context.get_state(list)
    if context.operation_name == "append":
        entries.append(context.get_input())
        context.set_state(entries)
    context.set_result(len(entries))


@app.orchestration_trigger(context_name="context")
def add_and_get(context: df.DurableOrchestrationContext):
    """Calls ``add`` on one counter ``count`` times in a chain, then reads it."""
    spec = context.get_input()
    entity = df.EntityId(COUNTER, spec["key"])
    for _ in range(spec.get("count", 1)):
        yield context.call_entity(entity, "add", spec.get("amount", 1))
    return (yield context.call_entity(entity, "get"))


@app.orchestration_trigger(context_name="context")
def call_op(context: df.DurableOrchestrationContext):
    """One call: ``{"name", "key", "op", "input"}`` -> the operation's result."""
    spec = context.get_input()
    entity = df.EntityId(spec.get("name", COUNTER), spec["key"])
    return (yield context.call_entity(entity, spec["op"], spec.get("input")))


@app.orchestration_trigger(context_name="context")
def signal_then_get(context: df.DurableOrchestrationContext):
    entity = df.EntityId(COUNTER, context.get_input())
    context.signal_entity(entity, "add", 5)
    context.signal_entity(entity, "add", 7)
    return (yield context.call_entity(entity, "get"))


@app.orchestration_trigger(context_name="context")
def call_failing(context: df.DurableOrchestrationContext):
    entity = df.EntityId(COUNTER, context.get_input())
    try:
        yield context.call_entity(entity, "fail")
    except Exception as exc:  # the operation's error arrives as an exception
        return {"error": str(exc), "after": (yield context.call_entity(entity, "get"))}
    return "no error"


@app.orchestration_trigger(context_name="context")
def yield_signal(context: df.DurableOrchestrationContext):
    yield context.signal_entity(df.EntityId(COUNTER, "yielded"), "add", 1)
    return "unreachable: a yielded signal never completes"


@app.orchestration_trigger(context_name="context")
def call_missing_entity(context: df.DurableOrchestrationContext):
    return (yield context.call_entity(df.EntityId("NoSuchEntity", "x"), "get"))


@app.route(route="signal/{name}/{key}/{operation}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def signal(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    value = json.loads(body) if body else None
    entity = df.EntityId(req.route_params["name"], req.route_params["key"])
    await client.signal_entity(entity, req.route_params["operation"], value)
    return func.HttpResponse(status_code=202)


@app.route(route="state/{name}/{key}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def state(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    entity = df.EntityId(req.route_params["name"], req.route_params["key"])
    response = await client.read_entity_state(entity)
    return func.HttpResponse(json.dumps({"exists": response.entity_exists,
                                         "state": response.entity_state}),
                             mimetype="application/json")
