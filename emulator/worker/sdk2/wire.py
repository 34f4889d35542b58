"""The protobuf wire bytes of an ``OrchestratorRequest``, written directly for the events an
episode sends by the thousand (task scheduled, task completed, orchestrator started and
completed), protobuf's own serialization (``to_proto_event``) for every other event.

Why: a 1000-wide fan-out sends 2000 new events in its last episode; building a ``HistoryEvent``
message for each and then serializing the request cost ~6 ms, where writing their bytes costs a
fraction (the scheduled tasks of one episode share their timestamp and mostly their payload).
The bytes are what protobuf writes for the same message (fields in number order, proto3
defaults left out, a negative ``int32`` as ten bytes): the tests compare them with
``SerializeToString`` for each kind and edge value. Concatenating serialized messages is how
protobuf itself frames repeated fields, so the request is the events' bytes, each behind its
field tag and length. An event whose values the fast path does not take as they are (not text,
not an int) goes to protobuf, which raises what it raised before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ...protocol.enums import EventType
from .history_cache import ProtoHistoryCache
from .messages import stamp_of_iso
from .proto_history import split_new_events, to_proto_event, unwrap_argument_list

__all__ = ["event_bytes", "orchestrator_request_bytes", "request_bytes", "varint"]

_U64 = (1 << 64) - 1


def _varint_loop(n: int) -> bytes:
    n &= _U64
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# Ids, lengths and the engine's -1 (no event id) are looked up, not computed.
_SMALL = [_varint_loop(n) for n in range(0x4000)]
_MINUS_ONE = _varint_loop(-1)


def varint(n: int) -> bytes:
    """``n`` as a protobuf varint (a negative number as its 64-bit two's complement)."""
    if 0 <= n < 0x4000:
        return _SMALL[n]
    if n == -1:
        return _MINUS_ONE
    return _varint_loop(n)


def _string_value(tag: bytes, text: str) -> bytes:
    """A ``StringValue`` field holding ``text`` (an empty text: the empty message)."""
    data = text.encode("utf-8")
    inner = b"\x0a" + varint(len(data)) + data if data else b""
    return tag + varint(len(inner)) + inner


def _is_text(value: Any) -> bool:
    return value is None or type(value) is str


_last_stamp: tuple[str, bytes] = ("", b"")
_last_seconds: tuple[int, bytes] = (0, b"")


def _timestamp(text: str) -> bytes:
    """The ``timestamp`` field (2) of the engine's ISO text; the last one kept (the events
    of an episode share it), and the last second (a burst falls in few)."""
    global _last_stamp, _last_seconds
    last = _last_stamp
    if last[0] == text and type(text) is str:
        return last[1]
    fields = stamp_of_iso(text)
    seconds, nanos = fields["seconds"], fields["nanos"]
    inner = b""
    if seconds:
        kept = _last_seconds
        if kept[0] != seconds:
            kept = _last_seconds = (seconds, b"\x08" + varint(seconds))
        inner = kept[1]
    if nanos:
        inner += b"\x10" + varint(nanos)
    stamp = b"\x12" + _SMALL[len(inner)] + inner
    _last_stamp = (text, stamp)
    return stamp


def _head(event: dict[str, Any]) -> bytes:
    """``eventId`` (field 1) and ``timestamp`` (field 2)."""
    event_id = event.get("EventId", -1)
    if type(event_id) is not int:
        raise TypeError("EventId")
    stamp = _timestamp(event["Timestamp"])
    return b"\x08" + varint(event_id) + stamp if event_id else stamp


_last_scheduled: tuple[tuple[Any, ...], bytes] = ((), b"")


def _task_scheduled(event: dict[str, Any]) -> bytes:
    """Field 6: name (1), version (2, StringValue), input (3, StringValue)."""
    global _last_scheduled
    get = event.get
    key = (get("Name"), get("Version"), get("Input"))
    last = _last_scheduled
    if last[0] == key:  # a fan-out's tasks share name and input
        return _head(event) + last[1]
    name, version, stored = key
    if not (_is_text(name) and _is_text(version) and _is_text(stored)):
        raise TypeError("TaskScheduled")
    inner = b""
    if name:
        data = name.encode("utf-8")
        inner += b"\x0a" + varint(len(data)) + data
    if version:
        inner += _string_value(b"\x12", version)
    text = unwrap_argument_list(stored)
    if text is not None:
        if type(text) is not str:
            raise TypeError("TaskScheduled.Input")
        inner += _string_value(b"\x1a", text)
    body = b"\x32" + varint(len(inner)) + inner
    _last_scheduled = (key, body)
    return _head(event) + body


def _task_completed(event: dict[str, Any]) -> bytes:
    """Field 7: taskScheduledId (1), result (2, StringValue)."""
    task_id = event.get("TaskScheduledId")
    result = event.get("Result")
    if not (task_id is None or type(task_id) is int) or not _is_text(result):
        raise TypeError("TaskCompleted")
    inner = b"\x08" + varint(task_id) if task_id else b""
    if result is not None:
        inner += _string_value(b"\x12", result)
    return _head(event) + b"\x3a" + varint(len(inner)) + inner


def _orchestrator_started(event: dict[str, Any]) -> bytes:
    return _head(event) + b"\x72\x00"  # field 14, an empty message


def _orchestrator_completed(event: dict[str, Any]) -> bytes:
    return _head(event) + b"\x7a\x00"  # field 15, an empty message


_FAST: dict[int, Callable[[dict[str, Any]], bytes]] = {
    EventType.TASK_SCHEDULED: _task_scheduled,
    EventType.TASK_COMPLETED: _task_completed,
    EventType.ORCHESTRATOR_STARTED: _orchestrator_started,
    EventType.ORCHESTRATOR_COMPLETED: _orchestrator_completed,
}


def event_bytes(event: dict[str, Any]) -> bytes:
    """The serialized ``HistoryEvent`` of one stored event (``to_proto_event``'s bytes)."""
    encode = _FAST.get(event["EventType"])
    if encode is not None:
        try:
            return encode(event)
        except (TypeError, ValueError, KeyError, UnicodeError):
            pass  # not the engine's usual values: protobuf decides (and raises as before)
    return to_proto_event(event).SerializeToString()


def request_bytes(instance_id: str, execution_id: str | None, past: Sequence[bytes],
                  new: Sequence[bytes]) -> bytes:
    """A serialized ``OrchestratorRequest``: instanceId (1), executionId (2, StringValue),
    pastEvents (3) and newEvents (4), each event given as its serialized bytes."""
    parts: list[bytes] = []
    if instance_id:
        data = instance_id.encode("utf-8")
        parts.append(b"\x0a" + varint(len(data)) + data)
    if execution_id is not None:
        parts.append(_string_value(b"\x12", execution_id))
    parts.extend(b"\x1a" + varint(len(event)) + event for event in past)
    parts.extend(b"\x22" + varint(len(event)) + event for event in new)
    return b"".join(parts)


def orchestrator_request_bytes(instance_id: str, execution_id: str,
                               history: Sequence[dict[str, Any]], *,
                               cache: ProtoHistoryCache | None = None,
                               texts: Sequence[str] | None = None) -> bytes:
    """``proto_history.orchestrator_request``, serialized: ``history``'s events before this
    episode's ``OrchestratorStarted`` as ``pastEvents``, the others as ``newEvents``. With a
    ``cache``, the bytes of events written in earlier episodes are reused."""
    start = split_new_events(history)
    if cache is None:
        events = [event_bytes(event) for event in history]
    else:
        events = cache.events(instance_id, execution_id, history, texts, event_bytes)
    return request_bytes(instance_id, execution_id, events[:start], events[start:])
