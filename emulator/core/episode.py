"""One orchestration episode as a pure step: history + messages -> new events, new work and the
instance's new row. No event loop, no store, no shared state: ``step`` only reads its arguments
and returns an ``EpisodeResult``; ``orchestrations.py`` turns that into a store batch and the
memory updates that follow its commit.

An episode (durable-protocol.md section 10): append ``OrchestratorStarted`` and the message
events to the history, call the orchestrator with the trigger JSON, replay its actions against
history (``replay.py``), then complete, fail, continue as new or wait. A control message
(terminate, suspend, resume) goes alone and does not call the orchestrator.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ..protocol import history as h
from ..protocol.entities import RELEASE_EVENT, REQUEST_EVENT, Request
from ..protocol.enums import CONTROL_EVENTS, EventType, RuntimeStatus, WorkKind
from ..protocol.history import compact, event_texts, format_ts, json_text, parse_ts
from ..store.base import InstanceRecord
from .calls import Steps, drive
from .instance import Inbound
from .replay import HTTP_ACTIVITY, NewWork, ReplayResult
from .versioning import MISMATCH_OUTPUT, mismatch_failure_details

# (state, replay result, failure message): what worker.invoke_orchestrator returns
Outcome = tuple[dict | None, ReplayResult | None, str | None]
Invoke = Callable[[InstanceRecord, list[dict[str, Any]], list[str]], Outcome]


@dataclass
class EpisodeResult:
    record: InstanceRecord  # the instance's row after the episode (a copy)
    now: datetime  # the episode's time (stamped on its events)
    new_events: list[dict[str, Any]] = field(default_factory=list)  # appended to history
    texts: list[str] = field(default_factory=list)  # their JSON, as stored
    new_work: list[NewWork] = field(default_factory=list)
    completed: bool = False  # reached a terminal status (record.status, record.output)
    continued_as_new: dict[str, Any] | None = None  # the new execution's ExecutionStarted
    carryover: list[dict[str, Any]] = field(default_factory=list)  # its first EventRaised events
    fired_timers: list[int] = field(default_factory=list)  # timer messages consumed
    notes: list[tuple[int, str]] = field(default_factory=list)  # log lines once committed

    @property
    def drops_timers(self) -> bool:
        return self.completed or self.continued_as_new is not None


def episode_time(history: list[dict[str, Any]], now: datetime) -> datetime:
    """``now``, but strictly after the previous episode's ``OrchestratorStarted``."""
    for event in reversed(history):
        if event["EventType"] == EventType.ORCHESTRATOR_STARTED:
            last = parse_ts(event["Timestamp"])
            if now <= last:
                now = last + timedelta(microseconds=1)
            break
    return now


def step(record: InstanceRecord, history: list[dict[str, Any]], history_json: list[str],
         messages: list[Inbound], now: datetime, *, invoke: Invoke,
         check_work: Callable[[list[NewWork]], str | None],
         clock_now: Callable[[], datetime], default_version: str | None = None,
         version_mismatch: bool = False) -> EpisodeResult:
    """Run one episode over ``messages`` (all live for the current execution), calling the
    orchestrator through ``invoke`` (in this thread).

    ``default_version``: the host's ``defaultVersion``, for sub-orchestrations that name none.
    ``version_mismatch``: the instance's version fails this host's versioning check and the
    failure strategy is Fail: the instance fails without the orchestrator being called.
    """
    return drive(episode_steps(record, history, history_json, messages, now,
                               check_work=check_work, clock_now=clock_now,
                               default_version=default_version,
                               version_mismatch=version_mismatch), invoke)


def episode_steps(record: InstanceRecord, history: list[dict[str, Any]],
                  history_json: list[str], messages: list[Inbound], now: datetime, *,
                  check_work: Callable[[list[NewWork]], str | None],
                  clock_now: Callable[[], datetime], default_version: str | None = None,
                  version_mismatch: bool = False) -> Steps[EpisodeResult]:
    """``step`` for a caller that makes the orchestrator call itself (``calls.py``): yields
    ``invoke``'s arguments once (never for a control message or a version mismatch) and is
    sent its outcome."""
    result = EpisodeResult(record=replace(record), now=now)
    new_events = result.new_events
    new_events.append(h.orchestrator_started(now))
    sent: dict[int, str] = {}  # id(event) -> its JSON as the orchestrator was sent it
    first = messages[0].event
    if version_mismatch:
        _take(result, messages)
        _fail_version(result, len(history), now)
    elif first["EventType"] in CONTROL_EVENTS:
        _control(result, dict(first), now)
    else:
        _take(result, messages)
        yield from _orchestrate(result, history, history_json, now, check_work, sent,
                                default_version)
    for event in new_events:
        if event["EventType"] not in (EventType.ORCHESTRATOR_STARTED,
                                      EventType.ORCHESTRATOR_COMPLETED):
            event["IsPlayed"] = True
    # Each event is encoded once: the same text is stored and sent in later episodes.
    result.texts = stored_texts(new_events, sent)
    result.record.last_updated = format_ts(max(clock_now(), now))
    return result


