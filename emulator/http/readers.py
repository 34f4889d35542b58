"""Request readers of the HTTP edge: query values and bodies, checked before anything else runs.

Shared by the management API, the entity routes and the dashboard. Each reads one value through
``params`` (finite, bounded numbers; timestamps in UTC), ``ids`` (the extension's instance-id
rules) or ``jsonsafe`` (strict JSON with depth and size limits) and raises ``InvalidQuery`` (or
``InvalidParameter``) naming the parameter; ``errors.errors_middleware`` answers those with 400.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timedelta

from aiohttp import web

from ..protocol import jsonsafe
from ..protocol.enums import RuntimeStatus
from ..protocol.ids import InvalidInstanceId, validate_instance_id
from .errors import InvalidQuery, PayloadTooLarge
from .keys import BODY_LIMIT
from .params import parse_flag, parse_int, parse_seconds, parse_timestamp

BODY_LIMIT_SETTING = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"
DEFAULT_BODY_LIMIT = 104_857_600


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


def request_body_limit(environ: Mapping[str, str] | None = None) -> int:
    """The largest request body in bytes: the ``FUNCTIONS_REQUEST_BODY_SIZE_LIMIT`` app setting
    when it is a whole number, else the Functions host's default of 104857600 (100 MB; its
    ``HttpRequestSizeMiddleware``)."""
    value = (os.environ if environ is None else environ).get(BODY_LIMIT_SETTING, "").strip()
    return int(value) if value.isdigit() else DEFAULT_BODY_LIMIT


def _too_large(size: int, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is {size} bytes or more; the limit is {limit} "
                           f"bytes (app setting {BODY_LIMIT_SETTING}).")


async def read_body(request: web.Request) -> bytes:
    """The whole body, at most the app's ``BODY_LIMIT`` bytes, else 413 - refused from its
    ``Content-Length`` before anything is read, or as soon as what arrives passes the limit. The
    chunks are joined once and nothing else keeps them (``request.read()`` would keep its own
    copy for the request's lifetime)."""
    limit = request.app.get(BODY_LIMIT, DEFAULT_BODY_LIMIT)
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(request.content_length, limit)
    chunks, size = [], 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def json_body(request: web.Request) -> str | None:
    """The body as compact strict JSON text (None when empty); 400 when it is not strict
    JSON or nests too deeply, 413 when it is larger than the request body limit."""
    raw = await read_body(request)
    if not raw or raw.isspace():  # (strip() would copy the body)
        return None
    # One form of the body at a time: the bytes go as soon as they are text, the text as soon
    # as it is parsed (at most two of body, text, value and re-encoded text held at once).
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidQuery(f"Invalid JSON content: {jsonsafe.JsonProblem.ENCODING.value}: "
                           f"{exc}") from None
    del raw
    try:
        value = jsonsafe.loads(text)
    except jsonsafe.JsonInputError as exc:
        raise InvalidQuery(f"Invalid JSON content: {exc}") from None
    del text
    return jsonsafe.dumps(value)
