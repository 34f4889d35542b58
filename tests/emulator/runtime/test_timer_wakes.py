"""The timer loop is woken only when it has something to re-check: a timer armed before the one
it sleeps until, a clock move, or finished work while time may skip. Wakes are counted by
wrapping ``TimerQueue.poke`` (the loop's only wake), never by timing anything."""

from datetime import datetime

import pytest

from emulator.protocol.enums import EventType
from emulator.testing import LocalHost

from ..conftest import PROTOCOL_APP


class WakeCounter:
    def __init__(self, timers) -> None:
        self.count = 0
        self._poke = timers.poke
        timers.poke = self

    def __call__(self) -> None:
        self.count += 1
        self._poke()


def _counted(host):
    return WakeCounter(host.server.engine.timers)


def _fire_at(host, instance_id):
    history = host.raw_history(instance_id)["history"]
    created = next(e for e in history if e["EventType"] == EventType.TIMER_CREATED)
    return datetime.fromisoformat(created["FireAt"])


@pytest.fixture
def real_time():
    with LocalHost(PROTOCOL_APP) as running:
        yield running


@pytest.fixture
def skipping():
    with LocalHost(PROTOCOL_APP, time_skipping=True) as running:
        yield running


def test_episodes_that_arm_no_timer_do_not_wake_the_timer_loop(real_time):
    wakes = _counted(real_time)
    chained = real_time.start("chain", "w")
    assert real_time.wait(chained)["output"] == ["w-a", "w-b", "w-c"]
    waiting = real_time.start("waiter")
    real_time.wait_until(waiting, lambda s: s["customStatus"] == "waiting")
    real_time.raise_event(waiting, "go", {"n": 1})
    assert real_time.wait(waiting)["output"] == {"n": 1}
    assert wakes.count == 0
    # A real timer still wakes it (it was asleep with nothing to wait for) and fires.
    timed = real_time.start("sleeper", 0.00001)  # hours: 36 ms
    status = real_time.wait(timed)
    assert status["runtimeStatus"] == "Completed"
    assert datetime.fromisoformat(status["output"]) >= _fire_at(real_time, timed)
    assert wakes.count == 1


def test_with_a_held_clock_only_earlier_timers_and_clock_moves_wake_it(skipping):
    wakes = _counted(skipping)
    with skipping.clock_held():
        first = skipping.start("sleeper", 1)
        skipping.wait_until(first, lambda s: s["runtimeStatus"] == "Running")
        assert wakes.count == 1  # the loop slept with no timer: the new one wakes it
        later = skipping.start("sleeper", 2)
        skipping.wait_until(later, lambda s: s["runtimeStatus"] == "Running")
        waiting = skipping.start("waiter")
        skipping.wait_until(waiting, lambda s: s["customStatus"] == "waiting")
        skipping.raise_event(waiting, "go", "x")
        skipping.wait(waiting)
        assert wakes.count == 1  # a later timer and timer-less episodes leave it asleep
        earlier = skipping.start("sleeper", 0.5)
        skipping.wait_until(earlier, lambda s: s["runtimeStatus"] == "Running")
        assert wakes.count == 2  # it must now wake before the timer it was sleeping until
        for instance_id in (first, later, earlier):
            assert skipping.status(instance_id)["runtimeStatus"] == "Running"
        skipping.advance(2 * 3600)  # a clock move wakes it; every timer is due
        for instance_id in (first, later, earlier):
            status = skipping.wait(instance_id)
            assert status["runtimeStatus"] == "Completed"
            assert datetime.fromisoformat(status["output"]) >= _fire_at(skipping, instance_id)
        assert wakes.count == 3


def test_a_timer_loop_poked_just_before_its_cancellation_ends():
    """The engine's stop cancels the timer loop; a poke in the same pass (a timer armed as the
    host stops) must not keep it running (Python 3.11's ``wait_for`` swallowed the cancel)."""
    import asyncio

    from emulator.runtime.clock import Clock
    from emulator.runtime.timers import TimerQueue
    from emulator.store import MessageRecord

    queue = TimerQueue(Clock(), lambda message: None, lambda: True)
    # a timer far ahead: the loop waits with a timeout (without one, no wait_for at all)
    queue.arm(None, MessageRecord(1, "i1", {}, "2999-01-01T00:00:00Z"))

    async def poke_then_cancel():
        task = asyncio.create_task(queue.run())
        await asyncio.sleep(0)  # one pass, no time: the loop reaches its wait
        queue.poke()
        task.cancel()
        async with asyncio.timeout(5):
            await asyncio.gather(task, return_exceptions=True)
        return task.cancelled()

    assert asyncio.run(poke_then_cancel())
