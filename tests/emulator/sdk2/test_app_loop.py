"""The hand-off of a 2.x app's ``async def`` functions to the app's own event loop
(``seam.AppLoop.wrap``): results, exceptions and cancellation cross both ways, and the function
runs on the app loop's thread."""

import asyncio
import threading
from datetime import timedelta

import pytest

from emulator.worker.seam import AppLoop
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
