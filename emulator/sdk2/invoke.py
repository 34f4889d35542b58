"""Calling a 2.x orchestrator or entity function the way the Functions host does: the trigger
value is a base64 protobuf request, the function's return value a base64 protobuf response.

The SDK registers an ``async def`` handler (it runs sync orchestrator code on its own thread
pool); a plain function is called directly. The host calls these from a worker thread of its
own, so a coroutine runs to completion on a private event loop of that thread.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import threading
from collections.abc import Callable
from typing import Any

from google.protobuf.message import DecodeError

from .messages import pb

__all__ = ["HandlerError", "call_handler", "run_orchestrator", "run_entity_batch"]


class HandlerError(Exception):
    """The function raised, or answered something that is not the expected response."""


_local = threading.local()


def _loop() -> asyncio.AbstractEventLoop:
    loop = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _local.loop = loop
    return loop


def call_handler(fn: Callable[..., Any], param: str, value: str) -> Any:
    """Call ``fn(**{param: value})``; a coroutine function runs on this thread's own loop."""
    if inspect.iscoroutinefunction(fn):
        return _loop().run_until_complete(fn(**{param: value}))
    return fn(**{param: value})


def _encode(message: Any) -> str:
    return base64.b64encode(message.SerializeToString()).decode("ascii")


def _decode(kind: type, answer: Any, what: str) -> Any:
    if not isinstance(answer, str | bytes):
        raise HandlerError(f"The {what} function answered {type(answer).__name__}, not the "
                           "base64 protobuf response of the 2.x SDK.")
    message = kind()
    try:
        message.ParseFromString(base64.b64decode(answer, validate=True))
    except (DecodeError, ValueError) as exc:
        raise HandlerError(f"The {what} function's answer is not a base64 "
                           f"{kind.__name__}: {exc}") from exc
    return message


def run_orchestrator(fn: Callable[..., Any], param: str,
                     request: pb.OrchestratorRequest) -> pb.OrchestratorResponse:
    """One orchestrator invocation; ``HandlerError`` if the function raised."""
    try:
        answer = call_handler(fn, param, _encode(request))
    except Exception as exc:
        raise HandlerError(f"{type(exc).__name__}: {exc}") from exc
    return _decode(pb.OrchestratorResponse, answer, "orchestrator")


def run_entity_batch(fn: Callable[..., Any], param: str,
                     request: pb.EntityBatchRequest) -> pb.EntityBatchResult:
    """One entity batch; ``HandlerError`` if the function raised."""
    try:
        answer = call_handler(fn, param, _encode(request))
    except Exception as exc:
        raise HandlerError(f"{type(exc).__name__}: {exc}") from exc
    return _decode(pb.EntityBatchResult, answer, "entity")
