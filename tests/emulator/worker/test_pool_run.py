"""``AbandonablePool.run``: a pool call awaited from the loop, with a deadline."""

import asyncio
import threading

import pytest

from emulator.worker.pool import AbandonablePool, Overdue


def test_results_and_exceptions_reach_the_awaiting_task():
    pool = AbandonablePool(1, "run")

    def fail():
        raise ValueError("boom")

    async def main():
        assert await pool.run(5, lambda: 42) == 42
        assert await pool.run(None, lambda x, y=0: x + y, 1, y=2) == 3
        with pytest.raises(ValueError, match="boom"):
            await pool.run(5, fail)

    asyncio.run(main())
    pool.shutdown()


def test_past_its_deadline_the_call_is_left_running_for_the_caller_to_abandon():
    pool = AbandonablePool(1, "run")
    release = threading.Event()

    async def main():
        with pytest.raises(Overdue) as raised:
            await pool.run(0.05, release.wait)
        assert isinstance(raised.value, TimeoutError)
        future = raised.value.future
        assert future.running()  # still running: the caller decides (abandon)
        release.set()
        assert future.result(timeout=5) is True

    asyncio.run(main())
    pool.shutdown()


def test_an_exception_of_the_call_is_not_taken_for_the_deadline():
    pool = AbandonablePool(1, "run")

    def times_out():
        raise TimeoutError("the function's own")

    async def main():
        with pytest.raises(TimeoutError, match="the function's own") as raised:
            await pool.run(5, times_out)
        assert not isinstance(raised.value, Overdue)

    asyncio.run(main())
    pool.shutdown()


def test_cancelling_the_waiting_task_cancels_a_call_that_has_not_started():
    pool = AbandonablePool(1, "run")
    release = threading.Event()
    ran = []

    async def main():
        busy = pool.submit(release.wait)  # holds the only thread
        task = asyncio.ensure_future(pool.run(5, lambda: ran.append(1)))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        assert busy.result(timeout=5) is True
        await pool.run(5, lambda: None)  # the thread took (and skipped) the cancelled call

    asyncio.run(main())
    pool.shutdown()
    assert ran == []
