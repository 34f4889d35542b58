"""Thread pools of daemon workers whose stuck calls can be abandoned.

Orchestrator code runs in one such pool (``episode.step``), synchronous activities and HTTP
functions in another (``timeouts.call_with_timeout`` bounds them by ``functionTimeout``). Code
that never returns (an infinite loop, a read that never ends) must not hold a thread forever:
after its deadline the engine calls
``abandon(future)``, which returns the stack the thread is stuck in (``sys._current_frames``),
asks the thread to stop (an ``OrchestratorDeadline`` raised asynchronously in it, which ends a
loop of Python code at its next bytecode), retires that thread, and starts a replacement so the
pool keeps its size. Daemon threads, so a thread stuck in C code never blocks the exit.

``run`` makes such a call from the event loop and awaits it with its deadline.
"""

from __future__ import annotations

import asyncio
import ctypes
import queue
import sys
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

STACK_FRAMES = 8  # innermost frames shown for a stuck call


class Overdue(TimeoutError):
    """A call ran past the deadline ``AbandonablePool.run`` was given; ``future`` is the call
    (still running), for ``abandon``."""

    def __init__(self, future: Future) -> None:
        super().__init__("the call ran past its deadline")
        self.future = future


class _Expired(Exception):
    """The deadline timer fired (inside ``run`` only)."""


class OrchestratorDeadline(BaseException):  # noqa: N818 - raised in the stuck thread
    """Raised inside a thread whose orchestrator call ran past its deadline."""


class AbandonablePool(Executor):
    def __init__(self, workers: int, name: str) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._running: dict[Future, int] = {}
        self._retired: set[int] = set()
        self._lock = threading.Lock()
        self._name = name
        self._started = 0
        self._workers = 0
        self.replaced = 0
        for _ in range(max(1, workers)):
            self._add_worker()

    def _add_worker(self) -> None:
        self._started += 1
        self._workers += 1
        threading.Thread(target=self._work, name=f"{self._name}_{self._started}",
                         daemon=True).start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        self._queue.put((future, fn, args, kwargs))
        return future

    async def run(self, timeout: float | None, fn: Callable[..., Any], /, *args: Any,
                  **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` in a pool thread, awaited from the event loop for at most
        ``timeout`` seconds (None: no limit); past it, ``Overdue`` with the call's future and
        the call left running (the caller abandons it).

        What ``asyncio.wait_for(asyncio.wrap_future(pool.submit(...)), timeout)`` does, for a
        fraction of its cost on the loop: one loop future that the thread completes through
        ``call_soon_threadsafe`` and one timer, where those chain three futures (and spend a
        pass of the loop more) per call. The call is queued last, once all that is set up: the
        thread it wakes then finds the loop about to let go of the interpreter lock instead of
        waiting for it. Cancelling the awaiting task cancels the call if it has not started,
        as ``wrap_future`` does."""
        loop = asyncio.get_running_loop()
        future: Future = Future()
        waiter = loop.create_future()

        def finished(_: Future) -> None:  # in the pool's thread
            if not loop.is_closed():
                loop.call_soon_threadsafe(_copy_outcome, future, waiter)

        future.add_done_callback(finished)
        timer = loop.call_later(timeout, _expire, waiter) if timeout is not None else None
        self._queue.put((future, fn, args, kwargs))
        try:
            return await waiter
        except asyncio.CancelledError:
            future.cancel()
            raise
        except _Expired:
            raise Overdue(future) from None
        finally:
            if timer is not None:
                timer.cancel()

    def _work(self) -> None:
        try:
            self._serve(threading.get_ident())
        except OrchestratorDeadline:
            pass  # it arrived after the stuck call returned on its own: the thread just ends

    def _serve(self, me: int) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            with self._lock:
                self._running[future] = me
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                outcome: tuple = (exc, None)
            else:
                outcome = (None, result)
            with self._lock:
                self._running.pop(future, None)
                retired = me in self._retired
            if not future.done():
                if outcome[0] is not None:
                    future.set_exception(outcome[0])
                else:
                    future.set_result(outcome[1])
            if retired:
                return  # a replacement took this thread's place

    def abandon(self, future: Future) -> str:
        """Give up on a running call: its thread's stack (innermost frames last), or "" if it
        is no longer running. The thread is interrupted and replaced."""
        with self._lock:
            ident = self._running.pop(future, None)
            if ident is None:
                return ""
            self._retired.add(ident)
            self._workers -= 1
        frame = sys._current_frames().get(ident)
        stack = "".join(traceback.format_stack(frame)[-STACK_FRAMES:]) if frame else ""
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident),
                                                   ctypes.py_object(OrchestratorDeadline))
        self.replaced += 1
        self._add_worker()
        return stack.rstrip()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if cancel_futures:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
        for _ in range(self._workers):
            self._queue.put(None)


def _copy_outcome(future: Future, waiter: asyncio.Future) -> None:
    if waiter.done():
        return
    if future.cancelled():
        waiter.cancel()
    elif future.exception() is not None:
        waiter.set_exception(future.exception())
    else:
        waiter.set_result(future.result())


def _expire(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_exception(_Expired())
