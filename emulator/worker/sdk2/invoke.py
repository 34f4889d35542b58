"""Calling a 2.x orchestrator or entity function the way the Functions host does: the trigger
value is a base64 protobuf request, the function's return value a base64 protobuf response.

The call itself is a ``Call``: trigger value in, the function's answer out. ``in_process``
makes one for a handler imported into this process: the SDK registers an ``async def`` handler
(it runs sync orchestrator code on its own thread pool) under its trigger parameter's name; a
plain function is called directly. The host calls these from a thread of its own, so a
coroutine runs to completion on a private event loop of that thread. A worker process supplies
its own ``Call`` (the invocation sent to the process that holds the app).
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import threading
import weakref
from collections.abc import Callable
from typing import Any

from google.protobuf.message import DecodeError

from .messages import pb

__all__ = ["Call", "HandlerError", "in_process", "run_orchestrator", "run_entity_batch"]

Call = Callable[[str], Any]  # the trigger value (base64 protobuf) -> the function's answer


class HandlerError(Exception):
    """The function raised, or answered something that is not the expected response."""


_local = threading.local()


def _loop() -> asyncio.AbstractEventLoop:
    loop = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _local.loop = loop
    return loop


def in_process(fn: Callable[..., Any], param: str | None = None) -> Call:
    """A ``Call`` of a handler in this process: ``fn(**{param: value})``, ``param`` being the
    trigger parameter the SDK registered (``_df_trigger_name``) unless given.

    The SDK's orchestrator handler is ``async``: it parses the base64 request and hands the
    replay to its own thread pool (``run_sync``), so called from the engine's orchestrator
    thread each episode took a private event loop and a round trip to another thread, half
    the episode's wall time in a 50-step chain. The SDK has the same handler synchronous
    (``azure.durable_functions.Orchestrator.handle``, what ``Orchestrator.create`` registers:
    the same request parsing, replay and response encoding, base64 in and out): for a handler
    that names its orchestrator function (``orchestrator_function``), the episode calls that
    one, in the engine's thread that waits for it anyway.
    """
    name = param or getattr(fn, "_df_trigger_name", None) or "context"
    handle = _sync_orchestrator_handle(fn)
    if handle is not None:
        return handle
    if inspect.iscoroutinefunction(fn):
        return lambda value: _loop().run_until_complete(fn(**{name: value}))
    return lambda value: fn(**{name: value})


_SYNC_HANDLES: weakref.WeakKeyDictionary[Any, Call] = weakref.WeakKeyDictionary()
_SYNC_LOCK = threading.Lock()


def _sync_orchestrator_handle(fn: Any) -> Call | None:
    """The SDK's synchronous handler of the orchestrator function behind the registered
    handler ``fn``, one per handler; None when ``fn`` names none or the SDK has none."""
    orchestrator_function = getattr(fn, "orchestrator_function", None)
    if orchestrator_function is None or not callable(orchestrator_function):
        return None
    try:
        handle = _SYNC_HANDLES.get(fn)
    except TypeError:  # not weakly referable: no handle kept for it
        return None
    if handle is not None:
        return handle
    try:
        from azure.durable_functions import Orchestrator
    except ImportError:
        return None
    if not callable(getattr(Orchestrator, "handle", None)):
        return None
    with _SYNC_LOCK:
        handle = _SYNC_HANDLES.get(fn)
        if handle is None:
            handle = _SYNC_HANDLES[fn] = Orchestrator(orchestrator_function).handle
    return handle


def _encode(message: Any) -> str:
    """The trigger value of a request: a message, or one serialized already (bytes)."""
    data = message if isinstance(message, bytes) else message.SerializeToString()
    return base64.b64encode(data).decode("ascii")


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


def run_orchestrator(call: Call,
                     request: pb.OrchestratorRequest | bytes) -> pb.OrchestratorResponse:
    """One orchestrator invocation (the request as a message or serialized);
    ``HandlerError`` if the function raised."""
    try:
        answer = call(_encode(request))
    except Exception as exc:
        raise HandlerError(f"{type(exc).__name__}: {exc}") from exc
    return _decode(pb.OrchestratorResponse, answer, "orchestrator")


def run_entity_batch(call: Call, request: pb.EntityBatchRequest) -> pb.EntityBatchResult:
    """One entity batch; ``HandlerError`` if the function raised."""
    try:
        answer = call(_encode(request))
    except Exception as exc:
        raise HandlerError(f"{type(exc).__name__}: {exc}") from exc
    return _decode(pb.EntityBatchResult, answer, "entity")
