"""One instance's history as spans: the model every history view draws from.

A span is an activity, a sub-orchestration, an entity call or a timer, from scheduling to result;
points are events raised, entity signals, terminations, suspensions, resumptions and rewinds;
episodes are the intervals in which the orchestrator ran. Times are milliseconds from the first
event. ``read_spans`` reads them once from a stored history (pure: no engine, no I/O); the
dashboard's Gantt data (``gantt.py``) and the PNG plot (``plot.py``) project them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..protocol.enums import EventType, RuntimeStatus
from ..protocol.history import EVENT_NAMES, parse_ts

PREVIEW = 4000  # characters of an input, output or error kept per span
REWIND = "Rewind"  # point kinds besides the history's own event names
REWOUND_FAILURE = "RewoundFailure"
ENTITY_SIGNAL = "EntitySignal"


class BarKind(StrEnum):
    ACTIVITY = "activity"
    SUB = "suborchestration"
    TIMER = "timer"
    ENTITY = "entity"  # call_entity: the request sent, the response raised back


class Outcome(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    RUNNING = "running"  # scheduled, no result yet
    FIRED = "fired"  # timers
    WAITING = "waiting"  # a timer not yet due
    CANCELLED = "cancelled"  # a timer the instance finished without


_OPEN_EVENTS = {EventType.TASK_SCHEDULED: BarKind.ACTIVITY,
                EventType.SUB_ORCHESTRATION_CREATED: BarKind.SUB}
_CLOSE_EVENTS = {EventType.TASK_COMPLETED: Outcome.COMPLETED,
                 EventType.TASK_FAILED: Outcome.FAILED,
                 EventType.SUB_ORCHESTRATION_COMPLETED: Outcome.COMPLETED,
                 EventType.SUB_ORCHESTRATION_FAILED: Outcome.FAILED}
_POINT_EVENTS = (EventType.EVENT_RAISED, EventType.EXECUTION_TERMINATED,
                 EventType.EXECUTION_SUSPENDED, EventType.EXECUTION_RESUMED)


@dataclass
class Span:
    kind: BarKind
    seq: int
    name: str
    start: float
    end: float | None = None
    outcome: Outcome = Outcome.RUNNING
    input: str | None = None
    output: str | None = None
    error: str | None = None
    details: str | None = None  # the failure's details (exception JSON, stack)
    attempt: int = 1
    child: str | None = None
    fire_at: str | None = None

    def as_json(self) -> dict[str, Any]:
        body = {"kind": self.kind.value, "seq": self.seq, "name": self.name,
                "start": self.start, "end": self.end, "outcome": self.outcome.value,
                "attempt": self.attempt}
        for key in ("input", "output", "error", "details", "child", "fire_at"):
            value = getattr(self, key)
            if value is not None:
                body[key if key != "fire_at" else "fireAt"] = value
        return body


def _preview(text: Any) -> str | None:
    if text is None:
        return None
    text = text if isinstance(text, str) else json.dumps(text)
    return text if len(text) <= PREVIEW else text[:PREVIEW] + " ..."


def _activity_input(raw: str | None) -> str | None:
    """TaskScheduled.Input is a JSON array holding the SDK's JSON text of the input."""
    try:
        return json.loads(raw)[0] if raw else raw
    except (json.JSONDecodeError, IndexError, TypeError, KeyError):
        return raw


