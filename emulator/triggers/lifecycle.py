"""How the trigger sources wait and how the listeners end.

``wait_woken`` is the sources' wait between polls and timer checks: until their wake event is
set or a timeout passes, and always ended by a cancellation. ``asyncio.wait_for(event.wait(),
timeout)`` is not: on Python 3.11 a cancellation that arrives just as the event is set (a
listener woken right before the host stops) is swallowed and the wait returns True, so the poll
loop goes on and the host's stop waits for it for ever, its storage client open.

``is_shutdown_error`` tells the errors of a process or loop that is shutting down (its executor
refuses new work, which an aiohttp request needs) from a storage outage: no retry outlives them.
"""

from __future__ import annotations

import asyncio

# RuntimeError texts of concurrent.futures (an executor, or every executor at interpreter exit)
# and of asyncio (the loop's default executor shut down, the loop closed).
_SHUTDOWN_MESSAGES = ("cannot schedule new futures after", "Executor shutdown has been called",
                      "Event loop is closed")


async def wait_woken(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait until ``event`` is set (True) or ``timeout`` seconds have passed (False)."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True


def is_shutdown_error(exc: BaseException) -> bool:
    """``exc`` says the process or the event loop is shutting down, not that storage is down."""
    return isinstance(exc, RuntimeError) and str(exc).startswith(_SHUTDOWN_MESSAGES)
