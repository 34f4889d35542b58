"""The rewind rewrite on built histories (no host): the Azure Storage backend's shape."""

from datetime import UTC, datetime, timedelta

import pytest

from emulator.core.replay import ACTIVITY, NonDeterminismError, replay
from emulator.core.rewind import revive_event, rewind_history
from emulator.protocol import history as h
from emulator.protocol.history import EventType, RuntimeStatus

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _at(seconds):
    return T0 + timedelta(seconds=seconds)


def _failed_chain():
    """echo#0 completes, explode#1 fails, the instance fails."""
    return [
        h.orchestrator_started(_at(0)),
        h.execution_started(_at(0), name="o", instance_id="i", execution_id="e",
                            input_json=None),
        h.task_scheduled(_at(0), 0, "echo", '"a"'),
        h.orchestrator_completed(_at(0)),
        h.orchestrator_started(_at(1)),
        h.task_completed(_at(1), 0, '"a"'),
        h.task_scheduled(_at(1), 1, "explode", '"b"'),
        h.orchestrator_completed(_at(1)),
        h.orchestrator_started(_at(2)),
        h.task_failed(_at(2), 1, "Activity function 'explode' failed:  ValueError: b", "{}"),
        h.execution_completed(_at(2), 2, RuntimeStatus.Failed,
                              "Orchestrator function 'o' failed: ..."),
        h.orchestrator_completed(_at(2)),
    ]


ACTIONS = [{"actionType": 0, "functionName": "echo", "input": '"a"'},
           {"actionType": 0, "functionName": "explode", "input": '"b"'}]


def test_failed_activity_and_completion_become_rewound_generic_events():
    original = _failed_chain()
    rewound = rewind_history(original)
    kinds = [e["EventType"] for e in rewound.history]
    assert len(rewound.history) == len(original)  # rows keep their places
    assert kinds[6] == kinds[9] == kinds[10] == EventType.GENERIC
    assert [rewound.history[i]["Reason"] for i in (6, 9, 10)] == [
        "Rewound: TaskScheduled", "Rewound: TaskFailed", "Rewound: ExecutionCompleted"]
    assert rewound.history[6]["EventId"] == 1 and rewound.history[10]["EventId"] == 2
    assert rewound.history[6]["Timestamp"] == original[6]["Timestamp"]
    # What succeeded stays as it was.
    assert rewound.history[2] is original[2] and rewound.history[5] is original[5]
    assert rewound.rewound_events == 3
    assert rewound.is_leaf and rewound.failed_children == []
    assert original[6]["EventType"] == EventType.TASK_SCHEDULED  # the input is not modified


def test_replay_of_the_rewound_history_schedules_the_failed_activity_again():
    rewound = rewind_history(_failed_chain()).history
    episode = rewound + [h.orchestrator_started(_at(3)), revive_event(_at(3), "fixed it")]
    result = replay(episode, ACTIONS, "e")
    assert [(w.seq, w.kind, w.name) for w in result.new_work] == [(1, ACTIVITY, "explode")]
    assert result.open_tasks == 1 and not result.finished


def test_failed_sub_orchestration_is_kept_and_its_child_named_for_rewind():
    history = [
        h.orchestrator_started(_at(0)),
        h.execution_started(_at(0), name="p", instance_id="p", execution_id="e",
                            input_json=None),
        h.sub_orchestration_created(_at(0), 0, "child", "e:0", None),
        h.sub_orchestration_created(_at(0), 1, "child", "ok-child", None),
        h.orchestrator_completed(_at(0)),
        h.orchestrator_started(_at(1)),
        h.sub_orchestration_completed(_at(1), 1, "1"),
        h.sub_orchestration_failed(_at(1), 0, "Orchestrator function 'child' failed: x", None),
        h.execution_completed(_at(1), 2, RuntimeStatus.Failed, "boom"),
        h.orchestrator_completed(_at(1)),
    ]
    rewound = rewind_history(history)
    assert rewound.failed_children == ["e:0"]
    assert not rewound.is_leaf
    assert rewound.history[2]["EventType"] == EventType.SUB_ORCHESTRATION_CREATED
    assert rewound.history[7]["Reason"] == "Rewound: SubOrchestrationInstanceFailed"
    assert rewound.history[6]["EventType"] == EventType.SUB_ORCHESTRATION_COMPLETED
    actions = [{"actionType": 12, "compoundActions": [
        {"actionType": 2, "functionName": "child", "input": None, "instanceId": None},
        {"actionType": 2, "functionName": "child", "input": None, "instanceId": "ok-child"}]}]
    result = replay(rewound.history, actions, "e")
    assert result.new_work == []  # the child is rewound in place, not created again
    assert result.open_tasks == 1


def test_a_rewound_retry_leaves_timers_the_replay_does_not_reproduce():
    """DTFx's replay rules: the retry timers stay while the attempts are cleared, so replaying
    the rewound history meets a timer that was not (yet) scheduled - non-determinism."""
    history = [
        h.orchestrator_started(_at(0)),
        h.execution_started(_at(0), name="o", instance_id="i", execution_id="e",
                            input_json=None),
        h.task_scheduled(_at(0), 0, "f", "null"),
        h.orchestrator_started(_at(1)),
        h.task_failed(_at(1), 0, "r", None),
        h.timer_created(_at(1), 1, h.format_ts(_at(6))),
        h.orchestrator_started(_at(6)),
        h.timer_fired(_at(6), 1, h.format_ts(_at(6))),
        h.task_scheduled(_at(6), 2, "f", "null"),
        h.orchestrator_started(_at(7)),
        h.task_failed(_at(7), 2, "r", None),
        h.timer_created(_at(7), 3, h.format_ts(_at(7))),
        h.orchestrator_started(_at(8)),
        h.timer_fired(_at(8), 3, h.format_ts(_at(8))),
        h.execution_completed(_at(8), 4, RuntimeStatus.Failed, "x"),
    ]
    retry = [{"actionType": 12, "compoundActions": [{
        "actionType": 1, "functionName": "f", "input": "null",
        "retryOptions": {"firstRetryIntervalInMilliseconds": 5000, "maxNumberOfAttempts": 2}}]}]
    rewound = rewind_history(history).history + [h.orchestrator_started(_at(9)),
                                                 revive_event(_at(9), "again")]
    with pytest.raises(NonDeterminismError, match="timer task with sequence ID 1"):
        replay(rewound, retry, "e")
