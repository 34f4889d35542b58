"""``python -m emulator scheduler``: bad flags fail with one line naming the flag."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def _run(*flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emulator", "scheduler", *flags], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("flags", "named"), [
    (["--grpc-port", "eighty"], "--grpc-port"),
    (["--grpc-port", "70000"], "--grpc-port"),
    (["--port", "-1"], "--port"),
    (["--time-skipping=sometimes"], "--time-skipping"),
])
def test_a_bad_flag_fails_naming_it(flags, named):
    done = _run(*flags)
    assert done.returncode == 2
    assert named in done.stderr.strip().splitlines()[-1]


def test_a_taken_grpc_port_fails_naming_the_flag():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _run("--grpc-port", str(port), "--port", "0", "--state", ":memory:")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()[-1:]
    assert line.startswith("error: --grpc-port:") and str(port) in line


def test_a_taken_dashboard_port_fails_naming_the_flag():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _run("--grpc-port", "0", "--port", str(port), "--state", ":memory:")
    assert done.returncode == 2
    # One line: the gRPC endpoint started first is stopped, not left to complain at exit.
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: --port:") and str(port) in line


def test_an_unwritable_state_fails_naming_the_flag(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = _run("--grpc-port", "0", "--port", "0", "--state", str(blocker / "x.db"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: --state:")
