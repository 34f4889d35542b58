"""A worker that dies or passes its timeout is replaced; the calls it held fail with the host's
errors, the other workers' calls are untouched, and a caller that retries loses nothing."""

from __future__ import annotations

import json
import os
import signal

import pytest

from emulator.worker.process import InvocationTimedOut, WorkerExited


def test_a_crashing_function_fails_its_call_with_the_exit_code_and_the_worker_is_replaced(
        start_pool):
    running = start_pool()
    old_pid = running.pids()[0]
    with pytest.raises(WorkerExited) as exited:
        running.call("activity", "die", b"3")
    assert exited.value.exit_code == 3
    assert "exited with code 3 (0x3)" in str(exited.value)
    assert running.call("activity", "echo", b"7").text == "7"  # waits for the replacement
    assert running.pool.restarts == 1
    assert running.pids()[0] != old_pid


def test_calls_in_flight_on_a_killed_worker_fail_and_a_retry_completes_them_all(start_pool):
    """200 CPU calls over 2 workers; one worker is killed in the middle; every call that
    failed with WorkerExited is run again (as a host re-runs the work) - all 200 answer once."""
    running = start_pool(FUNCTIONS_WORKER_PROCESS_COUNT="2", PYTHON_THREADPOOL_THREAD_COUNT="2")
    victim = running.pids()[0]

    async def fan_out():
        import asyncio
        pool = running.pool
        calls = {i: asyncio.ensure_future(pool.invoke("activity", "burn", None, b"5", 60))
                 for i in range(200)}
        await asyncio.sleep(0.15)
        os.kill(victim, signal.SIGKILL)
        results, retried = {}, 0
        while calls:
            done = await asyncio.gather(*calls.values(), return_exceptions=True)
            again = {}
            for i, outcome in zip(calls, done, strict=True):
                if isinstance(outcome, WorkerExited):
                    again[i] = asyncio.ensure_future(
                        pool.invoke("activity", "burn", None, b"5", 60))
                    retried += 1
                else:
                    results[i] = json.loads(outcome.text)
            calls = again
        # The retried calls can all answer on the surviving worker before the killed one's
        # replacement has started: the restart is counted once it runs.
        await pool.wait_replaced()
        return results, retried

    results, retried = running.run(fan_out(), timeout=120)
    assert sorted(results) == list(range(200))
    assert retried > 0, "the kill came too late to hit a call in flight"
    assert running.pool.restarts == 1
    assert victim not in running.pids()
    assert len(set(running.pids())) == 2


def test_a_call_past_its_timeout_fails_and_its_worker_is_restarted(start_pool):
    running = start_pool(PYTHON_THREADPOOL_THREAD_COUNT="4")
    old_pid = running.pids()[0]
    outcomes = running.gather([("activity", "hang", None, b"30", 0.5),
                               ("activity", "hang_async", None, b"30", 60)])
    assert isinstance(outcomes[0], InvocationTimedOut)
    assert outcomes[0].function_name == "hang"
    # the other call in flight on that worker ends with it, as with the Functions host
    assert isinstance(outcomes[1], WorkerExited)
    assert running.call("activity", "echo", b"1").text == "1"
    assert running.pids()[0] != old_pid


def test_closing_without_waiting_ends_every_worker_even_one_whose_loop_is_held(start_pool):
    running = start_pool(FUNCTIONS_WORKER_PROCESS_COUNT="2")
    workers = list(running.pool.workers)

    async def close_now_then_wait():
        import asyncio
        pool = running.pool
        busy = asyncio.ensure_future(pool.invoke("activity", "hog", None, b"30", 60))
        await asyncio.sleep(0.2)
        pool.close_now()
        codes = await asyncio.wait_for(asyncio.gather(*(w.exited for w in workers)), 20)
        return codes, await asyncio.gather(busy, return_exceptions=True)

    codes, (busy,) = running.run(close_now_then_wait())
    assert codes == [0, 0]
    assert isinstance(busy, WorkerExited)
