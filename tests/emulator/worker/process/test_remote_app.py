"""Which apps the worker processes serve (``remote_app.in_process_reason``) and the index they
build from the workers' descriptions: a 2.x durable SDK app runs in the workers, activities with
a durable client binding included; other triggers and storage bindings keep an app in process."""

from pathlib import Path

from emulator.worker.process.remote_app import in_process_reason, remote_app
from emulator.worker.sdk2 import SdkGeneration


def _fn(name, trigger, *, v2, client=None, **extra):
    return {"name": name, "trigger": trigger, "is_async": False, "trigger_param": "x",
            "wants_context": False, "client_param": client, "other_bindings": [],
            "durable_requires_grpc": v2 and trigger != "httpTrigger", **extra}


def _app(v2):
    return [_fn("orch", "orchestrationTrigger", v2=v2),
            _fn("act", "activityTrigger", v2=v2),
            _fn("status_of", "activityTrigger", v2=v2, client="client"),
            _fn("counter", "entityTrigger", v2=v2, entity_name="counter")]


def test_a_2x_app_with_a_client_activity_runs_in_the_workers():
    functions = _app(v2=True)
    assert in_process_reason(functions) is None
    index = remote_app(Path("."), {}, functions)
    assert index.sdk == SdkGeneration.V2
    assert index.activity("status_of").client_param == "client"
    assert index.activity("act").client_param is None


def test_a_1x_activity_with_a_client_binding_stays_in_process():
    assert in_process_reason(_app(v2=False)) == "has an activity with a durable client binding"


def test_a_2x_app_with_a_timer_stays_in_process():
    functions = [*_app(v2=True), _fn("tick", "timerTrigger", v2=False)]
    assert in_process_reason(functions) == "has functions with other triggers (timerTrigger)"


def test_the_child_passes_a_2x_request_to_the_handler_under_its_trigger_name():
    import asyncio

    from emulator.worker.process.child.invoke import prepare

    seen = {}

    async def handle(_durable_input):  # the SDK's handler, registered under its trigger name
        seen["value"] = _durable_input
        return "cmVzcG9uc2U="

    description = _fn("orch", "orchestrationTrigger", v2=True)
    description["trigger_param"] = "_durable_input"
    for kind in ("orchestrator", "entity"):
        call, finish = prepare(kind, description, handle, {}, b"cmVxdWVzdA==")
        assert finish(asyncio.run(call())) == ({}, b"cmVzcG9uc2U=")
        assert seen["value"] == "cmVxdWVzdA=="


def test_a_2x_activity_gets_its_client_binding_in_the_child():
    from emulator.worker.process.child.invoke import prepare

    description = _fn("status_of", "activityTrigger", v2=True, client="client")
    call, finish = prepare("activity", description, lambda x, client: f"{x} {client}",
                           {"client": '{"rpcBaseUrl": "u"}'}, b'"i"')
    assert finish(call()) == ({}, b'"i {\\"rpcBaseUrl\\": \\"u\\"}"')
