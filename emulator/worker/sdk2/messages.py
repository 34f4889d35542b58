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
           "timestamp_of_iso"]


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
    fractional digits, read to the microsecond as ``parse_ts`` does): seconds and nanos
    straight from the text, without an aware datetime in between."""
    if len(text) < 20 or text[19] not in ".Z" or not text.endswith("Z"):
        return timestamp(parse_ts(text))  # not the engine's own form: the general parser
    delta = datetime.fromisoformat(text[:19]) - _EPOCH
    frac = text[20:-1]
    micros = int(frac[:6].ljust(6, "0")) if frac else 0
    return timestamp_pb2.Timestamp(seconds=delta.days * _DAY_SECONDS + delta.seconds,
                                   nanos=micros * 1000)


def datetime_of(stamp: timestamp_pb2.Timestamp) -> datetime:
    """An aware UTC datetime (microsecond precision, as the engine keeps time)."""
    return stamp.ToDatetime(tzinfo=UTC)
