"""The 2.x protocol's generated messages and the small conversions every translation needs.

The 2.x SDK (``azure-functions-durable`` 2.x, built on ``durabletask``) speaks protobuf: the
messages are durabletask's generated ``orchestrator_service_pb2``, never hand-written here.
This module imports them once, with a clear error when ``durabletask`` is missing, and converts
the values our engine keeps (ISO timestamps, JSON text or None) to the wrapper types the
messages use (``Timestamp``, ``StringValue``) and back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

try:
    from durabletask.internal import orchestrator_service_pb2 as pb
    from durabletask.internal import orchestrator_service_pb2_grpc as pb_grpc
except ImportError as exc:  # pragma: no cover - the host's requirements pin durabletask
    raise ImportError(
        "The 2.x durable SDK protocol needs the 'durabletask' package (its generated protobuf "
        "messages): pip install -r requirements-dev.txt") from exc

from google.protobuf import timestamp_pb2, wrappers_pb2

from ...protocol.history import parse_ts

__all__ = ["pb", "pb_grpc", "string_value", "text_of", "timestamp", "datetime_of",
           "timestamp_of_iso", "stamp_of_iso"]


def string_value(text: str | None) -> wrappers_pb2.StringValue | None:
    """``StringValue`` for text, None for None (an unset field, not an empty string)."""
    return None if text is None else wrappers_pb2.StringValue(value=text)


def text_of(message: object, field: str) -> str | None:
    """The text of an optional ``StringValue`` field of ``message``; None when unset."""
    if not message.HasField(field):  # type: ignore[attr-defined]
        return None
    return getattr(message, field).value


def timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


_EPOCH = datetime(1970, 1, 1)
_DAY_SECONDS = 86400
_SECOND = timedelta(seconds=1)


def timestamp_of_iso(text: str) -> timestamp_pb2.Timestamp:
    """A Timestamp from the engine's ISO text (``2024-01-01T00:00:00.123456Z``, up to 7
    fractional digits, read to the microsecond as ``parse_ts`` does)."""
    return timestamp_pb2.Timestamp(**stamp_of_iso(text))


_last_stamp: tuple[str, dict[str, int]] = ("", {})


def stamp_of_iso(text: str) -> dict[str, int]:
    """The fields of ``timestamp_of_iso(text)`` as the keywords a message takes for a
    Timestamp field (``seconds``, ``nanos``): straight from the text, without an aware datetime
    in between. Shared, not to be changed: the events of one episode share their time, so the
    last one is kept."""
    global _last_stamp
    last = _last_stamp
    if last[0] == text:
        return last[1]
    if len(text) < 20 or text[19] not in ".Z" or not text.endswith("Z"):
        stamp = timestamp(parse_ts(text))  # not the engine's own form: the general parser
        fields = {"seconds": stamp.seconds, "nanos": stamp.nanos}
    else:
        frac = text[20:-1]
        micros = int(frac[:6].ljust(6, "0")) if frac else 0
        fields = {"seconds": _seconds_of(text[:19]), "nanos": micros * 1000}
    _last_stamp = (text, fields)
    return fields


_last_second: tuple[str, int] = ("", 0)


def _seconds_of(head: str) -> int:
    """Seconds since the epoch of ``YYYY-MM-DDTHH:MM:SS`` (the last one kept: a burst of
    events falls in few seconds)."""
    global _last_second
    last = _last_second
    if last[0] == head:
        return last[1]
    delta = datetime.fromisoformat(head) - _EPOCH
    seconds = delta.days * _DAY_SECONDS + delta.seconds
    _last_second = (head, seconds)
    return seconds


def datetime_of(stamp: timestamp_pb2.Timestamp) -> datetime:
    """An aware UTC datetime (microsecond precision, as the engine keeps time)."""
    return stamp.ToDatetime(tzinfo=UTC)
