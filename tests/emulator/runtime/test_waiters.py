"""``Waiters``: a wait is answered by the change that makes its predicate hold, not before."""

import asyncio

import pytest

from emulator.runtime.waiters import Waiters


def test_only_the_change_that_satisfies_the_predicate_answers_the_wait():
    state = {"a": 0}
    waiters = Waiters(state.get)
    checks = []

    def reached_three(value):
        checks.append(value)
        return value is not None and value >= 3

    async def main():
        task = asyncio.ensure_future(waiters.wait_for("a", reached_three, 5))
        await asyncio.sleep(0)
        assert waiters.open == 1
        for value in (1, 2):
            state["a"] = value
            waiters.wake("a")
            await asyncio.sleep(0)
            assert not task.done() and waiters.open == 1  # parked still: nothing resumed
        waiters.wake("b")  # another instance's change
        state["a"] = 3
        waiters.wake("a")
        assert await task == 3
        assert waiters.open == 0

    asyncio.run(main())
    assert checks == [0, 1, 2, 3, 3]  # once when parked, once per change, once on return


def test_a_wait_gives_up_at_its_timeout_with_the_instance_as_it_is():
    waiters = Waiters({"a": 1}.get)

    async def main():
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await waiters.wait_for("a", lambda v: v == 2, 0.05) == 1
        assert loop.time() - started >= 0.05
        assert await waiters.wait_for("nobody", lambda v: v is not None, 0.01) is None
        assert waiters.open == 0

    asyncio.run(main())


def test_a_failing_predicate_raises_in_the_waiting_task_not_in_the_change():
    state = {"a": 0}
    waiters = Waiters(state.get)

    def predicate(value):
        return 1 / value > 10  # fails once the value is 0 again

    async def main():
        state["a"] = 1
        task = asyncio.ensure_future(waiters.wait_for("a", predicate, 5))
        await asyncio.sleep(0)
        state["a"] = 0
        waiters.wake("a")  # does not raise here
        with pytest.raises(ZeroDivisionError):
            await task
        assert waiters.open == 0

    asyncio.run(main())


def test_release_answers_every_wait_and_later_waits_at_once():
    waiters = Waiters({"a": 1}.get)

    async def main():
        tasks = [asyncio.ensure_future(waiters.wait_for("a", lambda v: False, 600))
                 for _ in range(3)]
        await asyncio.sleep(0)
        assert waiters.open == 3
        waiters.release()
        assert await asyncio.gather(*tasks) == [1, 1, 1]
        assert await waiters.wait_for("a", lambda v: False, 600) == 1

    asyncio.run(main())
