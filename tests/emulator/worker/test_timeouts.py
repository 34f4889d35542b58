"""functionTimeout: host.json values, the host's message, and a pool that survives stuck calls."""

import asyncio
import threading
from datetime import timedelta

import pytest

from emulator.worker.pool import AbandonablePool
from emulator.worker.timeouts import (
    DEFAULT_FUNCTION_TIMEOUT,
    FunctionTimeout,
    call_with_timeout,
    format_timespan,
    function_timeout,
    parse_timespan,
    timeout_message,
)

SHORT = timedelta(seconds=0.2)


@pytest.mark.parametrize("value,expected", [
    (None, DEFAULT_FUNCTION_TIMEOUT),
    ("00:05:00", timedelta(minutes=5)),
    ("01:30", timedelta(hours=1, minutes=30)),
    ("1.02:03:04.5", timedelta(days=1, hours=2, minutes=3, seconds=4.5)),
    ("00:00:01.2500000", timedelta(seconds=1.25)),
    ("2", timedelta(days=2)),  # TimeSpan.Parse reads a bare number as days
    ("-1", None),
])
def test_function_timeout_from_host_json(value, expected):
    host_json = {} if value is None else {"functionTimeout": value}
    assert function_timeout(host_json) == expected


@pytest.mark.parametrize("value", ["abc", "00:61:00", "25:00:00", "00:00:00.5", 300, "5m"])
def test_bad_function_timeouts_are_refused(value):
    with pytest.raises(ValueError, match="functionTimeout|time span"):
        function_timeout({"functionTimeout": value})


def test_the_message_is_the_hosts():
    assert timeout_message(timedelta(minutes=5), "slow") == \
        "Timeout value of 00:05:00 was exceeded by function: Functions.slow"
    assert format_timespan(timedelta(seconds=1.5)) == "00:00:01.5000000"
    assert format_timespan(timedelta(days=1, hours=2)) == "1.02:00:00"
    assert parse_timespan(format_timespan(timedelta(hours=3, microseconds=7))) == \
        timedelta(hours=3, microseconds=7)


def test_stuck_sync_calls_time_out_and_the_pool_keeps_its_capacity():
    pool = AbandonablePool(2, "functions")
    release = threading.Event()
    stuck_threads = []

    def hang():
        stuck_threads.append(threading.current_thread())
        release.wait()  # blocked in C: nothing can interrupt it

    async def scenario():
        for _ in range(2):  # every worker gets stuck
            with pytest.raises(FunctionTimeout, match="exceeded by function: Functions.hang"):
                await call_with_timeout("hang", SHORT, pool=pool, fn=hang)
        assert pool.replaced == 2
        # New calls still run, on the replacements, while the stuck threads are still stuck.
        results = await asyncio.gather(*(call_with_timeout("quick", SHORT * 50, pool=pool,
                                                           fn=lambda n=n: n) for n in range(4)))
        assert results == [0, 1, 2, 3]
        assert all(t.is_alive() for t in stuck_threads)

    try:
        asyncio.run(scenario())
    finally:
        release.set()  # the stuck calls return; their threads end
        for thread in stuck_threads:
            thread.join(timeout=10)
        pool.shutdown()
    assert not any(t.is_alive() for t in stuck_threads)


def test_failures_and_results_pass_through_and_no_timeout_means_no_limit():
    pool = AbandonablePool(1, "functions")

    def boom():
        raise ValueError("boom")

    async def scenario():
        with pytest.raises(ValueError, match="boom"):
            await call_with_timeout("boom", SHORT * 50, pool=pool, fn=boom)
        assert await call_with_timeout("n", None, pool=pool, fn=lambda: "ok") == "ok"

    asyncio.run(scenario())
    pool.shutdown()


def test_async_calls_are_cancelled_even_when_they_ignore_cancellation():
    cancelled = []

    async def forever():
        await asyncio.Event().wait()

    async def stubborn():
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            await asyncio.Event().wait()  # refuses to stop

    async def scenario():
        for coro in (forever(), stubborn()):
            with pytest.raises(FunctionTimeout):
                await call_with_timeout("stuck", SHORT, coro)
        await asyncio.sleep(0)
        assert cancelled == [True]
        assert await call_with_timeout("quick", SHORT, asyncio.sleep(0, "done")) == "done"

    asyncio.run(scenario())


def test_a_timeout_leaves_the_callers_task_usable_and_other_cancellations_stay_cancellations():
    async def scenario():
        with pytest.raises(FunctionTimeout):
            await call_with_timeout("stuck", SHORT, asyncio.Event().wait())
        assert asyncio.current_task().cancelling() == 0  # the deadline's cancel was taken back
        await asyncio.sleep(0)  # and nothing is left pending for this task
        waiting = asyncio.get_running_loop().create_task(
            call_with_timeout("waits", SHORT * 50, asyncio.Event().wait()))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    asyncio.run(scenario())


def test_a_coroutine_that_ignores_its_timeout_finishes_on_its_own_and_its_answer_is_dropped():
    steps = []

    async def stubborn(release):
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            steps.append("cancelled")
            await release.wait()  # goes on after its deadline
            steps.append("finished")
            return "late"

    async def scenario():
        release = asyncio.Event()
        with pytest.raises(FunctionTimeout):
            await call_with_timeout("stubborn", SHORT, stubborn(release))
        assert steps == ["cancelled"]  # the caller was answered while it still waited
        release.set()
        for _ in range(5):
            await asyncio.sleep(0)
        assert steps == ["cancelled", "finished"]

    asyncio.run(scenario())


def test_any_awaitable_can_be_bounded():
    async def scenario():
        future = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(future.set_result, "from a future")
        assert await call_with_timeout("future", SHORT * 50, future) == "from a future"
        with pytest.raises(FunctionTimeout):
            await call_with_timeout("never", SHORT, asyncio.get_running_loop().create_future())

    asyncio.run(scenario())
