"""Each instance's ``OrchestratorRequest``, kept between episodes and brought up to date in place.

Building the request converts every stored event of the execution to a protobuf
``HistoryEvent`` and copies each into the request's repeated fields; done anew each episode that
is quadratic in the number of steps (a 200-event history cost 0.2 ms to assemble, six times
what serializing it costs). History is append-only within an execution, so this cache keeps,
per instance, the request it built last and what each of its events was converted from (the
event's stored JSON text when the engine gives it, else a copy of the event), and for the next
episode converts and appends only the events past the longest prefix that is unchanged, moving
the events that became past from ``newEvents`` to ``pastEvents``.

Safety: a cached event is reused only when its source equals the current event, compared event
by event (a C-level list comparison in the common case). A rewind (events rewritten in place), a
continue-as-new or restart (a new execution id, a new history), a purge followed by a new
instance with the same id (other timestamps, another execution id) therefore never get a stale
conversion: the unequal suffix is dropped and converted again. The request is handed out only
serialized (``serialized``), so nothing outside the cache holds the message it mutates. Memory:
at most ``capacity`` instances, the least recently used dropped first; ``forget`` drops one (the
adapter calls it when an execution ends).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .messages import pb, string_value

__all__ = ["ProtoHistoryCache"]

# (a repeated HistoryEvent field, a stored event): appends the event's conversion to the field
Convert = Callable[[Any, dict[str, Any]], None]


@dataclass
class _Entry:
    execution_id: str
    sources: list[Any]  # each event's stored JSON text (or a copy of the event dict)
    request: pb.OrchestratorRequest  # pastEvents + newEvents: the conversions, in order


def _common_prefix(cached: list[Any], current: list[Any]) -> int:
    """How many leading sources are equal in both lists."""
    size = min(len(cached), len(current))
    if cached[:size] == current[:size]:
        return size
    for index in range(size):
        if cached[index] != current[index]:
            return index
    return size  # pragma: no cover - unreachable: the slices differ somewhere


def _fresh(instance_id: str, execution_id: str) -> pb.OrchestratorRequest:
    return pb.OrchestratorRequest(instanceId=instance_id,
                                  executionId=string_value(execution_id))


def _update(request: pb.OrchestratorRequest, keep: int, start: int,
            history: Sequence[dict[str, Any]], convert: Convert) -> int:
    """Make ``request`` hold ``history`` split at ``start``: its first ``keep`` events are
    reused, the others converted. Returns how many were converted."""
    past, new = request.pastEvents, request.newEvents
    if keep < len(past):  # past events changed (a rewind): drop them and all new ones
        del past[keep:]
        del new[:]
    else:
        del new[keep - len(past):]
    if start < len(past):  # the split moved back: hand the tail of past to new, in order
        moved = list(past[start:]) + list(new)
        del past[start:]
        del new[:]
        new.extend(moved)
    elif len(new) and start > len(past):  # cached new events that are past now
        count = min(start - len(past), len(new))
        past.extend(new[:count])
        del new[:count]
    for index in range(keep, len(history)):
        convert(past if index < start else new, history[index])
    return len(history) - keep


class ProtoHistoryCache:
    """Per instance id: the ``OrchestratorRequest`` of its current execution's history."""

    def __init__(self, capacity: int = 256) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.converted = 0  # events converted so far (a counter the tests read)
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def serialized(self, instance_id: str, execution_id: str,
                   history: Sequence[dict[str, Any]], texts: Sequence[str] | None,
                   convert: Convert, start: int) -> bytes:
        """The serialized request for ``history`` (events appended with ``convert``), those
        from ``start`` on as ``newEvents``, reusing the conversions of the unchanged prefix.
        ``texts`` (each event's stored JSON, aligned with ``history``) is the cheap, exact
        comparison; without it, events are compared as dicts.

        One episode of an instance at a time (the engine's rule): the entry is taken out while
        it is brought up to date, so a concurrent call for the same instance would start afresh
        rather than share it."""
        if texts is not None and len(texts) == len(history):
            sources = list(texts)
        else:
            sources = [dict(event) for event in history]
        with self._lock:
            entry = self._entries.pop(instance_id, None)
        keep = 0
        if entry is not None and entry.execution_id == execution_id:
            keep = _common_prefix(entry.sources, sources)
            request = entry.request
        else:
            request = _fresh(instance_id, execution_id)
        # A conversion that raises leaves the entry out: the next call starts afresh.
        self.converted += _update(request, keep, start, history, convert)
        with self._lock:
            self._entries[instance_id] = _Entry(execution_id, sources, request)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return request.SerializeToString()

    def forget(self, instance_id: str) -> None:
        """Drop an instance's request (its execution ended, or it left memory)."""
        with self._lock:
            self._entries.pop(instance_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
