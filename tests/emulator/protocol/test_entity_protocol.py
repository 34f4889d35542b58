"""The entity protocol as pure data, run through the SDK's own handlers (no host).

The entity side: the trigger JSON the extension sends, the SDK's ``Entity`` handler, the batch
result it returns and the responses built from it. The orchestrator side: ``call_entity`` and
``signal_entity`` actions replayed by the host shim, the EventSent / EventRaised events the SDK
matches its tasks with, and a full call round trip that replays deterministically.
"""

import json
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import pytest

from emulator.core.entity_episode import EntityState, run_batch
from emulator.core.replay import ENTITY, NonDeterminismError, replay, top_level_actions
from emulator.protocol import history as h
from emulator.protocol.entities import (
    EntityId,
    EntityProtocolError,
    Request,
    batch_trigger_json,
    input_from_action,
    input_from_http,
    parse_batch_result,
)
from emulator.store import InstanceRecord
from emulator.worker.invoke import trigger_json

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def counter(context: df.DurableEntityContext):
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        value += context.get_input()
        context.set_state(value)
    elif operation == "fail":
        context.set_state(value + 1000)
        raise ValueError("boom")
    elif operation == "delete":
        context.destruct_on_exit()
        return
    context.set_result(value)


COUNTER = df.Entity.create(counter)
ENTITY_ID = EntityId.of("Counter", "k")


def request(operation, value=None, *, signal=False, parent="orch", number=0):
    return Request(id=f"req-{number}", operation=operation,
                   input=input_from_action(json.dumps(value)), signal=signal,
                   parent=None if signal else parent, parent_execution="exec")


def ids():
    counter_ = iter(range(1000))
    return lambda: f"new-{next(counter_)}"


# -- entity ids ---------------------------------------------------------------------------------
def test_entity_ids_lower_case_the_name_and_keep_the_key():
    entity = EntityId.of("Counter", "Key@With@Ats")
    assert entity.scheduler_id == "@counter@Key@With@Ats"
    assert EntityId.parse(entity.scheduler_id) == entity
    sdk_id = df.EntityId("Counter", "Key@With@Ats")
    assert entity.scheduler_id == df.EntityId.get_scheduler_id(sdk_id)


@pytest.mark.parametrize("text", ["counter@k", "@counter", "@@k"])
def test_malformed_scheduler_ids_are_rejected(text):
    with pytest.raises(EntityProtocolError):
        EntityId.parse(text)


def test_keys_with_slashes_are_refused_for_signals():
    with pytest.raises(EntityProtocolError, match="must not contain"):
        EntityId.of("c", "a/b").check_key()


# -- inputs as the SDK decodes them ---------------------------------------------------------------
@pytest.mark.parametrize("value", [5, "text", {"a": [1, 2]}, None])
def test_operation_inputs_from_orchestrators_and_clients_decode_to_the_value(value):
    from_orchestrator = input_from_action(json.dumps(value))
    # The Python client posts json.dumps(value) as a JSON body (aiohttp encodes it again).
    from_client = input_from_http(json.dumps(json.dumps(value)).encode(), "application/json")
    assert from_orchestrator == from_client
    trigger = batch_trigger_json(ENTITY_ID, False, None,
                                 [Request("r", "echo", from_client)])
    context, batch = df.DurableEntityContext.from_json(trigger)
    context._input = batch[0]["input"]
    assert context.get_input() == value


def test_a_raw_json_object_body_reaches_the_sdk_as_a_token_it_cannot_decode():
    # As in Azure: the extension keeps the parsed body's text; the SDK decodes it twice.
    text = input_from_http(b'{"x": 1}', "application/json")
    assert text == '{"x":1}'
    context, _ = df.DurableEntityContext.from_json(
        batch_trigger_json(ENTITY_ID, False, None, [Request("r", "echo", text)]))
    context._input = text
    with pytest.raises(TypeError):
        context.get_input()


def test_http_input_rules():
    assert input_from_http(b"", "application/json") is None
    assert input_from_http(b"plain", "text/plain") == '"plain"'
    with pytest.raises(EntityProtocolError, match="Could not parse JSON content"):
        input_from_http(b"{nope", "application/json")


