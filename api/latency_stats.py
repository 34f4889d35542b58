"""Pure statistics for fan-out latencies: shipped with the app (F1 uses them) and reused by the
experiment. No I/O, no clock, no third-party imports: every function is a plain computation on
lists of milliseconds, so it can be unit-tested and run anywhere."""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence

SUMMARY_FIELDS = ("count", "min", "p50", "p95", "max", "mean")


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0 <= q <= 100) of an ascending, non-empty sequence.

    Linear interpolation between the two nearest ranks (numpy's default method), so p50 of an even
    number of values is the mean of the middle two. Raises ValueError on an empty sequence or a q
    outside [0, 100].
    """
    if not sorted_values:
        raise ValueError("percentile of an empty sequence")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be in [0, 100], got {q}")
    rank = (len(sorted_values) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def summarize(values: Iterable[float]) -> dict[str, float]:
    """count, min, p50, p95, max and mean of some values (keys in SUMMARY_FIELDS).

    An empty input gives count 0 and NaN for the others, so a caller can always build a row.
    """
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, **{key: math.nan for key in SUMMARY_FIELDS[1:]}}
    return {
        "count": len(ordered),
        "min": ordered[0],
        "p50": percentile(ordered, 50),
        "p95": percentile(ordered, 95),
        "max": ordered[-1],
        "mean": math.fsum(ordered) / len(ordered),
    }


def estimate_waves(start_offsets_ms: Iterable[float], delay_ms: float) -> int:
    """How many batches ("waves") the calls ran in, judged from when each call started.

    Calls that all run at once start within a short burst; calls held back by a connection cap or
    a thread pool start in groups about one delay apart. So the start offsets are sorted and a new
    wave begins at every gap longer than half the delay. With a delay of 0 there is nothing to
    separate waves by, and the answer is 1. No calls: 0 waves.
    """
    ordered = sorted(start_offsets_ms)
    if not ordered:
        return 0
    if delay_ms <= 0:
        return 1
    threshold = delay_ms / 2
    return 1 + sum(1 for a, b in zip(ordered, ordered[1:], strict=False) if b - a > threshold)


def peak_concurrency(intervals_ms: Iterable[tuple[float, float]]) -> int:
    """The largest number of (start, end) intervals open at the midpoint of one of them.

    Measured at midpoints rather than at every instant so that the jitter where one wave hands
    over to the next (a call seen ending a few ms after its successor started) does not count
    two waves as concurrent: back-to-back waves of 8 give 8, not up to 16. No intervals: 0.
    """
    spans = list(intervals_ms)
    starts = sorted(start for start, _ in spans)
    ends = sorted(end for _, end in spans)
    peak = 0
    for start, end in spans:
        middle = (start + end) / 2
        peak = max(peak, bisect_right(starts, middle) - bisect_left(ends, middle))
    return peak


def effective_concurrency(calls: int, delay_ms: float, total_ms: float) -> float:
    """How many d-long waits ran at once on average: calls x delay / total.

    Equals the number of calls when they all overlap perfectly, the cap when a cap of k forces
    waves, and 1 for a sequential run. 0 when delay or total is 0 (nothing to measure).
    """
    if delay_ms <= 0 or total_ms <= 0:
        return 0.0
    return calls * delay_ms / total_ms
