"""History events of our engine (the extension's JSON, PascalCase) -> protobuf ``HistoryEvent``s,
and the ``OrchestratorRequest`` a 2.x orchestrator function receives.

The mapping follows the extension's ``ProtobufUtils.ToHistoryEventProto``: payloads travel as
the text the engine stored, with two differences of the 1.x out-of-process shim undone here:
``TaskScheduled.Input`` is stored as a one-element JSON array (the 1.x shim's argument list),
so its element is sent; a 1.x-shaped ``TaskFailed`` / ``SubOrchestrationInstanceFailed``
(``Reason`` / ``Details``, no ``FailureDetails``) gets ``TaskFailureDetails`` built from them.
Entity calls keep the legacy shape the extension gives 2.x workers too (``EventSent`` to
``@name@key`` with the request JSON, the response as ``EventRaised`` named by the request id),
which durabletask's executor replays as entity calls.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ...protocol.enums import EventType
from .history_cache import ProtoHistoryCache
from .messages import pb, stamp_of_iso, string_value

__all__ = ["to_proto_event", "add_proto_event", "orchestrator_request",
           "serialized_orchestrator_request", "split_new_events", "failure_details",
           "UnknownEventError"]


class UnknownEventError(ValueError):
    """A stored history event this translation has no protobuf form for."""


def failure_details(details: dict[str, Any] | None = None, *, reason: str | None = None,
                    text: str | None = None) -> pb.TaskFailureDetails:
    """``TaskFailureDetails`` from DTFx ``FailureDetails`` JSON, or from a 1.x failure's
    ``Reason`` (the message) and ``Details`` (the .NET exception JSON, read for its type)."""
    if details:
        inner = details.get("InnerFailure")
        return pb.TaskFailureDetails(
            errorType=details.get("ErrorType") or "",
            errorMessage=details.get("ErrorMessage") or "",
            stackTrace=string_value(details.get("StackTrace")),
            innerFailure=failure_details(inner) if inner else None,
            isNonRetriable=bool(details.get("IsNonRetriable")),
        )
    error_type = "Exception"
    if text:
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and parsed.get("ClassName"):
            error_type = str(parsed["ClassName"])
    return pb.TaskFailureDetails(errorType=error_type, errorMessage=reason or "")


def _unwrap_argument_list(text: str | None) -> str | None:
    """``["<input text>"]`` -> ``<input text>`` (the 1.x shim's stored argument list)."""
    if text is None:
        return None
    inner = text[2:-2]
    if (len(text) >= 4 and text[:2] == '["' and text[-2:] == '"]' and '"' not in inner
            and "\\" not in inner and inner.isprintable()):
        return inner  # a JSON string without escapes is its own text (the common case)
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, list) and len(value) == 1 and (value[0] is None
                                                         or isinstance(value[0], str)):
        return value[0]
    return text


def _parent(parent: dict[str, Any] | None) -> pb.ParentInstanceInfo | None:
    if not parent:
        return None
    instance = parent.get("OrchestrationInstance") or {}
    return pb.ParentInstanceInfo(
        taskScheduledId=int(parent.get("TaskScheduleId") or 0),
        name=string_value(parent.get("Name")),
        version=string_value(parent.get("Version")),
        orchestrationInstance=pb.OrchestrationInstance(
            instanceId=instance.get("InstanceId") or "",
            executionId=string_value(instance.get("ExecutionId"))),
    )


def _failed(event: dict[str, Any]) -> pb.TaskFailureDetails:
    return failure_details(event.get("FailureDetails"), reason=event.get("Reason"),
                           text=event.get("Details"))


def _text(text: str | None) -> dict[str, str] | None:
    """An optional ``StringValue`` field's keywords (None: unset, not an empty string)."""
    return None if text is None else {"value": text}


# ``_body`` gives each event's fields as the keyword dicts a message constructor takes, not as
# messages: upb builds nested fields from dicts in place, where a message argument is built
# and then copied (a 2000-event history converted in less than half the time).


