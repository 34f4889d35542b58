"""The loop watchdog: an async function that blocks the event loop is named in a warning while
it blocks, and the host says when the loop runs again; the host's own slow steps are not
blamed on the app."""

import asyncio
import logging
import threading
from pathlib import Path

import pytest

from emulator.worker.process.child.watchdog import ADVICE, LoopWatchdog


@pytest.fixture
def lines(emulator_lines):
    return emulator_lines


def _loop_with_watchdog(app_dir: Path, threshold: float = 0.2):
    loop = asyncio.new_event_loop()
    started = threading.Event()
    watchdog = LoopWatchdog(loop, app_dir, threshold=threshold, check_every=0.02)

    def run() -> None:
        asyncio.set_event_loop(loop)
        watchdog.start()
        loop.call_soon(started.set)
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    return loop, watchdog, thread


def _stop(loop, watchdog, thread) -> None:
    watchdog.stop()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def blocking_step(release: threading.Event) -> None:
    release.wait(30)  # blocks the loop's thread, as time.sleep in an async def would


def test_a_blocked_loop_names_the_apps_function_and_says_when_it_runs_again(lines):
    loop, watchdog, thread = _loop_with_watchdog(Path(__file__).parent)
    release = threading.Event()
    try:
        loop.call_soon_threadsafe(blocking_step, release)
        warning = lines.wait_for("The event loop has been blocked")
        assert warning.levelno == logging.WARNING
        text = warning.getMessage()
        assert "in blocking_step (" in text and "test_watchdog.py:" in text
        assert ADVICE in text and "release.wait(30)" in text  # the stuck line, from the stack
        release.set()
        again = lines.wait_for("runs again")
        assert again.levelno == logging.WARNING
        assert watchdog.stalls == 1
    finally:
        release.set()
        _stop(loop, watchdog, thread)


def test_a_loop_blocked_outside_the_app_is_only_a_debug_line(lines, tmp_path):
    loop, watchdog, thread = _loop_with_watchdog(tmp_path)  # no code of ours lives there
    release = threading.Event()
    try:
        loop.call_soon_threadsafe(blocking_step, release)
        report = lines.wait_for("The event loop has been blocked")
        assert report.levelno == logging.DEBUG and "in wait (" in report.getMessage()
        release.set()
        assert lines.wait_for("runs again").levelno == logging.DEBUG
        assert watchdog.stalls == 0
    finally:
        release.set()
        _stop(loop, watchdog, thread)


def test_a_busy_but_turning_loop_is_not_reported(lines):
    loop, watchdog, thread = _loop_with_watchdog(Path(__file__).parent, threshold=1.0)
    try:
        async def many_short_steps() -> None:  # over a second of work, never 1 s unturned
            for _ in range(300):
                await asyncio.sleep(0.002)

        asyncio.run_coroutine_threadsafe(many_short_steps(), loop).result(30)
        assert not [r for r in lines.records if "blocked" in r.getMessage()]
    finally:
        _stop(loop, watchdog, thread)
