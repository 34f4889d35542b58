"""A 2.x ``OrchestratorResponse`` -> the decision our episode step takes from a 1.x worker:
an orchestrator state (done, output, error, custom status) and a ``ReplayResult`` (new work).

The 2.x SDK replays history itself (durabletask's executor: sequence ids, the non-determinism
checks, retries as timers) and answers only the actions history has not recorded yet, each with
its id; a ``completeOrchestration`` action ends the execution at once, as DTFx does for gRPC
workers whatever tasks are still open. So there is no shim to walk here: each action becomes one
``NewWork`` with the action's id as its sequence number.

Payloads: the 2.x SDK's inputs are JSON text that the gRPC path stores as it is. The engine's
episode applies the 1.x shim's encoding (``json.dumps``) to sub-orchestration inputs, entity
operation inputs and continue-as-new inputs; those carry the decoded value here, so that
encoding gives back the SDK's own text. Activity inputs stay text (the engine passes them on
unchanged).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...core.replay import NewWork, ReplayResult
from ...protocol.entities import EntityId, EntityProtocolError
from ...protocol.enums import EventType, WorkKind
from .messages import datetime_of, pb, text_of

__all__ = ["Decision", "UnsupportedAction", "decide", "failure_text", "history_tasks",
           "open_task_ids"]

_STATUS_COMPLETED = pb.ORCHESTRATION_STATUS_COMPLETED
_STATUS_FAILED = pb.ORCHESTRATION_STATUS_FAILED
_STATUS_CONTINUED = pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW
_STATUS_TERMINATED = pb.ORCHESTRATION_STATUS_TERMINATED


class UnsupportedAction(Exception):
    """The orchestrator answered an action the local host cannot run (yet)."""


@dataclass
class Decision:
    """What the episode step needs, in the shapes it already reads."""

    state: dict[str, Any]  # isDone / output / error / customStatus, as a 1.x state
    replayed: ReplayResult
    failure_details: pb.TaskFailureDetails | None = None  # a failed completion's details


def _decoded(text: str | None) -> Any:
    """The value of the SDK's JSON text (None, or empty text, is no payload)."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UnsupportedAction(f"The orchestrator sent a payload that is not JSON: {text!r}") \
            from exc


def _value_of(text: str | None) -> Any:
    """The value of a payload that is kept as text too: its JSON value, or the text itself when
    it is not JSON (a large-payload reference the worker stored elsewhere)."""
    try:
        return _decoded(text)
    except UnsupportedAction:
        return text


def failure_text(details: pb.TaskFailureDetails) -> str:
    """A failure's one-line text (DTFx ``FailureDetails.ToString()``: ``Type: message``)."""
    if details.errorType and details.errorMessage:
        return f"{details.errorType}: {details.errorMessage}"
    return details.errorMessage or details.errorType or "The orchestration failed."


_OPENS = frozenset({EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_CREATED,
                    EventType.TIMER_CREATED})
_CLOSES = frozenset({EventType.TASK_COMPLETED, EventType.TASK_FAILED,
                     EventType.SUB_ORCHESTRATION_COMPLETED, EventType.SUB_ORCHESTRATION_FAILED})


def history_tasks(history: Sequence[dict[str, Any]]) -> tuple[set[int], int]:
    """One pass over history: the ids of tasks it scheduled and did not complete
    (activities, children, timers), and the highest event id it holds (-1: none)."""
    scheduled: set[int] = set()
    top = -1
    for event in history:
        event_id = event.get("EventId", -1)
        if event_id > top:
            top = event_id
        kind = event["EventType"]
        if kind in _OPENS:
            scheduled.add(event_id)
        elif kind in _CLOSES:
            scheduled.discard(event["TaskScheduledId"])
        elif kind == EventType.TIMER_FIRED:
            scheduled.discard(event["TimerId"])
    return scheduled, top


def open_task_ids(history: Sequence[dict[str, Any]]) -> set[int]:
    """Ids of tasks history scheduled and did not complete (activities, children, timers)."""
    return history_tasks(history)[0]


def _entity_work(action_id: int, message: pb.SendEntityMessageAction) -> NewWork:
    kind = message.WhichOneof("EntityMessageType")
    if kind == "entityOperationCalled":
        body, signal = message.entityOperationCalled, False
    elif kind == "entityOperationSignaled":
        body, signal = message.entityOperationSignaled, True
    elif kind == "entityLockRequested":
        lock = message.entityLockRequested
        if not 0 <= lock.position < len(lock.lockSet):
            raise UnsupportedAction(f"A lock request names position {lock.position} of "
                                    f"{len(lock.lockSet)} entities.")
        return NewWork(action_id, WorkKind.ENTITY, instance_id=lock.lockSet[lock.position],
                       request_id=lock.criticalSectionId, lock_set=list(lock.lockSet),
                       position=lock.position)
    elif kind == "entityUnlockSent":
        unlock = message.entityUnlockSent
        return NewWork(action_id, WorkKind.ENTITY, instance_id=text_of(unlock, "targetInstanceId"),
                       request_id=unlock.criticalSectionId, signal=True, release=True)
    else:
        raise UnsupportedAction(f"Unknown entity message {kind!r}.")
    fire_at = datetime_of(body.scheduledTime) if body.HasField("scheduledTime") else None
    if fire_at is not None and not signal:
        raise UnsupportedAction("Scheduled entity calls are not supported by the local host.")
    target = text_of(body, "targetInstanceId") or ""
    try:
        EntityId.parse(target)
    except EntityProtocolError as exc:
        raise UnsupportedAction(str(exc)) from exc
    # A scheduled signal's time rides in ``fire_at``: its message is delivered then.
    return NewWork(action_id, WorkKind.ENTITY, name=body.operation,
                   input=_decoded(text_of(body, "input")), instance_id=target,
                   fire_at=fire_at, request_id=body.requestId, signal=signal)