_UNPLAYED, _PLAYED = '"IsPlayed": false', '"IsPlayed": true'


def stored_texts(events: list[dict[str, Any]], sent: dict[int, str]) -> list[str]:
    """``[stored_text(event, sent) for event in events]``; the events not sent are encoded
    together (``event_texts``: a fan-out's scheduling events from one text)."""
    fresh = iter(event_texts([event for event in events if id(event) not in sent]))
    return [stored_text(event, sent) if id(event) in sent else next(fresh) for event in events]


def stored_text(event: dict[str, Any], sent: dict[int, str]) -> str:
    """The event's JSON as stored. Events the orchestrator was just sent (the messages, with
    ``IsPlayed`` false) are not encoded again: their text gets ``IsPlayed`` flipped. The first
    ``"IsPlayed": false`` in the text is the event's own key: nested objects do not have it,
    and JSON strings inside (inputs, results) have their quotes escaped."""
    text = sent.get(id(event))
    if text is None:
        return json_text(event)
    return text.replace(_UNPLAYED, _PLAYED, 1) if event.get("IsPlayed") is True else text


def _take(result: EpisodeResult, messages: list[Inbound]) -> None:
    """The messages become new events; the timer messages among them are consumed."""
    for message in messages:
        result.new_events.append(dict(message.event))
        if message.message_id is not None:
            result.fired_timers.append(message.message_id)


def _control(result: EpisodeResult, event: dict[str, Any], now: datetime) -> None:
    record = result.record
    result.new_events.append(event)
    kind = event["EventType"]
    if kind == EventType.EXECUTION_TERMINATED:
        _complete(result, RuntimeStatus.Terminated, event.get("Input"), -1, now)
        result.notes.append((logging.INFO, f"terminated: {event.get('Input')}"))
    elif kind == EventType.EXECUTION_SUSPENDED:
        record.status = RuntimeStatus.Suspended
        result.notes.append((logging.INFO, "suspended"))
    elif kind == EventType.EXECUTION_RESUMED:
        record.status = RuntimeStatus.Running
        result.notes.append((logging.INFO, "resumed"))
    result.new_events.append(h.orchestrator_completed(now))


def _fail_version(result: EpisodeResult, past_events: int, now: datetime) -> None:
    """DTFx's versioning failure: an ``ExecutionCompleted`` (Failed) whose id is the count of
    past events, with ``FailureDetails`` and no ``Result``; the output is the details' text."""
    _complete(result, RuntimeStatus.Failed, MISMATCH_OUTPUT, past_events, now)
    completed = result.new_events[-1]
    completed["Result"] = None
    completed["FailureDetails"] = mismatch_failure_details()
    result.notes.append((logging.WARNING, f"failed: {MISMATCH_OUTPUT} (version "
                                          f"{result.record.version!r})"))
    result.new_events.append(h.orchestrator_completed(now))


def _orchestrate(result: EpisodeResult, history: list[dict[str, Any]],
                 history_json: list[str], now: datetime,
                 check_work: Callable[[list[NewWork]], str | None],
                 sent: dict[int, str], default_version: str | None = None) -> Steps[None]:
    record = result.record
    new_events = result.new_events
    for event in new_events:
        sent[id(event)] = json_text(event)
    texts = history_json + [sent[id(event)] for event in new_events]
    if record.status == RuntimeStatus.Pending:
        record.status = RuntimeStatus.Running
        result.notes.append((logging.INFO, "started"))
    state, replayed, failure = yield record, history + new_events, texts
    if state is not None and "customStatus" in state:
        record.custom_status = state.get("customStatusText") or compact(state["customStatus"])
    if failure is None and replayed is not None:
        failure = check_work(replayed.new_work)
    if failure is not None:
        seq = replayed.next_seq if replayed is not None else -1
        _complete(result, RuntimeStatus.Failed, failure, seq, now)
        result.notes.append((logging.WARNING, f"failed: {failure}"))
        new_events.append(h.orchestrator_completed(now))
        return
    for work in replayed.new_work:
        if work.kind == WorkKind.SUB_ORCHESTRATION and work.version is None:
            work.version = default_version  # the explicit version, else the host's default
        _schedule(result, work, now)
    error = state.get("error")
    if error and replayed.open_tasks == 0:
        details = state.get("failureDetails")  # the 2.x SDK's: output is FailureDetails' text
        message = error if details else f"Orchestrator function '{record.name}' failed: {error}"
        _complete(result, RuntimeStatus.Failed, message, replayed.next_seq, now)
        if details:
            result.new_events[-1]["FailureDetails"] = details
        result.notes.append((logging.WARNING, f"failed: {error}"))
    elif not error and state.get("isDone") and replayed.finished \
            and replayed.open_tasks == 0:
        if replayed.continued:
            _continue_as_new(result, replayed, now)
            return  # the old execution's history is discarded
        output = state.get("outputText") or (compact(state["output"]) if "output" in state
                                             else None)
        _complete(result, RuntimeStatus.Completed, output, replayed.next_seq, now)
        result.notes.append((logging.INFO, "completed"))
    new_events.append(h.orchestrator_completed(now))


