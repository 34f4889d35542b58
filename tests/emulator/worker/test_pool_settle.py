"""``pool.settle``: awaiting an abandonable pool's call from the loop, with a deadline."""

import asyncio
import threading

import pytest

from emulator.worker.pool import AbandonablePool, settle


def test_results_and_exceptions_reach_the_awaiting_task():
    pool = AbandonablePool(1, "settle")

    def fail():
        raise ValueError("boom")

    async def main():
        assert await settle(pool.submit(lambda: 42), 5) == 42
        assert await settle(pool.submit(lambda: "no limit"), None) == "no limit"
        with pytest.raises(ValueError, match="boom"):
            await settle(pool.submit(fail), 5)
        done = pool.submit(lambda: "early")
        done.result(timeout=5)  # finished before anyone awaits it
        assert await settle(done, 5) == "early"

    asyncio.run(main())
    pool.shutdown()


def test_past_its_deadline_the_call_is_left_running_for_the_caller_to_abandon():
    pool = AbandonablePool(1, "settle")
    release = threading.Event()

    async def main():
        future = pool.submit(release.wait)
        with pytest.raises(TimeoutError):
            await settle(future, 0.05)
        assert not future.done()  # still running: the caller decides (abandon)
        release.set()
        assert future.result(timeout=5) is True

    asyncio.run(main())
    pool.shutdown()


def test_cancelling_the_waiting_task_cancels_a_call_that_has_not_started():
    pool = AbandonablePool(1, "settle")
    release = threading.Event()

    async def main():
        busy = pool.submit(release.wait)  # holds the only thread
        queued = pool.submit(lambda: "never")
        task = asyncio.ensure_future(settle(queued, 5))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert queued.cancelled()
        release.set()
        assert busy.result(timeout=5) is True

    asyncio.run(main())
    pool.shutdown()
