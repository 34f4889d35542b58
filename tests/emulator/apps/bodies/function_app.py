"""A small app for the request-body limit tests: an HTTP function, an orchestrator and an entity
that each take a body. Used by tests/emulator/test_body_limit.py; not part of the deployed app."""

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="echo_body", methods=["POST"])
def echo_body(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"length": len(req.get_body())}),
                             mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def echo_input(context: df.DurableOrchestrationContext):
    return context.get_input()


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext):
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        context.set_state(value + 1)
