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


@dataclass
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


class _Task:
    __slots__ = ("done", "ok", "_callbacks")

    def __init__(self) -> None:
        self.done = False
        self.ok = False
        self._callbacks: list[Callable[[_Task], None]] = []

    def resolve(self, ok: bool) -> None:
        if self.done:
            return
        self.done, self.ok = True, ok
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)

    def on_done(self, callback: Callable[[_Task], None]) -> None:
        if self.done:
            callback(self)
        else:
            self._callbacks.append(callback)


class _Coroutine(_Task):
    """A task driven by a generator that yields the tasks it awaits (C# async, in miniature)."""

    __slots__ = ("_gen",)

    def __init__(self, gen: Generator[_Task, None, bool]) -> None:
        super().__init__()
        self._gen = gen
        self._step(None)

    def _step(self, _: _Task | None) -> None:
        while True:
            try:
                awaited = next(self._gen)
            except StopIteration as stop:
                self.resolve(bool(stop.value))
                return
            if not awaited.done:
                awaited.on_done(self._step)
                return


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
        self.now: datetime | None = None
        self.next_seq = 0
        self.pending: dict[int, _Pending] = {}
        self.tasks: dict[int, _Task] = {}
        self.open: set[int] = set()
        self.waiters: dict[str, deque[_Task]] = defaultdict(deque)
        self.buffered: dict[str, deque[dict]] = defaultdict(deque)
        self.responses: dict[str, int] = {}  # request id -> seq of the entity call awaiting it
        self.finished = False
        self.continue_as_new: str | None = None
        self.continued = False
        self.waits_for_events = False

    # -- the C# shim: invoke each top-level action and await it before the next ----------------
    def start(self) -> None:
        _Coroutine(self._walk())

    def _walk(self) -> Generator[_Task, None, bool]:
        for action in self.actions:
            yield self._invoke(action)
        self.finished = True
        return True

    def _invoke(self, action: dict[str, Any]) -> _Task:
        kind = action.get("actionType")
        if kind == ActionType.CALL_ACTIVITY:
            return self._schedule(ACTIVITY, action["functionName"], action.get("input"))
        if kind == ActionType.CALL_HTTP:
            return self._schedule(ACTIVITY, HTTP_ACTIVITY, compact(action.get("httpRequest")))
        if kind in (ActionType.CALL_ACTIVITY_WITH_RETRY,
                    ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
            return _Coroutine(self._with_retry(action))
        if kind == ActionType.CALL_SUB_ORCHESTRATOR:
            return self._schedule_sub(action)
        if kind == ActionType.CREATE_TIMER:
            return self._timer(parse_ts(action["fireAt"]), bool(action.get("isCanceled")))
        if kind == ActionType.WAIT_FOR_EXTERNAL_EVENT:
            return self._wait_event(action["externalEventName"])
        if kind == ActionType.CONTINUE_AS_NEW:
            self.continue_as_new = action.get("input")
            self.continued = True
            return _done()
        if kind in (ActionType.WHEN_ALL, ActionType.WHEN_ANY):
            children = [self._invoke(child) for child in action.get("compoundActions", [])]
            return _when_all(children) if kind == ActionType.WHEN_ALL else _when_any(children)
        if kind in (ActionType.CALL_ENTITY, ActionType.SIGNAL_ENTITY):
            return self._entity(action, signal=kind == ActionType.SIGNAL_ENTITY)
        if kind == ActionType.SCHEDULED_SIGNAL_ENTITY:
            raise UnsupportedActionError(
                "Scheduled entity signals are not supported (the Python SDK never sends them).")
        raise UnsupportedActionError(f"Unknown action type {kind!r}: {compact(action)}")

    def _schedule(self, kind: str, name: str | None, input_text: str | None = None, *,
                  instance_id: str | None = None, fire_at: datetime | None = None,
                  version: str | None = None) -> _Task:
        seq = self.next_seq
        self.next_seq += 1
        task = _Task()
        self.pending[seq] = _Pending(seq, kind, name, input_text, instance_id, fire_at,
                                     version)
        self.tasks[seq] = task
        self.open.add(seq)
        return task

    def _schedule_sub(self, action: dict[str, Any]) -> _Task:
        seq = self.next_seq
        instance_id = action.get("instanceId") or f"{self.execution_id}:{seq}"
        return self._schedule(SUB, action["functionName"], action.get("input"),
                              instance_id=instance_id, version=action.get("version"))

    def _timer(self, fire_at: datetime, cancelled: bool = False) -> _Task:
        task = self._schedule(TIMER, None, fire_at=fire_at)
        if cancelled:
            # The host still creates the timer, stops waiting for it, and ignores its firing.
            self.open.discard(self.next_seq - 1)
            task.resolve(False)
        return task

    def _entity(self, action: dict[str, Any], signal: bool) -> _Task:
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

    def _wait_event(self, name: str) -> _Task:
        self.waits_for_events = True
        key = name.lower()
        task = _Task()
        if self.buffered[key]:
            self.buffered[key].popleft()
            task.resolve(True)
        else:
            self.waiters[key].append(task)
        return task

    def _with_retry(self, action: dict[str, Any]) -> Generator[_Task, None, bool]:
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
        kind = event["EventType"]
        if kind == EventType.ORCHESTRATOR_STARTED:
            self.now = parse_ts(event["Timestamp"])
        elif kind == EventType.EXECUTION_STARTED:
            self.start()
        elif kind == EventType.EVENT_SENT:
            pending = self._match(event, ENTITY)
            if not pending.signal:
                self.responses[sent_request_id(event)] = pending.seq
        elif kind in _SCHEDULING_KIND:
            self._match(event, _SCHEDULING_KIND[kind])
        elif kind in (EventType.TASK_COMPLETED, EventType.SUB_ORCHESTRATION_COMPLETED):
            self._complete(event["TaskScheduledId"], True)
        elif kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED):
            self._complete(event["TaskScheduledId"], False)
        elif kind == EventType.TIMER_FIRED:
            self._complete(event["TimerId"], True)
        elif kind == EventType.EVENT_RAISED and event.get("Name") in self.responses:
            seq = self.responses.pop(event["Name"])
            self._complete(seq, not is_error_response(event.get("Input")))
        elif kind == EventType.EVENT_RAISED:
            key = (event.get("Name") or "").lower()
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


def _done() -> _Task:
    task = _Task()
    task.resolve(True)
    return task


def _when_all(children: list[_Task]) -> _Task:
    task = _Task()
    remaining = [len(children)]
    if not children:
        task.resolve(True)
        return task

    def child_done(_: _Task) -> None:
        remaining[0] -= 1
        if remaining[0] == 0:
            task.resolve(all(child.ok for child in children))

    for child in children:
        child.on_done(child_done)
    return task


def _when_any(children: list[_Task]) -> _Task:
    task = _Task()
    for child in children:
        child.on_done(lambda c: task.resolve(c.ok))
    return task


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

