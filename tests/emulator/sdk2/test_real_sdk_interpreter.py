"""Runs ``test_real_sdk.py`` under the interpreter named by ``EMULATOR_SDK2_PYTHON`` (a Python
3.13+ environment with azure-functions-durable 2.x and the host's requirements), since the 2.x
SDK cannot be installed next to 1.x in the host's own environment."""

import os
import subprocess
from pathlib import Path

import pytest

PYTHON = os.environ.get("EMULATOR_SDK2_PYTHON")
REPO = Path(__file__).parents[3]


@pytest.mark.skipif(not PYTHON, reason="EMULATOR_SDK2_PYTHON names no 2.x SDK interpreter")
def test_the_real_2x_sdk_passes_the_translation_tests():
    done = subprocess.run(
        [PYTHON, "-m", "pytest", "tests/emulator/sdk2/test_real_sdk.py",
         "tests/emulator/sdk2/test_host_2x.py", "-q",
         "-p", "no:cacheprovider"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout, done.stdout[-2000:]
