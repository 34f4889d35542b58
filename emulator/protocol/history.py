"""History events as the Durable extension serialises them (PascalCase, enums as integers).

Every event is a plain dict, ready for ``json.dumps`` into the orchestration trigger. The field
sets follow DurableTask.Core's ``History/*.cs`` (see shared/design/durable-protocol.md, 1.2).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from .enums import ACTIVE, TERMINAL, EventType, RuntimeStatus

__all__ = ["ACTIVE", "TERMINAL", "EVENT_NAMES", "EventType", "RuntimeStatus"]


# Names used by the HTTP status API ("EventType" is written as its name there).
EVENT_NAMES = {
    EventType.EXECUTION_STARTED: "ExecutionStarted",
    EventType.EXECUTION_COMPLETED: "ExecutionCompleted",
    EventType.EXECUTION_FAILED: "ExecutionFailed",
    EventType.EXECUTION_TERMINATED: "ExecutionTerminated",
    EventType.TASK_SCHEDULED: "TaskScheduled",
    EventType.TASK_COMPLETED: "TaskCompleted",
    EventType.TASK_FAILED: "TaskFailed",
    EventType.SUB_ORCHESTRATION_CREATED: "SubOrchestrationInstanceCreated",
    EventType.SUB_ORCHESTRATION_COMPLETED: "SubOrchestrationInstanceCompleted",
    EventType.SUB_ORCHESTRATION_FAILED: "SubOrchestrationInstanceFailed",
    EventType.TIMER_CREATED: "TimerCreated",
    EventType.TIMER_FIRED: "TimerFired",
    EventType.ORCHESTRATOR_STARTED: "OrchestratorStarted",
    EventType.ORCHESTRATOR_COMPLETED: "OrchestratorCompleted",
    EventType.EVENT_SENT: "EventSent",
    EventType.EVENT_RAISED: "EventRaised",
    EventType.CONTINUE_AS_NEW: "ContinueAsNew",
    EventType.GENERIC: "GenericEvent",
    EventType.HISTORY_STATE: "HistoryState",
    EventType.EXECUTION_SUSPENDED: "ExecutionSuspended",
    EventType.EXECUTION_RESUMED: "ExecutionResumed",
}


_last_formatted: tuple[datetime | None, str] = (None, "")


def format_ts(dt: datetime) -> str:
    """ISO-8601 UTC with trailing fractional zeros trimmed, as Newtonsoft writes DateTimes."""
    global _last_formatted
    last = _last_formatted  # an episode stamps all its events with one datetime object
    if last[0] is dt:
        return last[1]
    text = _format(dt)
    _last_formatted = (dt, text)
    return text


def _format(dt: datetime) -> str:
    if dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    text = dt.replace(tzinfo=None).isoformat(timespec="microseconds")
    return text.rstrip("0").rstrip(".") + "Z"


def parse_ts(text: str) -> datetime:
    """Inverse of :func:`format_ts` (accepts up to 7 fractional digits)."""
    body = text[:-1] if text.endswith("Z") else text
    if "." in body:
        head, frac = body.split(".", 1)
        body = f"{head}.{frac[:6].ljust(6, '0')}"
    return datetime.fromisoformat(body).replace(tzinfo=UTC)


_COMPACT = json.JSONEncoder(separators=(",", ":"))
_DEFAULT = json.JSONEncoder()
# json's C encoder, made as ``JSONEncoder.iterencode`` makes it for a one-shot encode (None
# when this Python has no C accelerator): ``json.dumps`` wraps it in three Python calls and a
# closure per call, half of what encoding a history event costs.
_C_ENCODER = json.encoder.c_make_encoder
_ASCII = json.encoder.encode_basestring_ascii


def json_text(value: Any) -> str:
    """``json.dumps(value)``: the same text, built by the same C encoder (a fresh one per call,
    with its own circular-reference check, so it is safe in any thread), at half the cost."""
    if _C_ENCODER is None:  # pragma: no cover - CPython has the accelerator
        return json.dumps(value)
    return "".join(_C_ENCODER({}, _DEFAULT.default, _ASCII, None, ": ", ", ", False, False,
                              True)(value, 0))


def event_texts(events: list[dict[str, Any]]) -> list[str]:
    """``[json_text(event) for event in events]``, written once for a run of events that differ
    only in their ``EventId`` (a fan-out's ``TaskScheduled`` events share their time, name and
    input): the run's first event is encoded, the others are its text with their own id. An
    event's id is the second key our events have (``_event``), an integer, so its digits are
    the only part of the text that differs; the layout is checked on the first text."""
    texts: list[str] = []
    shape: dict[str, Any] | None = None  # the run's first event, its id replaced as we go
    prefix = suffix = ""
    for event in events:
        event_id = event.get("EventId")
        if shape is not None and type(event_id) is int:
            shape["EventId"] = event_id
            if shape == event:
                texts.append(f"{prefix}{event_id}{suffix}")
                continue
        text = json_text(event)
        texts.append(text)
        shape = None
        kind = event.get("EventType")
        if type(event_id) is int and type(kind) is int:
            prefix = f'{{"EventType": {kind}, "EventId": '
            if text.startswith(f"{prefix}{event_id}, "):
                suffix = text[len(prefix) + len(str(event_id)):]
                shape = dict(event)
    return texts


def compact(value: Any) -> str:
    """JSON text the way the host re-serialises tokens (no insignificant whitespace), as
    ``json.dumps(value, separators=(",", ":"))`` writes it (``json_text``'s way)."""
    if _C_ENCODER is None:  # pragma: no cover - CPython has the accelerator
        return _COMPACT.encode(value)
    return "".join(_C_ENCODER({}, _COMPACT.default, _ASCII, None, ":", ",", False, False,
                              True)(value, 0))


def _event(kind: EventType, ts: datetime, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    event = {"EventType": int(kind), "EventId": event_id, "IsPlayed": False,
             "Timestamp": format_ts(ts)}
    event.update(fields)
    return event


def orchestrator_started(ts: datetime) -> dict[str, Any]:
    return _event(EventType.ORCHESTRATOR_STARTED, ts)


def orchestrator_completed(ts: datetime) -> dict[str, Any]:
    return _event(EventType.ORCHESTRATOR_COMPLETED, ts)


def execution_started(ts: datetime, *, name: str, instance_id: str, execution_id: str,
                      input_json: str | None, parent: dict[str, Any] | None = None,
                      version: str | None = None) -> dict[str, Any]:
    # ``Version`` is the instance's orchestration version (null when unversioned); the SDK
    # reads it as ``context.version``.
    return _event(
        EventType.EXECUTION_STARTED, ts,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent, Name=name, Version=version, Input=input_json, Tags=None,
        Correlation=None, ParentTraceContext=None, ScheduledStartTime=None, Generation=0,
    )


def execution_completed(ts: datetime, seq: int, status: RuntimeStatus,
                        result: str | None) -> dict[str, Any]:
    return _event(EventType.EXECUTION_COMPLETED, ts, seq, OrchestrationStatus=status.code,
                  Result=result, FailureDetails=None)


def continue_as_new(ts: datetime, seq: int, result: str | None) -> dict[str, Any]:
    return _event(EventType.CONTINUE_AS_NEW, ts, seq,
                  OrchestrationStatus=RuntimeStatus.ContinuedAsNew.code, Result=result,
                  FailureDetails=None)


def execution_terminated(ts: datetime, reason: str | None) -> dict[str, Any]:
    return _event(EventType.EXECUTION_TERMINATED, ts, Input=reason)


def execution_suspended(ts: datetime, reason: str | None) -> dict[str, Any]:
    return _event(EventType.EXECUTION_SUSPENDED, ts, Reason=reason)


def execution_resumed(ts: datetime, reason: str | None) -> dict[str, Any]:
    return _event(EventType.EXECUTION_RESUMED, ts, Reason=reason)


def task_scheduled(ts: datetime, seq: int, name: str, input_text: str | None) -> dict[str, Any]:
    # The host stores the SDK's input text inside a one-element JSON array.
    # compact([input_text]), written directly for text (what json's encoder writes for it)
    stored = f"[{_ASCII(input_text)}]" if type(input_text) is str else compact([input_text])
    return _event(EventType.TASK_SCHEDULED, ts, seq, Name=name, Version="",
                  Input=stored, Tags=None, ParentTraceContext=None)


def task_completed(ts: datetime, task_id: int, result: str | None) -> dict[str, Any]:
    return _event(EventType.TASK_COMPLETED, ts, TaskScheduledId=task_id, Result=result)


def task_failed(ts: datetime, task_id: int, reason: str, details: str | None) -> dict[str, Any]:
    return _event(EventType.TASK_FAILED, ts, TaskScheduledId=task_id, Reason=reason,
                  Details=details, FailureDetails=None)


def sub_orchestration_created(ts: datetime, seq: int, name: str, instance_id: str,
                              input_json: str | None,
                              version: str | None = None) -> dict[str, Any]:
    return _event(EventType.SUB_ORCHESTRATION_CREATED, ts, seq, Name=name, Version=version,
                  InstanceId=instance_id, Input=input_json, ClientSpanId=None, Tags=None)


def sub_orchestration_completed(ts: datetime, task_id: int, result: str | None) -> dict[str, Any]:
    return _event(EventType.SUB_ORCHESTRATION_COMPLETED, ts, TaskScheduledId=task_id,
                  Result=result)


def sub_orchestration_failed(ts: datetime, task_id: int, reason: str | None,
                             details: str | None) -> dict[str, Any]:
    return _event(EventType.SUB_ORCHESTRATION_FAILED, ts, TaskScheduledId=task_id, Reason=reason,
                  Details=details, FailureDetails=None)


def timer_created(ts: datetime, seq: int, fire_at: str) -> dict[str, Any]:
    return _event(EventType.TIMER_CREATED, ts, seq, FireAt=fire_at)


def timer_fired(ts: datetime, timer_id: int, fire_at: str) -> dict[str, Any]:
    return _event(EventType.TIMER_FIRED, ts, TimerId=timer_id, FireAt=fire_at)


def event_raised(ts: datetime, name: str, input_json: str | None) -> dict[str, Any]:
    return _event(EventType.EVENT_RAISED, ts, Name=name, Input=input_json,
                  ParentTraceContext=None)


def event_sent(ts: datetime, seq: int, instance_id: str, name: str,
               input_json: str | None) -> dict[str, Any]:
    return _event(EventType.EVENT_SENT, ts, seq, InstanceId=instance_id, Name=name,
                  Input=input_json)
