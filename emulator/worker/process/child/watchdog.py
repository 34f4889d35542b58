"""Tell the user when an ``async def`` function of the app blocks the event loop.

Everything in the local host shares one event loop. An ``async def`` activity or HTTP function
that calls ``time.sleep``, does blocking I/O or computes for seconds without an ``await``
stops every other function, the management API, the dashboard and the timers with it, and
``functionTimeout`` cannot end it: a cancellation is delivered by the loop. (The real Python
worker has the same single loop; there the host gives up on the worker after
``functionTimeout`` and restarts it.) Here a thread watches a heartbeat that the loop sets
every ``BEAT`` seconds. Once the heartbeat is ``threshold`` seconds late and the loop's
thread is inside the app's code, it logs a warning that names the function, its file and line
and the stack. When the loop runs again, it logs for how long the loop was blocked.

The loop blocked in the host's own code (a very large episode, say) is logged at debug level
only: that is not something the app can fix.

It watches the loops where the app's ``async def`` functions run: the host's own loop with the
in-process worker (and a 2.x app's own loop beside it, ``worker/app_loop.py``), each worker
process's loop otherwise (``main.py`` starts one there; its lines reach the host's log like the
app's).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import traceback
from pathlib import Path
from types import FrameType

log = logging.getLogger("emulator")

BEAT = 0.1  # seconds between two heartbeats of the loop
DEFAULT_THRESHOLD = 2.0  # seconds of silence that count as a blocked loop
STACK_LINES = 8  # frames of the stuck stack shown, from the app's frame inwards

ADVICE = ("functionTimeout cannot stop it. Await instead (asyncio.sleep, an async client), "
          "or make it a plain def: plain functions run in the worker's thread pool.")


_HOST_CODE = str(Path(__file__).resolve().parents[3])  # the local host's own files (emulator/)


def app_frames(frame: FrameType | None, app_dir: Path) -> list[FrameType]:
    """The frames of ``frame``'s stack in the app's own files (under ``app_dir``, not in an
    installed package, not the local host's), innermost first."""
    root, found = str(app_dir), []
    while frame is not None:
        filename = frame.f_code.co_filename
        if (filename.startswith(root) and "site-packages" not in filename
                and not filename.startswith(_HOST_CODE)):
            found.append(frame)
        frame = frame.f_back
    return found


def _at(frame: FrameType) -> str:
    return f"{frame.f_code.co_name} ({frame.f_code.co_filename}:{frame.f_lineno})"


def blocked_message(seconds: float, stuck: FrameType, app: list[FrameType]) -> str:
    """The warning for a loop blocked ``seconds`` in ``stuck`` (its innermost frame), with
    ``app`` the app's frames on that stack, innermost first."""
    if not app:
        where, shown = f"in {_at(stuck)}", traceback.format_stack(stuck, STACK_LINES)
    else:
        called = app[-1]  # the function the host called
        where = f"in {_at(app[0])}"
        if called is not app[0]:
            where += f", called by {called.f_code.co_name}"
        where += ", an async function of the app,"
        depth, frame = 1, stuck  # frames from ``called`` inwards
        while frame is not None and frame is not called:
            depth, frame = depth + 1, frame.f_back
        shown = traceback.format_stack(stuck, depth)[:STACK_LINES]
    return (f"The event loop has been blocked for {seconds:.1f} s {where} and nothing else "
            f"runs meanwhile. {ADVICE}\n" + "".join(shown).rstrip())


def watch_loop(loop: asyncio.AbstractEventLoop, app_dir: Path,
               threshold: float = DEFAULT_THRESHOLD) -> LoopWatchdog:
    """A started watchdog for ``loop``: started now when called on that loop, else handed to
    the loop's own thread (a 2.x app's own loop, watched from the host's)."""
    watchdog = LoopWatchdog(loop, app_dir, threshold=threshold)
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        watchdog.start()
    else:
        loop.call_soon_threadsafe(watchdog.start)  # a stop() before it runs ends it at once
    return watchdog


class LoopWatchdog:
    """Start it on the loop's own thread; ``stop()`` from anywhere."""

    def __init__(self, loop: asyncio.AbstractEventLoop, app_dir: Path, *,
                 threshold: float = DEFAULT_THRESHOLD, check_every: float = 0.25) -> None:
        self.loop = loop
        self.app_dir = app_dir.resolve()
        self.threshold = threshold
        self.check_every = check_every
        self.stalls = 0  # blocked spells reported so far
        self._last_beat = time.monotonic()
        self._blocked_since: float | None = None
        self._level = logging.DEBUG  # of the report of the current blocked spell
        self._loop_thread: int | None = None
        self._beat_handle: asyncio.TimerHandle | None = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._loop_thread = threading.get_ident()
        self._beat()
        self._thread = threading.Thread(target=self._watch, name="loop-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._beat_handle is not None:
            self.loop.call_soon_threadsafe(self._beat_handle.cancel)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _beat(self) -> None:
        self._last_beat = time.monotonic()
        if not self._stopped.is_set():
            self._beat_handle = self.loop.call_later(BEAT, self._beat)

    def _watch(self) -> None:
        while not self._stopped.wait(self.check_every):
            last = self._last_beat
            silent = time.monotonic() - last
            if self._blocked_since is None and silent > self.threshold:
                self._blocked_since = last
                self._report(silent)
            elif self._blocked_since is not None and silent < self.threshold:
                blocked = max(0.0, last - self._blocked_since - BEAT)
                log.log(self._level, "The event loop runs again after being blocked for "
                        "%.1f s.", blocked)
                self._blocked_since = None

    def _report(self, silent: float) -> None:
        self._level = logging.DEBUG
        stuck = sys._current_frames().get(self._loop_thread)
        if stuck is None:
            return
        app = app_frames(stuck, self.app_dir)
        self._level = logging.WARNING if app else logging.DEBUG
        if app:
            self.stalls += 1
        log.log(self._level, "%s", blocked_message(silent, stuck, app))
