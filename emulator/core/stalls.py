"""Retrying work whose commit failed: a bounded backoff for stalled instances and entities.

An orchestration episode or an entity batch whose store commit fails (``StoreUnavailable``: a
full disk, a locked or read-only file) changed nothing in memory - commit first, then change
memory (``changes.py``) - so the same work can simply run again from the committed state once
the store may be back. ``CommitRetry`` stalls the subject (an ``Instance`` or an entity: it
takes no work meanwhile) and schedules its resumption after 0.1 s, doubling up to 30 s per
consecutive failure; a successful commit resets the count. Internal errors of the local host
(bugs) are not retried: their subject stays stalled and logged until the host restarts.

``schedule(delay, callback)`` is injected (the loop's ``call_later`` in the engine; tests
record the delays and call back on the next loop turn), so no test waits for a backoff. It
must call back later, never from inside ``schedule``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

FIRST_DELAY = 0.1  # seconds before the first retry
MAX_DELAY = 30.0  # the backoff's cap
_CANCELLED = object()


class Stallable(Protocol):
    stalled: bool  # takes no work while set
    commit_failures: int  # consecutive failed commits of its work


def retry_delay(failures: int, first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> float:
    """Seconds before the retry that follows the ``failures``-th consecutive failure."""
    if failures < 1:
        return 0.0
    exponent = min(failures - 1, 64)  # 2**64 x 0.1 s is past any cap
    return min(cap, first * 2 ** exponent)


class CommitRetry:
    def __init__(self, schedule: Callable[[float, Callable[[], None]], Any], *,
                 first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> None:
        self.schedule = schedule
        self.first = first
        self.cap = cap
        self._handles: dict[int, Any] = {}  # id(subject) -> its pending retry's handle

    @property
    def pending(self) -> int:
        """Subjects waiting for their retry (the host is not idle while one waits)."""
        return len(self._handles)

    def failed(self, subject: Stallable, resume: Callable[[], None]) -> float:
        """A commit of ``subject``'s work failed: stall it and schedule ``resume()`` (after
        the stall is lifted) once the backoff has passed; the delay in seconds."""
        subject.stalled = True
        subject.commit_failures += 1
        delay = retry_delay(subject.commit_failures, self.first, self.cap)
        key = id(subject)

        def retry() -> None:
            if self._handles.pop(key, _CANCELLED) is _CANCELLED:
                return
            subject.stalled = False
            resume()
        self._cancel(self._handles.pop(key, None))
        self._handles[key] = self.schedule(delay, retry)
        return delay

    def succeeded(self, subject: Stallable) -> int:
        """``subject``'s work committed: reset its count; the failures it had before."""
        failures, subject.commit_failures = subject.commit_failures, 0
        return failures

    def cancel(self, subject: Stallable) -> None:
        """``subject`` is gone (purged, replaced): its pending retry, if any, never runs."""
        if id(subject) in self._handles:
            self._cancel(self._handles.pop(id(subject)))

    def cancel_all(self) -> None:
        """The host stops: no retry runs after it."""
        handles, self._handles = self._handles, {}
        for handle in handles.values():
            self._cancel(handle)

    @staticmethod
    def _cancel(handle: Any) -> None:
        cancel = getattr(handle, "cancel", None)  # the loop's TimerHandle; fakes may give None
        if cancel is not None:
            cancel()
