"""The HTTP edge's error mapping: domain errors (``core/errors.py``) and bad input
(``InvalidQuery``, ``params``, ``ids``, ``jsonsafe``) to the extension's status codes and JSON
bodies. The request readers that raise them are ``readers.py``.

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
from ..protocol.ids import InvalidInstanceId
from ..runtime.operations import ClockRangeError
from .params import InvalidParameter

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
    except web.HTTPRequestEntityTooLarge as exc:  # aiohttp's own reader (client_max_size)
        return error_response(413, exc.text or "The request body is too large.")
    except (InvalidParameter, InvalidInstanceId, ClockRangeError) as exc:
        return error_response(400, str(exc), str(exc))
