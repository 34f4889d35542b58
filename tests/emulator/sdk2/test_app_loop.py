"""The hand-off of a 2.x app's ``async def`` functions to the app's own event loop
(``app_loop.AppLoop.wrap``): results, exceptions and cancellation cross both ways, and the function
runs on the app loop's thread."""

import asyncio
import threading
from datetime import timedelta

import pytest

from emulator.worker.app_loop import AppLoop
from emulator.worker.timeouts import FunctionTimeout, call_with_timeout


@pytest.fixture
def app_loop():
    loop = AppLoop()
    yield loop
    loop.close()


def test_the_function_runs_on_the_app_loop_and_its_result_comes_back(app_loop):
    async def where(value):
        await asyncio.sleep(0)
        return value, asyncio.get_running_loop(), threading.current_thread().name

    value, loop, thread = asyncio.run(app_loop.wrap(where)(value=7))
    assert (value, loop, thread) == (7, app_loop.loop, "app-loop")


def test_an_exception_of_the_function_reaches_the_caller(app_loop):
    async def boom():
        raise KeyError("x")

    with pytest.raises(KeyError):
        asyncio.run(app_loop.wrap(boom)())


def test_bad_arguments_raise_at_the_call(app_loop):
    async def one(a):
        return a

    with pytest.raises(TypeError):
        asyncio.run(app_loop.wrap(one)(b=1))


def test_a_timeout_cancels_the_function_on_the_app_loop(app_loop):
    cancelled = threading.Event()
    started = threading.Event()

    async def forever():
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def scenario():
        with pytest.raises(FunctionTimeout):
            await call_with_timeout("forever", timedelta(milliseconds=50),
                                    app_loop.wrap(forever)())

    asyncio.run(scenario())
    assert started.is_set()
    assert cancelled.wait(5)


def test_many_calls_at_once_each_get_their_own_answer(app_loop):
    async def double(x):
        await asyncio.sleep(0)
        return 2 * x

    async def scenario():
        wrapped = app_loop.wrap(double)
        return await asyncio.gather(*(wrapped(x=i) for i in range(200)))

    assert asyncio.run(scenario()) == [2 * i for i in range(200)]


def test_a_function_has_one_wrapper_which_answers_whichever_loop_calls_it(app_loop):
    async def double(x):
        await asyncio.sleep(0)
        return 2 * x

    assert app_loop.wrap(double) is app_loop.wrap(double)
    # Each asyncio.run is another caller loop: the shared wrapper answers each one.
    assert asyncio.run(app_loop.wrap(double)(x=1)) == 2
    assert asyncio.run(app_loop.wrap(double)(x=2)) == 4

    def caller_thread(out: list) -> None:
        out.append(asyncio.run(app_loop.wrap(double)(x=3)))

    out: list = []
    thread = threading.Thread(target=caller_thread, args=(out,))
    thread.start()
    thread.join(5)
    assert out == [6]


def test_calls_made_while_the_app_loop_is_busy_wake_it_once(app_loop):
    gate = threading.Event()
    app_loop.loop.call_soon_threadsafe(gate.wait, 5)  # the app loop is busy until the gate
    wakeups = []
    real = app_loop.loop.call_soon_threadsafe

    def counted(*args, **kwargs):
        wakeups.append(args[0])
        return real(*args, **kwargs)

    app_loop.loop.call_soon_threadsafe = counted

    async def double(x):
        await asyncio.sleep(0)
        return 2 * x

    async def scenario():
        wrapped = app_loop.wrap(double)
        calls = asyncio.gather(*(wrapped(x=i) for i in range(500)))
        await asyncio.sleep(0)  # each call runs up to its await: all 500 handed over
        gate.set()
        return await calls

    assert asyncio.run(scenario()) == [2 * i for i in range(500)]
    assert len(wakeups) == 1


def test_each_call_runs_in_its_callers_context(app_loop):
    import contextvars

    who = contextvars.ContextVar("who")

    async def read():
        await asyncio.sleep(0)
        return who.get("unset")

    async def as_caller(name):
        who.set(name)
        return await app_loop.wrap(read)()

    async def scenario():
        return await asyncio.gather(*(as_caller(f"c{i}") for i in range(50)))

    assert asyncio.run(scenario()) == [f"c{i}" for i in range(50)]