def _entity_request(event: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of an entity request (EventSent) or response (EventRaised)."""
    try:
        body = json.loads(event.get("Input") or "{}")
    except (json.JSONDecodeError, TypeError):
        return {}
    return body if isinstance(body, dict) else {}


@dataclass
class Spans:
    """What ``read_spans`` found in a history; times in ms from ``t0``. Spans still open have
    ``end`` None (tasks) or their due time (timers, ``Outcome.WAITING``)."""
    t0: datetime
    bars: list[Span]
    points: list[dict[str, Any]]
    episodes: list[list[float]]  # finished episodes, [start, end]
    episode_starts: list[float]  # every episode's start
    open_episode: float | None  # the start of an episode still running
    children: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None  # how the execution ended, if it did
    finished_at: float | None = None
    last: float = 0.0  # the last event's time
    latest: float = 0.0  # the latest time of any event

    def ms(self, ts: str | datetime) -> float:
        value = ts if isinstance(ts, datetime) else parse_ts(ts)
        return round((value - self.t0).total_seconds() * 1000, 3)


def read_spans(history: list[dict[str, Any]]) -> Spans:
    """The spans, points and episodes of a non-empty history (see the module docstring)."""
    t0 = parse_ts(history[0]["Timestamp"])

    def ms(ts: str | datetime) -> float:
        value = ts if isinstance(ts, datetime) else parse_ts(ts)
        return round((value - t0).total_seconds() * 1000, 3)

    bars, open_bars, timers, points, episodes = [], {}, {}, [], []
    episode_starts: list[float] = []
    children: list[dict[str, Any]] = []
    result: dict[str, Any] | None = None
    entity_calls: dict[str, Span] = {}  # request id -> the call's bar
    last_by_name: dict[tuple[BarKind, str], Span] = {}
    episode_start = None
    finished_at = None
    for event in history:
        kind = EventType(event["EventType"])
        if kind == EventType.ORCHESTRATOR_STARTED:
            episode_start = ms(event["Timestamp"])
            episode_starts.append(episode_start)
        elif kind == EventType.ORCHESTRATOR_COMPLETED and episode_start is not None:
            episodes.append([episode_start, max(episode_start, ms(event["Timestamp"]))])
            episode_start = None
        elif kind in _OPEN_EVENTS:
            bar_kind = _OPEN_EVENTS[kind]
            raw = event.get("Input")
            bar = Span(bar_kind, event["EventId"], event.get("Name") or "?",
                      ms(event["Timestamp"]),
                      input=_preview(_activity_input(raw) if bar_kind == BarKind.ACTIVITY
                                     else raw),
                      child=event.get("InstanceId"))
            previous = last_by_name.get((bar_kind, bar.name))
            if previous is not None and previous.outcome == Outcome.FAILED:
                bar.attempt = previous.attempt + 1
            last_by_name[(bar_kind, bar.name)] = bar
            open_bars[bar.seq] = bar
            bars.append(bar)
            if bar.child:
                children.append({"instanceId": bar.child, "name": bar.name})
        elif kind in _CLOSE_EVENTS:
            bar = open_bars.pop(event.get("TaskScheduledId"), None)
            if bar is not None:
                bar.end = max(bar.start, ms(event["Timestamp"]))
                bar.outcome = _CLOSE_EVENTS[kind]
                if bar.outcome == Outcome.COMPLETED:
                    bar.output = _preview(event.get("Result"))
                else:
                    bar.error = _preview(event.get("Reason") or event.get("Result"))
                    bar.details = _preview(event.get("Details"))
        elif kind == EventType.TIMER_CREATED:
            bar = Span(BarKind.TIMER, event["EventId"], "timer", ms(event["Timestamp"]),
                      end=ms(event["FireAt"]), outcome=Outcome.WAITING,
                      fire_at=event["FireAt"])
            timers[bar.seq] = bar
            bars.append(bar)
        elif kind == EventType.TIMER_FIRED:
            bar = timers.pop(event.get("TimerId"), None)
            if bar is not None:
                bar.outcome = Outcome.FIRED
        elif kind == EventType.EVENT_SENT and str(event.get("InstanceId", "")).startswith("@"):
            request = _entity_request(event)
            target = event["InstanceId"][1:]
            if request.get("signal"):
                points.append({"kind": ENTITY_SIGNAL, "name": f"{target} {request.get('op')}",
                               "at": ms(event["Timestamp"]),
                               "data": _preview(request.get("input"))})
            else:
                bar = Span(BarKind.ENTITY, event["EventId"], f"{target} {request.get('op')}",
                          ms(event["Timestamp"]), input=_preview(request.get("input")))
                entity_calls[request.get("id")] = bar
                bars.append(bar)
        elif kind == EventType.EVENT_RAISED and event.get("Name") in entity_calls:
            bar = entity_calls.pop(event["Name"])
            bar.end = max(bar.start, ms(event["Timestamp"]))
            response = _entity_request(event)
            if response.get("exceptionType"):
                bar.outcome, bar.error = Outcome.FAILED, _preview(response.get("result"))
            else:
                bar.outcome, bar.output = Outcome.COMPLETED, _preview(response.get("result"))
        elif kind in _POINT_EVENTS:
            detail = event.get("Reason") if kind in (EventType.EXECUTION_SUSPENDED,
                                                     EventType.EXECUTION_RESUMED) \
                else event.get("Input")
            points.append({"kind": EVENT_NAMES[kind], "name": event.get("Name") or "",
                           "at": ms(event["Timestamp"]), "data": _preview(detail)})
        elif kind == EventType.GENERIC:
            # Rewind (rewind.py): the message that revived the instance carries the reason
            # as Data; the failure it cleared keeps its row as "Rewound: ExecutionCompleted".
            reason = event.get("Reason") or ""
            if not reason:
                points.append({"kind": REWIND, "name": "", "at": ms(event["Timestamp"]),
                               "data": _preview(event.get("Data"))})
            elif reason.endswith("ExecutionCompleted"):
                points.append({"kind": REWOUND_FAILURE, "name": "", "at": ms(event["Timestamp"]),
                               "data": reason})
        elif kind in (EventType.EXECUTION_COMPLETED, EventType.CONTINUE_AS_NEW):
            finished_at = ms(event["Timestamp"])
            result = {"status": RuntimeStatus.from_code(event["OrchestrationStatus"]),
                      "at": finished_at}
    return Spans(t0, bars, points, episodes, episode_starts, episode_start, children, result,
                 finished_at, ms(history[-1]["Timestamp"]),
                 max(ms(e["Timestamp"]) for e in history))
