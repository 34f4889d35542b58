"""The protobuf form of each instance's history, kept between episodes.

Building an ``OrchestratorRequest`` converts every stored event of the execution to a protobuf
``HistoryEvent``; done anew each episode that is quadratic in the number of steps. History is
append-only within an execution, so this cache keeps, per instance, the events it converted and
what each was converted from (the event's stored JSON text when the engine gives it, else a
copy of the event), and converts only the events past the longest prefix that is unchanged.

Safety: a cached event is reused only when its source equals the current event, compared event
by event (a C-level list comparison in the common case). A rewind (events rewritten in place), a
continue-as-new or restart (a new execution id, a new history), a purge followed by a new
instance with the same id (other timestamps, another execution id) therefore never get a stale
conversion: the unequal suffix is converted again. Memory: at most ``capacity`` instances, the
least recently used dropped first; ``forget`` drops one (the adapter calls it when an execution
ends).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .messages import pb

__all__ = ["ProtoHistoryCache"]


@dataclass(frozen=True)
class _Entry:
    execution_id: str
    sources: list[Any]  # each event's stored JSON text (or a copy of the event dict)
    events: list[pb.HistoryEvent]  # the conversions, never mutated once stored


def _common_prefix(cached: list[Any], current: list[Any]) -> int:
    """How many leading sources are equal in both lists."""
    size = min(len(cached), len(current))
    if cached[:size] == current[:size]:
        return size
    for index in range(size):
        if cached[index] != current[index]:
            return index
    return size  # pragma: no cover - unreachable: the slices differ somewhere


class ProtoHistoryCache:
    """Per instance id: the protobuf events of its current execution's history."""

    def __init__(self, capacity: int = 256) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.converted = 0  # events converted so far (a counter the tests read)
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def events(self, instance_id: str, execution_id: str, history: Sequence[dict[str, Any]],
               texts: Sequence[str] | None, convert: Any) -> list[pb.HistoryEvent]:
        """``history`` converted with ``convert`` (event -> ``HistoryEvent``), reusing the
        conversions of the unchanged prefix. ``texts`` (each event's stored JSON, aligned with
        ``history``) is the cheap, exact comparison; without it, events are compared as dicts."""
        if texts is not None and len(texts) == len(history):
            sources = list(texts)
        else:
            sources = [dict(event) for event in history]
        with self._lock:
            entry = self._entries.get(instance_id)
            if entry is not None:
                self._entries.move_to_end(instance_id)
        keep = 0
        if entry is not None and entry.execution_id == execution_id:
            keep = _common_prefix(entry.sources, sources)
        events = entry.events[:keep] if keep else []
        fresh = [convert(event) for event in history[keep:]]
        self.converted += len(fresh)
        events.extend(fresh)
        with self._lock:
            self._entries[instance_id] = _Entry(execution_id, sources, events)
            self._entries.move_to_end(instance_id)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return events

    def forget(self, instance_id: str) -> None:
        """Drop an instance's conversions (its execution ended, or it left memory)."""
        with self._lock:
            self._entries.pop(instance_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
