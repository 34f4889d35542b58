"""The host side of an orchestrator episode: replay the SDK's actions the way DTFx does.

The Python SDK returns *every* action since the execution began (schema V2/V3: one flat list,
compound tasks nested). The real host walks that list with its C# shim - invoke an action, await
it, invoke the next - while DurableTask.Core replays the stored history against it: scheduling
events check that the same action got the same sequence id (non-determinism guard), completion
events resolve tasks and let the walk go on, retry options allocate timers and re-schedules when a
failure is processed. Whatever was invoked but has no scheduling event yet is this episode's new
work. This module is that walk, with no I/O: ``replay(history, actions, ...)`` -> ``ReplayResult``.
(durable-protocol.md sections 2.4-2.6, 3.3 and 7.)
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..protocol.entities import EntityId, EntityProtocolError, request_id
from ..protocol.enums import ActionType, EventType, WorkKind
from ..protocol.history import compact, parse_ts
from .awaitables import Coroutine, Task, done, when_all, when_any
from .determinism import (
    NonDeterminismError,
    is_error_response,
    missing_message,
    renamed_message,
    sent_request_id,
)

HTTP_ACTIVITY = "BuiltIn::HttpActivity"
SIX_DAYS_MS = 6 * 24 * 3600 * 1000

ACTIVITY, TIMER, SUB = WorkKind.ACTIVITY, WorkKind.TIMER, WorkKind.SUB_ORCHESTRATION
ENTITY = WorkKind.ENTITY
_SCHEDULING_KIND = {
    EventType.TASK_SCHEDULED: ACTIVITY,
    EventType.TIMER_CREATED: TIMER,
    EventType.SUB_ORCHESTRATION_CREATED: SUB,
    EventType.EVENT_SENT: ENTITY,  # the extension's entity requests are DTFx SendEvent calls
}


class UnsupportedActionError(Exception):
    """The orchestrator returned an action the host cannot run."""


@dataclass(slots=True)
class NewWork:
    """An action invoked in this replay that history has not recorded yet."""

    seq: int
    kind: WorkKind
    name: str | None = None  # ENTITY: the entity operation
    input: str | None = None  # the SDK's JSON text (activity / sub-orchestration / operation)
    instance_id: str | None = None  # sub-orchestrations; ENTITY: the target's '@name@key'
    fire_at: datetime | None = None  # timers
    version: str | None = None  # sub-orchestrations: the version the action names, if any
    request_id: str | None = None  # ENTITY: the request's id (a call's response carries it)
    signal: bool = False  # ENTITY: one-way
    lock_set: list[str] | None = None  # ENTITY: a critical section's lock request (2.x SDK)
    position: int = 0  # ENTITY lock request: the index of instance_id in lock_set
    release: bool = False  # ENTITY: the end of a critical section (one-way)


@dataclass
class ReplayResult:
    new_work: list[NewWork]
    finished: bool  # the shim walked past every action
    open_tasks: int  # scheduled activities/children/entity calls/timers not yet completed
    next_seq: int  # the id the completion event takes
    continue_as_new: str | None = None  # the new input text, when the SDK asked for it
    continued: bool = False
    waits_for_events: bool = False  # some action waits for an external event
    # continue-as-new: events the SDK carries into the new execution (2.x ``save_events``):
    # (name, input JSON text)
    carryover: list[tuple[str, str | None]] = field(default_factory=list)

    def waits_on_nothing(self, state: dict[str, Any]) -> bool:
        """The SDK is not done, yet every action it returned has completed and none waits for
        an event: nothing can ever resume it (a yielded ``signal_entity`` task does this)."""
        return (self.finished and self.open_tasks == 0 and not self.waits_for_events
                and not state.get("isDone") and not state.get("error"))


class _Pending:
    __slots__ = ("seq", "kind", "name", "input", "instance_id", "fire_at", "version",
                 "request_id", "signal")

    def __init__(self, seq: int, kind: str, name: str | None = None, input: str | None = None,
                 instance_id: str | None = None, fire_at: datetime | None = None,
                 version: str | None = None) -> None:
        self.seq, self.kind, self.name, self.input = seq, kind, name, input
        self.instance_id, self.fire_at, self.version = instance_id, fire_at, version
        self.request_id: str | None = None
        self.signal = False


class _Shim:
    def __init__(self, actions: list[dict[str, Any]], execution_id: str) -> None:
        self.actions = actions
        self.execution_id = execution_id
        # The last OrchestratorStarted's timestamp, parsed only when a retry reads it: most
        # replays never do, and parsing each one cost a fifth of a replay.
        self._now_text: str | None = None
        self._now: datetime | None = None
        self.next_seq = 0
        self.pending: dict[int, _Pending] = {}
        self.tasks: dict[int, Task] = {}
        self.open: set[int] = set()
        self.waiters: dict[str, deque[Task]] = defaultdict(deque)
        self.buffered: dict[str, deque[dict]] = defaultdict(deque)
        self.responses: dict[str, int] = {}  # request id -> seq of the entity call awaiting it
        self.finished = False
        self.continue_as_new: str | None = None
        self.continued = False
        self.waits_for_events = False

    @property
    def now(self) -> datetime | None:
        """The current episode's time (the last ``OrchestratorStarted`` applied)."""
        if self._now is None and self._now_text is not None:
            self._now = parse_ts(self._now_text)
        return self._now

    # -- the C# shim: invoke each top-level action and await it before the next ----------------
    def start(self) -> None:
        Coroutine(self._walk())

    def _walk(self) -> Generator[Task, None, bool]:
        for action in self.actions:
            yield self._invoke(action)
        self.finished = True
        return True

    def _invoke(self, action: dict[str, Any]) -> Task:
        kind = action.get("actionType")
        if kind == ActionType.CALL_ACTIVITY:
            return self._schedule(ACTIVITY, action["functionName"], action.get("input"))
        if kind == ActionType.CALL_HTTP:
            return self._schedule(ACTIVITY, HTTP_ACTIVITY, compact(action.get("httpRequest")))
        if kind in (ActionType.CALL_ACTIVITY_WITH_RETRY,
                    ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
            return Coroutine(self._with_retry(action))
        if kind == ActionType.CALL_SUB_ORCHESTRATOR:
            return self._schedule_sub(action)
        if kind == ActionType.CREATE_TIMER:
            return self._timer(parse_ts(action["fireAt"]), bool(action.get("isCanceled")))
        if kind == ActionType.WAIT_FOR_EXTERNAL_EVENT:
            return self._wait_event(action["externalEventName"])
        if kind == ActionType.CONTINUE_AS_NEW:
            self.continue_as_new = action.get("input")
            self.continued = True
            return done()
        if kind in (ActionType.WHEN_ALL, ActionType.WHEN_ANY):
            children = [self._invoke(child) for child in action.get("compoundActions", [])]
            return when_all(children) if kind == ActionType.WHEN_ALL else when_any(children)
        if kind in (ActionType.CALL_ENTITY, ActionType.SIGNAL_ENTITY):
            return self._entity(action, signal=kind == ActionType.SIGNAL_ENTITY)
        if kind == ActionType.SCHEDULED_SIGNAL_ENTITY:
            raise UnsupportedActionError(
                "Scheduled entity signals are not supported (the Python SDK never sends them).")
        raise UnsupportedActionError(f"Unknown action type {kind!r}: {compact(action)}")

    def _schedule(self, kind: str, name: str | None, input_text: str | None = None, *,
                  instance_id: str | None = None, fire_at: datetime | None = None,
                  version: str | None = None) -> Task:
        seq = self.next_seq
        self.next_seq += 1
        task = Task()
        self.pending[seq] = _Pending(seq, kind, name, input_text, instance_id, fire_at,
                                     version)
        self.tasks[seq] = task
        self.open.add(seq)
        return task

    def _schedule_sub(self, action: dict[str, Any]) -> Task:
        seq = self.next_seq
        instance_id = action.get("instanceId") or f"{self.execution_id}:{seq}"
        return self._schedule(SUB, action["functionName"], action.get("input"),
                              instance_id=instance_id, version=action.get("version"))

    def _timer(self, fire_at: datetime, cancelled: bool = False) -> Task:
        task = self._schedule(TIMER, None, fire_at=fire_at)
        if cancelled:
            # The host still creates the timer, stops waiting for it, and ignores its firing.
            self.open.discard(self.next_seq - 1)
            task.resolve(False)
        return task

    def _entity(self, action: dict[str, Any], signal: bool) -> Task:
        """``CallEntityAsync`` / ``SignalEntity``: one EventSent each; a call then waits for the
        EventRaised named by its request id, a signal is complete at once."""
        try:
            target = EntityId.parse(action.get("instanceId") or "")
        except EntityProtocolError as exc:
            raise UnsupportedActionError(str(exc)) from exc
        seq = self.next_seq
        task = self._schedule(ENTITY, action.get("operation") or "", action.get("input"),
                              instance_id=target.scheduler_id)
        pending = self.pending[seq]
        pending.request_id, pending.signal = request_id(self.execution_id, seq), signal
        if signal:
            self.open.discard(seq)
            task.resolve(True)
        return task

    def _wait_event(self, name: str) -> Task:
        self.waits_for_events = True
        key = name.lower()
        task = Task()
        if self.buffered[key]:
            self.buffered[key].popleft()
            task.resolve(True)
        else:
            self.waiters[key].append(task)
        return task

    def _with_retry(self, action: dict[str, Any]) -> Generator[Task, None, bool]:
        """DTFx RetryInterceptor: attempt, then a timer after each failure (protocol notes 7)."""
        options = action.get("retryOptions") or {}
        attempts = int(options.get("maxNumberOfAttempts", 1))
        first_ms = float(options.get("firstRetryIntervalInMilliseconds", 0))
        backoff = float(options.get("backoffCoefficient", 1) or 1)
        max_ms = float(options.get("maxRetryIntervalInMilliseconds", SIX_DAYS_MS))
        timeout_ms = options.get("retryTimeoutInMilliseconds")
        started = self.now
        is_sub = action["actionType"] == ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY
        for attempt in range(attempts):
            task = (self._schedule_sub(action) if is_sub else
                    self._schedule(ACTIVITY, action["functionName"], action.get("input")))
            yield task
            if task.ok:
                return True
            if attempt + 1 == attempts:
                yield self._timer(self.now)  # the back-compat "dummy" timer, due at once
                return False
            delay = min(first_ms * backoff ** attempt, max_ms)
            if timeout_ms is not None and self.now >= started + timedelta(
                    milliseconds=float(timeout_ms)):
                delay = 0
            if delay <= 0:
                return False
            yield self._timer(self.now + timedelta(milliseconds=delay))
        return True

    # -- history ---------------------------------------------------------------------------
    def apply(self, event: dict[str, Any]) -> None:
        handler = _APPLY.get(event["EventType"])
        if handler is not None:
            handler(self, event)

    def _started(self, event: dict[str, Any]) -> None:
        self._now_text, self._now = event["Timestamp"], None

    def _execution_started(self, event: dict[str, Any]) -> None:
        self.start()

    def _sent(self, event: dict[str, Any]) -> None:
        pending = self._match(event, ENTITY)
        if not pending.signal:
            self.responses[sent_request_id(event)] = pending.seq

    def _scheduled(self, event: dict[str, Any]) -> None:
        self._match(event, _SCHEDULING_KIND[event["EventType"]])

    def _succeeded(self, event: dict[str, Any]) -> None:
        self._complete(event["TaskScheduledId"], True)

    def _failed(self, event: dict[str, Any]) -> None:
        self._complete(event["TaskScheduledId"], False)

    def _timer_fired(self, event: dict[str, Any]) -> None:
        self._complete(event["TimerId"], True)

    def _raised(self, event: dict[str, Any]) -> None:
        name = event.get("Name")
        if name in self.responses:
            seq = self.responses.pop(name)
            self._complete(seq, not is_error_response(event.get("Input")))
            return
        key = (name or "").lower()
        if self.waiters[key]:
            self.waiters[key].popleft().resolve(True)
        else:
            self.buffered[key].append(event)

    def _complete(self, seq: int, ok: bool) -> None:
        task = self.tasks.get(seq)
        if task is None or task.done:
            return  # a result for a cancelled timer or an unknown task: DTFx ignores it
        self.open.discard(seq)
        task.resolve(ok)

    def _match(self, event: dict[str, Any], kind: str) -> _Pending:
        seq = event["EventId"]
        pending = self.pending.get(seq)
        if pending is None or pending.kind != kind:
            raise NonDeterminismError(missing_message(event, kind))
        if kind not in (TIMER, ENTITY) \
                and (pending.name or "").lower() != (event.get("Name") or "").lower():
            raise NonDeterminismError(renamed_message(event, kind, pending.name))
        del self.pending[seq]
        return pending


# What each kind of history event does to the shim (one dict lookup per event: the history is
# replayed whole every episode); other kinds change nothing.
_APPLY: dict[int, Callable[[_Shim, dict[str, Any]], None]] = {
    EventType.ORCHESTRATOR_STARTED: _Shim._started,
    EventType.EXECUTION_STARTED: _Shim._execution_started,
    EventType.EVENT_SENT: _Shim._sent,
    EventType.TASK_SCHEDULED: _Shim._scheduled,
    EventType.TIMER_CREATED: _Shim._scheduled,
    EventType.SUB_ORCHESTRATION_CREATED: _Shim._scheduled,
    EventType.TASK_COMPLETED: _Shim._succeeded,
    EventType.SUB_ORCHESTRATION_COMPLETED: _Shim._succeeded,
    EventType.TASK_FAILED: _Shim._failed,
    EventType.SUB_ORCHESTRATION_FAILED: _Shim._failed,
    EventType.TIMER_FIRED: _Shim._timer_fired,
    EventType.EVENT_RAISED: _Shim._raised,
}


def top_level_actions(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The flat action list of a V2/V3 orchestrator state (``actions == [[...]]``)."""
    actions = state.get("actions") or []
    if not actions:
        return []
    if state.get("schemaVersion") is None:
        # V1 groups: one inner list per yield; flatten them (only reachable with old hosts).
        return [a for group in actions for a in group]
    if len(actions) != 1:
        raise UnsupportedActionError(
            f"With OOProc schema V{state.get('schemaVersion')}, expected actions array to be of "
            f"length 1 (got {len(actions)}).")
    return list(actions[0])


def replay(history: Iterable[dict[str, Any]], actions: list[dict[str, Any]],
           execution_id: str) -> ReplayResult:
    """Walk ``history`` (this execution, old and new events) against the SDK's ``actions``.

    Raises NonDeterminismError when a recorded scheduling event has no matching action, and
    UnsupportedActionError for an action the host cannot run.
    """
    shim = _Shim(actions, execution_id)
    for event in history:
        shim.apply(event)
    new_work = [
        NewWork(p.seq, p.kind, p.name, p.input, p.instance_id, p.fire_at, p.version,
                p.request_id, p.signal)
        for p in sorted(shim.pending.values(), key=lambda p: p.seq)
    ]
    return ReplayResult(
        new_work=new_work, finished=shim.finished, open_tasks=len(shim.open),
        next_seq=shim.next_seq, continue_as_new=shim.continue_as_new, continued=shim.continued,
        waits_for_events=shim.waits_for_events,
    )

