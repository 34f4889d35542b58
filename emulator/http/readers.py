"""Request readers of the HTTP edge: query values and bodies, checked before anything else runs.

Shared by the management API, the entity routes and the dashboard. Each reads one value through
``params`` (finite, bounded numbers; timestamps in UTC), ``ids`` (the extension's instance-id
rules) or ``jsonsafe`` (strict JSON with depth and size limits) and raises ``InvalidQuery`` (or
``InvalidParameter``) naming the parameter; ``errors.errors_middleware`` answers those with 400.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp import web

from ..protocol import jsonsafe
from ..protocol.enums import RuntimeStatus
from ..protocol.ids import InvalidInstanceId, validate_instance_id
from .errors import InvalidQuery, PayloadTooLarge
from .params import parse_flag, parse_int, parse_seconds, parse_timestamp


def flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    return default if value is None else parse_flag(value, name)


def wait_seconds(request: web.Request, name: str, default: str | None = None) -> float | None:
    """A wait in seconds (finite, 0 to one day); None when absent and no default."""
    value = request.query.get(name, default)
    return None if value is None else parse_seconds(value, name).total_seconds()


def integer(request: web.Request, name: str, default: int, *, minimum: int,
            maximum: int = 2**31 - 1) -> int:
    value = request.query.get(name)
    return default if value is None else parse_int(value, name, minimum=minimum,
                                                   maximum=maximum)


def timestamp(request: web.Request, name: str) -> datetime | None:
    value = request.query.get(name)
    return parse_timestamp(value, name) if value else None


def runtime_statuses(request: web.Request) -> set[RuntimeStatus] | None:
    """``runtimeStatus=Running,Failed``: the statuses named (None: no filter)."""
    value = request.query.get("runtimeStatus")
    if not value:
        return None
    statuses = {s.strip() for s in value.split(",") if s.strip()}
    names = [status.value for status in RuntimeStatus]
    unknown = statuses - set(names)
    if unknown:
        raise InvalidQuery(f"Unknown runtimeStatus {', '.join(sorted(unknown))}; expected "
                           f"one or more of {', '.join(names)}.")
    return {RuntimeStatus(s) for s in statuses}


def instance_id(value: str) -> str:
    """``value`` when the extension accepts it as an instance id; InvalidQuery otherwise."""
    try:
        return validate_instance_id(value)
    except InvalidInstanceId as exc:
        raise InvalidQuery(f"Invalid instance ID {value[:300]!r}: {exc}") from None


def clock_seconds(request: web.Request, maximum: float) -> timedelta:
    value = request.query.get("seconds")
    if value is None:
        raise InvalidQuery("Query parameter 'seconds' (a number) is required.")
    return parse_seconds(value, "seconds", maximum=maximum)


def waiting_seconds(request: web.Request) -> float | None:
    """``waitingSeconds=N`` (the local host's own): this request is a client waiting N s."""
    return wait_seconds(request, "waitingSeconds")


async def json_body(request: web.Request) -> str | None:
    """The body as compact strict JSON text (None when empty); 400 when it is not strict
    JSON or nests too deeply, 413 when it is larger than ``jsonsafe.MAX_BYTES``."""
    if request.content_length is not None and request.content_length > jsonsafe.MAX_BYTES:
        raise PayloadTooLarge(f"The request body is {request.content_length} bytes; the "
                              f"limit for JSON is {jsonsafe.MAX_BYTES}.")
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return jsonsafe.dumps(jsonsafe.loads(raw))
    except jsonsafe.JsonInputError as exc:
        error = PayloadTooLarge if exc.problem is jsonsafe.JsonProblem.TOO_LARGE \
            else InvalidQuery
        raise error(f"Invalid JSON content: {exc}") from None
