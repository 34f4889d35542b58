"""The end of a host command's start-up, shared by ``serve`` and ``scheduler``: announce the
listening line, run until SIGINT or SIGTERM, stop the server."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Protocol

from . import logs

__all__ = ["serve_until_signalled"]


class Stoppable(Protocol):
    async def stop(self) -> None: ...


async def serve_until_signalled(server: Stoppable, listening_line: str) -> int:
    """Write ``listening_line`` after the start-up log lines, in one write (log lines come from
    another thread to the same terminal or pipe, and this line, which ``LocalHost`` and scripts
    wait for, must not be split by one); then serve until a signal and stop ``server``."""
    logs.flush()
    sys.stdout.write(listening_line + "\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()
    return 0
