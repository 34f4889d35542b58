"""The suite's hang guard (``pyproject.toml``): a test that swallows pytest-timeout's failure
ends the run, with every thread's stack, instead of hanging it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SWALLOWS_THE_TIMEOUT = '''
import time


def test_swallows_the_timeout():
    while True:  # what an asyncio callback does to the exception SIGALRM raises
        try:
            time.sleep(30)
        except BaseException:
            pass
'''


def test_the_hang_limit_comes_after_the_timeout() -> None:
    ini = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert float(ini["faulthandler_timeout"]) > float(ini["timeout"]) > 0


def test_a_test_that_swallows_its_timeout_ends_the_run_with_its_stack(tmp_path: Path) -> None:
    # The suite's own settings, with the two limits shortened to seconds.
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "test_probe.py").write_text(SWALLOWS_THE_TIMEOUT)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "timeout=1",
         "-o", "faulthandler_timeout=2", "test_probe.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    dump = done.stderr
    assert "Timeout (0:00:02)!" in dump
    assert "test_swallows_the_timeout" in dump  # the hung test's frame
