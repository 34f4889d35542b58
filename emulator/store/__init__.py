"""Persistence for the local host: one ``Store`` contract, a memory and an SQLite backend."""

from .base import Batch, InstanceRecord, MessageRecord, Snapshot, Store, WorkItem
from .memory import MemoryStore
from .sqlite import SqliteStore


def open_store(spec: str) -> Store:
    """``":memory:"`` gives a MemoryStore; anything else is an SQLite file path."""
    return MemoryStore() if spec == ":memory:" else SqliteStore(spec)


__all__ = ["Batch", "InstanceRecord", "MessageRecord", "MemoryStore", "Snapshot", "SqliteStore",
           "Store", "WorkItem", "open_store"]
