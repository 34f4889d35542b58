"""Concurrency limits of a local host: host.json's durable knobs, the worker's thread pool."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..worker.timeouts import DEFAULT_FUNCTION_TIMEOUT, format_timespan, function_timeout

DEFAULT_ORCHESTRATOR_TIMEOUT = 60.0  # seconds an orchestrator call may take (one episode)


@dataclass
class Limits:
    max_activities: int  # concurrent activity functions (0: unlimited)
    max_orchestrators: int  # concurrent orchestrator episodes (0: unlimited)
    threads: int  # thread pool for synchronous functions
    orchestrator_timeout: float | None = DEFAULT_ORCHESTRATOR_TIMEOUT  # one episode's code
    # One activity or HTTP function call (None: unlimited); see timeouts.py.
    function_timeout: timedelta | None = DEFAULT_FUNCTION_TIMEOUT
    worker_processes: int = 0  # FUNCTIONS_WORKER_PROCESS_COUNT in force (0: the app in process)
    # Threads running orchestrator episodes and entity batches (a call waiting for a remote
    # worker holds one: the scheduler mode uses more).
    orchestrator_threads: int = 2

    @property
    def function_timeout_text(self) -> str:
        return "-1" if self.function_timeout is None else format_timespan(self.function_timeout)

    @classmethod
    def from_host_json(cls, host_json: dict[str, Any], *, max_activities: int | None = None,
                       max_orchestrators: int | None = None, threads: int | None = None,
                       environ: dict[str, str] | None = None) -> Limits:
        """host.json ``extensions.durableTask`` values, overridden by flags.

        Defaults are the Functions host's: 10 x processors for both limits, and the Python
        worker's thread pool of min(32, processors + 4) (``PYTHON_THREADPOOL_THREAD_COUNT``).
        An orchestrator call may take host.json's ``functionTimeout`` (``-1``: no limit), by
        default 60 s: longer means code that never returns, and its instance fails. An activity
        or HTTP function call may take ``functionTimeout`` too, by default the Functions host's
        30 minutes (``timeouts.py``).
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
            orchestrator_timeout=_orchestrator_timeout(host_json),
            function_timeout=function_timeout(host_json),
        )


def _orchestrator_timeout(host_json: dict[str, Any]) -> float | None:
    """``functionTimeout`` in seconds when host.json sets it, else 60 s; None: no limit."""
    if host_json.get("functionTimeout") is None:
        return DEFAULT_ORCHESTRATOR_TIMEOUT
    timeout = function_timeout(host_json)
    return None if timeout is None else timeout.total_seconds()


def _first(*values: Any) -> int:
    for value in values:
        if value is not None:
            return int(value)
    raise ValueError("no value")
