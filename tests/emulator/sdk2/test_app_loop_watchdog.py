"""A 2.x app's ``async def`` functions run on the app's own event loop (``worker/app_loop.py``);
the loop watchdog watches that loop too: an activity that blocks it is named in a warning while
it blocks, as for the host's loop. Skipped where the SDK is 1.x (``make test-sdk2`` runs it)."""

import logging
from pathlib import Path

from .sdk_generation import needs_sdk2

pytestmark = needs_sdk2

APP_DIR = Path(__file__).parents[1] / "apps" / "sdk2_blocking"


def test_an_activity_blocking_the_apps_own_loop_is_named_and_the_loop_runs_again(
        emulator_lines):
    from emulator.testing import LocalHost

    host = LocalHost(APP_DIR, worker="in-process")
    host.options.blocked_loop_seconds = 0.3
    with host:
        module = host.server.app.module
        instance_id = host.start("holds", "x")
        try:
            warning = emulator_lines.wait_for("has been blocked")
        finally:
            module.RELEASE.set()
        assert warning.levelno == logging.WARNING
        text = warning.getMessage()
        assert "in hold (" in text and "sdk2_blocking" in text and "RELEASE.wait(30)" in text
        assert emulator_lines.wait_for("runs again").levelno == logging.WARNING
        status = host.wait(instance_id)
    assert status["runtimeStatus"] == "Completed" and status["output"] == "released x"
