"""``functionTimeout``: how long one function invocation may run, as the Functions host bounds it.

``host.json`` holds it as a .NET TimeSpan (``"00:05:00"``; ``"-1"`` for no limit). When it is
absent the Functions host uses 5 minutes on the Consumption plan and 30 minutes on every other
plan; ``func start`` runs as "other", and so does the local host: 30 minutes. Set
``"functionTimeout": "00:05:00"`` in ``host.json`` to feel the Consumption limit locally.

A call that runs longer fails with the host's own message, ``Timeout value of 00:05:00 was
exceeded by function: Functions.<name>`` (WebJobs ``FunctionExecutor``); for an activity the
extension wraps it as ``Activity function '<name>' failed: <that message>`` (``TaskActivityShim``).

``call_with_timeout`` enforces it. Python cannot stop a thread blocked in C (an activity
reading a FIFO, a socket without a timeout): a synchronous call that runs too long is given up
through its pool's ``abandon`` (``pool.AbandonablePool``: the thread is asked to stop, written
off and replaced, so the pool keeps its size and the concurrency slot is free at once). Async
functions are cancelled, without waiting for a coroutine that ignores its cancellation.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Coroutine, Generator
from concurrent.futures import Future
from datetime import timedelta
from typing import Any, Protocol

from .deadlines import Deadlines

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


class AbandoningExecutor(Protocol):
    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future: ...

    def abandon(self, future: Future) -> Any: ...


async def call_with_timeout(function_name: str, timeout: timedelta | None,
                            call: Awaitable[Any] | None = None, *,
                            pool: AbandoningExecutor | None = None,
                            fn: Callable[[], Any] | None = None) -> Any:
    """Await ``call`` (a coroutine), or run ``fn`` in ``pool``, for at most ``timeout``
    (None: no limit); ``FunctionTimeout`` with the host's message when it runs longer."""
    if fn is None:
        if timeout is None:
            return await call  # unbounded: no task of its own
        return await _bounded(function_name, timeout, call)
    future = pool.submit(fn)
    waited: asyncio.Future = asyncio.wrap_future(future)
    if timeout is None:
        return await waited
    done, _ = await asyncio.wait({waited}, timeout=timeout.total_seconds())
    if waited in done:
        return waited.result()
    pool.abandon(future)
    waited.cancel()
    raise FunctionTimeout(timeout, function_name)


async def _bounded(function_name: str, timeout: timedelta, call: Awaitable[Any]) -> Any:
    """Run the coroutine in the caller's own task, as ``await`` would, for at most ``timeout``.

    No task of its own: a second task per call delayed the start of every HTTP function by a
    pass of the event loop and its answer by two, which a 1000-wide burst of F1 -> F2 calls
    felt as 40 ms. The deadline (one shared timer per 10 ms, ``deadlines.py``) cancels the
    caller's task, as ``asyncio.timeout`` does; the coroutine sees ``CancelledError`` at the
    ``await`` it is in, and the caller gets ``FunctionTimeout``. A coroutine that goes on
    waiting instead (it caught the cancellation) is handed to a task of its own and left to
    finish there, so the caller is answered at once all the same (``_Steps``).
    """
    loop = asyncio.get_running_loop()
    caller = asyncio.current_task()
    steps = _Steps(call if asyncio.iscoroutine(call) else _awaited(call))

    def expire() -> None:
        steps.expired = True
        caller.cancel()

    deadlines = Deadlines.of(loop)
    key = id(steps)
    due = deadlines.add(key, timeout.total_seconds(), expire)
    try:
        result = await steps
    except asyncio.CancelledError:
        if not steps.expired or caller.uncancel() > 0:
            raise  # cancelled from elsewhere too (the client went away, the host stops)
        raise FunctionTimeout(timeout, function_name) from None
    finally:
        deadlines.discard(key, due)
    if steps.expired:  # it caught the deadline's cancellation and returned: still too late
        caller.uncancel()
        raise FunctionTimeout(timeout, function_name)
    return result


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable  # any awaitable as a coroutine (``_Steps`` drives coroutines)


_FIRST = object()  # nothing to wait for yet: the coroutine has not started


class _Steps:
    """Awaiting this drives ``coro`` step by step from the awaiting task, exactly as
    ``await coro`` does (each future it waits on goes to the task; what the task sends or
    throws goes back into it), except at one point: when ``expired`` is set and the thrown
    cancellation did not end the coroutine, it is moved to a task of its own (which keeps
    driving it from where it stands) and this await raises ``CancelledError`` instead."""

    __slots__ = ("coro", "expired", "waiting")

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting: Any = _FIRST) -> None:
        self.coro = coro
        self.expired = False
        self.waiting = waiting

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, waiting = self.coro, self.waiting
        while True:
            value, error = None, None
            if waiting is not _FIRST:
                try:
                    value = yield waiting
                except BaseException as exc:  # noqa: BLE001 - it goes into the coroutine
                    error = exc
            try:
                waiting = coro.send(value) if error is None else coro.throw(error)
            except StopIteration as stop:
                return stop.value
            if error is not None and self.expired:
                _finish_detached(coro, waiting)
                raise asyncio.CancelledError


_DETACHED: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks


def _finish_detached(coro: Coroutine[Any, Any, Any], waiting: Any) -> None:
    """Let a coroutine that ignored its timeout run on in a task of its own; its outcome is
    dropped (its caller was already told it timed out)."""
    async def rest() -> None:
        await _Steps(coro, waiting)

    task = asyncio.get_running_loop().create_task(rest())
    _DETACHED.add(task)
    task.add_done_callback(_forget)


def _forget(task: asyncio.Task) -> None:
    _DETACHED.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: no "exception was never retrieved" at exit
