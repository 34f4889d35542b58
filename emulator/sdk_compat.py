"""Make the SDK's HTTP client safe for more than one event loop in a process.

``DurableOrchestrationClient`` sends its management calls through one module-level aiohttp
session (``azure.durable_functions.models.utils.http_utils``), created on first use and bound to
the event loop of that moment. In a Functions worker there is one loop for the life of the
process, so that is fine. The local host may run several loops in one process over time (each
in-process ``LocalHost`` has its own), and a session bound to a closed loop fails every later
call ("Event loop is closed"). This module gives each event loop its own session and closes it
when its host stops; the session's settings are the SDK's own.
"""

from __future__ import annotations

import asyncio
import importlib
import threading

_MODULE = "azure.durable_functions.models.utils.http_utils"
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


async def close_loop_session() -> None:
    """Close the running loop's session (the host calls this when it stops)."""
    await _reset_for_running_loop()
