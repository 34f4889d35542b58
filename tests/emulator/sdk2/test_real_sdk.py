"""The real 2.x SDK (azure-functions-durable 2.x, Python 3.13+) behind the translation: the
test app's registered handlers, v1-style and durabletask-style orchestrators and a class-based
entity, driven through the engine's episode and batch steps. Skipped where the installed SDK
is 1.x; ``test_real_sdk_interpreter.py`` runs it under ``EMULATOR_SDK2_PYTHON``."""

import json

import pytest

from emulator.core.entity_episode import EntityState, run_batch
from emulator.protocol import history as h
from emulator.protocol.entities import EntityId, OperationResult, Request, response_input
from emulator.protocol.enums import WorkKind

from .episodes import Episodes
from .sdk_generation import needs_sdk2

pytestmark = needs_sdk2

APP_DIR = __import__("pathlib").Path(__file__).parents[1] / "apps" / "sdk2"


@pytest.fixture(scope="module")
def app():
    from emulator.worker.loader import load_app

    return load_app(APP_DIR)


def _run_activities(run, result, activity):
    """Complete every activity the episode scheduled, in one next episode."""
    done = [h.task_completed(run.now, w.seq, json.dumps(activity(json.loads(w.input))))
            for w in result.new_work if w.kind == WorkKind.ACTIVITY]
    return run.episode(*done)


def test_a_v1_style_orchestrator_runs_through_the_compatibility_layer(app):
    fn = app.code_of(app.orchestrator("hello_v1"))
    run = Episodes(fn, None, "hello_v1", json.dumps(["Tokyo", "Oslo"]))
    first = run.episode()
    [work] = first.new_work
    assert (work.name, work.input) == ("say_hello", '"Tokyo"')
    second = _run_activities(run, first, lambda city: f"Hello {city}!")
    last = _run_activities(run, second, lambda city: f"Hello {city}!")
    assert last.completed, run.record.output
    assert json.loads(run.record.output) == ["Hello Tokyo!", "Hello Oslo!"]


def test_a_durabletask_style_orchestrator_fans_out_and_calls_an_entity(app):
    fn = app.code_of(app.orchestrator("hello_dtask"))
    run = Episodes(fn, None, "hello_dtask", json.dumps(["A", "B", "C"]))
    first = run.episode()
    assert [w.kind for w in first.new_work] == [WorkKind.ACTIVITY] * 3
    second = _run_activities(run, first, lambda city: f"Hi {city}")
    signal, call = second.new_work
    assert (signal.signal, signal.instance_id, signal.input) == (True, "@counter@c1", 3)
    last = run.episode(h.event_raised(run.now, call.request_id,
                                      response_input(OperationResult("3"))))
    assert last.completed, run.record.output
    assert json.loads(run.record.output) == {"greetings": ["Hi A", "Hi B", "Hi C"],
                                             "counted": 3}


def test_a_class_based_entity_runs_a_batch(app):
    entity = app.entity("counter")
    from emulator.worker.sdk2 import entity_invoker, in_process

    invoke = entity_invoker(in_process(app.code_of(entity)))
    requests = [Request("r1", "add", "2", signal=True), Request("r2", "add", "5", parent="o"),
                Request("r3", "get", None, parent="o")]
    outcome = run_batch(EntityId("counter", "c1"), EntityState(), requests, invoke,
                        h.parse_ts("2026-01-01T00:00:00Z"), new_request_id=lambda: "s")
    assert outcome.failure is None, outcome.failure
    assert outcome.state.state == "7" and [r.result for r in outcome.results] == ["2", "7", "7"]


def test_an_episode_calls_the_sdks_synchronous_handler_in_the_calling_thread(app, monkeypatch):
    """No private loop, no hop to the SDK's thread pool: the same base64 request through the
    SDK's synchronous handler answers what its registered async handler answers."""
    import asyncio
    import threading

    from azure.durable_functions.worker import DurableFunctionsWorker

    from emulator.worker.sdk2.invoke import _encode, in_process
    from emulator.worker.sdk2.proto_history import orchestrator_request

    threads = []
    replay = DurableFunctionsWorker._run_orchestration

    def spying(self, *args, **kwargs):
        threads.append(threading.current_thread())
        return replay(self, *args, **kwargs)

    monkeypatch.setattr(DurableFunctionsWorker, "_run_orchestration", spying)
    fn = app.code_of(app.orchestrator("hello_v1"))
    start = h.parse_ts("2026-01-01T00:00:00Z")
    history = [h.orchestrator_started(start),
               h.execution_started(start, name="hello_v1", instance_id="i1", execution_id="e1",
                                   input_json=json.dumps(["Tokyo"]))]
    request = _encode(orchestrator_request("i1", "e1", history))
    answer = in_process(fn)(request)
    assert threads == [threading.current_thread()]
    registered = asyncio.run(fn(**{fn._df_trigger_name: request}))  # the SDK's pool
    assert threads[1] is not threading.current_thread()
    assert answer == registered