def _schedule(result: EpisodeResult, work: NewWork, now: datetime) -> None:
    """The scheduling event of new work (the work itself is planned after the step)."""
    if work.kind == WorkKind.ACTIVITY:
        event = h.task_scheduled(now, work.seq, work.name, work.input)
    elif work.kind == WorkKind.TIMER:
        event = h.timer_created(now, work.seq, format_ts(work.fire_at))
    elif work.kind == WorkKind.EVENT:  # the SDK's JSON text, as the gRPC path stores it
        event = h.event_sent(now, work.seq, work.instance_id, work.name, work.input)
    elif work.kind == WorkKind.ENTITY:
        request = entity_request(work, result.record)
        name = RELEASE_EVENT if work.release else REQUEST_EVENT
        event = h.event_sent(now, work.seq, work.instance_id, name, request.to_json())
    else:
        input_json = json.dumps(work.input) if work.input is not None else None
        event = h.sub_orchestration_created(now, work.seq, work.name, work.instance_id,
                                            input_json, work.version)
    result.new_events.append(event)
    result.new_work.append(work)


def entity_request(work: NewWork, record: InstanceRecord) -> Request:
    """The RequestMessage of an entity call or signal the orchestration makes."""
    request = Request.from_orchestrator(work.request_id, work.name or "", work.input,
                                        work.signal, record.instance_id, record.execution_id)
    request.lock_set, request.position, request.release = work.lock_set, work.position, \
        work.release
    return request


def _complete(result: EpisodeResult, status: RuntimeStatus, output: str | None, seq: int,
              now: datetime) -> None:
    result.new_events.append(h.execution_completed(now, seq, status, output))
    result.record.status = status
    result.record.output = output
    result.completed = True


def _continue_as_new(result: EpisodeResult, replayed: ReplayResult, now: datetime) -> None:
    record = result.record
    input_json = json.dumps(replayed.continue_as_new) \
        if replayed.continue_as_new is not None else None
    record.execution_id = uuid.uuid4().hex
    record.input = input_json
    record.status = RuntimeStatus.Running
    result.continued_as_new = h.execution_started(
        now, name=record.name, instance_id=record.instance_id,
        execution_id=record.execution_id, input_json=input_json, parent=None,
        version=record.version)  # continue-as-new keeps the instance's version
    result.new_events.clear()
    result.new_work.clear()
    result.carryover = [h.event_raised(now, name, input_json)
                        for name, input_json in replayed.carryover]
    result.notes.append((logging.INFO, "continued as new"))


def unknown_function_message(name: str, kind: str, known: list[str]) -> str:
    """The extension's message for a missing function, naming the known ones of its kind."""
    names = ", ".join(f"'{n}'" for n in known)
    return (f"The function '{name}' doesn't exist, is disabled, or is not an {kind} "
            f"function. Additional info: The following are the known {kind} functions: "
            f"{names}.")


def unknown_work(new_work: list[NewWork], activities: Callable[[str], Any],
                 orchestrators: Callable[[str], Any], activity_names: Callable[[], list[str]],
                 orchestrator_names: Callable[[], list[str]]) -> str | None:
    """Fail fast on unknown functions (the real host would leave the instance hanging)."""
    for work in new_work:
        if work.kind == WorkKind.ACTIVITY and work.name != HTTP_ACTIVITY \
                and activities(work.name) is None:
            return unknown_function_message(work.name, "activity", activity_names())
        if work.kind == WorkKind.SUB_ORCHESTRATION and orchestrators(work.name) is None:
            return unknown_function_message(work.name, "orchestrator", orchestrator_names())
    return None