# -- the entity side ------------------------------------------------------------------------------
def test_a_batch_runs_in_order_and_answers_each_caller():
    requests = [request("add", 2, number=0), request("add", 3, signal=True, number=1),
                request("get", number=2)]
    outcome = run_batch(ENTITY_ID, EntityState(), requests, COUNTER, T0, new_request_id=ids())
    assert (outcome.state.exists, outcome.state.state) == (True, "5")
    assert [json.loads(r.result) for r in outcome.results] == [2, 5, 5]
    # Only calls get responses: an EventRaised named by the request id, for the caller.
    assert [(r.instance_id, r.execution_id, r.event["Name"]) for r in outcome.responses] == \
        [("orch", "exec", "req-0"), ("orch", "exec", "req-2")]
    assert json.loads(outcome.responses[1].event["Input"]) == {"result": "5"}


def test_state_carries_over_between_batches():
    first = run_batch(ENTITY_ID, EntityState(), [request("add", 4)], COUNTER, T0,
                      new_request_id=ids())
    second = run_batch(ENTITY_ID, first.state, [request("add", 6), request("get", number=1)],
                       COUNTER, T0, new_request_id=ids())
    assert json.loads(second.results[1].result) == 10


def test_a_failing_operation_reports_to_its_caller_and_the_others_keep_their_effects():
    requests = [request("add", 1, number=0), request("fail", number=1),
                request("add", 2, number=2), request("get", number=3)]
    outcome = run_batch(ENTITY_ID, EntityState(), requests, COUNTER, T0, new_request_id=ids())
    error = json.loads(outcome.responses[1].event["Input"])
    assert error == {"result": '"boom"', "exceptionType": "Error"}
    # As in Azure for Python entities, the failing operation's own state change stays (the
    # extension rolls back only .NET entities): 1 + 1000 + 2.
    assert json.loads(outcome.results[3].result) == 1003
    assert [r.is_error for r in outcome.results] == [False, True, False, False]


def test_destruct_on_exit_deletes_the_entity():
    outcome = run_batch(ENTITY_ID, EntityState(True, "7"), [request("delete")], COUNTER, T0,
                        new_request_id=ids())
    assert (outcome.state.exists, outcome.state.state) == (False, None)


def test_a_batch_whose_function_cannot_run_fails_every_operation_and_keeps_the_state():
    def broken(_trigger):
        raise RuntimeError("worker down")

    outcome = run_batch(ENTITY_ID, EntityState(True, "7"), [request("add", 1),
                        request("get", number=1)], broken, T0, new_request_id=ids())
    assert (outcome.state.exists, outcome.state.state) == (True, "7")
    assert all(r.is_error for r in outcome.results) and outcome.failure
    assert "worker down" in json.loads(outcome.responses[0].event["Input"])["result"]


def test_a_malformed_result_fails_the_batch():
    outcome = run_batch(ENTITY_ID, EntityState(), [request("get")], lambda _: '{"results": []}',
                        T0, new_request_id=ids())
    assert outcome.failure and outcome.results[0].is_error


def test_signals_in_a_result_become_requests_to_their_targets():
    answer = json.dumps({"entityExists": True, "entityState": "1", "results": [
        {"isError": False, "result": "null", "duration": 0}], "signals": [
        {"target": {"name": "Other", "key": "x"}, "name": "ping", "input": '"1"'}]})
    outcome = run_batch(ENTITY_ID, EntityState(), [request("get")], lambda _: answer, T0,
                        new_request_id=ids())
    signal = outcome.signals[0]
    assert signal.target.scheduler_id == "@other@x"
    assert (signal.request.operation, signal.request.signal, signal.request.parent) == \
        ("ping", True, "@counter@k")


def test_parse_batch_result_checks_the_result_count():
    with pytest.raises(EntityProtocolError, match="2 operations"):
        parse_batch_result('{"entityExists": false, "results": []}', 2)


def test_lock_requests_carry_their_lock_set_and_position():
    """The 2.x SDK's critical sections: the extension's RequestMessage with lockset and pos."""
    request = Request.from_json('{"op": null, "id": "x", "parent": "o", '
                                '"lockset": [{"name": "A", "key": "b"}, "@c@d"], "pos": 1}')
    assert (request.lock_set, request.position, request.is_control) == (
        ["@a@b", "@c@d"], 1, True)
    assert Request.from_json(request.to_json()) == request
    release = Request.from_json('{"id": "x", "parent": "o", "release": true}')
    assert release.release and release.is_control and not release.is_lock


