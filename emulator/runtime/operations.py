"""The operations facade: the runtime as the edges see it (HTTP API, dashboard; next the gRPC
edge and the triggers). An edge holds an ``Operations`` and nothing else of the runtime; it never
walks the engine's object graph (``engine.clock.hold()``, ``engine.timers.poke()``, ...).

Reads return the engine's own objects (``Instance``, the app's function index) for the edge to
project; writes go through the management operations, which raise domain errors
(``core/errors.py``) for the edge to map.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..core.instance import Instance
from ..core.versioning import VersioningSettings
from ..protocol.entities import EntityId
from ..protocol.enums import RuntimeStatus
from ..protocol.triggers import TriggerCall, TypedValue
from ..store.base import EntityRecord, MessageRecord, WorkItem
from ..worker.index import FunctionIndex, HttpFunction, TriggeredFunction
from ..worker.seam import HttpCall, HttpReply
from .clock import ClockRangeError, TimeSkipping
from .engine import Engine
from .entities import EntityRequestError
from .entity_queries import EntityMetadata
from .limits import Limits
from .timers import DueSource


@dataclass(frozen=True)
class ClockState:
    now: datetime
    mode: TimeSkipping
    skipping: bool  # the clock may jump to the next due timer
    held: bool  # ... but is held still (``hold_clock``) or waits for a waiting client
    offset_seconds: float  # how far it has jumped ahead of real time


class Operations:
    """What the edges may ask of a running engine; see the module docstring."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # Where a 2.x SDK app's durable client calls (the host's gRPC endpoint), once started.
        self.rpc_base_url: str | None = None

    # -- the host ------------------------------------------------------------------------------
    @property
    def app(self) -> FunctionIndex:
        return self._engine.app

    @property
    def hub_name(self) -> str:
        return self._engine.hub_name

    @property
    def limits(self) -> Limits:
        return self._engine.limits

    @property
    def versioning(self) -> VersioningSettings:
        return self._engine.versioning

    @property
    def store_description(self) -> str:
        return self._engine.store.description

    def secret(self) -> bytes:
        """The store's secret (continuation tokens are signed with it)."""
        return self._engine.store.secret()

    def counters(self) -> dict[str, Any]:
        """What the host has done so far (for the status endpoints)."""
        engine = self._engine
        return {"episodes": engine.stats["episodes"], "activities": engine.stats["activities"],
                "activitiesRun": engine.activities.completed,
                "instances": len(engine.instances), "replacedThreads": engine.replaced_threads,
                "entities": len(engine.entities.entities), **engine.entities.stats}

    async def start(self) -> None:
        await self._engine.start()

    async def stop(self) -> None:
        await self._engine.stop()

    def release_waiters(self) -> None:
        self._engine.release_waiters()

    # -- instances -----------------------------------------------------------------------------
    def instance(self, instance_id: str) -> Instance | None:
        return self._engine.instances.get(instance_id)

    def instances(self) -> Iterable[Instance]:
        return self._engine.instances.values()

    def find(self, *, created_from: datetime | None = None, created_to: datetime | None = None,
             statuses: Iterable[RuntimeStatus] | None = None,
             prefix: str | None = None) -> list[Instance]:
        return self._engine.operations.find(created_from=created_from, created_to=created_to,
                                            statuses=statuses, prefix=prefix)

    def get_active(self, instance_id: str) -> Instance:
        """The instance if it can still take operations (``NotFound`` / ``Gone`` otherwise)."""
        return self._engine.operations.get_active(instance_id)

    def start_instance(self, name: str, input_json: str | None, instance_id: str | None, *,
                       version: str | None = None, start_at: datetime | None = None) -> str:
        return self._engine.operations.start(name, input_json, instance_id, version=version,
                                             start_at=start_at)

    def raise_event(self, instance_id: str, event: str, input_json: str) -> None:
        self._engine.operations.raise_event(instance_id, event, input_json)

    def terminate(self, instance_id: str, reason: str | None) -> None:
        self._engine.operations.terminate(instance_id, reason)

    def suspend(self, instance_id: str, reason: str | None) -> None:
        self._engine.operations.suspend(instance_id, reason)

    def resume(self, instance_id: str, reason: str | None) -> None:
        self._engine.operations.resume(instance_id, reason)

    def restart(self, instance_id: str, new_instance_id: bool) -> str:
        return self._engine.operations.restart(instance_id, new_instance_id)

    def rewind(self, instance_id: str, reason: str | None, *,
               rerun_purged: bool = False) -> None:
        """``rerun_purged``: a purged failed sub-orchestration is created again (the Durable
        Task Scheduler's rewind) instead of refusing the rewind (the Functions host's)."""
        self._engine.operations.rewind(instance_id, reason, rerun_purged=rerun_purged)

    def purge_one(self, instance_id: str) -> int:
        return self._engine.operations.purge_one(instance_id)

    def purge(self, instance_ids: Iterable[str]) -> int:
        return self._engine.operations.purge(instance_ids)

    async def wait_for(self, instance: str, until: Callable[[Instance | None], bool],
                       timeout: float | None) -> Instance | None:
        """The instance once ``until`` holds for it (or at ``timeout``)."""
        return await self._engine.wait_for(instance, until, timeout)

    # -- entities ------------------------------------------------------------------------------
    def signal_entity(self, entity: EntityId, operation: str, input_text: str | None,
                      at: datetime | None = None) -> None:
        """A client's one-way request (``EntityRequestError`` when it cannot be taken); ``at``:
        a scheduled signal, delivered then."""
        self._engine.entities.signal(entity, operation, input_text, at)

    def read_entity(self, entity: EntityId) -> EntityRecord | None:
        return self._engine.entities.queries.read(entity)

    def query_entities(self, name: str | None = None, last_from: datetime | None = None,
                       last_to: datetime | None = None) -> list[EntityRecord]:
        return self._engine.entities.queries.query(name, last_from, last_to)

    def entity_metadata(self, entity: EntityId, include_transient: bool = False
                        ) -> EntityMetadata | None:
        return self._engine.entities.queries.metadata(entity, include_transient)

    def entity_metadata_list(self, include_transient: bool, last_from: datetime | None = None,
                             last_to: datetime | None = None) -> list[EntityMetadata]:
        return self._engine.entities.queries.metadata_list(include_transient, last_from, last_to)

    def clean_entities(self, remove_empty: bool, release_orphaned_locks: bool) -> dict[str, int]:
        return self._engine.entities.clean(remove_empty, release_orphaned_locks)

    # -- the app's HTTP functions --------------------------------------------------------------
    async def run_http(self, function: HttpFunction, call: HttpCall) -> HttpReply:
        """Run an HTTP function through the worker, bounded by ``functionTimeout``."""
        return await self._engine.worker.run_http(function, call,
                                                  self._engine.limits.function_timeout)

    async def run_triggered(self, function: TriggeredFunction, call: TriggerCall,
                            inputs: dict[str, TypedValue | None],
                            client_binding: str | None) -> dict[str, TypedValue | None]:
        """Run a triggered function through the worker, bounded by ``functionTimeout``."""
        return await self._engine.worker.run_triggered(function, call, inputs, client_binding,
                                                       self._engine.limits.function_timeout)

    # -- the clock -----------------------------------------------------------------------------
    def clock_state(self) -> ClockState:
        """The clock as it is now; change it with the methods below (they wake the timers)."""
        clock = self._engine.clock
        skipping = clock.skipping
        return ClockState(now=clock.now(), mode=clock.mode, skipping=skipping,
                          held=bool(skipping and not clock.can_skip()),
                          offset_seconds=clock.offset.total_seconds() if skipping else 0.0)

    def now(self) -> datetime:
        return self._engine.clock.now()

    def client_waiting(self) -> AbstractContextManager[Any]:
        """While inside, a client waits on an instance (``while-waiting`` time skipping runs)."""
        return self._engine.clock.waiting()

    def lease_wait(self, seconds: float) -> None:
        """A polling client waits until its next poll, ``seconds`` from now."""
        self._engine.clock.lease_wait(seconds)

    def hold_clock(self) -> None:
        self._engine.clock.hold()

    def release_clock(self) -> None:
        self._engine.clock.release()
        self._engine.timers.poke()

    def advance_clock(self, seconds: float) -> None:
        self._engine.clock.advance_by(seconds)
        self._engine.timers.poke()

    # -- work in flight (the dashboard) --------------------------------------------------------
    def pending_activities(self) -> Iterator[WorkItem]:
        return iter(self._engine.activities.pending.values())

    # -- the trigger sources (beside the runtime; wired by the host) -----------------------------
    def attach_timed_source(self, source: DueSource, busy: Callable[[], bool]) -> None:
        """Fire ``source`` (the timer triggers) on the engine's timer loop and clock, and count
        ``busy()`` (trigger invocations running) as work: no time skip while it holds."""
        self._engine.busy_checks.append(busy)
        self._engine.timers.add_source(source)

    def trigger_work_finished(self) -> None:
        """A trigger invocation ended: the host may be idle now (time may skip)."""
        self._engine.timers.skip_may_be_possible()

    def pending_timers(self) -> Iterable[MessageRecord]:
        return self._engine.timers.pending()


__all__ = ["ClockRangeError", "ClockState", "EntityRequestError", "Operations", "TimeSkipping"]
