"""The HTTP edge's error mapping: domain errors (``errors.py``) to the extension's status codes
and JSON bodies, and the request checks of the management API.

Bodies follow the extension: ``{"Message": ..., "ExceptionMessage": ...}``. A failed store
write answers 503 (507 for a full disk) with the reason; nothing of the request happened.

Request bodies are read up to the Functions host's limit (``read_body``: the
``FUNCTIONS_REQUEST_BODY_SIZE_LIMIT`` app setting, 100 MB by default), 413 above it. Every query
value and body is read through ``params`` (finite, bounded numbers; timestamps in
UTC), ``ids`` (the extension's instance-id rules) and ``jsonsafe`` (strict JSON with a depth
limit) before the engine sees it, and everything served goes out as strict JSON
(``json_response``: ``NaN``/``Infinity`` become ``null``).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from . import jsonsafe
from .clock import ClockRangeError
from .enums import RuntimeStatus
from .errors import (
    BadRequest,
    Conflict,
    EngineError,
    Gone,
    InvalidOperation,
    NotFound,
    StoreFull,
    StoreUnavailable,
    Unsupported,
)
from .ids import InvalidInstanceId, validate_instance_id
from .params import InvalidParameter, parse_flag, parse_int, parse_seconds, parse_timestamp

log = logging.getLogger("emulator")

GENERIC = "Something went wrong while processing your request"
BODY_LIMIT_SETTING = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"
DEFAULT_BODY_LIMIT = 104_857_600
BODY_LIMIT = web.AppKey("body_limit", int)


class InvalidQuery(Exception):
    """A malformed request parameter or body, found at the edge (400, message twice)."""

    status = 400


class PayloadTooLarge(InvalidQuery):
    status = 413


# Everything the host serves: strict JSON (non-finite floats written as null).
json_response = functools.partial(web.json_response, dumps=jsonsafe.dumps)


def error_response(status: int, message: str,
                   exception_message: str | None = None) -> web.Response:
    body = {"Message": message}
    if exception_message is not None:
        body["ExceptionMessage"] = exception_message
    return json_response(body, status=status)


def engine_error_response(exc: EngineError) -> web.Response:
    text = str(exc)
    if isinstance(exc, BadRequest):
        return error_response(400, "One or more of the arguments submitted is incorrect", text)
    if isinstance(exc, StoreFull):
        return error_response(507, "The local host's state store is full", text)
    if isinstance(exc, StoreUnavailable):
        return error_response(503, "The local host's state store is unavailable", text)
    if isinstance(exc, Conflict):
        return error_response(409, GENERIC, text)
    if isinstance(exc, InvalidOperation):
        return error_response(500, GENERIC, text)
    if isinstance(exc, NotFound):
        return error_response(404, text)
    if isinstance(exc, Gone):
        return error_response(410, text)
    if isinstance(exc, Unsupported):
        return error_response(501, text)
    return error_response(500, GENERIC, text)


@web.middleware
async def errors_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except StoreUnavailable as exc:
        log.error("%s %s: %s", request.method, request.path, exc)
        return engine_error_response(exc)
    except EngineError as exc:
        return engine_error_response(exc)
    except InvalidQuery as exc:
        return error_response(exc.status, str(exc), str(exc))
    except web.HTTPRequestEntityTooLarge as exc:  # aiohttp's own reader (client_max_size)
        return error_response(413, exc.text or "The request body is too large.")
    except (InvalidParameter, InvalidInstanceId, ClockRangeError) as exc:
        return error_response(400, str(exc), str(exc))


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
