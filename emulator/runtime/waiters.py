"""Clients waiting for an instance to change: long polls and starts with a ``timeout``.

``wait_for`` parks a future and its predicate per waiting client under the instance's id;
``wake`` (called by ``Engine.emit`` after every committed change) checks each parked predicate
against the instance and resolves the futures whose predicate now holds, so a client waiting
for completion costs nothing per intermediate change (a 50-step chain emits 50 changes): no
task wake-up, no new future or timer. Nothing polls. ``release`` answers every wait at once when
the host shuts down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
Predicate = Callable[[T | None], bool]


class Waiters(Generic[T]):
    def __init__(self, lookup: Callable[[str], T | None]) -> None:
        self._lookup = lookup  # the instance as it is now, or None
        self._parked: dict[str, list[tuple[asyncio.Future, Predicate]]] = {}
        self._closing = False  # the host is shutting down: waits answer at once

    def wake(self, instance_id: str) -> None:
        """The instance changed: the waits whose predicate now holds are answered."""
        parked = self._parked.get(instance_id)
        if not parked:
            return
        inst = self._lookup(instance_id)
        for entry in list(parked):
            future, predicate = entry
            try:
                holds = future.done() or predicate(inst)
            except Exception:  # noqa: BLE001 - the waiter re-checks and raises in its own task
                holds = True
            if holds:
                parked.remove(entry)
                if not future.done():
                    future.set_result(None)
        if not parked:
            del self._parked[instance_id]

    async def wait_for(self, instance_id: str, predicate: Predicate,
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
            entry = (future, predicate)
            self._parked.setdefault(instance_id, []).append(entry)
            timer = loop.call_later(remaining, _answer, future)
            try:
                await future
            finally:
                timer.cancel()
                parked = self._parked.get(instance_id)
                if parked and entry in parked:
                    parked.remove(entry)
                    if not parked:
                        del self._parked[instance_id]

    @property
    def open(self) -> int:
        """Clients waiting on an instance right now."""
        return sum(len(parked) for parked in self._parked.values())

    def release(self) -> None:
        """Shutdown: every wait answers now with the instance as it is, so long polls do not
        hold the host's exit for their whole timeout."""
        self._closing = True
        for parked in self._parked.values():
            for future, _ in parked:
                if not future.done():
                    future.set_result(None)


def _answer(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)
