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
from collections.abc import Awaitable, Callable
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
    """Run the coroutine in a task of its own and wait for it or for the deadline, whichever
    comes first, without waiting for a coroutine that ignores its cancellation. One shared
    deadline timer per 10 ms (``deadlines.py``) instead of ``asyncio.wait``'s timer, waiter
    and callbacks per call: every HTTP function call goes through here."""
    loop = asyncio.get_running_loop()
    deadlines = Deadlines.of(loop)
    task = loop.create_task(call)
    waiter = loop.create_future()

    def wake(_: Any = None) -> None:
        if not waiter.done():
            waiter.set_result(None)

    task.add_done_callback(wake)
    key = id(waiter)
    due = deadlines.add(key, timeout.total_seconds(), wake)
    try:
        await waiter
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        deadlines.discard(key, due)
    if task.done():
        return task.result()
    task.remove_done_callback(wake)
    task.cancel()
    raise FunctionTimeout(timeout, function_name)
