"""Clients waiting for an instance to change: long polls and starts with a ``timeout``.

``wait_for`` parks a future per waiting client under the instance's id; ``wake`` (called by
``Engine.emit`` after every committed change) resolves them, and the waiter re-checks its
predicate. Nothing polls. ``release`` answers every wait at once when the host shuts down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Waiters(Generic[T]):
    def __init__(self, lookup: Callable[[str], T | None]) -> None:
        self._lookup = lookup  # the instance as it is now, or None
        self._futures: dict[str, list[asyncio.Future]] = {}
        self._closing = False  # the host is shutting down: waits answer at once

    def wake(self, instance_id: str) -> None:
        """The instance changed: every wait on it re-checks its predicate."""
        futures = self._futures.pop(instance_id, None)
        if futures:
            for future in futures:
                if not future.done():
                    future.set_result(None)

    async def wait_for(self, instance_id: str, predicate: Callable[[T | None], bool],
                       timeout: float) -> T | None:
        """Wait until ``predicate(instance or None)`` holds or ``timeout`` seconds pass; the
        instance as it is then."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            inst = self._lookup(instance_id)
            remaining = deadline - loop.time()
            if predicate(inst) or remaining <= 0 or self._closing:
                return inst
            future = loop.create_future()
            futures = self._futures.setdefault(instance_id, [])
            futures.append(future)
            try:
                await asyncio.wait_for(future, remaining)
            except TimeoutError:
                pass
            finally:
                futures = self._futures.get(instance_id)
                if futures and future in futures:
                    futures.remove(future)
                    if not futures:
                        del self._futures[instance_id]

    @property
    def open(self) -> int:
        """Clients waiting on an instance right now."""
        return sum(len(futures) for futures in self._futures.values())

    def release(self) -> None:
        """Shutdown: every wait answers now with the instance as it is, so long polls do not
        hold the host's exit for their whole timeout."""
        self._closing = True
        for futures in self._futures.values():
            for future in futures:
                if not future.done():
                    future.set_result(None)
