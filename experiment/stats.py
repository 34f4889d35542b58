"""Pure summaries of measured points: from the raw runs of one sweep point to one table row.

A point is one (mode, N, parameters) combination measured `repeat` times; each run is the dict the
runner recorded (see runner.py). Nothing here does I/O, so every figure in the table and the CSV
can be checked by a unit test with hand-made runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from api.latency_stats import effective_concurrency, percentile

# The columns of the table and of results.csv, in order.
ROW_FIELDS = (
    "mode",
    "n",
    "delay_ms",
    "max_connections",
    "f2",
    "runs",
    "e2e_ms",
    "e2e_min_ms",
    "server_ms",
    "ideal_ms",
    "overhead_ms",
    "call_min_ms",
    "call_p50_ms",
    "call_p95_ms",
    "call_max_ms",
    "waves",
    "effective_concurrency",
    "peak_concurrency",
    "activities_per_s",
    "sequential_s",
)


def median(values: Sequence[float]) -> float:
    """The median of a non-empty sequence (mean of the middle two for an even count)."""
    return percentile(sorted(values), 50)


def waves_from_duration(duration_ms: float, ideal_ms: float) -> int:
    """Rounds of work a run needed if each round takes `ideal_ms`: round(duration / ideal), >= 1.

    Used where start times are not known (the durable fan-out): 1 means everything ran at once,
    100 for 1000 activities means about 10 ran at a time. 1 when ideal is 0.
    """
    if ideal_ms <= 0:
        return 1
    return max(1, math.floor(duration_ms / ideal_ms + 0.5))


def representative_run(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run with the (lower) median end-to-end latency: its per-call figures go in the row."""
    ordered = sorted(runs, key=lambda run: run["e2e_ms"])
    return ordered[(len(ordered) - 1) // 2]


def summarize_point(point: dict[str, Any]) -> dict[str, Any]:
    """One row (keys ROW_FIELDS) for a measured point.

    `point` has `mode` ("http" or "durable"), `n`, `delay_ms` (d for HTTP; connect + work for
    durable), `max_connections` (HTTP cap or None), `f2` (HTTP: "async", "sync", "cpu") and `runs`,
    a non-empty list of run dicts:
    HTTP runs carry `e2e_ms` and F1's answer (`fanout_ms`, `per_call_ms`, `waves`,
    `peak_concurrency`); durable runs carry `e2e_ms`, `server_ms` and `activities`.
    Latencies are medians over runs; `server_ms` is F1's fan-out time or the orchestration's
    created-to-completed time; the ideal is d, and the sequential estimate is N x d.
    `effective_concurrency` (N x d / server time) is also the speedup over the sequential run.
    """
    runs = point["runs"]
    if not runs:
        raise ValueError("a point needs at least one run")
    n, delay_ms = point["n"], point["delay_ms"]
    e2e = [run["e2e_ms"] for run in runs]
    server = median([run["server_ms"] for run in runs])
    rep = representative_run(runs)
    row: dict[str, Any] = dict.fromkeys(ROW_FIELDS)
    row.update(
        mode=point["mode"],
        n=n,
        delay_ms=delay_ms,
        max_connections=point.get("max_connections"),
        f2=point.get("f2", "async") if point["mode"] == "http" else None,
        runs=len(runs),
        e2e_ms=median(e2e),
        e2e_min_ms=min(e2e),
        server_ms=server,
        ideal_ms=delay_ms,
        overhead_ms=server - delay_ms,
        effective_concurrency=effective_concurrency(n, delay_ms, server),
        sequential_s=n * delay_ms / 1000,
    )
    if point["mode"] == "http":
        calls = rep["per_call_ms"]
        row.update(
            call_min_ms=calls["min"],
            call_p50_ms=calls["p50"],
            call_p95_ms=calls["p95"],
            call_max_ms=calls["max"],
            waves=int(median([run["waves"] for run in runs])),
            peak_concurrency=rep["peak_concurrency"],
        )
    else:
        activities = median([run["activities"] for run in runs])
        row.update(
            waves=waves_from_duration(server, delay_ms),
            activities_per_s=activities / (server / 1000) if server > 0 else None,
        )
    return row
