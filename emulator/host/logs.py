"""The host's log output, written by a thread of its own so logging never holds up the loop.

At the default level the host writes a line per orchestration event, per activity and per HTTP
function call: 1000 lines for one F1 -> F2 run, 10,000 for a 10,000-wide fan-out. Formatting
and writing each one on the event loop (a terminal or a pipe that is slow to drain blocks it
outright) delays every request and activity behind it. Here the loop only creates the record
and queues it (``QueueHandler``); a ``QueueListener`` thread formats the records and writes
whatever has piled up in one write.

The thread also keeps out of the way of a busy host: formatting needs the interpreter lock, so
a writer that woke every 5 ms in a burst of 1000 F1 -> F2 calls took the lock from the event
loop 40 times and cost the burst about 40 ms. While lines keep arriving faster than
``BUSY_LINES`` per ``BATCH_WINDOW``, it holds them (at most ``MAX_HOLD``) and writes them once
the burst is over; a quiet host's lines are written within a window, and ``flush``/``stop``
write at once.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

BATCH_WINDOW = 0.005  # seconds a line may wait for others to share its write
BUSY_LINES = 8  # more lines than this within one window: the host is busy, hold on
MAX_HOLD = 0.5  # seconds a line may be held while the host stays busy
FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
DATEFMT = "%H:%M:%S"
_IMMUTABLE = (str, int, float, bool, type(None))


class _HandOff(logging.handlers.QueueHandler):
    """Queues the record itself: formatting happens in the listener thread.

    (The stock ``prepare`` formats the message in the caller's thread, so that the record can
    be pickled; in one process it need not be.) Arguments that could change before the
    listener formats them - anything but str, numbers, bool and None - are merged into the
    message at once, so every line says what was true when it was logged.
    """

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        args = record.args
        if args and not (type(args) is tuple and all(type(a) in _IMMUTABLE for a in args)):
            record.msg, record.args = record.getMessage(), None
        return record


class _Flush:
    """A marker in the queue: set once everything queued before it is written."""

    def __init__(self) -> None:
        self.done = threading.Event()


def hold_on(arrived: int, held: float) -> bool:
    """After a window in which ``arrived`` more lines were queued, with the first line held
    ``held`` seconds so far: wait another window before writing?"""
    return arrived > BUSY_LINES and held < MAX_HOLD


class _BatchWriter(logging.StreamHandler):
    """Writes the records the listener has gathered in one write and one flush."""

    def __init__(self, records: queue.SimpleQueue, stream: TextIO,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(stream)
        self.records = records
        self.sleep = sleep
        self.hurry = threading.Event()  # flush or stop: write what is queued now

    def _hold(self) -> None:
        """Let the followers of a record arrive before writing: while this thread sleeps,
        queueing a record wakes nobody, so a busy loop pays no thread switch per line."""
        windows, queued = 0, self.records.qsize()
        while not self.hurry.is_set():
            self.sleep(BATCH_WINDOW)
            windows += 1
            now = self.records.qsize()
            if not hold_on(now - queued, windows * BATCH_WINDOW):
                return
            queued = now

    def handle(self, record: logging.LogRecord | _Flush) -> bool:
        if not isinstance(record, _Flush):
            self._hold()
        batch = [record]
        while True:
            try:
                more = self.records.get_nowait()
            except queue.Empty:
                break
            if more is logging.handlers.QueueListener._sentinel:
                self.records.put(more)  # let the listener see it and stop
                break
            batch.append(more)
        try:
            self.stream.write("".join(self._line(r) for r in batch
                                      if not isinstance(r, _Flush)))
            self.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stream: nothing left to tell
        for item in batch:
            if isinstance(item, _Flush):
                item.done.set()
        if self.records.empty():
            self.hurry.clear()
        return True

    def _line(self, record: logging.LogRecord) -> str:
        try:
            return self.format(record) + self.terminator
        except Exception:  # noqa: BLE001 - logging must not kill its thread
            return f"(unformattable log record {record.msg!r})\n"


class LogThread:
    """The root logger's output through a listener thread; ``stop()`` writes what is left."""

    def __init__(self, stream: TextIO | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        records: queue.SimpleQueue[Any] = queue.SimpleQueue()
        writer = self._writer = _BatchWriter(records, stream or sys.stderr, sleep)
        writer.setFormatter(logging.Formatter(FORMAT, DATEFMT))
        self.handler = _HandOff(records)
        self.listener = logging.handlers.QueueListener(records, writer)
        self.listener.start()
        self._records = records
        atexit.register(self.stop)
        global _current
        _current = self

    def flush(self, timeout: float = 2.0) -> None:
        """Wait (at most ``timeout`` seconds) until every line logged so far is written."""
        if self.listener._thread is not None:
            marker = _Flush()
            self._writer.hurry.set()
            self._records.put(marker)
            marker.done.wait(timeout)

    def stop(self) -> None:
        if self.listener._thread is not None:
            self._writer.hurry.set()
            self.listener.stop()


_current: LogThread | None = None


def flush() -> None:
    """Write out the host's queued log lines now (before printing to the same terminal)."""
    if _current is not None:
        _current.flush()