def _body(kind: int, e: dict[str, Any]) -> dict[str, Any]:
    """The ``HistoryEvent`` oneof field and its fields for one stored event."""
    get = e.get
    if kind == EventType.TASK_COMPLETED:
        return {"taskCompleted": {"taskScheduledId": get("TaskScheduledId"),
                                  "result": _text(get("Result"))}}
    if kind == EventType.TASK_SCHEDULED:
        return {"taskScheduled": {"name": get("Name") or "",
                                  "version": _text(get("Version") or None),
                                  "input": _text(_unwrap_argument_list(get("Input")))}}
    if kind == EventType.ORCHESTRATOR_STARTED:
        return {"orchestratorStarted": {}}
    if kind == EventType.ORCHESTRATOR_COMPLETED:
        return {"orchestratorCompleted": {}}
    if kind == EventType.EXECUTION_STARTED:
        instance = get("OrchestrationInstance") or {}
        return {"executionStarted": {
            "name": get("Name") or "", "version": _text(get("Version")),
            "input": _text(get("Input")),
            "orchestrationInstance": {"instanceId": instance.get("InstanceId") or "",
                                      "executionId": _text(instance.get("ExecutionId"))},
            "parentInstance": _parent(get("ParentInstance"))}}
    if kind in (EventType.EXECUTION_COMPLETED, EventType.EXECUTION_FAILED):
        details = get("FailureDetails")
        return {"executionCompleted": {
            "orchestrationStatus": int(get("OrchestrationStatus") or 0),
            "result": _text(get("Result")),
            "failureDetails": failure_details(details) if details else None}}
    if kind == EventType.EXECUTION_TERMINATED:
        return {"executionTerminated": {"input": _text(get("Input"))}}
    if kind == EventType.TASK_FAILED:
        return {"taskFailed": {"taskScheduledId": get("TaskScheduledId"),
                               "failureDetails": _failed(e)}}
    if kind == EventType.SUB_ORCHESTRATION_CREATED:
        return {"subOrchestrationInstanceCreated": {
            "instanceId": get("InstanceId") or "", "name": get("Name") or "",
            "version": _text(get("Version")), "input": _text(get("Input"))}}
    if kind == EventType.SUB_ORCHESTRATION_COMPLETED:
        return {"subOrchestrationInstanceCompleted": {
            "taskScheduledId": get("TaskScheduledId"), "result": _text(get("Result"))}}
    if kind == EventType.SUB_ORCHESTRATION_FAILED:
        return {"subOrchestrationInstanceFailed": {
            "taskScheduledId": get("TaskScheduledId"), "failureDetails": _failed(e)}}
    if kind == EventType.TIMER_CREATED:
        return {"timerCreated": {"fireAt": stamp_of_iso(get("FireAt"))}}
    if kind == EventType.TIMER_FIRED:
        return {"timerFired": {"timerId": get("TimerId"), "fireAt": stamp_of_iso(get("FireAt"))}}
    if kind == EventType.EVENT_SENT:
        return {"eventSent": {"instanceId": get("InstanceId") or "", "name": get("Name") or "",
                              "input": _text(get("Input"))}}
    if kind == EventType.EVENT_RAISED:
        return {"eventRaised": {"name": get("Name") or "", "input": _text(get("Input"))}}
    if kind == EventType.CONTINUE_AS_NEW:
        return {"continueAsNew": {"input": _text(get("Result"))}}
    if kind in (EventType.GENERIC, EventType.HISTORY_STATE):
        # Rewind markers and history-state rows carry no execution semantics.
        data = get("Data")
        return {"genericEvent": {"data": _text(data if isinstance(data, str) or data is None
                                               else json.dumps(data))}}
    if kind == EventType.EXECUTION_SUSPENDED:
        return {"executionSuspended": {"input": _text(get("Reason"))}}
    if kind == EventType.EXECUTION_RESUMED:
        return {"executionResumed": {"input": _text(get("Reason"))}}
    raise UnknownEventError(f"History event type {kind} has no protobuf form: {e!r}")


# The tasks one episode schedules share its timestamp and, in a fan-out, their name and input:
# the last scheduled task's message (without its id) is kept and copied for the next one that
# differs only in its id (protobuf's CopyFrom, a third of building it from the fields).
_last_scheduled: tuple[tuple[Any, ...], pb.HistoryEvent | None] = ((), None)


def add_proto_event(events: Any, event: dict[str, Any]) -> None:
    """Append one stored history event, as the 2.x SDK receives it, to ``events`` (a repeated
    ``HistoryEvent`` field): built in place, not built and then copied in."""
    global _last_scheduled
    kind = int(event["EventType"])
    if kind == EventType.TASK_SCHEDULED:
        get = event.get
        key = (event["Timestamp"], get("Name"), get("Version"), get("Input"))
        last_key, template = _last_scheduled
        if template is None or last_key != key:
            template = pb.HistoryEvent(timestamp=stamp_of_iso(event["Timestamp"]),
                                       **_body(kind, event))
            _last_scheduled = (key, template)
        added = events.add()
        added.CopyFrom(template)
        added.eventId = int(get("EventId", -1))
        return
    events.add(eventId=int(event.get("EventId", -1)),
               timestamp=stamp_of_iso(event["Timestamp"]), **_body(kind, event))


def to_proto_event(event: dict[str, Any]) -> pb.HistoryEvent:
    """One stored history event as the 2.x SDK receives it."""
    holder = pb.OrchestratorRequest()
    add_proto_event(holder.newEvents, event)
    return holder.newEvents[0]


def split_new_events(history: Sequence[dict[str, Any]]) -> int:
    """Where this episode's events begin: its ``OrchestratorStarted`` (the last one)."""
    for index in range(len(history) - 1, -1, -1):
        if history[index]["EventType"] == EventType.ORCHESTRATOR_STARTED:
            return index
    return 0


def orchestrator_request(instance_id: str, execution_id: str,
                         history: Sequence[dict[str, Any]]) -> pb.OrchestratorRequest:
    """The request for one episode: ``history`` is the execution's events, stored ones first,
    then this episode's (from its ``OrchestratorStarted``), which become ``newEvents``."""
    start = split_new_events(history)
    request = pb.OrchestratorRequest(instanceId=instance_id,
                                     executionId=string_value(execution_id))
    for index, event in enumerate(history):
        add_proto_event(request.pastEvents if index < start else request.newEvents, event)
    return request


def serialized_orchestrator_request(instance_id: str, execution_id: str,
                                    history: Sequence[dict[str, Any]], *,
                                    cache: ProtoHistoryCache | None = None,
                                    texts: Sequence[str] | None = None) -> bytes:
    """``orchestrator_request`` serialized; with a ``cache``, the instance's request of the
    last episode brought up to date (``texts``: each event's stored JSON, the exact comparison
    that tells events unchanged)."""
    if cache is None:
        return orchestrator_request(instance_id, execution_id, history).SerializeToString()
    return cache.serialized(instance_id, execution_id, history, texts, add_proto_event,
                            split_new_events(history))
