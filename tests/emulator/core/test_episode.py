"""The episode as a pure step and the batching rule with a held clock: no event loop, no store."""

import copy
import json
from datetime import UTC, datetime

from emulator.core.batching import HoldPolicy
from emulator.core.episode import episode_time, step
from emulator.core.instance import Inbound, Instance
from emulator.protocol import history as h
from emulator.protocol.enums import EventType, RuntimeStatus, WorkKind
from emulator.store import InstanceRecord
from emulator.worker.invoke import invoke_orchestrator
from emulator.worker.loader import load_app

from ..conftest import PROTOCOL_APP

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
APP = load_app(PROTOCOL_APP)


def _record(name="chain", status=RuntimeStatus.Pending):
    return InstanceRecord(instance_id="i1", name=name, execution_id="e1", status=status,
                          input=json.dumps(json.dumps("x")), created=h.format_ts(NOW),
                          last_updated=h.format_ts(NOW))


def _started(record):
    return Inbound(h.execution_started(NOW, name=record.name, instance_id="i1",
                                       execution_id="e1", input_json=record.input), "e1", 1)


def _step(record, history, messages):
    fn = APP.code_of(APP.orchestrator(record.name))
    return step(record, history, [json.dumps(e) for e in history], messages, NOW,
                invoke=lambda r, hist, texts: invoke_orchestrator(fn, r, hist, texts),
                check_work=lambda work: None, clock_now=lambda: NOW)


def test_the_first_episode_schedules_the_first_activity_and_touches_no_input():
    record = _record()
    messages = [_started(record)]
    frozen = (copy.deepcopy(record), copy.deepcopy(messages[0].event))
    result = _step(record, [], messages)
    assert (record, messages[0].event) == frozen  # the step copied what it changed
    assert result.record.status == RuntimeStatus.Running and not result.completed
    assert [w.kind for w in result.new_work] == [WorkKind.ACTIVITY]
    assert result.new_work[0].name == "echo"
    kinds = [e["EventType"] for e in result.new_events]
    assert kinds == [EventType.ORCHESTRATOR_STARTED, EventType.EXECUTION_STARTED,
                     EventType.TASK_SCHEDULED, EventType.ORCHESTRATOR_COMPLETED]
    assert [json.loads(t) for t in result.texts] == result.new_events


def test_a_terminate_message_completes_without_calling_the_orchestrator():
    record = _record(status=RuntimeStatus.Running)
    event = h.execution_terminated(NOW, "enough")

    def invoke(*_):
        raise AssertionError("a control episode must not call the orchestrator")
    result = step(record, [], [], [Inbound(event, None, 7)], NOW, invoke=invoke,
                  check_work=lambda work: None, clock_now=lambda: NOW)
    assert result.completed and result.drops_timers
    assert result.record.status == RuntimeStatus.Terminated and result.record.output == "enough"
    assert record.status == RuntimeStatus.Running
    completed = result.new_events[-2]
    assert completed["OrchestrationStatus"] == RuntimeStatus.Terminated.code == 5


def test_unknown_work_fails_the_instance_with_the_message_of_the_check():
    record = _record()
    fn = APP.code_of(APP.orchestrator("chain"))
    result = step(record, [], [], [_started(record)], NOW,
                  invoke=lambda r, hist, texts: invoke_orchestrator(fn, r, hist, texts),
                  check_work=lambda work: "no such activity", clock_now=lambda: NOW)
    assert result.completed and result.record.status == RuntimeStatus.Failed
    assert result.record.output == "no such activity" and result.new_work == []


def test_episode_time_is_strictly_after_the_previous_episode():
    history = [h.orchestrator_started(NOW)]
    assert episode_time(history, NOW) > NOW
    later = datetime(2026, 1, 2, tzinfo=UTC)
    assert episode_time(history, later) == later


class FakeTimers:
    def __init__(self):
        self.now = 0.0
        self.calls = []

    def schedule(self, delay, callback, inst):
        self.calls.append((self.now + delay, callback, inst))

    def run_until(self, when):
        while self.calls and min(c[0] for c in self.calls) <= when:
            call = min(self.calls, key=lambda c: c[0])
            self.calls.remove(call)
            self.now = call[0]
            call[1](call[2])
        self.now = when


def _held_instance(cost, in_flight):
    inst = Instance(_record())
    inst.episode_cost, inst.in_flight = cost, in_flight
    return inst


def test_a_cheap_episode_is_never_held():
    released, timers = [], FakeTimers()
    policy = HoldPolicy(released.append, timers.schedule, now=lambda: timers.now)
    inst = _held_instance(cost=0.001, in_flight=10)
    policy.result_arrived(inst)
    assert released == [inst] and timers.calls == []


def test_an_expensive_episode_holds_until_the_burst_ends():
    released, timers = [], FakeTimers()
    policy = HoldPolicy(released.append, timers.schedule, now=lambda: timers.now)
    inst = _held_instance(cost=0.1, in_flight=10)  # quiet gap 0.01 s, cap 0.2 s
    for arrival in (0.0, 0.005, 0.009):
        timers.run_until(arrival)
        policy.result_arrived(inst)
    assert released == []
    timers.run_until(0.0185)
    assert released == []  # 9.5 ms since the last result: still inside the burst
    timers.run_until(0.02)
    assert released == [inst] and inst.held_since is None


def test_a_hold_never_outlasts_twice_the_episode_cost():
    released, timers = [], FakeTimers()
    policy = HoldPolicy(released.append, timers.schedule, now=lambda: timers.now)
    inst = _held_instance(cost=0.1, in_flight=1000)
    arrival = 0.0
    while not released and arrival < 1:
        timers.run_until(arrival)
        policy.result_arrived(inst)
        arrival += 0.005  # results keep coming faster than the quiet gap
    assert released == [inst] and 0.2 <= timers.now <= 0.21


def test_the_last_result_releases_at_once():
    released, timers = [], FakeTimers()
    policy = HoldPolicy(released.append, timers.schedule, now=lambda: timers.now)
    inst = _held_instance(cost=0.1, in_flight=2)
    policy.result_arrived(inst)
    inst.in_flight = 0
    policy.result_arrived(inst)
    assert released == [inst]
