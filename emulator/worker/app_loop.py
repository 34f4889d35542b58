"""The event loop of a 2.x app's ``async def`` functions, in a thread of its own, and the
hand-off of calls to it from the host's loop.

Why a loop of its own: as in the Python worker, every ``async def`` function of the app runs on
one loop, the app's, and a 2.x durable client blocks that loop on synchronous gRPC calls to the
host's endpoint, which the host's loop serves: on the host's loop that would deadlock. All of a
2.x app's async functions go there, activities without a client binding too: objects an app
keeps between calls (a module-level ``aiohttp`` session, an ``asyncio.Lock``) belong to the
loop that made them, so splitting the app's functions over two loops would break apps that work
under ``func start``.

Cost: each call crosses threads twice (to the app loop, and its outcome back), and each crossing
is a self-pipe wakeup of the other loop when done one by one: a fan-out of 1000 activities made
2000 of them, and the two threads handed the GIL to each other for every one. ``_Inbox`` batches
them: the calls (and outcomes) handed to a loop before it runs are taken in one callback, so a
burst costs a few wakeups, and each call still starts, ends and is cancelled as before.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["AppLoop", "AppLoopCall"]


class _Inbox:
    """Callbacks handed to one event loop from other threads, run on it in batches.

    The first callback put after a drain wakes the loop (``call_soon_threadsafe``); those put
    before the loop runs the drain ride along with it. Order is kept (FIFO).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: collections.deque[tuple[Callable[..., None], tuple[Any, ...]]] = \
            collections.deque()
        self._lock = threading.Lock()
        self._woken = False  # a drain is scheduled on the loop and has not started yet
        # The drain runs in a context of its own, not in the context of whichever thread's
        # call happened to wake the loop (each callback carries what it needs).
        self._context = contextvars.Context()

    def put(self, callback: Callable[..., None], *args: Any) -> None:
        """Run ``callback(*args)`` on the loop soon; ``RuntimeError`` if the loop is closed."""
        self._items.append((callback, args))
        # Seen set, the flag means a drain whose clearing comes later, so its read of the
        # deque comes after this append: no lock needed to ride along.
        if self._woken:
            return
        with self._lock:  # one waker among the threads that saw it clear
            if self._woken:
                return
            self._woken = True
        try:
            self._loop.call_soon_threadsafe(self._drain, context=self._context)
        except RuntimeError:
            self._woken = False
            raise

    def _drain(self) -> None:
        self._woken = False
        # Everything put before the flag was cleared is in the deque now; a put after it
        # schedules another drain.
        items = self._items
        for _ in range(len(items)):
            callback, args = items.popleft()
            try:
                callback(*args)
            except Exception as exc:  # one bad callback must not strand the others
                self._loop.call_exception_handler({
                    "message": "Exception in a callback handed to the loop", "exception": exc})


_INBOXES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Inbox] = \
    weakref.WeakKeyDictionary()
_INBOXES_LOCK = threading.Lock()


def _inbox_of(loop: asyncio.AbstractEventLoop) -> _Inbox:
    """The loop's one inbox (its callers answered through it)."""
    inbox = _INBOXES.get(loop)
    if inbox is not None:
        return inbox
    with _INBOXES_LOCK:
        inbox = _INBOXES.get(loop)
        if inbox is None:
            inbox = _INBOXES[loop] = _Inbox(loop)
        return inbox


# A call taken from the inbox starts at once, in the drain (its first step, up to its first
# suspension): the drain is the moment the app's worker loop receives the invocation, and a
# function that does not suspend (most activities) then ends without another pass of the loop.
# ``asyncio.Task`` sets the current task for that step as for any other (Python 3.12+).
_EAGER: dict[str, Any] = {"eager_start": True} if sys.version_info >= (3, 12) else {}


