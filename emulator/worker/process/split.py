"""``SplitWorker``: worker processes for what they run, the host's own process for the rest.

The worker processes run HTTP, orchestrator, activity and entity functions. A 1.x SDK
app that also has timer, queue or blob functions, storage input/output bindings or an activity
with a durable client binding keeps those in the host (``seam.InProcessWorker``, the app
imported there too) while everything else still runs in the workers: to Functions that is one
more worker process (module globals are per process in Azure as well).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..index import ActivityFunction, HttpFunction
from ..seam import EntityCall, HttpCall, HttpReply, InProcessWorker, OrchestratorCall
from .worker import ProcessWorker


class SplitWorker:
    """The seam over a ``ProcessWorker`` and an ``InProcessWorker`` of the same app."""

    def __init__(self, processes: ProcessWorker, local: InProcessWorker) -> None:
        self.processes = processes
        self.local = local
        self.pool = processes.pool  # the worker processes (settings, restarts)

    @property
    def app(self) -> Any:
        return self.local.app  # the full index: triggered functions and bindings included

    def orchestrator(self, name: str) -> OrchestratorCall:
        return self.processes.orchestrator(name)

    def entity(self, name: str) -> EntityCall | None:
        return self.processes.entity(name)

    def _for_activity(self, activity: ActivityFunction) -> Any:
        return self.local if activity.client_param else self.processes

    async def run_activity(self, activity: ActivityFunction, input_text: str | None,
                           timeout: timedelta | None) -> str | None:
        return await self._for_activity(activity).run_activity(activity, input_text, timeout)

    def activity_failure(self, name: str, exc: BaseException) -> tuple[str, str]:
        return self.processes.activity_failure(name, exc)

    async def run_http(self, function: HttpFunction, call: HttpCall,
                       timeout: timedelta | None) -> HttpReply:
        worker = self.local if function.bindings else self.processes
        return await worker.run_http(function, call, timeout)

    async def run_triggered(self, *args: Any, **kwargs: Any) -> Any:
        return await self.local.run_triggered(*args, **kwargs)

    def describe(self) -> str:
        return (f"{self.processes.describe()}; other triggers and storage bindings in the "
                "host's process")

    @property
    def replaced_threads(self) -> int:
        return self.processes.replaced_threads + self.local.replaced_threads

    def close(self) -> None:
        self.processes.close()
        self.local.close()

    async def wait_closed(self) -> None:
        await self.processes.wait_closed()
