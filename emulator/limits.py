"""Concurrency limits of a local host: host.json's durable knobs, the worker's thread pool."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

DEFAULT_ORCHESTRATOR_TIMEOUT = 60.0  # seconds an orchestrator call may take (one episode)


@dataclass
class Limits:
    max_activities: int  # concurrent activity functions (0: unlimited)
    max_orchestrators: int  # concurrent orchestrator episodes (0: unlimited)
    threads: int  # thread pool for synchronous functions
    orchestrator_timeout: float | None = DEFAULT_ORCHESTRATOR_TIMEOUT  # one episode's code

    @classmethod
    def from_host_json(cls, host_json: dict[str, Any], *, max_activities: int | None = None,
                       max_orchestrators: int | None = None, threads: int | None = None,
                       environ: dict[str, str] | None = None) -> Limits:
        """host.json ``extensions.durableTask`` values, overridden by flags.

        Defaults are the Functions host's: 10 x processors for both limits, and the Python
        worker's thread pool of min(32, processors + 4) (``PYTHON_THREADPOOL_THREAD_COUNT``).
        An orchestrator call may take host.json's ``functionTimeout`` (``-1``: no limit), by
        default 60 s: longer means code that never returns, and its instance fails.
        """
        environ = os.environ if environ is None else environ
        durable = ((host_json.get("extensions") or {}).get("durableTask") or {})
        cpus = os.cpu_count() or 1
        pool = environ.get("PYTHON_THREADPOOL_THREAD_COUNT")
        return cls(
            max_activities=_first(max_activities, durable.get("maxConcurrentActivityFunctions"),
                                  10 * cpus),
            max_orchestrators=_first(max_orchestrators,
                                     durable.get("maxConcurrentOrchestratorFunctions"), 10 * cpus),
            threads=_first(threads, int(pool) if pool and pool.isdigit() else None,
                           min(32, cpus + 4)),
            orchestrator_timeout=parse_timespan(host_json.get("functionTimeout"),
                                                DEFAULT_ORCHESTRATOR_TIMEOUT),
        )


def parse_timespan(value: Any, default: float | None) -> float | None:
    """host.json's ``[d.]hh:mm:ss[.fff]`` timespan in seconds; ``-1`` means no limit."""
    if value is None:
        return default
    text = str(value).strip()
    if text == "-1":
        return None
    days, _, clock = text.rpartition(".") if text.count(":") == 2 and "." in text.split(":")[0] \
        else ("", "", text)
    try:
        hours, minutes, seconds = clock.split(":")
        total = (int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60
                 + float(seconds))
    except ValueError as exc:
        raise ValueError(f"host.json functionTimeout {value!r} is not a timespan "
                         "like '00:05:00'") from exc
    if total <= 0:
        raise ValueError(f"host.json functionTimeout {value!r} must be positive (or -1)")
    return total


def _first(*values: Any) -> int:
    for value in values:
        if value is not None:
            return int(value)
    raise ValueError("no value")
