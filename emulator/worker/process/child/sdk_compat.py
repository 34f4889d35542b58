"""Make the SDK's HTTP client safe for more than one event loop in a process.

``DurableOrchestrationClient`` sends its management calls through one module-level aiohttp
session (``azure.durable_functions.models.utils.http_utils``), created on first use and bound to
the event loop of that moment. In a Functions worker there is one loop for the life of the
process, so that is fine. The local host may run several loops in one process over time (each
in-process ``LocalHost`` has its own), and a session bound to a closed loop fails every later
call ("Event loop is closed"). This module gives each event loop its own session and closes it
when its host stops; the session's settings are the SDK's own.

It also marks the status polls of ``wait_for_completion_or_create_check_status_response`` as
polls of a *waiting* client (query parameter ``waitingSeconds``: until the next poll is due), so
that a host in ``--time-skipping=while-waiting`` mode lets time skip while the app waits.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import importlib
import threading
from typing import Any

_MODULE = "azure.durable_functions.models.utils.http_utils"
_CLIENT_MODULE = "azure.durable_functions.models.DurableOrchestrationClient"
WAITING_PARAM = "waitingSeconds"
WAIT_MARGIN_SECONDS = 1.0  # a poll's lease outlives the interval to the next poll by this much
_waiting_lease: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "emulator_waiting_lease", default=None)
_sessions: dict[asyncio.AbstractEventLoop, object] = {}
_original: dict[str, object] = {}
_lock = threading.Lock()


async def _session_for_running_loop():
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        module = importlib.import_module(_MODULE)
        with _lock:
            # Let the SDK build a session with its own settings, on this loop. Nothing in
            # there waits (a fresh lock is never contended), so holding a thread lock is safe.
            module._client_session = None
            module._session_lock = asyncio.Lock()
            session = await _original["get"]()
            module._client_session = None
        _sessions[loop] = session
    return session


async def _reset_for_running_loop() -> None:
    session = _sessions.pop(asyncio.get_running_loop(), None)
    if session is not None and not session.closed:
        await session.close()


def install() -> None:
    """Route the SDK's session look-ups through one session per event loop (idempotent)."""
    module = importlib.import_module(_MODULE)
    if "get" in _original:
        return
    _original["get"] = module._get_session
    module._get_session = _session_for_running_loop
    # Error handling and shutdown close "the" session: close this loop's one instead.
    module._handle_request_error = _reset_for_running_loop
    module._close_session = _reset_for_running_loop
    _mark_waiting_polls()


def _mark_waiting_polls() -> None:
    client_module = importlib.import_module(_CLIENT_MODULE)
    client = client_module.DurableOrchestrationClient
    original_get = client_module.get_async_request
    original_wait = client.wait_for_completion_or_create_check_status_response

    @functools.wraps(original_get)
    async def get_async_request(url: str, *args: Any, **kwargs: Any) -> Any:
        lease = _waiting_lease.get()
        if lease is not None:
            url += ("&" if "?" in url else "?") + f"{WAITING_PARAM}={lease:g}"
        return await original_get(url, *args, **kwargs)

    @functools.wraps(original_wait)
    async def wait_for_completion(self: Any, request: Any, instance_id: str,
                                  timeout_in_milliseconds: int = 10000,
                                  retry_interval_in_milliseconds: int = 1000) -> Any:
        token = _waiting_lease.set(retry_interval_in_milliseconds / 1000 + WAIT_MARGIN_SECONDS)
        try:
            return await original_wait(self, request, instance_id, timeout_in_milliseconds,
                                       retry_interval_in_milliseconds)
        finally:
            _waiting_lease.reset(token)

    # Clients bind ``get_async_request`` when they are built (once per invocation), so
    # replacing the module's name is enough for every client created from now on.
    client_module.get_async_request = get_async_request
    client.wait_for_completion_or_create_check_status_response = wait_for_completion


async def close_loop_session() -> None:
    """Close the running loop's session (the host calls this when it stops)."""
    await _reset_for_running_loop()
