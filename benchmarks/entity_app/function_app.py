"""The entity benchmark app: one counter entity and the orchestrations that drive it."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext):
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
        context.set_state(value)
    context.set_result(value)


@app.orchestration_trigger(context_name="context")
def signal_entities(context: df.DurableOrchestrationContext):
    """``count`` signals spread over ``keys`` counters (prefix ``run``), fire and forget."""
    spec = context.get_input()
    for number in range(spec["count"]):
        key = f"{spec['run']}-{number % spec['keys']}"
        context.signal_entity(df.EntityId("counter", key), "add", 1)
    return spec["count"]


@app.orchestration_trigger(context_name="context")
def call_chain(context: df.DurableOrchestrationContext):
    """``steps`` calls to one counter, one after the other."""
    spec = context.get_input()
    entity = df.EntityId("counter", spec["key"])
    value = 0
    for _ in range(spec["steps"]):
        value = yield context.call_entity(entity, "add", 1)
    return value
