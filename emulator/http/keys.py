"""What the HTTP edge keeps on its aiohttp application: the keys of its shared objects, set once
by ``api.create_app`` and read by every handler."""

from __future__ import annotations

from aiohttp import web

from ..runtime.operations import Operations
from ..worker.index import FunctionIndex
from .paging import ContinuationTokens

OPERATIONS = web.AppKey("operations", Operations)  # the runtime, through its facade
APP = web.AppKey("app", FunctionIndex)  # the app's function index
TOKENS = web.AppKey("tokens", ContinuationTokens)  # instance list pages
ENTITY_TOKENS = web.AppKey("entity_tokens", ContinuationTokens)  # entity list pages
STARTED = web.AppKey("started", float)  # time.monotonic() at start
BODY_LIMIT = web.AppKey("body_limit", int)  # the largest request body in bytes

__all__ = ["APP", "BODY_LIMIT", "ENTITY_TOKENS", "OPERATIONS", "STARTED", "TOKENS"]
