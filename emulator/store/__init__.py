"""Persistence for the local host: one ``Store`` contract, a memory and an SQLite backend."""

from .base import (
    Batch,
    CommitError,
    CommitFailure,
    EntityRecord,
    InstanceRecord,
    MessageRecord,
    Snapshot,
    StateFileError,
    StateInUse,
    Store,
    StoreError,
    WorkItem,
)
from .memory import MemoryStore
from .sqlite import SqliteStore


def open_store(spec: str) -> Store:
    """``":memory:"`` gives a MemoryStore; anything else is an SQLite file path."""
    return MemoryStore() if spec == ":memory:" else SqliteStore(spec)


__all__ = ["Batch", "CommitError", "CommitFailure", "EntityRecord", "InstanceRecord",
           "MessageRecord", "MemoryStore", "Snapshot", "SqliteStore", "StateFileError",
           "StateInUse", "Store", "StoreError", "WorkItem", "open_store"]
