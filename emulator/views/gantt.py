"""The Gantt view of one instance, computed from its stored history (pure: no engine, no I/O).

Bars are activities, sub-orchestrations, entity calls and timers, from scheduling to result;
points are events raised, entity signals, terminations, suspensions, resumptions and rewinds;
episodes are the intervals in which the orchestrator ran. Times are milliseconds from the first
event. Above ``MAX_BARS`` bars the view aggregates: one row per (kind, function name) with its
counts, duration percentiles and how many of its tasks were outstanding in each of ``BUCKETS``
time slices, so a 10,000-wide fan-out still draws at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .spans import BarKind, Outcome, Span, read_spans

MAX_BARS = 400
BUCKETS = 160
MAX_POINTS = 500
MAX_EPISODES = 2000
Bar = Span  # a bar of the Gantt view is a span (spans.py)


def build(record: dict[str, Any], history: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The timeline JSON of an instance (see the module docstring)."""
    view: dict[str, Any] = {"instance": record, "events": len(history), "bars": [],
                            "groups": [], "points": [], "episodes": [], "aggregated": False,
                            "children": []}
    if not history:
        view.update(t0=None, span=0, episodeCount=0, pointCount=0, barCount=0)
        return view
    spans = read_spans(history)
    bars, points, episodes = spans.bars, spans.points, spans.episodes
    view["children"] = spans.children
    if spans.result is not None:
        view["result"] = spans.result
    finished_at = spans.finished_at
    end = finished_at if finished_at is not None else max(spans.last, spans.ms(now))
    if spans.open_episode is not None:  # an episode still running
        episodes.append([spans.open_episode, end])
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
