"""Critical sections of durable entities on the local host (2.x SDK ``lock_entities``): the
committed lock of each entity, which orchestration holds which entities, and the control
requests - lock requests and releases - the host handles itself, as the extension's entity
scheduler does (the decisions are ``core/entity_locks.py``).

A lock is part of the entity's row (``EntityRecord.locked_by``/``lock_section``, DTFx's
``SchedulerState.LockedBy``): the lock request or release is consumed in the same store batch
that stores the row with the new lock and the message it leads to (the lock request for the
next entity of the set, or the grant), so a restarted host keeps other callers' requests waiting
until the holder releases. As everywhere in the engine, memory changes after the commit.

A holder that ends without releasing leaves an orphaned lock. The SDK releases its locks when its
orchestration completes, fails or is terminated (durabletask's ``set_complete``/``set_failed``),
but the host ends a terminated (or purged) orchestration without running its code; so the host
releases a lock whose holder no longer runs - when the engine reports the holder's change
(``holder_changed``), and when an entity restored from the state finds its holder gone. A lock
request of an orchestration that has ended locks nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..core.entity_locks import Lock, orphaned, runnable
from ..core.entity_locks import apply as apply_lock
from ..protocol import history as h
from ..protocol.entities import LOCK_GRANTED, EntityId, Request
from ..protocol.history import compact, format_ts
from ..store import Batch, EntityRecord, MessageRecord

log = logging.getLogger("emulator")

__all__ = ["EntitySlot", "LockKeeper"]


@dataclass
class EntitySlot:
    """One entity on the host: its committed row, its inbox and its batch state."""

    entity: EntityId
    record: EntityRecord | None = None
    inbox: list[tuple[int, Request]] = field(default_factory=list)  # (message id, request)
    running: bool = False
    # Takes no batches: a commit failed (until its retry) or an internal error happened
    # (until the host restarts).
    stalled: bool = False
    commit_failures: int = 0  # consecutive batches whose commit failed
    taken: frozenset[int] = frozenset()  # message ids of the inbox's requests in a running batch
    # Its critical section's lock, as committed in its row (set through ``LockKeeper``).
    lock: Lock = field(default_factory=Lock)

    def ready(self) -> list[tuple[int, Request]]:
        """The requests that may run now, in arrival order."""
        return runnable(self.lock, self.inbox)

    def backlog(self) -> int:
        """Requests queued and not yet taken by a batch (DTFx's ``SchedulerState.Queue``)."""
        return sum(1 for message_id, _ in self.inbox if message_id not in self.taken)

    def row(self, now: datetime, lock: Lock) -> EntityRecord:
        """The entity's row with ``lock`` (a new row, not existing, when it has none yet)."""
        record = self.record or EntityRecord(self.entity.scheduler_id, False, None,
                                             format_ts(now))
        return EntityRecord(record.entity_id, record.exists, record.state,
                            record.last_operation, lock.holder, lock.section)


@dataclass
class LockLinks:
    """What the lock keeper borrows from the entity host and the engine."""

    commit: Callable[[Batch], None]  # raises StoreUnavailable; nothing changed then
    now: Callable[[], datetime]
    new_id: Callable[[], int]
    deliver: Callable[[list[MessageRecord]], None]
    # Whether an orchestration execution still runs (instance id, execution id or None).
    waits: Callable[[str, str | None], bool]
    request_message: Callable[[EntityId, Request], MessageRecord]
    schedule: Callable[[EntitySlot], None]  # the entity may have work now


class LockKeeper:
    def __init__(self, entities: dict[str, EntitySlot], links: LockLinks) -> None:
        self.entities = entities
        self.links = links
        self.holders: dict[str, set[str]] = {}  # orchestration -> the entities it holds

    def restore(self, slot: EntitySlot) -> None:
        """``slot.record`` was loaded: take its lock."""
        record = slot.record
        self._keep(slot, Lock(record.locked_by, record.lock_section))

    def _keep(self, slot: EntitySlot, lock: Lock) -> None:
        """``lock`` is committed: keep it, indexed by its holder."""
        old = slot.lock.holder
        if old is not None and old != lock.holder:
            held = self.holders.get(old, set())
            held.discard(slot.entity.scheduler_id)
            if not held:
                self.holders.pop(old, None)
        if lock.holder is not None:
            self.holders.setdefault(lock.holder, set()).add(slot.entity.scheduler_id)
        slot.lock = lock

    def _live(self, instance_id: str) -> bool:
        return self.links.waits(instance_id, None)

    def orphaned(self, slot: EntitySlot) -> bool:
        return orphaned(slot.lock, slot.inbox, self._live)

    def has_work(self, slot: EntitySlot) -> bool:
        """Requests that may run, or an orphaned lock to release."""
        return bool(slot.ready()) or self.orphaned(slot)

    def locked_by(self, entity: EntityId) -> str | None:
        found = self.entities.get(entity.scheduler_id)
        return None if found is None else found.lock.holder

    def holder_changed(self, instance: Any) -> None:
        """An engine listener: an orchestration changed (committed). If it has ended while
        holding locks, its entities release them (in their own tasks, with their commits)."""
        held = self.holders.get(instance.id)
        if held and not self._live(instance.id):
            for scheduler_id in sorted(held):
                self.links.schedule(self.entities[scheduler_id])

    def release_orphan(self, slot: EntitySlot) -> None:
        """The holder ended without releasing: release, committed with the entity's row."""
        holder, free = slot.lock.holder, Lock()
        record = slot.row(self.links.now(), free)
        self.links.commit(Batch(put_entities=[record]))
        slot.record = record
        self._keep(slot, free)
        log.info("[%s] released: its holder %s ended without releasing", slot.entity, holder)

    def release_orphans(self) -> int:
        """``CleanEntityStorage(releaseOrphanedLocks)``: release what no batch is about to."""
        slots = [s for s in self.entities.values() if self.orphaned(s) and not s.running]
        if not slots:
            return 0
        free = Lock()
        records = [slot.row(self.links.now(), free) for slot in slots]
        self.links.commit(Batch(put_entities=records))
        for slot, record in zip(slots, records, strict=True):
            slot.record = record
            self._keep(slot, free)
        return len(slots)

    def control(self, slot: EntitySlot, message_id: int, request: Request) -> None:
        """A lock request or a release, handled as the extension's scheduler does: a lock
        request locks the entity for its orchestration and goes on to the next entity of its
        lock set; the last one answers the orchestration that the lock is granted."""
        links = self.links
        outgoing: list[MessageRecord] = []
        batch = Batch(delete_messages=[message_id], put_messages=outgoing)
        if request.is_lock and not links.waits(request.parent, request.parent_execution):
            links.commit(batch)  # its orchestration has ended: nothing to lock for
            log.info("[%s] dropped a lock request of %s, which has ended", slot.entity,
                     request.parent)
            return
        lock = replace(slot.lock)
        step = apply_lock(lock, request)
        if lock != slot.lock:
            batch.put_entities.append(slot.row(links.now(), lock))
        if step.forward is not None:
            outgoing.append(links.request_message(EntityId.parse(step.forward_to),
                                                  step.forward))
        elif step.granted:
            granted = h.event_raised(links.now(), request.id, compact({"result": LOCK_GRANTED}))
            outgoing.append(MessageRecord(links.new_id(), request.parent, granted, None,
                                          request.parent_execution))
        links.commit(batch)
        if batch.put_entities:
            slot.record = batch.put_entities[0]
            self._keep(slot, lock)
        log.info("[%s] %s by %s", slot.entity,
                 "released" if request.release else "locked", request.parent)
        links.deliver(outgoing)