# -- the orchestrator side ------------------------------------------------------------------------
def entity_orchestrator(context: df.DurableOrchestrationContext):
    entity = df.EntityId("Counter", "k")
    context.signal_entity(entity, "add", 5)
    first = yield context.call_entity(entity, "add", 1)
    try:
        yield context.call_entity(entity, "fail")
    except Exception as exc:
        failed = str(exc)
    last = yield context.call_entity(entity, "get")
    return [first, failed, last]


ORCHESTRATOR = df.Orchestrator.create(entity_orchestrator)
RECORD = InstanceRecord("orch", "entity_orchestrator", "exec", "Running", None, "", "")


def run_orchestrator(history):
    text = ORCHESTRATOR(trigger_json(RECORD, history))
    state = json.loads(text)
    return state, replay(history, top_level_actions(state), "exec")


def test_a_call_round_trip_through_both_sdk_handlers_replays_deterministically():
    history = [h.orchestrator_started(T0), h.execution_started(
        T0, name="entity_orchestrator", instance_id="orch", execution_id="exec", input_json=None)]
    entity_state = EntityState()
    sent_ids = []
    for step in range(1, 10):
        state, replayed = run_orchestrator(history)
        if state["isDone"]:
            break
        assert all(w.kind == ENTITY for w in replayed.new_work)
        now = T0 + timedelta(seconds=step)
        requests = []
        for work in replayed.new_work:
            req = Request.from_orchestrator(work.request_id, work.name, work.input, work.signal,
                                            "orch", "exec")
            requests.append(req)
            history.append(h.event_sent(now, work.seq, work.instance_id, "op", req.to_json()))
            sent_ids.append(req.id)
        history.append(h.orchestrator_completed(now))
        outcome = run_batch(ENTITY_ID, entity_state, requests, COUNTER, now,
                            new_request_id=ids())
        entity_state = outcome.state
        history.append(h.orchestrator_started(now))
        history.extend(r.event for r in outcome.responses)
    assert state["isDone"] and state["output"] == [6, "boom", 1006]
    # signal + 3 calls, each with its own id; a replay re-derives the same ones from history.
    assert len(set(sent_ids)) == 4
    assert replay(history, top_level_actions(state), "exec").open_tasks == 0


def test_the_first_episode_schedules_the_signal_and_the_first_call():
    history = [h.orchestrator_started(T0), h.execution_started(
        T0, name="entity_orchestrator", instance_id="orch", execution_id="exec", input_json=None)]
    _, replayed = run_orchestrator(history)
    assert [(w.seq, w.name, w.signal, w.instance_id) for w in replayed.new_work] == \
        [(0, "add", True, "@counter@k"), (1, "add", False, "@counter@k")]
    assert replayed.open_tasks == 1 and not replayed.finished


def test_a_changed_target_kind_is_non_deterministic():
    history = [h.orchestrator_started(T0), h.execution_started(
        T0, name="o", instance_id="orch", execution_id="exec", input_json=None),
        h.task_scheduled(T0, 0, "activity", "null")]
    actions = [{"actionType": 7, "instanceId": "@counter@k", "operation": "get", "input": "null"}]
    with pytest.raises(NonDeterminismError, match="activity task with sequence ID 0"):
        replay(history, actions, "exec")
    history[-1] = h.event_sent(T0, 0, "@counter@k", "op", '{"op":"get","id":"g"}')
    with pytest.raises(NonDeterminismError, match="send event task with sequence ID 0"):
        replay(history, [], "exec")


def test_a_yielded_signal_is_recognised_as_waiting_on_nothing():
    def yields_signal(context):
        yield context.signal_entity(df.EntityId("Counter", "k"), "add", 1)
        return "unreachable"

    history = [h.orchestrator_started(T0), h.execution_started(
        T0, name="o", instance_id="orch", execution_id="exec", input_json=None)]
    state = json.loads(df.Orchestrator.create(yields_signal)(trigger_json(RECORD, history)))
    replayed = replay(history, top_level_actions(state), "exec")
    assert not state["isDone"] and replayed.waits_on_nothing(state)
    # An orchestrator that waits for an event it may still get is not stuck.
    _, waiting = run_orchestrator(history)
    assert not waiting.waits_on_nothing({"isDone": False})
    events = [{"actionType": 6, "externalEventName": "go", "reason": "ExternalEvent"}]
    history.append(h.event_raised(T0, "GO", "1"))
    assert not replay(history, events, "exec").waits_on_nothing({"isDone": False})
