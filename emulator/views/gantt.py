"""The Gantt view of one instance, computed from its stored history (pure: no engine, no I/O).

Bars are activities, sub-orchestrations, entity calls and timers, from scheduling to result;
points are events raised, entity signals, terminations, suspensions, resumptions and rewinds;
episodes are the intervals in which the orchestrator ran. Times are milliseconds from the first
event. Above ``MAX_BARS`` bars the view aggregates: one row per (kind, function name) with its
counts, duration percentiles and how many of its tasks were outstanding in each of ``BUCKETS``
time slices, so a 10,000-wide fan-out still draws at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..protocol.enums import EventType, RuntimeStatus
from ..protocol.history import EVENT_NAMES, parse_ts

MAX_BARS = 400
BUCKETS = 160
MAX_POINTS = 500
MAX_EPISODES = 2000
PREVIEW = 4000  # characters of an input, output or error kept per bar
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
class Bar:
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


def build(record: dict[str, Any], history: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The timeline JSON of an instance (see the module docstring)."""
    view: dict[str, Any] = {"instance": record, "events": len(history), "bars": [],
                            "groups": [], "points": [], "episodes": [], "aggregated": False,
                            "children": []}
    if not history:
        view.update(t0=None, span=0, episodeCount=0, pointCount=0, barCount=0)
        return view
    t0 = parse_ts(history[0]["Timestamp"])

    def ms(ts: str | datetime) -> float:
        value = ts if isinstance(ts, datetime) else parse_ts(ts)
        return round((value - t0).total_seconds() * 1000, 3)

    bars, open_bars, timers, points, episodes = [], {}, {}, [], []
    entity_calls: dict[str, Bar] = {}  # request id -> the call's bar
    last_by_name: dict[tuple[BarKind, str], Bar] = {}
    episode_start = None
    finished_at = None
    for event in history:
        kind = EventType(event["EventType"])
        if kind == EventType.ORCHESTRATOR_STARTED:
            episode_start = ms(event["Timestamp"])
        elif kind == EventType.ORCHESTRATOR_COMPLETED and episode_start is not None:
            episodes.append([episode_start, max(episode_start, ms(event["Timestamp"]))])
            episode_start = None
        elif kind in _OPEN_EVENTS:
            bar_kind = _OPEN_EVENTS[kind]
            raw = event.get("Input")
            bar = Bar(bar_kind, event["EventId"], event.get("Name") or "?",
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
                view["children"].append({"instanceId": bar.child, "name": bar.name})
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
            bar = Bar(BarKind.TIMER, event["EventId"], "timer", ms(event["Timestamp"]),
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
                bar = Bar(BarKind.ENTITY, event["EventId"], f"{target} {request.get('op')}",
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
            view["result"] = {"status": RuntimeStatus.from_code(event["OrchestrationStatus"]),
                              "at": finished_at}
    last = ms(history[-1]["Timestamp"])
    end = finished_at if finished_at is not None else max(last, ms(now))
    if episode_start is not None:  # an episode still running
        episodes.append([episode_start, end])
    for bar in bars:
        if bar.outcome == Outcome.RUNNING:
            bar.end = None
        elif bar.outcome == Outcome.WAITING and finished_at is not None:
            bar.outcome = Outcome.CANCELLED
            bar.end = min(bar.end, finished_at)
    span = max([end] + [b.end for b in bars if b.end is not None] + [p["at"] for p in points])
    view.update(t0=history[0]["Timestamp"], span=span, episodeCount=len(episodes),
                episodes=_merge_episodes(episodes, span), points=points[:MAX_POINTS],
                pointCount=len(points), barCount=len(bars))
    view["children"] = view["children"][:MAX_BARS]
    if len(bars) > MAX_BARS:
        view["aggregated"] = True
        view["groups"] = aggregate(bars, span)
    else:
        view["bars"] = [bar.as_json() for bar in bars]
    return view


def _merge_episodes(episodes: list[list[float]], span: float) -> list[list[float]]:
    """Join episodes closer than a pixel's worth of time once there are too many to draw."""
    if len(episodes) <= MAX_EPISODES:
        return episodes
    gap = span / MAX_EPISODES
    merged = [list(episodes[0])]
    for start, stop in episodes[1:]:
        if start - merged[-1][1] <= gap:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    return merged


def _percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def aggregate(bars: list[Bar], span: float) -> list[dict[str, Any]]:
    """One row per (kind, name): counts, durations and in-flight tasks per time slice."""
    width = (span or 1.0) / BUCKETS
    groups: dict[tuple[BarKind, str], dict[str, Any]] = {}
    for bar in bars:
        group = groups.get((bar.kind, bar.name))
        if group is None:
            group = groups[(bar.kind, bar.name)] = {
                "kind": bar.kind.value, "name": bar.name, "count": 0, "outcomes": {},
                "start": bar.start, "end": bar.start, "durations": [], "retries": 0,
                "inFlight": {o: [0] * (BUCKETS + 1) for o in ("completed", "failed", "open")},
                "firstError": None}
        group["count"] += 1
        group["outcomes"][bar.outcome.value] = group["outcomes"].get(bar.outcome.value, 0) + 1
        group["start"] = min(group["start"], bar.start)
        stop = bar.end if bar.end is not None else span
        group["end"] = max(group["end"], stop)
        group["retries"] += bar.attempt > 1
        if bar.end is not None:
            group["durations"].append(bar.end - bar.start)
        if bar.error and group["firstError"] is None:
            group["firstError"] = bar.error
        lane = "completed" if bar.outcome in (Outcome.COMPLETED, Outcome.FIRED) else \
            "failed" if bar.outcome == Outcome.FAILED else "open"
        counts = group["inFlight"][lane]  # a difference array: +1 at start, -1 after the end
        counts[min(BUCKETS - 1, int(bar.start / width))] += 1
        counts[min(BUCKETS, int(stop / width) + 1)] -= 1
    rows = []
    for group in groups.values():
        durations = sorted(group.pop("durations"))
        if durations:
            group["duration"] = {"min": durations[0], "p50": _percentile(durations, 0.5),
                                 "p95": _percentile(durations, 0.95), "max": durations[-1]}
        for lane, diffs in group["inFlight"].items():
            running, series = 0, []
            for value in diffs[:BUCKETS]:
                running += value
                series.append(running)
            group["inFlight"][lane] = series
        rows.append(group)
    rows.sort(key=lambda g: g["start"])
    return rows
