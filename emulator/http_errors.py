"""The HTTP edge's error mapping: domain errors (``errors.py``) to the extension's status codes
and JSON bodies, and the query-parameter checks of the management API.

Bodies follow the extension: ``{"Message": ..., "ExceptionMessage": ...}``. A failed store
write answers 503 (507 for a full disk) with the reason; nothing of the request happened.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from aiohttp import web

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
from .history import compact

log = logging.getLogger("emulator")

GENERIC = "Something went wrong while processing your request"


class InvalidQuery(Exception):
    """A malformed request parameter or body, found at the edge (400, message twice)."""


def error_response(status: int, message: str,
                   exception_message: str | None = None) -> web.Response:
    body = {"Message": message}
    if exception_message is not None:
        body["ExceptionMessage"] = exception_message
    return web.json_response(body, status=status)


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
        return error_response(400, str(exc), str(exc))


def flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    if value is None:
        return default
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidQuery(f"Query parameter '{name}' must be true or false, not {value!r}.")


def seconds(request: web.Request, name: str, default: str) -> float:
    """A finite number of seconds from the query (negative counts as 0)."""
    try:
        value = float(request.query.get(name, default))
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidQuery("'timeout' and 'pollingInterval' must be numbers (seconds)")
    return max(0.0, value)


def waiting_seconds(request: web.Request) -> float | None:
    """``waitingSeconds=N`` (the local host's own): this request is a client waiting N s."""
    value = request.query.get("waitingSeconds")
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise InvalidQuery("Query parameter 'waitingSeconds' must be a number of seconds "
                           f"(>= 0), not {value!r}.")
    return number


async def json_body(request: web.Request) -> str | None:
    """The body as compact JSON text (None when empty); 400 when it is not JSON."""
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return compact(json.loads(raw))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidQuery(f"Invalid JSON content: {exc}") from exc
