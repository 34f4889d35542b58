"""A 2.x app's ``async def`` activities run on the app's own loop with no task on the host's
side (``InProcessWorker.start_activity``, followed by ``ActivityDispatcher``): results, failures,
the activity limit, ``functionTimeout`` and the host's stop behave as they do for activities run
in a task. Driven by events: no sleeps, no HTTP."""

import asyncio
import json
import threading
from datetime import timedelta

from emulator.protocol import history as h
from emulator.runtime.activities import ActivityDispatcher
from emulator.runtime.clock import Clock
from emulator.store import WorkItem
from emulator.worker.loader import ActivityFunction
from emulator.worker.sdk2 import SdkGeneration
from emulator.worker.seam import InProcessWorker

COMPLETED, FAILED = 5, 6


class _App:
    sdk = SdkGeneration.V2  # the worker runs its async functions on an app loop

    def __init__(self, fn):
        self.function = ActivityFunction("work", "work", True, "value", False)
        self.code = {"work": fn}

    def code_of(self, function):
        return self.code[function.function_name]

    def activity(self, name):
        return self.function


class _Run:
    """A dispatcher over an in-process 2.x worker; ``spawned`` counts the host tasks it made."""

    def __init__(self, fn, limit=0, timeout=None):
        self.worker = InProcessWorker(_App(fn), 1)
        self.results: dict[int, dict] = {}
        self.arrived = asyncio.Event()
        self.spawned = 0

        def spawn(coro):
            self.spawned += 1
            return asyncio.get_running_loop().create_task(coro)

        self.dispatcher = ActivityDispatcher(self.worker, Clock(), limit, spawn, self._result,
                                             timeout)
        self.dispatcher.start()

    def _result(self, item, event):
        assert item.task_id not in self.results, "a second result for one activity"
        self.results[item.task_id] = event
        self.arrived.set()

    async def until(self, count):
        while len(self.results) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 5)
        return self.results

    def close(self):
        self.worker.close()


def test_results_and_failures_come_back_without_a_host_task():
    async def work(value):
        await asyncio.sleep(0)
        if value == "bad":
            raise ValueError("no good")
        return {"echo": value, "thread": threading.current_thread().name}

    async def scenario():
        run = _Run(work)
        try:
            run.dispatcher.dispatch(WorkItem(1, "i1", "e1", 0, "work", '"a"'))
            run.dispatcher.dispatch(WorkItem(2, "i1", "e1", 1, "work", '"bad"'))
            run.dispatcher.dispatch(WorkItem(3, "i1", "e1", 2, "work", None))  # no input
            results = await run.until(3)
            return results, run.spawned, run.dispatcher._started
        finally:
            run.close()

    results, spawned, started = asyncio.run(scenario())
    assert results[0]["EventType"] == COMPLETED
    assert results[0]["Result"] == '{"echo": "a", "thread": "app-loop"}'
    assert results[1]["EventType"] == FAILED
    assert results[1]["Reason"] == "Activity function 'work' failed:  ValueError: no good"
    assert results[2]["Result"] == '{"echo": null, "thread": "app-loop"}'
    assert spawned == 0 and started == {}


def _comparable(event):
    """The event without its time, and its failure details without the stack trace (which
    lists the host's own frames on the task path); the stack keeps the function's frame."""
    event = {k: v for k, v in event.items() if k != "Timestamp"}
    if event.get("Details"):
        details = json.loads(event["Details"])
        inner = details["InnerException"]
        assert 'in work\n    raise KeyError(value)' in inner.pop("RemoteStackTrace")
        inner["Message"] = inner["Message"].split("\nStack: ")[0]
        event["Details"] = details
    return event


