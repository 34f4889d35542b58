"""``python -m emulator scheduler``: bad flags fail with one line naming the flag."""

import os
import signal
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


@pytest.mark.parametrize("hubs", ["", "a,,b", "a,A", "a b", " , "])
def test_a_bad_task_hub_list_fails_naming_the_flag(hubs):
    done = _run("--task-hubs", hubs, "--grpc-port", "0", "--port", "0", "--state", ":memory:")
    assert done.returncode == 2
    assert "--task-hubs" in done.stderr.strip().splitlines()[-1]


def test_a_bad_task_hub_variable_fails_naming_it():
    done = subprocess.run([sys.executable, "-m", "emulator", "scheduler", "--grpc-port", "0",
                           "--port", "0", "--state", ":memory:"], cwd=REPO,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DTS_TASK_HUB_NAMES": "orders,Orders"})
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: DTS_TASK_HUB_NAMES:") and "'Orders' is named twice" in line


def _banner(*flags: str, hubs_variable: str | None) -> str:
    """What a scheduler host prints up to its listening line (then it is stopped)."""
    env = {k: v for k, v in os.environ.items() if k != "DTS_TASK_HUB_NAMES"}
    if hubs_variable is not None:
        env["DTS_TASK_HUB_NAMES"] = hubs_variable
    process = subprocess.Popen([sys.executable, "-m", "emulator", "scheduler", "--grpc-port",
                                "0", "--port", "0", "--state", ":memory:", *flags], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=env)
    lines = []
    try:
        for line in process.stdout:  # the listening line comes after the banner
            lines.append(line)
            if line.startswith("Scheduler listening"):
                break
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    return "".join(lines)


def test_the_banner_names_the_hubs_of_the_variable():
    banner = _banner(hubs_variable="orders, billing")
    assert "  orders: state memory" in banner
    assert "  billing: state memory" in banner and "?taskHub=billing" in banner
    assert banner.index("  orders:") < banner.index("  billing:")  # the first: the default


def test_the_flag_wins_over_the_variable():
    banner = _banner("--task-hubs", "flagged", hubs_variable="orders")
    assert "  flagged: state memory" in banner and "orders" not in banner
