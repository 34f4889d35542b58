"""The host-side replay shim on built histories (no host, no SDK)."""

from datetime import UTC, datetime, timedelta

import pytest

from emulator.core.replay import NonDeterminismError, UnsupportedActionError, replay
from emulator.protocol import history as h

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RETRY = {"firstRetryIntervalInMilliseconds": 5000, "maxNumberOfAttempts": 3}


class History(list):
    """A tiny builder: one method per event kind, episodes bracketed by ``episode``."""

    def episode(self, seconds: float = 0):
        self.now = T0 + timedelta(seconds=seconds)
        self.append(h.orchestrator_started(self.now))
        return self

    def started(self):
        self.append(h.execution_started(self.now, name="o", instance_id="i", execution_id="e",
                                        input_json=None))
        return self

    def scheduled(self, seq, name):
        self.append(h.task_scheduled(self.now, seq, name, "null"))
        return self

    def completed(self, seq):
        self.append(h.task_completed(self.now, seq, "1"))
        return self

    def failed(self, seq):
        self.append(h.task_failed(self.now, seq, "boom", None))
        return self

    def timer(self, seq, fire_at):
        self.append(h.timer_created(self.now, seq, h.format_ts(fire_at)))
        return self

    def fired(self, seq):
        self.append(h.timer_fired(self.now, seq, ""))
        return self


def activity(name, retry=None):
    if retry:
        return {"actionType": 12, "compoundActions": [
            {"actionType": 1, "functionName": name, "input": "null", "retryOptions": retry}]}
    return {"actionType": 0, "functionName": name, "input": "null"}


def test_first_episode_schedules_the_first_action_only():
    result = replay(History().episode().started(), [activity("A")], "e")
    assert [(w.seq, w.kind, w.name) for w in result.new_work] == [(0, "activity", "A")]
    assert not result.finished and result.open_tasks == 1


def test_completed_chain_is_finished_with_the_next_sequence_id():
    hist = (History().episode().started().scheduled(0, "A").episode(1).completed(0)
            .scheduled(1, "B").episode(2).completed(1))
    result = replay(hist, [activity("A"), activity("B")], "e")
    assert result.new_work == [] and result.finished and result.open_tasks == 0
    assert result.next_seq == 2


def test_fan_out_numbers_children_depth_first():
    actions = [{"actionType": 12, "compoundActions": [activity("A"), activity("B"),
                                                      activity("C")]}]
    result = replay(History().episode().started(), actions, "e")
    assert [(w.seq, w.name) for w in result.new_work] == [(0, "A"), (1, "B"), (2, "C")]


def test_concurrent_retries_allocate_timers_in_failure_order():
    actions = [{"actionType": 12, "compoundActions": [activity("A", RETRY),
                                                      activity("B", RETRY)]}]
    hist = (History().episode().started().scheduled(0, "A").scheduled(1, "B")
            .episode(10).failed(1).failed(0))
    result = replay(hist, actions, "e")
    fire = T0 + timedelta(seconds=15)
    assert [(w.seq, w.kind, w.fire_at) for w in result.new_work] == [
        (2, "timer", fire), (3, "timer", fire)]
    hist.timer(2, fire).timer(3, fire).episode(15).fired(2).fired(3)
    result = replay(hist, actions, "e")
    # B failed first, so its timer is 2 and its re-schedule comes first too.
    assert [(w.seq, w.name) for w in result.new_work] == [(4, "B"), (5, "A")]


def test_last_retry_failure_gets_a_timer_due_at_once():
    retry = {"firstRetryIntervalInMilliseconds": 1000, "maxNumberOfAttempts": 1}
    hist = History().episode().started().scheduled(0, "A").episode(3).failed(0)
    result = replay(hist, [activity("A", retry)], "e")
    assert [(w.seq, w.kind, w.fire_at) for w in result.new_work] == [
        (1, "timer", T0 + timedelta(seconds=3))]


def test_backoff_coefficient_and_maximum_interval_when_given():
    retry = {"firstRetryIntervalInMilliseconds": 1000, "maxNumberOfAttempts": 5,
             "backoffCoefficient": 2, "maxRetryIntervalInMilliseconds": 3000}
    hist = (History().episode().started().scheduled(0, "A").episode(0).failed(0)
            .timer(1, T0 + timedelta(seconds=1)).episode(1).fired(1).scheduled(2, "A")
            .episode(1).failed(2))
    result = replay(hist, [activity("A", retry)], "e")
    # The second failure (t = 1 s) waits min(1 s x 2^1, 3 s) = 2 s: due at 3 s.
    assert result.new_work[0].fire_at == T0 + timedelta(seconds=3)


def test_renamed_activity_is_non_deterministic():
    hist = History().episode().started().scheduled(0, "A").episode(1).completed(0)
    with pytest.raises(NonDeterminismError, match="sequence number 0 named 'A'.*'B'"):
        replay(hist, [activity("B")], "e")


def test_removed_activity_is_non_deterministic():
    hist = History().episode().started().scheduled(0, "A").episode(1).completed(0)
    with pytest.raises(NonDeterminismError, match="sequence ID 0 and name 'A'"):
        replay(hist, [], "e")


def test_timer_replaced_by_activity_is_non_deterministic():
    hist = History().episode().started().timer(0, T0)
    with pytest.raises(NonDeterminismError, match="a timer task with sequence ID 0"):
        replay(hist, [activity("A")], "e")


def test_cancelled_timer_is_created_but_not_open():
    actions = [{"actionType": 11, "compoundActions": [
        {"actionType": 6, "externalEventName": "go", "reason": "ExternalEvent"},
        {"actionType": 5, "fireAt": "2026-01-02T00:00:00.000000Z", "isCanceled": True}]}]
    hist = History().episode().started()
    hist.append(h.event_raised(T0, "go", "1"))
    result = replay(hist, actions, "e")
    assert [w.kind for w in result.new_work] == ["timer"]
    assert result.finished and result.open_tasks == 0


def test_uncancelled_timer_keeps_the_instance_open():
    actions = [{"actionType": 11, "compoundActions": [
        {"actionType": 6, "externalEventName": "go", "reason": "ExternalEvent"},
        {"actionType": 5, "fireAt": "2026-01-02T00:00:00.000000Z", "isCanceled": False}]}]
    hist = History().episode().started()
    hist.append(h.event_raised(T0, "GO", "1"))  # names match case-insensitively on the host
    result = replay(hist, actions, "e")
    assert result.finished and result.open_tasks == 1


def test_default_sub_orchestration_id_uses_execution_and_sequence():
    actions = [{"actionType": 2, "functionName": "child", "input": "1", "instanceId": None}]
    result = replay(History().episode().started(), actions, "exec42")
    assert result.new_work[0].instance_id == "exec42:0"


def test_scheduled_entity_signals_are_reported_unsupported():
    actions = [{"actionType": 10, "instanceId": "@counter@a", "operation": "add", "input": "1"}]
    with pytest.raises(UnsupportedActionError, match="Scheduled entity signals"):
        replay(History().episode().started(), actions, "e")
