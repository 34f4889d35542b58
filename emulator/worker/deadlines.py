"""Deadlines for many calls at once: one loop timer per 10 ms of due time, not one per call.

A 10,000-wide fan-out of async activities bounded by ``functionTimeout`` would otherwise arm
10,000 loop timers (and wait on each call through ``asyncio.wait``): a third of the loop's work
for activities that finish in microseconds. Here calls due within the same 10 ms share one
timer; a call that ends in time just leaves its bucket, and the last one to leave cancels the
bucket's timer (left armed, the timers of a busy host's 30-minute buckets piled up in the loop's
timer heap, which every new timer then had to climb). A deadline fires at most 10 ms late.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections.abc import Callable

RESOLUTION = 0.01  # seconds: deadlines are rounded up to this


class Deadlines:
    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> Deadlines:
        """The loop's one set of deadlines, shared by every bounded call on it."""
        deadlines = _BY_LOOP.get(loop)
        if deadlines is None:
            deadlines = _BY_LOOP[loop] = cls(loop)
        return deadlines

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._buckets: dict[float, dict[int, Callable[[], None]]] = {}
        self._timers: dict[float, asyncio.TimerHandle] = {}

    def add(self, key: int, delay: float, expire: Callable[[], None]) -> float:
        """Call ``expire()`` once ``delay`` seconds have passed, unless ``discard(key, due)``
        comes first; returns ``due``, the bucket's time."""
        due = math.ceil((self._loop.time() + delay) / RESOLUTION) * RESOLUTION
        bucket = self._buckets.get(due)
        if bucket is None:
            bucket = self._buckets[due] = {}
            self._timers[due] = self._loop.call_at(due, self._fire, due)
        bucket[key] = expire
        return due

    def discard(self, key: int, due: float) -> None:
        bucket = self._buckets.get(due)
        if bucket is not None:
            bucket.pop(key, None)
            if not bucket:
                del self._buckets[due]
                self._timers.pop(due).cancel()

    def __len__(self) -> int:
        return sum(len(bucket) for bucket in self._buckets.values())

    def _fire(self, due: float) -> None:
        self._timers.pop(due, None)
        for expire in self._buckets.pop(due, {}).values():
            expire()


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Deadlines] = \
    weakref.WeakKeyDictionary()
