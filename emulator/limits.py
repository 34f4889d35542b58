"""Concurrency limits of a local host: host.json's durable knobs, the worker's thread pool."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass
class Limits:
    max_activities: int  # concurrent activity functions (0: unlimited)
    max_orchestrators: int  # concurrent orchestrator episodes (0: unlimited)
    threads: int  # thread pool for synchronous functions

    @classmethod
    def from_host_json(cls, host_json: dict[str, Any], *, max_activities: int | None = None,
                       max_orchestrators: int | None = None, threads: int | None = None,
                       environ: dict[str, str] | None = None) -> Limits:
        """host.json ``extensions.durableTask`` values, overridden by flags.

        Defaults are the Functions host's: 10 x processors for both limits, and the Python
        worker's thread pool of min(32, processors + 4) (``PYTHON_THREADPOOL_THREAD_COUNT``).
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
        )


def _first(*values: Any) -> int:
    for value in values:
        if value is not None:
            return int(value)
    raise ValueError("no value")
