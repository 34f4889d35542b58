"""A scheduler host's task hubs: the names it serves, a state of its own for each, and one
runtime each (engine, store, work-item dispatcher), as the Durable Task Scheduler emulator keeps
its hubs apart.

- Names: ``--task-hubs a,b,c``, else the ``DTS_TASK_HUB_NAMES`` variable the emulator image
  reads, else one hub named ``default``. The first is the default hub: a request that names no
  hub (a plain durabletask client sends no ``taskhub`` header; a management URL without
  ``?taskHub=``) goes to it.
- State: the hub named ``default`` keeps the ``--state`` file itself (the state of a host that
  served one hub stays where it was); any other hub ``NAME`` has ``<stem>.<name><suffix>`` next
  to it (``.emulator/scheduler.orders.db``), chosen by name, so reordering the list never swaps
  states. ``:memory:`` keeps every hub in memory, each apart.
- Runtime: each hub is a runtime of its own on the host's loop: its own clock (time skipping
  decides per hub) and limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..core.versioning import VersioningSettings
from ..runtime.assembly import build_engine
from ..runtime.clock import TimeSkipping, make_clock
from ..runtime.engine import Engine
from ..runtime.entities import EmptyEntities
from ..runtime.limits import Limits
from ..runtime.operations import Operations
from ..store import Store, StoreError, open_store
from ..worker.workitems import (
    DEFAULT_HUB,
    HubNameError,
    OpenIndex,
    RemoteWorker,
    WorkItemDispatcher,
    open_index,
    parse_hub_names,
)

__all__ = ["HUBS_VARIABLE", "SchedulerHub", "hub_names", "hub_state", "open_hubs"]

HUBS_VARIABLE = "DTS_TASK_HUB_NAMES"


def hub_names(flag: str | None, environ: Mapping[str, str]) -> tuple[str, ...]:
    """The hubs to serve; raises HubNameError naming where the bad list came from."""
    if flag is not None:
        source, text = "--task-hubs", flag
    elif environ.get(HUBS_VARIABLE, "").strip():
        source, text = HUBS_VARIABLE, environ[HUBS_VARIABLE]
    else:
        return (DEFAULT_HUB,)
    try:
        return parse_hub_names(text)
    except HubNameError as exc:
        raise HubNameError(f"{source}: {exc}") from None


def hub_state(state: str, hub: str) -> str:
    """The state of ``hub`` given the ``--state`` value (an absolute path or ``:memory:``)."""
    if state == ":memory:" or hub.lower() == DEFAULT_HUB:
        return state
    path = Path(state)
    return str(path.with_name(f"{path.stem}.{hub.lower()}{path.suffix}"))


@dataclass
class SchedulerHub:
    """One task hub of a scheduler host; ``start`` builds its runtime over its store."""

    name: str
    store: Store | None  # until the runtime runs (``started``)
    index: OpenIndex
    worker: RemoteWorker | None = None
    engine: Engine | None = None
    operations: Operations | None = None

    @property
    def dispatcher(self) -> WorkItemDispatcher:
        return self.worker.dispatcher

    def start(self, time_skipping: TimeSkipping | bool | str, limits: Limits,
              versioning: VersioningSettings) -> Operations:
        """The hub's runtime, built (its loops start with the HTTP application)."""
        self.worker = RemoteWorker(self.index, WorkItemDispatcher())
        # The Scheduler removes an entity as it empties (its CleanEntityStorage reports 0).
        self.engine = build_engine(self.index, self.store, make_clock(time_skipping), limits,
                                   hub_name=self.name, versioning=versioning, worker=self.worker,
                                   empty_entities=EmptyEntities.REMOVED)
        self.operations = Operations(self.engine)
        return self.operations

    def started(self) -> None:
        """The runtime runs: its engine closes the store when it stops."""
        self.store = None

    def close_store(self) -> None:
        store, self.store = self.store, None
        if store is not None:
            store.close()


def open_hubs(names: tuple[str, ...], state: str, folder: Path) -> list[SchedulerHub]:
    """Take each hub's state (StoreError, naming the hub when there are several: nothing is
    kept open then)."""
    hubs: list[SchedulerHub] = []
    try:
        for name in names:
            try:
                store = open_store(hub_state(state, name))
            except StoreError as exc:
                if len(names) == 1:
                    raise
                raise StoreError(f"task hub {name}: {exc}") from exc
            hubs.append(SchedulerHub(name, store, open_index(folder, name)))
    except BaseException:
        for hub in hubs:
            hub.close_store()
        raise
    return hubs