def test_events_equal_those_of_the_same_activities_run_in_tasks():
    async def work(value):
        await asyncio.sleep(0)
        if value == "bad":
            raise KeyError(value)
        return [value, 1.5, None]

    def run_all(in_tasks):
        async def scenario():
            run = _Run(work)
            if in_tasks:  # the worker's run_activity in a task per item, as before
                run.dispatcher._start_activity = None
            try:
                for i, text in enumerate(['"a"', '"bad"', None, "[1, {}]", '"\\u00e9"']):
                    run.dispatcher.dispatch(WorkItem(i + 1, "i1", "e1", i, "work", text))
                results = await run.until(5)
                return {i: _comparable(e) for i, e in results.items()}, run.spawned
            finally:
                run.close()
        return asyncio.run(scenario())

    in_tasks, spawned_in_tasks = run_all(True)
    started, spawned = run_all(False)
    assert started == in_tasks
    assert (spawned_in_tasks, spawned) == (5, 0)
    assert [started[i]["EventType"] for i in range(5)] == [5, 6, 5, 5, 5]


def test_bad_arguments_fail_the_activity_and_free_its_slot():
    async def work(other):  # not the declared input parameter: the call itself raises
        return other

    async def scenario():
        run = _Run(work, limit=1)
        try:
            run.dispatcher.dispatch(WorkItem(1, "i1", "e1", 0, "work", '"x"'))
            run.dispatcher.dispatch(WorkItem(2, "i1", "e1", 1, "work", '"y"'))  # waits
            return await run.until(2)
        finally:
            run.close()

    results = asyncio.run(scenario())
    assert [results[i]["EventType"] for i in (0, 1)] == [FAILED, FAILED]
    assert "unexpected keyword argument" in results[0]["Reason"]


def test_the_limit_holds_and_waiting_items_start_in_order():
    started: list[int] = []
    gates: dict[int, asyncio.Event] = {}  # made on the app loop, where they are awaited
    app_loop_ready = threading.Event()

    async def work(value):
        started.append(value)
        gates[value] = asyncio.Event()
        app_loop_ready.set()
        await gates[value].wait()
        return value

    async def scenario():
        run = _Run(work, limit=2)
        try:
            for i in range(5):
                run.dispatcher.dispatch(WorkItem(i + 1, "i1", "e1", i, "work", str(i)))
            app_loop = run.worker._app_loop.loop
            running_at_most = 0
            for i in range(5):
                while i not in gates:  # it starts once a slot is free
                    await asyncio.sleep(0)
                running_at_most = max(running_at_most,
                                      len(gates) - len(run.results))
                app_loop.call_soon_threadsafe(gates[i].set)
                await run.until(i + 1)
            return run.results, running_at_most
        finally:
            run.close()

    results, running_at_most = asyncio.run(scenario())
    assert started == [0, 1, 2, 3, 4]
    assert running_at_most <= 2
    assert [results[i]["Result"] for i in range(5)] == ["0", "1", "2", "3", "4"]


def test_a_timed_out_activity_fails_once_frees_its_slot_and_is_cancelled_on_the_app_loop():
    timeout = timedelta(milliseconds=50)
    release = threading.Event()
    cancelled = threading.Event()
    finished = threading.Event()

    async def work(value):
        if value == "stubborn":
            try:
                while not release.is_set():
                    try:
                        await asyncio.sleep(0.005)
                    except asyncio.CancelledError:
                        cancelled.set()  # ignored: it goes on
                return "late"
            finally:
                finished.set()
        return value

    async def scenario():
        run = _Run(work, limit=1, timeout=timeout)
        try:
            run.dispatcher.dispatch(WorkItem(1, "i1", "e1", 0, "work", '"stubborn"'))
            run.dispatcher.dispatch(WorkItem(2, "i1", "e1", 1, "work", '"quick"'))  # waits
            results = dict(await run.until(2))
            assert cancelled.wait(5)
            release.set()  # the stubborn one now ends on its own: that must change nothing
            assert finished.wait(5)
            await asyncio.sleep(0)  # an answer it sent would be taken now
            return (results, run.results, len(run.dispatcher._deadlines),
                    run.dispatcher._expired, run.dispatcher._started, run.spawned)
        finally:
            run.close()

    results, after, deadlines_left, expired, started, spawned = asyncio.run(scenario())
    assert results[0]["EventType"] == FAILED
    assert results[0]["Reason"] == ("Activity function 'work' failed: Timeout value of "
                                    "00:00:00.0500000 was exceeded by function: Functions.work")
    assert results[1]["EventType"] == COMPLETED and results[1]["Result"] == '"quick"'
    assert after == results
    assert deadlines_left == 0 and not expired and not started and spawned == 0


