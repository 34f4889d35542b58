"""Clocks for the engine: real time, or a virtual clock that skips to the next due timer.

With time skipping the engine asks the clock to jump whenever nothing else can run (no episode,
no activity, no ready message): a retry with minutes of backoff or a 24-hour approval timeout then
completes in well under a second. Two modes decide *when* a jump is allowed:

- ``always``: whenever the host is idle. Right for tests and scripts: nothing ever waits.
- ``while-waiting``: only while some client is waiting on an instance (a status wait, a start
  with ``timeout``, ``LocalHost.wait``, the SDK's ``wait_for_completion_or_create_check_status_
  response`` polling). Right for a person at a terminal: a 24-hour approval timeout stays pending
  while you click through the app, and fires at once when something waits for the outcome - the
  rule of the time-skipping test servers of other workflow engines (Temporal's test server skips
  time only while a client waits for a workflow result).

``hold()`` stops the jumps in both modes while a test needs the host to sit still (for instance
between seeing an instance wait for an event and raising that event).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from enum import Enum


class TimeSkipping(Enum):
    OFF = "off"
    ALWAYS = "always"
    WHILE_WAITING = "while-waiting"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: TimeSkipping | bool | str | None) -> TimeSkipping:
        """``True`` (the old flag) means ``always``; ``False``/None mean ``off``."""
        if isinstance(value, TimeSkipping):
            return value
        if value is None or value is False:
            return cls.OFF
        if value is True:
            return cls.ALWAYS
        text = str(value).strip().lower().replace("_", "-")
        for member in cls:
            if member.value == text:
                return member
        raise ValueError(f"time skipping must be one of "
                         f"{', '.join(m.value for m in cls)}, not {value!r}")

# The clock never passes this: timestamps stay printable, and adding the SDK's timer intervals
# (at most 3 days) or a 24-hour timeout to "now" can never overflow ``datetime``.
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class ClockRangeError(ValueError):
    """A move the clock refuses: not finite, backwards, or past ``LATEST``."""


class Clock:
    """Real time."""

    skipping = False
    mode = TimeSkipping.OFF
    jumps = 0  # how many times the clock has moved ahead of real time (a skipping clock)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def can_skip(self) -> bool:
        return False

    def advance_to(self, when: datetime) -> None:
        raise RuntimeError("this clock does not skip time")

    # Waiting clients only matter to a while-waiting clock; the others accept and ignore them.
    def begin_wait(self) -> None:
        pass

    def end_wait(self) -> None:
        pass

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        """A client waits on an instance for the duration of the block."""
        self.begin_wait()
        try:
            yield
        finally:
            self.end_wait()

    def lease_wait(self, seconds: float) -> None:
        """A polling client waits for the next ``seconds`` (it will poll again by then)."""

    def subscribe(self, callback: Callable[[], None]) -> None:
        """``callback()`` runs when skipping may have become possible (the engine re-checks)."""


def make_clock(mode: TimeSkipping | bool | str | None) -> Clock:
    mode = TimeSkipping.parse(mode)
    return Clock() if mode == TimeSkipping.OFF else SkippingClock(mode)


class SkippingClock(Clock):
    """Real time plus an offset that grows each time the engine skips ahead."""

    skipping = True

    def __init__(self, mode: TimeSkipping = TimeSkipping.ALWAYS, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if mode == TimeSkipping.OFF:
            raise ValueError("a skipping clock needs mode always or while-waiting")
        self.mode = mode
        self._offset = timedelta(0)
        self._holds = 0
        self._waiters = 0
        self._lease_until = 0.0
        self._monotonic = monotonic
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def can_skip(self) -> bool:
        if self._holds:
            return False
        return self.mode == TimeSkipping.ALWAYS or self.waiting_clients()

    def waiting_clients(self) -> bool:
        """Some client waits now (an open wait, or a poll whose lease has not run out)."""
        return self._waiters > 0 or self._monotonic() < self._lease_until

    def advance_to(self, when: datetime) -> None:
        with self._lock:
            gap = min(when, LATEST) - self.now()
            if gap > timedelta(0):
                self._offset += gap
                self.jumps += 1

    def advance_by(self, seconds: float) -> None:
        """Move forward by ``seconds`` (finite, >= 0); ``ClockRangeError`` leaves it as it was."""
        if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds < 0:
            raise ClockRangeError(f"the clock moves forward by a finite number of seconds, "
                                  f"not {seconds!r}")
        with self._lock:
            try:
                target = self.now() + timedelta(seconds=seconds)
            except OverflowError:
                target = None
            if target is None or target > LATEST:
                raise ClockRangeError(f"advancing by {seconds:g} s would pass "
                                      f"{LATEST.date().isoformat()}")
            self._offset += timedelta(seconds=seconds)
            self.jumps += 1

    def hold(self) -> None:
        with self._lock:
            self._holds += 1

    def release(self) -> None:
        with self._lock:
            self._holds = max(0, self._holds - 1)
        self._notify()

    def begin_wait(self) -> None:
        with self._lock:
            self._waiters += 1
        self._notify()

    def end_wait(self) -> None:
        with self._lock:
            self._waiters = max(0, self._waiters - 1)

    def lease_wait(self, seconds: float) -> None:
        with self._lock:
            self._lease_until = max(self._lease_until, self._monotonic() + max(0.0, seconds))
        self._notify()

    def subscribe(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def _notify(self) -> None:
        for callback in list(self._listeners):
            callback()

    @property
    def offset(self) -> timedelta:
        return self._offset
