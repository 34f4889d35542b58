"""The activity limit: never more than the limit at once, waiting items start in order, and a
failed activity gives its slot back. Driven by events on one loop: no sleeps, no HTTP."""

import asyncio
from datetime import timedelta

from emulator.runtime.activities import ActivityDispatcher
from emulator.runtime.clock import Clock
from emulator.store import WorkItem
from emulator.worker.loader import ActivityFunction
from emulator.worker.seam import InProcessWorker


class _App:
    def __init__(self, fn):
        self.function = ActivityFunction("work", "work", True, "value", False)
        self.code = {"work": fn}

    def code_of(self, function):
        return self.code[function.function_name]

    def activity(self, name):
        return self.function


def _run_with_limit(limit: int, count: int):
    async def scenario():
        running, peak, started = 0, 0, []
        gates = {i: asyncio.Event() for i in range(count)}
        results = {}
        all_done = asyncio.Event()

        async def work(value):
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            started.append(value)
            await gates[value].wait()
            running -= 1
            if value % 3 == 0:
                raise ValueError(f"boom {value}")
            return value

        def on_result(item, event):
            results[item.task_id] = event["EventType"]
            if len(results) == count:
                all_done.set()

        loop = asyncio.get_running_loop()
        tasks = set()
        dispatcher = ActivityDispatcher(InProcessWorker(_App(work), 1), Clock(), limit,
                                        lambda coro: tasks.add(loop.create_task(coro)),
                                        on_result)
        dispatcher.start()
        for i in range(count):
            dispatcher.dispatch(WorkItem(i + 1, "i1", "e1", i, "work", str(i)))
        for i in range(count):
            while i not in started:  # let the dispatcher start whatever may start now
                await asyncio.sleep(0)
            gates[i].set()
        await all_done.wait()
        return peak, started, results

    return asyncio.run(asyncio.wait_for(scenario(), 10))  # a stuck slot fails, not hangs


def test_at_most_the_limit_run_and_waiting_items_start_in_order():
    peak, started, results = _run_with_limit(3, 10)
    assert peak == 3
    assert started == list(range(10))
    # TaskFailed (6) for the failures, TaskCompleted (5) for the others: every slot came back.
    assert results == {i: 6 if i % 3 == 0 else 5 for i in range(10)}


def test_no_limit_starts_everything_at_once():
    peak, started, _ = _run_with_limit(0, 10)
    assert peak == 10


def test_a_timed_out_activity_fails_once_frees_its_slot_and_leaves_no_deadline_behind():
    timeout = timedelta(milliseconds=50)

    async def scenario():
        release = asyncio.Event()
        results: dict[int, dict] = {}
        arrived = asyncio.Event()

        async def work(value):
            if value == "stubborn":
                while True:
                    try:
                        await release.wait()
                        return "late"
                    except asyncio.CancelledError:
                        continue  # ignores its cancellation
            return value

        def on_result(item, event):
            assert item.task_id not in results, "a second result for one activity"
            results[item.task_id] = event
            arrived.set()

        loop = asyncio.get_running_loop()
        tasks = set()
        dispatcher = ActivityDispatcher(InProcessWorker(_App(work), 1), Clock(), 1,
                                        lambda coro: tasks.add(loop.create_task(coro)),
                                        on_result, timeout)
        dispatcher.start()
        dispatcher.dispatch(WorkItem(1, "i1", "e1", 0, "work", '"stubborn"'))
        dispatcher.dispatch(WorkItem(2, "i1", "e1", 1, "work", '"quick"'))  # waits for the slot
        while len(results) < 2:
            arrived.clear()
            await asyncio.wait_for(arrived.wait(), 5)
        release.set()  # the stubborn one now ends on its own: that must change nothing
        await asyncio.gather(*tasks)
        return results, len(dispatcher._deadlines), dispatcher._expired

    results, deadlines_left, expired = asyncio.run(scenario())
    assert results[0]["EventType"] == 6
    assert results[0]["Reason"] == ("Activity function 'work' failed: Timeout value of "
                                    "00:00:00.0500000 was exceeded by function: Functions.work")
    assert results[1]["EventType"] == 5 and results[1]["Result"] == '"quick"'
    assert deadlines_left == 0 and not expired