def test_stopping_the_host_cancels_running_activities_on_the_app_loop():
    cancelled = threading.Event()
    running = threading.Event()

    async def work(value):
        running.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def scenario():
        run = _Run(work)
        try:
            run.dispatcher.dispatch(WorkItem(1, "i1", "e1", 0, "work", '"x"'))
            while not running.is_set():
                await asyncio.sleep(0)
            await run.dispatcher.stop()
            assert cancelled.wait(5)
            await asyncio.sleep(0)  # the cancelled answer's callback
            return run.results, run.dispatcher._started
        finally:
            run.close()

    results, started = asyncio.run(scenario())
    assert results == {} and started == {}


class _SteppedClock(Clock):
    """Real time, but each reading is a new microsecond, and jumps can be counted."""

    def __init__(self):
        self.readings = 0

    def now(self):
        from datetime import UTC, datetime
        self.readings += 1
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=self.readings)


def test_results_taken_in_one_pass_share_one_timestamp_and_a_jump_or_the_next_pass_ends_it():
    async def work(value):
        return value

    async def scenario():
        run = _Run(work)
        clock = run.dispatcher.clock = _SteppedClock()
        try:
            one_pass = {id(run.dispatcher._answer_time()) for _ in range(3)}  # no await between
            first = run.dispatcher._answer_time()
            clock.jumps += 1  # the clock skipped ahead: read again, even in the same pass
            after_jump = run.dispatcher._answer_time()
            await asyncio.sleep(0)  # the next pass of the loop
            next_pass = run.dispatcher._answer_time()
            run.dispatcher.dispatch(WorkItem(1, "i1", "e1", 0, "work", "0"))
            result = (await run.until(1))[0]
            return one_pass, [first, after_jump, next_pass], clock.readings, result
        finally:
            run.close()

    one_pass, stamps, readings, result = asyncio.run(scenario())
    assert len(one_pass) == 1
    assert stamps[0] < stamps[1] < stamps[2] and readings == 4  # the result's pass: a 4th
    assert result["Timestamp"] == h.format_ts(stamps[2] + timedelta(microseconds=1))


def test_activities_started_in_one_pass_share_one_deadline_that_fails_only_the_late_ones():
    timeout = timedelta(milliseconds=50)
    hang = asyncio.Event()  # never set: the slow ones wait until they are cancelled

    async def work(value):
        if value == "slow":
            await hang.wait()
        return value

    async def scenario():
        run = _Run(work, timeout=timeout)
        try:
            for i, text in enumerate(['"a"', '"slow"', '"b"', '"slow"', '"c"']):
                run.dispatcher.dispatch(WorkItem(i + 1, "i1", "e1", i, "work", text))
            entries_in_pass = len(run.dispatcher._deadlines)
            results = dict(await run.until(5))
            left_after_expiry = len(run.dispatcher._deadlines)
            for i in range(5, 8):  # another pass, all quick: its deadline goes when they end
                run.dispatcher.dispatch(WorkItem(i + 1, "i1", "e1", i, "work", '"q"'))
            await run.until(8)
            await asyncio.sleep(0)  # the pass that started them has ended
            return (entries_in_pass, results, left_after_expiry, len(run.dispatcher._deadlines),
                    run.dispatcher._started)
        finally:
            run.close()

    entries_in_pass, results, left_after_expiry, left, started = asyncio.run(scenario())
    assert entries_in_pass == 1
    assert [results[i]["EventType"] for i in range(5)] == [COMPLETED, FAILED, COMPLETED,
                                                           FAILED, COMPLETED]
    assert "Timeout value of 00:00:00.0500000 was exceeded" in results[1]["Reason"]
    assert left_after_expiry == 0 and left == 0 and started == {}
