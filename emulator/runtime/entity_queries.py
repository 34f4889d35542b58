"""What a client reads about the host's durable entities: their rows, queries over them, and the
metadata the sidecar's ``GetEntity`` / ``QueryEntities`` report (reads only; the entity host,
``entities.py``, owns the slots they read)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..protocol.entities import EntityId
from ..protocol.history import parse_ts
from ..store import EntityRecord
from .entity_locks import EntitySlot

__all__ = ["EntityMetadata", "EntityQueries"]


@dataclass(frozen=True)
class EntityMetadata:
    """An entity as the sidecar's ``GetEntity`` / ``QueryEntities`` report it (DTFx's
    ``EntityBackendQueries.EntityMetadata``); ``state`` is None for a transient entity."""

    entity_id: str
    last_modified: datetime
    state: str | None
    backlog: int
    locked_by: str | None


class EntityQueries:
    def __init__(self, entities: dict[str, EntitySlot], now: Callable[[], datetime]) -> None:
        self.entities = entities  # the entity host's slots, by scheduler id (read only here)
        self.now = now

    def read(self, entity: EntityId) -> EntityRecord | None:
        found = self.entities.get(entity.scheduler_id)
        if found is None or found.record is None or not found.record.exists:
            return None
        return found.record

    def query(self, name: str | None = None, last_from: datetime | None = None,
              last_to: datetime | None = None) -> list[EntityRecord]:
        """Existing entities (of one entity function, when ``name`` is given), by id."""
        out = []
        for scheduler_id in sorted(self.entities):
            found = self.entities[scheduler_id]
            record = found.record
            if record is None or not record.exists:
                continue
            if name is not None and found.entity.name != name.lower():
                continue
            when = parse_ts(record.last_operation)
            if (last_from and when < last_from) or (last_to and when > last_to):
                continue
            out.append(record)
        return out

    def metadata(self, entity: EntityId, include_transient: bool = False
                 ) -> EntityMetadata | None:
        """The extension's ``EntityBackendQueries`` (Azure Storage's
        ``EntityTrackingStoreQueries.GetEntityMetadataAsync``): an entity without state -
        deleted, or only locked or with requests queued - is *transient*, reported only when
        ``include_transient`` (the gRPC ``GetEntity`` passes False, ``QueryEntities`` the
        query's ``includeTransient``). The backlog is its requests not yet taken by a batch and
        ``locked_by`` its critical section's orchestration, as DTFx's entity scheduler keeps
        them (``SchedulerState.Queue``/``LockedBy``). durabletask-python's in-memory test
        backend (``durabletask/testing/in_memory_backend.py``) differs - its GetEntity answers
        any entity it tracks, its query hides those with requests pending - the host follows
        the extension."""
        found = self.entities.get(entity.scheduler_id)
        return None if found is None else self._metadata(found, include_transient)

    def metadata_list(self, include_transient: bool, last_from: datetime | None = None,
                      last_to: datetime | None = None) -> list[EntityMetadata]:
        """``metadata`` of every entity last changed within the range, by id."""
        out = []
        for scheduler_id in sorted(self.entities):
            found = self._metadata(self.entities[scheduler_id], include_transient)
            if found is None or (last_from and found.last_modified < last_from) or (
                    last_to and found.last_modified > last_to):
                continue
            out.append(found)
        return out

    def _metadata(self, slot: EntitySlot, include_transient: bool) -> EntityMetadata | None:
        record = slot.record
        exists = record is not None and record.exists
        if not exists and not (include_transient and (record is not None or slot.inbox)):
            return None
        # An entity whose first batch has not committed yet has no row: it is being created.
        last = parse_ts(record.last_operation) if record is not None else self.now()
        return EntityMetadata(slot.entity.scheduler_id, last,
                              record.state if exists and record is not None else None,
                              slot.backlog(), slot.lock.holder)
