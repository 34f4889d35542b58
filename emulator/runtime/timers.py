"""Durable timers: a heap of pending timer messages and the loop that fires them.

A timer is a stored message with a ``visible_at`` time. ``arm`` puts it on the heap (after the
episode that created it committed, or at restore); when it is due the loop hands it to
``deliver`` (the engine puts it in the instance's inbox). With a skipping clock, when
``idle()`` says nothing else can run, the loop jumps the clock to the next due timer.
Cancelled timers are dropped lazily: ``drop`` forgets their messages, the heap skips them.

The loop is woken (``poke``) only when it has something to re-check: a timer armed earlier than
the one it sleeps until, or the clock moved (the clock endpoints); and, through
``skip_may_be_possible``, work that finished or a clock that may skip again (a client waits, a
hold was released) only while the clock may skip now and a timer is pending. In real time, or
with the clock held, an episode that arms nothing leaves the loop asleep.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from ..core.instance import Instance
from ..protocol.history import format_ts, parse_ts
from ..store import MessageRecord
from .clock import Clock

log = logging.getLogger("emulator")


class DueSource(Protocol):
    """Other timed work the loop fires on the same clock (the timer triggers): when it is due
    next, and fire what is due at ``now``. It calls ``poke`` when its next due time changes."""

    def next_due(self) -> datetime | None: ...

    def fire_due(self, now: datetime) -> None: ...


class TimerQueue:
    def __init__(self, clock: Clock, deliver: Callable[[MessageRecord], None],
                 idle: Callable[[], bool]) -> None:
        self.clock = clock
        self.deliver = deliver
        self.idle = idle
        self._heap: list[tuple[datetime, int]] = []
        self._messages: dict[int, MessageRecord] = {}
        self._wake: asyncio.Event | None = None
        self._sleeping_until: datetime | None = None  # the due time the loop waits for
        self._sources: list[DueSource] = []

    def add_source(self, source: DueSource) -> None:
        """Fire ``source`` on this loop too: its due times count for sleeping and skipping."""
        self._sources.append(source)
        self.poke()

    def arm(self, inst: Instance | None, message: MessageRecord) -> None:
        """``inst`` None: a delayed message to an entity (nothing drops it early)."""
        self._messages[message.id] = message
        if inst is not None:
            inst.timers.add(message.id)
        due = parse_ts(message.visible_at)
        heapq.heappush(self._heap, (due, message.id))
        if self._sleeping_until is None or due < self._sleeping_until:
            self.poke()  # else the loop wakes for an earlier timer first and re-reads the heap

    def drop(self, inst: Instance) -> None:
        """Forget the instance's pending timers (their store rows go in the same change)."""
        for timer_id in inst.timers:
            self._messages.pop(timer_id, None)
        inst.timers.clear()

    def pending(self) -> list[MessageRecord]:
        """The timer messages armed and not yet fired or dropped."""
        return list(self._messages.values())

    def poke(self) -> None:
        """Re-check the heap now (an earlier timer was armed, the clock moved)."""
        if self._wake is not None:
            self._wake.set()

    def skip_may_be_possible(self) -> None:
        """Work finished (the host may be idle now) or the clock says it may skip again (a
        client waits, a hold was released). That matters only if the clock may skip now and a
        timer is pending; in real time, or while the clock is held, the loop sleeps on."""
        clock = self.clock
        if clock.skipping and (self._messages or self._sources) and clock.can_skip():
            self.poke()

    def fire_due(self, now: datetime) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, message_id = heapq.heappop(heap)
            message = self._messages.pop(message_id, None)
            if message is not None:  # else: the instance finished or was purged
                self.deliver(message)
        for source in self._sources:
            source.fire_due(now)

    def next_due(self) -> datetime | None:
        heap = self._heap
        while heap and heap[0][1] not in self._messages:
            heapq.heappop(heap)
        due = heap[0][0] if heap else None
        for source in self._sources:
            other = source.next_due()
            if other is not None and (due is None or other < due):
                due = other
        return due

    async def run(self) -> None:
        self._wake = wake = asyncio.Event()
        clock = self.clock
        while True:
            wake.clear()
            now = clock.now()
            self.fire_due(now)
            due = self.next_due()
            if due is not None and clock.skipping and clock.can_skip() and self.idle():
                # Let anything the loop has queued run first, then check again.
                await asyncio.sleep(0)
                if self.idle() and self.next_due() == due:
                    clock.advance_to(due)
                    log.debug("time skipped to %s", format_ts(due))
                    continue
            timeout = None if due is None else max(0.0, (due - now).total_seconds()) + 0.0005
            self._sleeping_until = due
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation
                # that arrives as the wake is set, and the engine's stop waited for this loop.
                async with asyncio.timeout(timeout):
                    await wake.wait()
            except TimeoutError:
                pass
            finally:
                self._sleeping_until = None