class AppLoop:
    """An event loop in a thread of its own for the app's ``async def`` functions."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._inbox = _Inbox(self.loop)
        # The inbox of the loop that called last (almost always the host's one loop).
        self._caller: tuple[asyncio.AbstractEventLoop | None, _Inbox | None] = (None, None)
        self._wrappers: dict[Callable[..., Any], Callable[..., Any]] = {}
        self._thread = threading.Thread(target=self.loop.run_forever, name="app-loop",
                                        daemon=True)
        self._thread.start()

    def _caller_inbox(self, loop: asyncio.AbstractEventLoop) -> _Inbox:
        last_loop, inbox = self._caller
        if last_loop is not loop or inbox is None:
            inbox = _inbox_of(loop)
            self._caller = (loop, inbox)
        return inbox

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` as a coroutine function of the caller's loop that runs on this one (one
        wrapper per function, made on its first call: a fan-out's calls share it)."""
        try:
            return self._wrappers[fn]
        except KeyError:
            wrapper = self._wrappers[fn] = self._wrap(fn)
            return wrapper
        except TypeError:  # not hashable: a wrapper for this call only
            return self._wrap(fn)

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        start = self.start

        async def on_app_loop(**kwargs: Any) -> Any:
            call = start(fn, kwargs)
            try:
                return await call.answer
            except asyncio.CancelledError:
                call.stop()
                raise
        return on_app_loop

    def start(self, fn: Callable[..., Any], kwargs: dict[str, Any],
              call_type: type[_Call] | None = None) -> AppLoopCall:
        """Start ``fn(**kwargs)`` on this loop from the caller's loop, with no task on the
        caller's side: its outcome settles ``call.answer`` (a future of the caller's loop) and
        then calls ``call.on_answer()`` if set (at once, not a loop pass later as a done
        callback would be; never for an answer the caller cancelled); ``call.stop()`` cancels
        it. ``call_type``: a subclass of ``AppLoopCall`` to make the call as (one object per
        call, not a call and a wrapper). Raises what ``fn(**kwargs)`` raises (bad arguments)."""
        call = (call_type or _Call)(fn(**kwargs), self.loop,
                                    self._caller_inbox(asyncio.get_running_loop()), self._inbox)
        self._inbox.put(call.begin)
        return call

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


class _Call:
    """One call of an app function: started on the app loop, answered on the caller's.

    One future on the caller's loop, settled from the app loop's task: cheaper than
    run_coroutine_threadsafe + wrap_future (a concurrent future chained both ways).
    """

    __slots__ = ("coro", "app_loop", "to_caller", "to_app", "answer", "context", "task",
                 "on_answer")

    def __init__(self, coro: Any, app_loop: asyncio.AbstractEventLoop, to_caller: _Inbox,
                 to_app: _Inbox) -> None:
        self.coro = coro
        self.app_loop = app_loop
        self.to_caller = to_caller
        self.to_app = to_app
        self.answer = asyncio.get_running_loop().create_future()
        # The function runs in a copy of the caller's context, as a task created by the
        # caller would (and as call_soon_threadsafe per call gave it).
        self.context = contextvars.copy_context()
        self.task: asyncio.Task | None = None
        self.on_answer: Callable[[], None] | None = None

    def begin(self) -> None:  # on the app loop
        if self.answer.cancelled():
            self.coro.close()
            return
        task = self.task = asyncio.Task(self.coro, loop=self.app_loop, context=self.context,
                                        **_EAGER)
        if task.done():  # it ended in its eager first step: answer now, not a pass later
            self.settle(task)
        else:
            task.add_done_callback(self.settle)

    def settle(self, task: asyncio.Task) -> None:  # on the app loop
        try:
            self.to_caller.put(_copy_outcome, task, self)
        except RuntimeError:
            pass  # the caller's loop is closed: nobody waits for the answer

    def cancel(self) -> None:  # on the app loop
        if self.task is not None:
            self.task.cancel()

    def stop(self) -> None:  # on the caller's loop
        """Cancel the call: its task on the app loop (not started yet: it never starts);
        ``RuntimeError`` if the app loop is closed."""
        self.answer.cancel()
        self.to_app.put(self.cancel)


# What ``AppLoop.start`` returns: ``answer`` (a future of the caller's loop) and ``stop()``.
AppLoopCall = _Call


def _copy_outcome(task: asyncio.Task, call: _Call) -> None:
    """The app loop's task outcome onto the caller's future (on the caller's loop), then the
    call's ``on_answer``."""
    answer = call.answer
    if answer.done():
        return
    if task.cancelled():
        answer.cancel()
    elif task.exception() is not None:
        answer.set_exception(task.exception())
    else:
        answer.set_result(task.result())
    if call.on_answer is not None:
        call.on_answer()
