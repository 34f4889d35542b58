"""A 2.x durable app (azure-functions-durable 2.x, Python 3.13+) with both authoring styles:
v1-style one-argument orchestrators over the compatibility layer, durabletask-style
two-argument ones, a class-based and a function entity, and a durable client HTTP function."""

from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import azure.functions as func
from durabletask import entities, task
from durabletask.client import TaskHubGrpcClient

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"Hello {name}!"


@app.orchestration_trigger(context_name="context")
def hello_v1(context: df.DurableOrchestrationContext):
    cities = context.get_input() or ["Tokyo", "London"]
    results = []
    for city in cities:
        results.append((yield context.call_activity("say_hello", city)))
    return results


@app.orchestration_trigger(context_name="context")
def hello_dtask(ctx: task.OrchestrationContext, cities: list[str]):
    tasks = [ctx.call_activity("say_hello", input=city) for city in cities]
    results = yield task.when_all(tasks)
    counter = entities.EntityInstanceId("counter", "c1")
    ctx.signal_entity(counter, "add", len(results))
    total = yield ctx.call_entity(counter, "get")
    return {"greetings": results, "counted": total}


@app.entity_trigger(context_name="context", entity_name="counter")
class Counter(entities.DurableEntity):
    def add(self, amount: int) -> int:
        value = self.get_state(int, 0) + amount
        self.set_state(value)
        return value

    def get(self, _=None) -> int:
        return self.get_state(int, 0)

    def spawn(self, instance_id: str) -> None:
        """Starts an orchestration from the entity (a 2.x SDK entity feature)."""
        self.schedule_new_orchestration("hello_v1", input=["Spawned"], instance_id=instance_id)

    def later(self, seconds: int) -> None:
        """Signals itself after ``seconds`` (a scheduled signal)."""
        when = datetime.now(UTC) + timedelta(seconds=seconds)
        self.signal_entity(self.entity_context.entity_id, "add", 100, signal_time=when)


@app.orchestration_trigger(context_name="ctx")
def fails(ctx: task.OrchestrationContext, _):
    yield ctx.call_activity("say_hello", input="x")
    raise ValueError("boom")


@app.orchestration_trigger(context_name="ctx")
def signals_later(ctx: task.OrchestrationContext, key: str):
    when = ctx.current_utc_datetime + timedelta(minutes=10)
    ctx.signal_entity(entities.EntityInstanceId("counter", key), "add", 5, signal_time=when)
    return "sent"


@app.orchestration_trigger(context_name="ctx")
def locked_wait(ctx: task.OrchestrationContext, key: str):
    """A critical section that stays open until the event 'go' (entity lock tests)."""
    counter = entities.EntityInstanceId("counter", key)
    with (yield ctx.lock_entities([counter])):
        yield ctx.call_entity(counter, "add", 5)
        yield ctx.wait_for_external_event("go")
        total = yield ctx.call_entity(counter, "get")
    return total


@app.durable_client_input(client_name="client")
@app.activity_trigger(input_name="instance_id")
def status_of(instance_id: str, client: df.SyncDurableFunctionsClient) -> str:
    """An activity with a durable client binding (as the SDK's history export has)."""
    return client.get_orchestration_state(instance_id).runtime_status.name


@app.orchestration_trigger(context_name="ctx")
def ask_status(ctx: task.OrchestrationContext, instance_id: str):
    return (yield ctx.call_activity("status_of", input=instance_id))


@app.route(route="sync-status/{id}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def sync_status(req: func.HttpRequest,
                      client: df.DurableFunctionsClient) -> func.HttpResponse:
    """An async function calling a *synchronous* client: it blocks its own loop only."""
    sync = TaskHubGrpcClient(host_address=client.rpcBaseUrl)
    try:
        state = sync.get_orchestration_state(req.route_params["id"])
    finally:
        sync.close()
    return func.HttpResponse(state.runtime_status.name if state else "unknown")


@app.route(route="rpc", methods=["GET"])
@app.durable_client_input(client_name="client")
async def rpc(req: func.HttpRequest, client: df.DurableFunctionsClient) -> func.HttpResponse:
    return func.HttpResponse(client.rpcBaseUrl)


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableFunctionsClient) -> func.HttpResponse:
    instance_id = await client.schedule_new_orchestration(req.route_params["name"],
                                                          input=req.get_json())
    return client.create_check_status_response(req, instance_id)
