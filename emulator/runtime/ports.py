"""The engine as its parts see it: narrow ports (Protocols) listing only what each part uses.

``Orchestrations``, ``Management`` and rewind are typed against these, not against ``Engine``;
the host builds them and hands them to the engine (``assembly.build_engine``), so the engine
imports none of them and none of them imports the engine. ``Engine`` satisfies every port.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..core.changes import Change
    from ..core.instance import Instance
    from ..core.versioning import VersioningSettings
    from ..store.base import MessageRecord, WorkItem
    from ..worker.index import FunctionIndex
    from ..worker.pool import AbandonablePool
    from ..worker.seam import Worker
    from .activities import ActivityDispatcher
    from .clock import Clock
    from .entities import EntityHost
    from .limits import Limits
    from .timers import TimerQueue


class InstancesPort(Protocol):
    """Instances in memory, changed through commits (what rewind uses)."""
    instances: dict[str, Instance]
    clock: Clock

    def new_id(self) -> int: ...

    def commit(self, change: Change) -> None: ...

    def mark_ready(self, inst: Instance) -> None: ...

    def emit(self, inst: Instance) -> None: ...

    def plan_forget(self, inst: Instance, change: Change) -> None: ...


class OrchestrationStarter(Protocol):
    """What the management operations ask of the orchestration kind."""

    def unknown(self, name: str) -> str: ...

    def plan_create(self, change: Change, name: str, instance_id: str, input_json: str | None,
                    parent: dict[str, Any] | None = None, *,
                    version: str | None = None, start_at: datetime | None = None
                    ) -> Instance: ...


class ManagementPort(InstancesPort, Protocol):
    """What the management operations (start, raise, terminate, ..., rewind, purge) use."""
    app: FunctionIndex
    versioning: VersioningSettings
    orchestrations: OrchestrationStarter


class OrchestrationsPort(InstancesPort, Protocol):
    """What the orchestration kind uses to run episodes and plan their effects."""
    app: FunctionIndex
    worker: Worker
    versioning: VersioningSettings
    limits: Limits
    stats: dict[str, int]
    timers: TimerQueue
    activities: ActivityDispatcher
    entities: EntityHost
    orchestrator_pool: AbandonablePool

    def deliver(self, message: MessageRecord) -> None: ...

    def dispatch_activity(self, item: WorkItem) -> None: ...

    def execution_waits(self, instance_id: str, execution_id: str | None) -> bool: ...


__all__ = ["InstancesPort", "ManagementPort", "OrchestrationStarter", "OrchestrationsPort"]