def _work(action: pb.OrchestratorAction, kind: str | None) -> NewWork:
    """``action`` (of oneof ``kind``) as new work."""
    if kind == "scheduleTask":
        task = action.scheduleTask
        return NewWork(action.id, WorkKind.ACTIVITY, task.name,
                       task.input.value if task.HasField("input") else None)
    if kind == "createTimer":
        return NewWork(action.id, WorkKind.TIMER, fire_at=datetime_of(action.createTimer.fireAt))
    if kind == "createSubOrchestration":
        sub = action.createSubOrchestration
        return NewWork(action.id, WorkKind.SUB_ORCHESTRATION, name=sub.name,
                       input=_decoded(text_of(sub, "input")),
                       instance_id=sub.instanceId or None, version=text_of(sub, "version"))
    if kind == "sendEntityMessage":
        return _entity_work(action.id, action.sendEntityMessage)
    if kind == "sendEvent":
        event = action.sendEvent
        return NewWork(action.id, WorkKind.EVENT, name=event.name,
                       input=text_of(event, "data"), instance_id=event.instance.instanceId)
    if kind == "terminateOrchestration":
        raise UnsupportedAction("Terminating another orchestration from an orchestrator is not "
                                "supported by the local host.")
    raise UnsupportedAction(f"Unknown orchestrator action {kind!r}.")


def _seq(work: NewWork) -> int:
    return work.seq


def decide(response: pb.OrchestratorResponse,
           history: Sequence[dict[str, Any]]) -> Decision:
    """Read one response against the execution's ``history`` (the events it was sent).

    Raises ``UnsupportedAction`` for an action the host cannot run.
    """
    state: dict[str, Any] = {"isDone": False}
    if response.HasField("customStatus"):
        state["customStatusText"] = response.customStatus.value or None  # kept as sent
        state["customStatus"] = _value_of(response.customStatus.value)
    new_work: list[NewWork] = []
    complete: pb.OrchestratorAction | None = None
    for action in response.actions:
        kind = action.WhichOneof("orchestratorActionType")
        if kind == "completeOrchestration":
            complete = action
            continue
        new_work.append(_work(action, kind))
    new_work.sort(key=_seq)
    still_open, top_id = history_tasks(history)
    next_seq = max(new_work[-1].seq if new_work else -1, top_id) + 1
    open_tasks = len(still_open) + sum(  # one-way work completes nothing later
        1 for work in new_work
        if work.kind != WorkKind.EVENT and not (work.kind == WorkKind.ENTITY and work.signal))
    replayed = ReplayResult(new_work=new_work, finished=complete is not None,
                            open_tasks=open_tasks, next_seq=next_seq)
    if complete is None:
        return Decision(state, replayed)
    done = complete.completeOrchestration
    replayed.open_tasks = 0  # a completion ends the execution, whatever is still open
    replayed.next_seq = complete.id
    result = text_of(done, "result")
    status = done.orchestrationStatus
    if status == _STATUS_COMPLETED:
        state["isDone"] = True
        if result:
            state["output"] = _value_of(result)
            state["outputText"] = result  # stored as the SDK sent it, as the gRPC path does
        return Decision(state, replayed)
    if status == _STATUS_CONTINUED:
        state["isDone"] = True
        replayed.continued = True
        replayed.continue_as_new = _decoded(result)
        replayed.carryover = [(e.eventRaised.name, text_of(e.eventRaised, "input"))
                              for e in done.carryoverEvents if e.HasField("eventRaised")]
        return Decision(state, replayed)
    if status == _STATUS_FAILED:
        details = done.failureDetails if done.HasField("failureDetails") else \
            pb.TaskFailureDetails(errorType="Exception", errorMessage=result or "")
        state["error"] = failure_text(details)
        return Decision(state, replayed, failure_details=details)
    if status == _STATUS_TERMINATED:
        state["isDone"] = True
        state["output"] = _decoded(result)
        return Decision(state, replayed)
    raise UnsupportedAction(f"The orchestrator completed with status {status}, which the local "
                            "host cannot record.")