def test_a_call_cancelled_before_it_starts_never_runs(app_loop):
    ran = threading.Event()
    gate = threading.Event()

    async def record():
        ran.set()

    async def scenario():
        app_loop.loop.call_soon_threadsafe(gate.wait, 5)  # hold the app loop
        task = asyncio.ensure_future(app_loop.wrap(record)())
        await asyncio.sleep(0)  # the task runs up to its await: the call is in the inbox
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    gate.set()
    done = threading.Event()
    app_loop.loop.call_soon_threadsafe(done.set)
    assert done.wait(5)
    assert not ran.is_set()


def _after_the_app_loops_pending_callbacks(app_loop):
    done = threading.Event()
    app_loop.loop.call_soon_threadsafe(lambda: app_loop.loop.call_soon(done.set))
    assert done.wait(5)


def test_an_answer_for_a_closed_caller_loop_is_dropped_quietly(app_loop):
    started, finish, returned = threading.Event(), threading.Event(), threading.Event()
    errors = []
    app_loop.loop.set_exception_handler(lambda loop, context: errors.append(context))

    async def slow():
        started.set()
        wait = asyncio.get_running_loop().run_in_executor
        try:
            await wait(None, finish.wait, 5)
        except asyncio.CancelledError:  # the caller's loop shuts down: finish all the same
            await wait(None, finish.wait, 5)
        finally:
            returned.set()
        return 1

    async def scenario():
        asyncio.ensure_future(app_loop.wrap(slow)())
        await asyncio.to_thread(started.wait, 5)

    asyncio.run(scenario())  # leaves with the call still running; the loop closes
    finish.set()
    assert returned.wait(5)
    _after_the_app_loops_pending_callbacks(app_loop)
    assert errors == []


def test_a_call_stopped_before_it_began_never_starts_and_is_never_told(app_loop):
    """The app loop is busy (a function blocks it) while a call is started and stopped: when
    the loop takes the call, it closes its coroutine instead of starting it."""
    busy, release = threading.Event(), threading.Event()
    ran: list = []

    async def blocker():
        busy.set()
        release.wait(5)  # holds the app loop's thread, as a blocking call would

    async def work():
        ran.append("ran")

    async def scenario():
        app_loop.start(blocker, {})
        assert await asyncio.to_thread(busy.wait, 5)
        told: list = []
        stopped = app_loop.start(work, {})
        stopped.on_answer = lambda: told.append("told")
        stopped.stop()
        release.set()
        probe = app_loop.start(work, {})  # taken after the stopped call (first in, first out)
        await asyncio.wait_for(probe.answer, 5)
        return stopped, told

    stopped, told = asyncio.run(scenario())
    assert stopped.task is None and stopped.coro.cr_frame is None  # closed, never started
    assert stopped.answer.cancelled() and told == [] and ran == ["ran"]  # the probe only


def test_a_started_call_tells_its_answer_once_and_a_stopped_one_never(app_loop):
    gate = threading.Event()

    async def double(x):
        if x < 0:
            await asyncio.get_running_loop().run_in_executor(None, gate.wait, 5)
        return 2 * x

    async def scenario():
        told: list = []
        answered = asyncio.Event()
        call = app_loop.start(double, {"x": 4})

        def on_answer():  # the answer is settled when it is told, in the same pass
            told.append(call.answer.result())
            answered.set()

        call.on_answer = on_answer
        stopped = app_loop.start(double, {"x": -1})
        stopped.on_answer = lambda: told.append("stopped one told")
        await asyncio.wait_for(answered.wait(), 5)
        stopped.stop()
        gate.set()
        # It ends on the app loop: stopped before it began, it never starts (its coroutine is
        # closed there); begun before the stop, its task is cancelled and ends.
        while not (stopped.task.done() if stopped.task is not None
                   else stopped.coro.cr_frame is None):
            await asyncio.sleep(0)
        # Its outcome was handed back before this probe's: by the probe's answer it was seen.
        probe = app_loop.start(double, {"x": 1})
        await asyncio.wait_for(probe.answer, 5)
        return told, stopped.answer.cancelled()

    told, cancelled = asyncio.run(scenario())
    assert told == [8] and cancelled
