"""A plain 2.x durable app (azure-functions-durable 2.x, Python 3.13+) for the worker processes:
an HTTP starter with a durable client, orchestrators calling activities (one with no input) and
a class entity, and an activity with a durable client binding. The functions report the
interpreter they run in."""

import sys

import azure.durable_functions as df
import azure.functions as func
from durabletask import entities, task

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"Hello {name} from {_python()}!"


@app.activity_trigger(input_name="nothing")
def no_input(nothing) -> str:
    return f"got {nothing!r}"


@app.orchestration_trigger(context_name="ctx")
def hello(ctx: task.OrchestrationContext, cities: list[str]):
    results = yield task.when_all([ctx.call_activity("say_hello", input=c) for c in cities])
    empty = yield ctx.call_activity("no_input")
    counter = entities.EntityInstanceId("counter", ctx.instance_id)
    ctx.signal_entity(counter, "add", len(results))
    total = yield ctx.call_entity(counter, "get")
    return {"greetings": results, "empty": empty, "counted": total,
            "orchestrator_python": _python()}


@app.entity_trigger(context_name="context", entity_name="counter")
class Counter(entities.DurableEntity):
    def add(self, amount: int) -> int:
        value = self.get_state(int, 0) + amount
        self.set_state(value)
        return value

    def get(self, _=None) -> int:
        return self.get_state(int, 0)


@app.durable_client_input(client_name="client")
@app.activity_trigger(input_name="instance_id")
def status_of(instance_id: str, client: df.SyncDurableFunctionsClient) -> str:
    """An activity with a durable client binding (the host's gRPC endpoint)."""
    return client.get_orchestration_state(instance_id).runtime_status.name


@app.orchestration_trigger(context_name="ctx")
def ask_status(ctx: task.OrchestrationContext, instance_id: str):
    return (yield ctx.call_activity("status_of", input=instance_id))


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableFunctionsClient) -> func.HttpResponse:
    instance_id = await client.schedule_new_orchestration(req.route_params["name"],
                                                          input=req.get_json())
    return client.create_check_status_response(req, instance_id)
