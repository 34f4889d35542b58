"""The HTTP edge's error mapping: domain errors (``errors.py``) to the extension's status codes
and JSON bodies, and the request checks of the management API.

Bodies follow the extension: ``{"Message": ..., "ExceptionMessage": ...}``. A failed store
write answers 503 (507 for a full disk) with the reason; nothing of the request happened.

Every query value and body is read through ``params`` (finite, bounded numbers; timestamps in
UTC), ``ids`` (the extension's instance-id rules) and ``jsonsafe`` (strict JSON with depth and
size limits) before the engine sees it, and everything served goes out as strict JSON
(``json_response``: ``NaN``/``Infinity`` become ``null``).
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from ..core.errors import (
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
from ..protocol import jsonsafe
from ..protocol.enums import RuntimeStatus
from ..protocol.ids import InvalidInstanceId, validate_instance_id
from ..runtime.operations import ClockRangeError
from .params import InvalidParameter, parse_flag, parse_int, parse_seconds, parse_timestamp

log = logging.getLogger("emulator")

GENERIC = "Something went wrong while processing your request"


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
