"""``functionTimeout``: how long one function invocation may run, as the Functions host bounds it.

``host.json`` holds it as a .NET TimeSpan (``"00:05:00"``; ``"-1"`` for no limit). When it is
absent the Functions host uses 5 minutes on the Consumption plan and 30 minutes on every other
plan; ``func start`` runs as "other", and so does the local host: 30 minutes. Set
``"functionTimeout": "00:05:00"`` in ``host.json`` to feel the Consumption limit locally.

A call that runs longer fails with the host's own message, ``Timeout value of 00:05:00 was
exceeded by function: Functions.<name>`` (WebJobs ``FunctionExecutor``); for an activity the
extension wraps it as ``Activity function '<name>' failed: <that message>`` (``TaskActivityShim``).

Python cannot stop a thread. When a synchronous function outlives its timeout (an activity
blocked on a FIFO, a socket without a timeout), the host still fails the call and keeps its
capacity: ``ReplaceablePool.abandon`` writes the stuck worker off and starts a replacement, so
the pool keeps ``workers`` threads that can take new calls. The stuck thread runs on until its
call returns (the result is dropped), then exits; ``stuck`` counts such threads. Async functions
are cancelled instead, without waiting for a coroutine that ignores its cancellation.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import re
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, Future
from datetime import timedelta
from typing import Any

DEFAULT_FUNCTION_TIMEOUT = timedelta(minutes=30)
UNLIMITED = ("-1", "-00:00:01")

_TIMESPAN = re.compile(r"(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?")


class FunctionTimeout(Exception):
    """A function ran past its timeout; ``str()`` is the host's message."""

    def __init__(self, timeout: timedelta, function_name: str) -> None:
        super().__init__(timeout_message(timeout, function_name))
        self.timeout = timeout
        self.function_name = function_name


def parse_timespan(text: str) -> timedelta:
    """A non-negative .NET TimeSpan: ``[d.]hh:mm[:ss[.fffffff]]``, or a bare number of days
    as ``TimeSpan.Parse`` reads ``"5"``; ValueError otherwise."""
    if text.strip().isdigit():
        return timedelta(days=int(text))
    match = _TIMESPAN.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a time span like 00:05:00")
    days, hours, minutes, seconds, fraction = match.groups()
    if int(hours) > 23 or int(minutes) > 59 or int(seconds or 0) > 59:
        raise ValueError(f"{text!r} is not a time span like 00:05:00")
    return timedelta(days=int(days or 0), hours=int(hours), minutes=int(minutes),
                     seconds=int(seconds or 0),
                     microseconds=int((fraction or "0").ljust(7, "0")) // 10)


def format_timespan(value: timedelta) -> str:
    """.NET's ``TimeSpan.ToString()`` ("c"): ``[d.]hh:mm:ss[.fffffff]``."""
    ticks = (value.days * 86_400 + value.seconds) * 10_000_000 + value.microseconds * 10
    days, rest = divmod(ticks, 864_000_000_000)
    hours, rest = divmod(rest, 36_000_000_000)
    minutes, rest = divmod(rest, 600_000_000)
    seconds, fraction = divmod(rest, 10_000_000)
    text = f"{hours:02}:{minutes:02}:{seconds:02}"
    if days:
        text = f"{days}.{text}"
    if fraction:
        text += f".{fraction:07}"
    return text


def timeout_message(timeout: timedelta, function_name: str) -> str:
    return (f"Timeout value of {format_timespan(timeout)} was exceeded by function: "
            f"Functions.{function_name}")


def function_timeout(host_json: dict[str, Any]) -> timedelta | None:
    """The app's ``functionTimeout`` (None: unlimited); ValueError naming a bad value."""
    value = host_json.get("functionTimeout")
    if value is None:
        return DEFAULT_FUNCTION_TIMEOUT
    if not isinstance(value, str):
        raise ValueError(f"functionTimeout must be a string like \"00:05:00\", not {value!r}")
    if value.strip() in UNLIMITED:
        return None
    timeout = parse_timespan(value)
    if timeout < timedelta(seconds=1):
        raise ValueError(f"functionTimeout {value!r} is shorter than the minimum, 00:00:01")
    return timeout

class ReplaceablePool(Executor):
    def __init__(self, workers: int, name: str = "functions") -> None:
        self.workers = max(1, workers)
        self._name = name
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running: dict[Future, threading.Thread] = {}
        self._abandoned: set[Future] = set()
        self._threads: set[threading.Thread] = set()
        self._counter = itertools.count(1)
        self._shutdown = False
        for _ in range(self.workers):
            self._spawn()

    def _spawn(self) -> None:
        thread = threading.Thread(target=self._work, daemon=True,
                                  name=f"{self._name}_{next(self._counter)}")
        self._threads.add(thread)
        thread.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new calls after shutdown")
            self._queue.put((future, fn, args, kwargs))
        return future

    def _work(self) -> None:
        me = threading.current_thread()
        while True:
            item = self._queue.get()
            if item is None:
                break
            future, fn, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            with self._lock:
                self._running[future] = me
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                outcome: tuple[bool, Any] = (False, exc)
            else:
                outcome = (True, result)
            with self._lock:
                del self._running[future]
                written_off = future in self._abandoned
                self._abandoned.discard(future)
            if written_off:
                break  # a replacement took this thread's place
            if outcome[0]:
                future.set_result(outcome[1])
            else:
                future.set_exception(outcome[1])
        with self._lock:
            self._threads.discard(me)

    def abandon(self, future: Future) -> bool:
        """Give up on ``future``'s call: cancel it if it has not started, else write its
        thread off and start a replacement. True when a thread was written off."""
        if future.cancel():
            return False
        with self._lock:
            if future not in self._running or future in self._abandoned or self._shutdown:
                return False
            self._abandoned.add(future)
            self._spawn()
        return True

    @property
    def stuck(self) -> int:
        """Threads still running a call that was given up on."""
        with self._lock:
            return len(self._abandoned)

    @property
    def idle_capacity(self) -> int:
        """Threads free to take a call now (for tests and the status page)."""
        with self._lock:
            return len(self._threads) - len(self._running)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            threads = list(self._threads)
        if cancel_futures:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
        for _ in threads:
            self._queue.put(None)
        if wait:
            for thread in threads:
                if thread not in self._abandoned_threads():
                    thread.join()

    def _abandoned_threads(self) -> set[threading.Thread]:
        with self._lock:
            return {self._running[f] for f in self._abandoned if f in self._running}


async def call_with_timeout(function_name: str, timeout: timedelta | None,
                            call: Awaitable[Any] | None = None, *,
                            pool: ReplaceablePool | None = None,
                            fn: Callable[[], Any] | None = None) -> Any:
    """Await ``call`` (a coroutine), or run ``fn`` in ``pool``, for at most ``timeout``
    (None: no limit); ``FunctionTimeout`` with the host's message when it runs longer."""
    if fn is not None:
        future = pool.submit(fn)
        waited: asyncio.Future = asyncio.wrap_future(future)
    else:
        future = None
        waited = asyncio.ensure_future(call)
    if timeout is None:
        return await waited
    done, _ = await asyncio.wait({waited}, timeout=timeout.total_seconds())
    if waited in done:
        return waited.result()
    if future is not None:
        pool.abandon(future)
    waited.cancel()
    raise FunctionTimeout(timeout, function_name)
