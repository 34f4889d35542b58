"""Stored history events -> the protobuf ``HistoryEvent`` a 2.x orchestrator receives
(``sdk2/proto_history.py``): every event kind gives the message written out here field by
field, the stored argument list of a scheduled task unwraps as ``json.loads`` reads it, and
timestamps read from the engine's text equal the general parser's."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf import timestamp_pb2
from google.protobuf.wrappers_pb2 import StringValue

from emulator.protocol import history as h
from emulator.protocol.enums import EventType, RuntimeStatus
from emulator.protocol.history import parse_ts
from emulator.worker.sdk2.messages import pb, stamp_of_iso, timestamp, timestamp_of_iso
from emulator.worker.sdk2.proto_history import _unwrap_argument_list, to_proto_event

T = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
STAMP = timestamp(T)
FIRE = "2026-01-01T12:05:00Z"
FIRE_STAMP = timestamp(datetime(2026, 1, 1, 12, 5, tzinfo=UTC))


def _sv(text):
    return StringValue(value=text)


PARENT = {"TaskScheduleId": 4, "Name": "parent", "Version": None,
          "OrchestrationInstance": {"InstanceId": "p1", "ExecutionId": "pe"}}

CASES = [
    (h.orchestrator_started(T), pb.HistoryEvent(
        eventId=-1, timestamp=STAMP, orchestratorStarted=pb.OrchestratorStartedEvent())),
    (h.orchestrator_completed(T), pb.HistoryEvent(
        eventId=-1, timestamp=STAMP, orchestratorCompleted=pb.OrchestratorCompletedEvent())),
    (h.execution_started(T, name="o", instance_id="i1", execution_id="e1", input_json='"x"',
                         parent=PARENT, version="2"),
     pb.HistoryEvent(eventId=-1, timestamp=STAMP, executionStarted=pb.ExecutionStartedEvent(
         name="o", version=_sv("2"), input=_sv('"x"'),
         orchestrationInstance=pb.OrchestrationInstance(instanceId="i1",
                                                        executionId=_sv("e1")),
         parentInstance=pb.ParentInstanceInfo(
             taskScheduledId=4, name=_sv("parent"),
             orchestrationInstance=pb.OrchestrationInstance(instanceId="p1",
                                                            executionId=_sv("pe")))))),
    (h.execution_started(T, name="o", instance_id="i1", execution_id="e1", input_json=None),
     pb.HistoryEvent(eventId=-1, timestamp=STAMP, executionStarted=pb.ExecutionStartedEvent(
         name="o", orchestrationInstance=pb.OrchestrationInstance(instanceId="i1",
                                                                  executionId=_sv("e1"))))),
    (h.execution_completed(T, 3, RuntimeStatus.Completed, '"done"'), pb.HistoryEvent(
        eventId=3, timestamp=STAMP, executionCompleted=pb.ExecutionCompletedEvent(
            orchestrationStatus=RuntimeStatus.Completed.code, result=_sv('"done"')))),
    (h.execution_terminated(T, "enough"), pb.HistoryEvent(
        eventId=-1, timestamp=STAMP,
        executionTerminated=pb.ExecutionTerminatedEvent(input=_sv("enough")))),
    (h.execution_suspended(T, "wait"), pb.HistoryEvent(
        eventId=-1, timestamp=STAMP,
        executionSuspended=pb.ExecutionSuspendedEvent(input=_sv("wait")))),
    (h.execution_resumed(T, None), pb.HistoryEvent(
        eventId=-1, timestamp=STAMP, executionResumed=pb.ExecutionResumedEvent())),
    (h.task_scheduled(T, 0, "act", "0"), pb.HistoryEvent(
        eventId=0, timestamp=STAMP,
        taskScheduled=pb.TaskScheduledEvent(name="act", input=_sv("0")))),
    (h.task_scheduled(T, 1, "act", '{"a": "b\\n"}'), pb.HistoryEvent(
        eventId=1, timestamp=STAMP,
        taskScheduled=pb.TaskScheduledEvent(name="act", input=_sv('{"a": "b\\n"}')))),
    (h.task_scheduled(T, 2, "act", None), pb.HistoryEvent(
        eventId=2, timestamp=STAMP, taskScheduled=pb.TaskScheduledEvent(name="act"))),
    (h.task_completed(T, 0, "1"), pb.HistoryEvent(
        eventId=-1, timestamp=STAMP,
        taskCompleted=pb.TaskCompletedEvent(taskScheduledId=0, result=_sv("1")))),
    (h.task_completed(T, 5, None), pb.HistoryEvent(
        eventId=-1, timestamp=STAMP, taskCompleted=pb.TaskCompletedEvent(taskScheduledId=5))),
    (h.task_failed(T, 1, "boom", json.dumps({"ClassName": "ValueError"})), pb.HistoryEvent(
        eventId=-1, timestamp=STAMP, taskFailed=pb.TaskFailedEvent(
            taskScheduledId=1, failureDetails=pb.TaskFailureDetails(
                errorType="ValueError", errorMessage="boom")))),
    (h.sub_orchestration_created(T, 6, "child", "c1", '"in"', "1"), pb.HistoryEvent(
        eventId=6, timestamp=STAMP,
        subOrchestrationInstanceCreated=pb.SubOrchestrationInstanceCreatedEvent(
            instanceId="c1", name="child", version=_sv("1"), input=_sv('"in"')))),
    (h.sub_orchestration_completed(T, 6, '"out"'), pb.HistoryEvent(
        eventId=-1, timestamp=STAMP,
        subOrchestrationInstanceCompleted=pb.SubOrchestrationInstanceCompletedEvent(
            taskScheduledId=6, result=_sv('"out"')))),
    (h.sub_orchestration_failed(T, 6, "bad", None), pb.HistoryEvent(
        eventId=-1, timestamp=STAMP,
        subOrchestrationInstanceFailed=pb.SubOrchestrationInstanceFailedEvent(
            taskScheduledId=6, failureDetails=pb.TaskFailureDetails(
                errorType="Exception", errorMessage="bad")))),
    (h.timer_created(T, 7, FIRE), pb.HistoryEvent(
        eventId=7, timestamp=STAMP, timerCreated=pb.TimerCreatedEvent(fireAt=FIRE_STAMP))),
    (h.timer_fired(T, 7, FIRE), pb.HistoryEvent(
        eventId=-1, timestamp=STAMP,
        timerFired=pb.TimerFiredEvent(timerId=7, fireAt=FIRE_STAMP))),
    (h.event_sent(T, 8, "@counter@k", "op", '{"x": 1}'), pb.HistoryEvent(
        eventId=8, timestamp=STAMP, eventSent=pb.EventSentEvent(
            instanceId="@counter@k", name="op", input=_sv('{"x": 1}')))),
    (h.event_raised(T, "go", None), pb.HistoryEvent(
        eventId=-1, timestamp=STAMP, eventRaised=pb.EventRaisedEvent(name="go"))),
    (h.continue_as_new(T, 9, '"next"'), pb.HistoryEvent(
        eventId=9, timestamp=STAMP, continueAsNew=pb.ContinueAsNewEvent(input=_sv('"next"')))),
    ({"EventType": int(EventType.GENERIC), "EventId": -1, "Timestamp": h.format_ts(T),
      "Data": {"rewound": True}}, pb.HistoryEvent(
        eventId=-1, timestamp=STAMP,
        genericEvent=pb.GenericEvent(data=_sv('{"rewound": true}')))),
]


@pytest.mark.parametrize(("event", "expected"), CASES,
                         ids=[EventType(e["EventType"]).name for e, _ in CASES])
def test_each_event_kind_becomes_the_message_written_out_field_by_field(event, expected):
    converted = to_proto_event(event)
    assert converted == expected
    # Unset optional texts stay unset (not empty strings): the SDK tells them apart.
    assert converted.SerializeToString(deterministic=True) == \
        expected.SerializeToString(deterministic=True)


@pytest.mark.parametrize("text", [
    '["0"]', '[""]', '["]', '[]', '["a","b"]', '["a\\"b"]', '["a\\\\b"]', '["a\nb"]',
    '["\\u00e9"]', '["é"]', '[null]', '[1]', '["x"', 'not json', '"x"', '["{\\"a\\":1}"]',
])
def test_a_stored_argument_list_unwraps_as_json_reads_it(text):
    try:
        value = json.loads(text)
    except ValueError:
        expected = text
    else:
        ok = isinstance(value, list) and len(value) == 1 and (value[0] is None
                                                              or isinstance(value[0], str))
        expected = value[0] if ok else text
    assert _unwrap_argument_list(text) == expected


@pytest.mark.parametrize("text", [
    "2026-01-01T12:00:00Z", "2026-01-01T12:00:00.5Z", "2026-01-01T12:00:00.1234567Z",
    "2026-01-01T12:00:00.000001Z", "1999-12-31T23:59:59.999999Z", "2026-01-01T12:00:00+00:00",
])
def test_a_timestamp_read_from_the_engines_text_equals_the_general_parsers(text):
    expected = timestamp(parse_ts(text))
    for _ in range(2):  # the second read is the kept one
        assert timestamp_of_iso(text) == expected
        assert timestamp_pb2.Timestamp(**stamp_of_iso(text)) == expected


def test_timestamps_read_one_after_another_each_keep_their_own_value():
    texts = [h.format_ts(T + timedelta(microseconds=step * 250_001)) for step in range(40)]
    for text in texts + texts[::-1]:
        assert timestamp_of_iso(text) == timestamp(parse_ts(text))


def test_scheduled_tasks_one_after_another_each_keep_their_own_fields():
    """The kept message of the last scheduled task never leaks into the next one's fields."""
    events = []
    for step in range(60):
        ts = T + timedelta(seconds=step // 7)
        name = f"act{step % 3}"
        text = None if step % 5 == 0 else str(step % 2)
        version = "2" if step % 4 == 0 else ""
        events.append((h.task_scheduled(ts, step, name, text) | {"Version": version},
                       ts, name, text, version, step))
    for event, ts, name, text, version, step in events + events[::-1]:
        expected = pb.HistoryEvent(
            eventId=step, timestamp=timestamp(ts), taskScheduled=pb.TaskScheduledEvent(
                name=name, version=_sv(version) if version else None,
                input=_sv(text) if text is not None else None))
        converted = to_proto_event(event)
        assert converted == expected
        converted.eventId = 999  # a converted event is the caller's own
        assert to_proto_event(event).eventId == step
