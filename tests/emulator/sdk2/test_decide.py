"""A 2.x ``OrchestratorResponse`` read against the history it answered (``sdk2/actions.py``):
the tasks still open and the next sequence number come from one pass over history, whatever
the mix of scheduled, completed, failed and fired events."""

from datetime import UTC, datetime

from google.protobuf.wrappers_pb2 import StringValue

from emulator.protocol import history as h
from emulator.protocol.enums import WorkKind
from emulator.worker.sdk2.actions import decide, history_tasks, open_task_ids
from emulator.worker.sdk2.messages import pb

T = datetime(2026, 1, 1, tzinfo=UTC)
FIRE = "2026-01-01T00:01:00Z"


def _history():
    return [
        h.orchestrator_started(T),
        h.execution_started(T, name="o", instance_id="i", execution_id="e", input_json=None),
        h.task_scheduled(T, 0, "a", "1"),          # completed
        h.task_scheduled(T, 1, "a", "2"),          # failed
        h.task_scheduled(T, 2, "a", "3"),          # open
        h.timer_created(T, 3, FIRE),               # fired
        h.timer_created(T, 4, FIRE),               # open
        h.sub_orchestration_created(T, 5, "c", "c1", None),  # completed
        h.sub_orchestration_created(T, 6, "c", "c2", None),  # failed
        h.sub_orchestration_created(T, 7, "c", "c3", None),  # open
        h.event_sent(T, 8, "other", "ping", None),  # one-way: never open
        h.orchestrator_completed(T),
        h.orchestrator_started(T),
        h.task_completed(T, 0, "1"),
        h.task_failed(T, 1, "boom", None),
        h.timer_fired(T, 3, FIRE),
        h.sub_orchestration_completed(T, 5, None),
        h.sub_orchestration_failed(T, 6, "bad", None),
        h.event_raised(T, "go", None),
    ]


def test_open_tasks_and_the_highest_event_id_come_from_one_pass():
    assert history_tasks(_history()) == ({2, 4, 7}, 8)
    assert open_task_ids(_history()) == {2, 4, 7}
    assert history_tasks([]) == (set(), -1)


def _schedule(action_id):
    return pb.OrchestratorAction(id=action_id, scheduleTask=pb.ScheduleTaskAction(
        name="a", input=StringValue(value=str(action_id))))


def test_new_work_is_sorted_and_counted_with_the_open_tasks_and_takes_the_next_ids():
    response = pb.OrchestratorResponse(instanceId="i", actions=[_schedule(10), _schedule(9)])
    decision = decide(response, _history())
    replayed = decision.replayed
    assert [(w.seq, w.kind, w.name, w.input) for w in replayed.new_work] == [
        (9, WorkKind.ACTIVITY, "a", "9"), (10, WorkKind.ACTIVITY, "a", "10")]
    assert replayed.open_tasks == 3 + 2
    assert replayed.next_seq == 11
    assert decision.state == {"isDone": False}


def test_without_new_work_the_next_id_follows_history():
    response = pb.OrchestratorResponse(instanceId="i")
    replayed = decide(response, _history()).replayed
    assert (replayed.new_work, replayed.open_tasks, replayed.next_seq) == ([], 3, 9)


def test_a_scheduled_task_without_input_has_none_not_an_empty_text():
    action = pb.OrchestratorAction(id=0, scheduleTask=pb.ScheduleTaskAction(name="a"))
    response = pb.OrchestratorResponse(instanceId="i", actions=[action])
    assert decide(response, []).replayed.new_work[0].input is None


def test_a_completion_ends_the_execution_whatever_is_open():
    done = pb.OrchestratorAction(id=12, completeOrchestration=pb.CompleteOrchestrationAction(
        orchestrationStatus=pb.ORCHESTRATION_STATUS_COMPLETED, result=StringValue(value="7")))
    response = pb.OrchestratorResponse(instanceId="i", actions=[_schedule(11), done])
    decision = decide(response, _history())
    assert decision.state == {"isDone": True, "output": 7, "outputText": "7"}  # text as sent
    assert (decision.replayed.finished, decision.replayed.open_tasks,
            decision.replayed.next_seq) == (True, 0, 12)
