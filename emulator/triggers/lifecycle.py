"""How the listeners wait.

``wait_woken`` is the listeners' wait between polls: until their wake event is set or a timeout
passes, and always ended by a cancellation. ``asyncio.wait_for(event.wait(), timeout)`` is not:
on Python 3.11 a cancellation that arrives just as the event is set (a listener woken right
before the host stops) is swallowed and the wait returns True, so the poll loop goes on and the
host's stop waits for it for ever, its storage client open.
"""

from __future__ import annotations

import asyncio


async def wait_woken(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait until ``event`` is set (True) or ``timeout`` seconds have passed (False)."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True

