"""Clocks for the engine: real time, or a virtual clock that skips to the next due timer.

With time skipping the engine asks the clock to jump whenever nothing else can run (no episode,
no activity, no ready message): a retry with minutes of backoff or a 24-hour approval timeout then
completes in well under a second. ``hold()`` stops the jumps while a test needs the host to sit
still (for instance between seeing an instance wait for an event and raising that event).
"""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta

# The clock never passes this: timestamps stay printable, and adding the SDK's timer intervals
# (at most 3 days) or a 24-hour timeout to "now" can never overflow ``datetime``.
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class ClockRangeError(ValueError):
    """A move the clock refuses: not finite, backwards, or past ``LATEST``."""


class Clock:
    """Real time."""

    skipping = False

    def now(self) -> datetime:
        return datetime.now(UTC)

    def can_skip(self) -> bool:
        return False

    def advance_to(self, when: datetime) -> None:
        raise RuntimeError("this clock does not skip time")


class SkippingClock(Clock):
    """Real time plus an offset that grows each time the engine skips ahead."""

    skipping = True

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._holds = 0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def can_skip(self) -> bool:
        return self._holds == 0

    def advance_to(self, when: datetime) -> None:
        with self._lock:
            gap = min(when, LATEST) - self.now()
            if gap > timedelta(0):
                self._offset += gap

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

    def hold(self) -> None:
        with self._lock:
            self._holds += 1

    def release(self) -> None:
        with self._lock:
            self._holds = max(0, self._holds - 1)

    @property
    def offset(self) -> timedelta:
        return self._offset
