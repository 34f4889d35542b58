"""Build an engine with its parts: the one place that wires the orchestration kind and the
management operations to the engine (each sees it through a port, ``ports.py``)."""

from __future__ import annotations

from ..core.versioning import VersioningSettings
from ..store.base import Store
from ..worker.loader import LoadedApp
from ..worker.seam import Worker
from .clock import Clock
from .engine import Engine
from .entities import EmptyEntities
from .limits import Limits
from .management import Management
from .orchestrations import Orchestrations


def build_engine(app: LoadedApp, store: Store, clock: Clock, limits: Limits, *,
                 hub_name: str = "TestHubName", versioning: VersioningSettings | None = None,
                 worker: Worker | None = None,
                 empty_entities: EmptyEntities = EmptyEntities.KEPT) -> Engine:
    """An engine for ``app`` with its orchestrations and management operations attached;
    ``empty_entities``: the Functions host's way (kept) or the Scheduler's (removed)."""
    engine = Engine(app, store, clock, limits, hub_name=hub_name, versioning=versioning,
                    worker=worker, empty_entities=empty_entities)
    engine.attach(Orchestrations(engine), Management(engine))
    # An orchestration that ends while holding entity locks: its entities release them.
    engine.listeners.append(engine.entities.locks.holder_changed)
    return engine


__all__ = ["build_engine"]
