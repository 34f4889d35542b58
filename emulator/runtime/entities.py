"""Durable entities on the local host: their queues, their batches and their state.

Each entity (``@name@key``) has an inbox of requests - persisted as ordinary messages addressed to
its id - and a row in the store (``EntityRecord``). An entity episode takes the queued requests in
arrival order (up to ``maxEntityOperationBatchSize``), runs them as one batch through the entity
function (``entity_episode.run_batch``, the worker call in the engine's pool, or awaited on the
loop for a worker that waits without a thread) and commits one store batch: the new state, the
requests consumed, the responses to the calling orchestrations and the signals to other
entities. A process killed before that commit re-runs the whole batch from the committed state
on restart; after it, nothing re-runs. Each operation's effect therefore reaches the committed
state exactly once - the same atomicity as an orchestrator episode. As in the rest of the
engine, memory changes only after the commit succeeded.

Critical sections (lock requests, releases, the lock committed with the entity's row and
released when its holder ends) are kept by ``entity_locks.LockKeeper``.

The engine hands this module what it needs (``EntityLinks``): its commit, clock and message
ids, its orchestrator pool and functionTimeout, spawning tasks and delivering messages to
orchestration instances.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from ..core.entity_episode import BatchOutcome, EntityState, batch_steps, failed_batch, run_batch
from ..core.errors import BadRequest, StoreUnavailable
from ..core.stalls import CommitRetry
from ..protocol import history as h
from ..protocol.entities import (
    DEFAULT_BATCH_SIZE,
    REQUEST_EVENT,
    EntityId,
    EntityProtocolError,
    OrchestrationStart,
    Request,
    is_entity_instance,
)
from ..protocol.history import format_ts
from ..store import Batch, EntityRecord, MessageRecord, Snapshot
from ..worker.pool import AbandonablePool, Overdue
from ..worker.seam import Worker, awaiting
from ..worker.timeouts import timeout_message
from .awaited import drive_awaited
from .entity_locks import EntitySlot, LockKeeper, LockLinks
from .entity_queries import EntityQueries

log = logging.getLogger("emulator")


class EmptyEntities(StrEnum):
    """What becomes of an entity left with no state, no lock and nothing queued."""

    # Azure Storage (the Functions host): its row stays, transient, until CleanEntityStorage.
    KEPT = "kept"
    # The Durable Task Scheduler: removed as it empties ("it has its own mechanism for entity
    # state purge", so its CleanEntityStorage always reports 0).
    REMOVED = "removed"


class EntityRequestError(BadRequest):
    """A client request about an entity that cannot be honoured (400 with its message)."""


@dataclass
class EntityLinks:
    """What the entity host borrows from the engine."""

    commit: Callable[[Batch], None]  # raises StoreUnavailable; nothing changed then
    now: Callable[[], datetime]
    new_id: Callable[[], int]
    pool: AbandonablePool  # where entity functions run (the orchestrator pool)
    timeout: timedelta | None  # host.json functionTimeout for one batch (None: no limit)
    spawn: Callable[[Any], Any]  # start a coroutine as an engine task
    deliver: Callable[[list[MessageRecord]], None]  # committed messages to orchestrations
    changed: Callable[[], None] = lambda: None  # an entity batch finished (idleness, waiters)
    # Whether an orchestration execution still waits for responses (instance id, execution id).
    waits: Callable[[str, str | None], bool] = lambda instance_id, execution_id: True
    retries: CommitRetry | None = None  # batches whose commit failed (None: not retried)
    # Start an orchestration an entity asked for (name, instance id or None, input, version).
    start_orchestration: Callable[[OrchestrationStart], None] | None = None
    empty: EmptyEntities = EmptyEntities.KEPT  # the Functions host's way, or the Scheduler's


def batch_size(host_json: dict[str, Any]) -> int:
    durable = (host_json.get("extensions") or {}).get("durableTask") or {}
    value = durable.get("maxEntityOperationBatchSize", DEFAULT_BATCH_SIZE)
    if not isinstance(value, int) or value <= 0:
        raise ValueError("maxEntityOperationBatchSize must be a positive integer value.")
    return value


class EntityHost:
    def __init__(self, worker: Worker, links: EntityLinks) -> None:
        self.worker = worker
        self.app = worker.app
        self.links = links
        self.batch_size = batch_size(self.app.host_json)
        self.entities: dict[str, EntitySlot] = {}
        self.locks = LockKeeper(self.entities, LockLinks(
            commit=links.commit, now=links.now, new_id=links.new_id, deliver=links.deliver,
            waits=links.waits, request_message=self.request_message, schedule=self._schedule))
        self.queries = EntityQueries(self.entities, links.now)
        self.stats = {"entity_batches": 0, "entity_operations": 0}

    # -- state -----------------------------------------------------------------------------
    def restore(self, snapshot: Snapshot) -> None:
        """Load committed entities and requeue their pending requests (in message id order)."""
        for record in snapshot.entities.values():
            slot = self._get(EntityId.parse(record.entity_id))
            slot.record = record
            self.locks.restore(slot)
        for message in snapshot.messages:
            if is_entity_instance(message.instance_id):
                if message.visible_at:  # a scheduled signal: the engine holds it until due
                    self.links.deliver([message])
                else:
                    self.deliver(message, start=False)
        for entity in list(self.entities.values()):
            self._schedule(entity)
            self._drop_if_empty(entity)

    def _get(self, entity: EntityId) -> EntitySlot:
        found = self.entities.get(entity.scheduler_id)
        if found is None:
            found = self.entities[entity.scheduler_id] = EntitySlot(entity)
        return found

    def busy(self) -> bool:
        """Some entity has requests queued or a batch running."""
        return any(e.running or (not e.stalled and self.locks.has_work(e))
                   for e in self.entities.values())

    # -- requests ----------------------------------------------------------------------------
    def unknown_function(self, name: str) -> str | None:
        """The extension's message when no entity function has this name."""
        if self.app.entity(name) is not None:
            return None
        known = "', '".join(f.name.lower() for f in self.app.entities.values())
        info = (f"The following are the known entity functions: '{known}'." if known
                else "No entity functions are currently registered!")
        return (f"The function '{name}' doesn't exist, is disabled, or is not an entity "
                f"function. Additional info: {info}")

    def request_message(self, target: EntityId, request: Request,
                        at: datetime | None = None) -> MessageRecord:
        """The message that carries ``request`` to ``target`` (an EventRaised named 'op');
        ``at``: a scheduled signal, delivered then."""
        event = h.event_raised(self.links.now(), REQUEST_EVENT, request.to_json())
        return MessageRecord(self.links.new_id(), target.scheduler_id, event,
                             format_ts(at) if at is not None else None)

    def signal(self, entity: EntityId, operation: str, input_text: str | None,
               at: datetime | None = None) -> None:
        """A client's one-way request: committed before this returns, then queued."""
        try:
            entity.check_key()
        except EntityProtocolError as exc:
            raise EntityRequestError(str(exc)) from exc
        unknown = self.unknown_function(entity.name)
        if unknown:
            raise EntityRequestError(unknown)
        request = Request(id=str(uuid.uuid4()), operation=operation, input=input_text,
                          signal=True)
        message = self.request_message(entity, request, at)
        self.links.commit(Batch(put_messages=[message]))
        self.links.deliver([message])  # the engine holds a scheduled one until it is due

    def deliver(self, message: MessageRecord, *, start: bool = True) -> None:
        """Queue a committed request message for its entity."""
        try:
            entity = self._get(EntityId.parse(message.instance_id))
            request = Request.from_json(message.event.get("Input"))
        except EntityProtocolError as exc:
            # Nothing can answer it; drop it durably so that it is not retried forever.
            log.error("[%s] dropped a request: %s", message.instance_id, exc)
            self.links.commit(Batch(delete_messages=[message.id]))
            return
        entity.inbox.append((message.id, request))
        if start:
            self._schedule(entity)

    def clean(self, remove_empty: bool, release_orphaned_locks: bool) -> dict[str, int]:
        """``CleanEntityStorageAsync``: release locks whose holder has ended (the host
        releases them itself as soon as it can, so these are rare), then drop the empty
        entities (``_empty``)."""
        released = self.locks.release_orphans() if release_orphaned_locks else 0
        removed = [scheduler_id for scheduler_id, found in self.entities.items()
                   if self._empty(found)] if remove_empty else []
        if removed:
            self.links.commit(Batch(delete_entities=removed))
            for scheduler_id in removed:
                del self.entities[scheduler_id]
        return {"NumberOfOrphanedLocksRemoved": released,
                "NumberOfEmptyEntitiesRemoved": len(removed)}

    @staticmethod
    def _empty(slot: EntitySlot) -> bool:
        """No state (deleted, or never had any), no lock, nothing queued, no batch running."""
        return not slot.running and not slot.inbox and not slot.lock.held and (
            slot.record is None or not slot.record.exists)

    def _drop_if_empty(self, slot: EntitySlot) -> None:
        """``EmptyEntities.REMOVED``: an empty entity is removed, its row in a commit of its
        own (a row a failed commit or a crash leaves is removed by the next start or batch)."""
        if self.links.empty is EmptyEntities.KEPT or not self._empty(slot):
            return
        if slot.record is not None:
            try:
                self.links.commit(Batch(delete_entities=[slot.entity.scheduler_id]))
            except StoreUnavailable as exc:
                log.warning("[%s] its empty row stays for now: %s", slot.entity, exc)
                return
        del self.entities[slot.entity.scheduler_id]

    # -- batches -----------------------------------------------------------------------------
    def _schedule(self, entity: EntitySlot) -> None:
        if not entity.running and not entity.stalled and self.locks.has_work(entity):
            entity.running = True
            self.links.spawn(self._run(entity))

    async def _run(self, entity: EntitySlot) -> None:
        retries = self.links.retries
        try:
            while True:
                if self.locks.orphaned(entity):
                    self.locks.release_orphan(entity)
                ready = entity.ready()
                if not ready:
                    break
                first_id, first = ready[0]
                if first.is_control:
                    self.locks.control(entity, first_id, first)
                    entity.inbox = [(m, r) for m, r in entity.inbox if m != first_id]
                    continue
                taken = []
                for item in ready[:self.batch_size]:
                    if item[1].is_control:
                        break
                    taken.append(item)
                entity.taken = frozenset(mid for mid, _ in taken)
                await self._batch(entity, taken)
                entity.inbox = [(m, r) for m, r in entity.inbox if m not in entity.taken]
                entity.taken = frozenset()
                if entity.commit_failures and retries is not None:
                    log.warning("[%s] the batch committed after %d failed attempt(s)",
                                entity.entity, retries.succeeded(entity))
        except StoreUnavailable as exc:
            # Nothing of the batch happened (its state and inbox change after the commit): the
            # same batch runs again from the committed state after a backoff.
            if retries is None:
                log.error("[%s] %s The entity is stalled until the host restarts on the same "
                          "--state.", entity.entity, exc)
                entity.stalled = True
            else:
                delay = retries.failed(entity, lambda: self._schedule(entity))
                log.log(logging.ERROR if entity.commit_failures == 1 else logging.WARNING,
                        "[%s] %s The batch is retried in %g s (attempt %d failed).",
                        entity.entity, exc, delay, entity.commit_failures)
        except Exception:
            # A local host bug; the requests stay stored and run again after a restart on the
            # same --state. Retrying would fail the same way.
            log.exception("[%s] internal error in an entity batch; the entity is stalled until "
                          "the host restarts on the same --state", entity.entity)
            entity.stalled = True
        finally:
            entity.running = False
            entity.taken = frozenset()
            self._drop_if_empty(entity)
            self.links.changed()

    async def _batch(self, entity: EntitySlot, taken: list[tuple[int, Request]]) -> None:
        started = time.perf_counter()
        record = entity.record
        state = EntityState(record.exists, record.state, record.last_operation) if record \
            else EntityState()
        requests = [request for _, request in taken]
        now = self.links.now()
        outcome = await self._call(entity, state, requests, now)
        new = outcome.state
        record = EntityRecord(entity.entity.scheduler_id, new.exists, new.state,
                              new.last_operation, entity.lock.holder, entity.lock.section)
        batch = Batch(put_entities=[record], delete_messages=[mid for mid, _ in taken])
        # A caller that finished, restarted or was purged never reads its response: not stored.
        responses = [MessageRecord(self.links.new_id(), r.instance_id, r.event, None,
                                   r.execution_id) for r in outcome.responses
                     if self.links.waits(r.instance_id, r.execution_id)]
        signals = [self.request_message(s.target, s.request, s.at) for s in outcome.signals]
        batch.put_messages.extend(responses + signals)
        self.links.commit(batch)
        entity.record = record
        self.stats["entity_batches"] += 1
        self.stats["entity_operations"] += len(requests)
        errors = sum(r.is_error for r in outcome.results)
        log.info("[%s] batch of %d operation(s) in %.1f ms%s", entity.entity, len(requests),
                 (time.perf_counter() - started) * 1000,
                 f", {errors} failed" if errors else "")
        if outcome.failure:
            log.warning("[%s] the batch failed: %s", entity.entity, outcome.failure)
        self.links.deliver(responses + signals)
        for start in outcome.orchestrations:
            self._start_orchestration(entity, start)

    async def _call(self, entity: EntitySlot, state: EntityState, requests: list[Request],
                    now: datetime) -> BatchOutcome:
        """The batch through the worker: awaited on the loop (``seam.AwaitingWorker``), else
        in the engine's pool, its thread given up past functionTimeout."""
        name = entity.entity.name

        def missing(_: str) -> str:
            raise EntityProtocolError(self.unknown_function(name))

        def new_id() -> str:
            return str(uuid.uuid4())

        awaited = awaiting(self.worker)
        if awaited is not None:
            steps = batch_steps(entity.entity, state, requests, now, new_request_id=new_id)
            return await drive_awaited(steps, awaited.awaited_entity(name) or missing)
        timeout = self.links.timeout
        try:
            return await self.links.pool.run(
                timeout.total_seconds() if timeout else None, run_batch, entity.entity, state,
                requests, self.worker.entity(name) or missing, now, new_request_id=new_id)
        except Overdue as late:
            return self._timed_out(entity, state, requests, now, late.future)

    def _start_orchestration(self, entity: EntitySlot, start: OrchestrationStart) -> None:
        """After the batch's commit, as the extension sends the start message after it."""
        if self.links.start_orchestration is None:
            log.error("[%s] cannot start orchestration '%s': not supported here", entity.entity,
                      start.name)
            return
        try:
            self.links.start_orchestration(start)
        except Exception as exc:  # an unknown orchestrator, a taken instance id
            log.error("[%s] could not start orchestration '%s': %s", entity.entity,
                      start.name, exc)

    def _timed_out(self, entity: EntitySlot, state: EntityState, requests: list[Request],
                   now: datetime, future: Any) -> BatchOutcome:
        """The batch ran past functionTimeout: its thread is abandoned (and replaced) and every
        operation fails with the Functions host's timeout text, as in Azure."""
        stack = self.links.pool.abandon(future)
        function = self.app.entity(entity.entity.name)
        message = timeout_message(self.links.timeout,
                                  function.function_name if function else entity.entity.name)
        log.error("[%s] %s Stuck at:\n%s", entity.entity, message, stack)
        return failed_batch(entity.entity, state, requests, now, message, raw=True)

