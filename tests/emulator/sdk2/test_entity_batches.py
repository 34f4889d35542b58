"""2.x entities through the engine's batch step: our batch trigger JSON -> EntityBatchRequest,
durabletask's entity executor (the 2.x SDK's engine) runs a class-based and a function entity,
its EntityBatchResult -> our batch result, responses and signals."""

import json
from datetime import UTC, datetime, timedelta

from durabletask import entities

from emulator.core.entity_episode import EntityState, run_batch
from emulator.protocol.entities import EntityId, Request
from emulator.worker.sdk2 import batch_request, batch_result_json, entity_invoker, in_process
from emulator.worker.sdk2.messages import pb, timestamp

from .durabletask_functions import entity_handler

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
COUNTER = EntityId("counter", "c1")


class Counter(entities.DurableEntity):
    def add(self, amount: int) -> int:
        value = self.get_state(int, 0) + amount
        self.set_state(value)
        return value

    def get(self, _=None) -> int:
        return self.get_state(int, 0)

    def fail(self, _=None) -> None:
        raise ValueError("not today")

    def forward(self, amount: int) -> None:
        self.signal_entity(entities.EntityInstanceId("counter", "other"), "add", amount)


def _run(requests, state=EntityState()):
    invoke = entity_invoker(in_process(entity_handler(Counter, "counter"), "context"))
    ids = iter(range(100))
    return run_batch(COUNTER, state, requests, invoke, NOW,
                     new_request_id=lambda: f"signal-{next(ids)}")


def test_a_batch_runs_in_order_keeps_state_and_answers_each_caller():
    requests = [Request("r1", "add", "5", signal=True),
                Request("r2", "add", "2", parent="orch", parent_execution="e1"),
                Request("r3", "get", None, parent="orch", parent_execution="e1")]
    outcome = _run(requests)
    assert outcome.failure is None
    assert (outcome.state.exists, outcome.state.state) == (True, "7")
    assert [r.result for r in outcome.results] == ["5", "7", "7"]
    responses = {r.event["Name"]: json.loads(r.event["Input"]) for r in outcome.responses}
    assert responses == {"r2": {"result": "7"}, "r3": {"result": "7"}}


def test_a_failed_operation_answers_an_error_and_keeps_the_other_operations_effects():
    requests = [Request("r1", "add", "1", signal=True),
                Request("r2", "fail", None, parent="orch"),
                Request("r3", "get", None, parent="orch")]
    outcome = _run(requests)
    assert outcome.results[1].is_error and "not today" in json.loads(outcome.results[1].result)
    error = json.loads(outcome.responses[0].event["Input"])
    assert error["exceptionType"] and "not today" in json.loads(error["result"])
    assert outcome.state.state == "1" and outcome.results[2].result == "1"


def test_signals_the_entity_sends_become_requests_to_their_targets():
    outcome = _run([Request("r1", "forward", "4", signal=True)])
    [signal] = outcome.signals
    assert signal.target == EntityId("counter", "other")
    assert (signal.request.operation, signal.request.input) == ("add", "4")
    assert signal.request.signal and signal.request.parent == "@counter@c1"


def test_deleting_the_state_makes_the_entity_not_exist():
    outcome = _run([Request("r1", "delete", None, signal=True)],
                   EntityState(exists=True, state="9"))
    assert (outcome.state.exists, outcome.state.state) == (False, None)


def test_the_request_carries_state_and_operations_as_the_extension_sends_them():
    trigger = json.dumps({"self": {"name": "counter", "key": "c1"}, "exists": True,
                          "state": "3", "batch": [{"name": "add", "input": "2",
                                                   "isSignal": True}]})
    request = batch_request(trigger, ["req-1"])
    assert request.instanceId == "@counter@c1" and request.entityState.value == "3"
    assert [(o.operation, o.requestId, o.input.value) for o in request.operations] == [
        ("add", "req-1", "2")]
    absent = batch_request(trigger.replace('"exists": true', '"exists": false'), ["r"])
    assert not absent.HasField("entityState")


def test_scheduled_signals_and_orchestration_starts_ride_along_in_the_result():
    request = batch_request(json.dumps({"self": {"name": "counter", "key": "c1"},
                                        "exists": False, "state": None,
                                        "batch": [{"name": "go", "input": None}]}), ["r"])
    later = NOW + timedelta(minutes=5)
    result = pb.EntityBatchResult(
        results=[pb.OperationResult(success=pb.OperationResultSuccess())],
        actions=[pb.OperationAction(id=0, sendSignal=pb.SendSignalAction(
                     instanceId="@counter@c2", name="tick", scheduledTime=timestamp(later))),
                 pb.OperationAction(id=1, startNewOrchestration=pb.StartNewOrchestrationAction(
                     instanceId="o1", name="orch"))])
    body = json.loads(batch_result_json(result, request))
    assert body["signals"][0]["target"] == {"name": "counter", "key": "c2"}
    assert body["signals"][0]["scheduledTime"] == "2026-01-01T12:05:00Z"
    assert body["orchestrations"] == [{"instanceId": "o1", "name": "orch", "version": None,
                                       "input": None}]


def test_an_entity_function_that_raises_fails_the_whole_batch_and_keeps_the_state():
    def broken(context):
        raise RuntimeError("cannot load")

    invoke = entity_invoker(in_process(broken, "context"))
    outcome = run_batch(COUNTER, EntityState(True, "4"), [Request("r1", "get", None,
                                                                  parent="orch")],
                        invoke, NOW, new_request_id=lambda: "x")
    assert outcome.failure and "cannot load" in outcome.failure
    assert outcome.state.state == "4" and outcome.results[0].is_error
