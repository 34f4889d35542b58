"""Which task hub a gRPC call is for: the ``taskhub`` metadata header (durabletask-azuremanaged's
clients and workers send it; a plain durabletask sidecar client sends none and gets the default
hub), looked up in the host's ``TaskHubs`` (``worker/workitems/hubs.py``).

A hub the host does not serve answers NOT_FOUND, as the Durable Task Scheduler emulator does
("Task hub not found: NAME", Azure/Durable-Task-Scheduler issue #42); our detail goes on to
name the hubs it serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc

from ..worker.workitems import TaskHubs, UnknownTaskHub, WorkItemDispatcher
from .operations import ManagementOperations

__all__ = ["HubService", "HubRouting", "TASKHUB_HEADER", "taskhub_header"]

TASKHUB_HEADER = "taskhub"


@dataclass(frozen=True)
class HubService:
    """What the endpoint serves for one task hub: its management operations, and its work
    items (None: a Functions app's hub, whose work goes through triggers)."""

    operations: ManagementOperations | None
    work_items: WorkItemDispatcher | None = None


def taskhub_header(context: Any) -> str | None:
    """The call's ``taskhub`` header, or None."""
    metadata = context.invocation_metadata() if context is not None else None
    for key, value in metadata or ():
        if key.lower() == TASKHUB_HEADER:
            return value if isinstance(value, str) else value.decode()
    return None


class HubRouting:
    """The servicer's side of it: ``await self._hub(context)`` is the call's hub, or the call
    ends NOT_FOUND."""

    hubs: TaskHubs[HubService]

    async def _hub(self, context: Any) -> HubService:
        try:
            return self.hubs.select(taskhub_header(context))
        except UnknownTaskHub as exc:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
            raise  # abort raises; this line is for the type checker

    async def _ops(self, context: Any) -> ManagementOperations:
        return (await self._hub(context)).operations
