"""A pytest plugin (``-p durabletask_sidecar_plugin``) that points durabletask-python's sidecar
tests at the local host instead of their in-memory backend.

Those tests call ``durabletask.testing.create_test_backend(port=PORT)`` in an autouse fixture
and ``backend.stop(); backend.reset()`` after each test. This plugin replaces that function, at
start-up, before the test modules import it, with one that starts the local host's scheduler
mode in a process of its own, ``python -m emulator scheduler --grpc-port PORT --port 0
--state :memory:``, waits until it listens, and returns an object whose ``stop()`` ends it (a
fresh host per test, as the suite's fresh backend). Nothing of the suite is changed.

Environment: ``EMULATOR_REPO`` (the repository holding ``emulator/``; default: this script's
parent), ``EMULATOR_PYTHON`` (the host's interpreter; default: the repository's ``.venv``),
``EMULATOR_SCHEDULER_ARGS`` (extra flags, e.g. ``--time-skipping``), ``EMULATOR_LOG_DIR``
(where each host's log goes; default: a temporary folder), ``EMULATOR_AZUREMANAGED_PATH``
(durabletask-azuremanaged's ``durabletask`` folder in the checkout: added to the
``durabletask`` package's path, so ``durabletask.azuremanaged`` imports from the working tree
as the checkout's own editable install would make it).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(os.environ.get("EMULATOR_REPO") or Path(__file__).resolve().parents[1])
START_SECONDS = 60
_LOGS = Path(os.environ.get("EMULATOR_LOG_DIR") or tempfile.mkdtemp(prefix="sidecar-hosts-"))
_count = 0
AZUREMANAGED_ENV = "EMULATOR_AZUREMANAGED_PATH"


def configure_logs(folder: Path) -> None:
    global _LOGS
    _LOGS = folder


def _python() -> str:
    configured = os.environ.get("EMULATOR_PYTHON")
    if configured:
        return configured
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv if venv.exists() else sys.executable)


class HostBackend:
    """A local host in scheduler mode on ``port``; the in-memory backend's ``stop``/``reset``."""

    def __init__(self, port: int) -> None:
        global _count
        _count += 1
        self.port = port
        self.log_path = _LOGS / f"host-{_count:04d}-{port}.log"
        extra = shlex.split(os.environ.get("EMULATOR_SCHEDULER_ARGS", ""))
        command = [_python(), "-m", "emulator", "scheduler", "--grpc-port", str(port),
                   "--port", "0", "--state", ":memory:", "--log-level", "info", *extra]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                        stderr=self._log, text=True, start_new_session=True)
        self._wait_listening()

    def _wait_listening(self) -> None:
        ready = threading.Event()

        def read() -> None:
            for line in self.process.stdout:
                self._log.write(line)
                self._log.flush()
                if line.startswith("Scheduler listening"):
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + START_SECONDS
        while not ready.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the local host did not start on port {self.port}: "
                                   f"see {self.log_path}")

    def start(self) -> str:
        return f"localhost:{self.port}"

    def stop(self, grace: float | None = None) -> None:
        process = self.process
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
        if not self._log.closed:
            self._log.close()

    def reset(self) -> None:
        """Nothing to clear: the next test gets a fresh host (``--state :memory:``)."""


def create_test_backend(port: int = 50051, max_history_size: int = 10000) -> HostBackend:
    return HostBackend(port)


def pytest_configure(config) -> None:  # noqa: ANN001 - pytest's hook
    import durabletask

    extra = os.environ.get(AZUREMANAGED_ENV)
    if extra and extra not in durabletask.__path__:
        durabletask.__path__.append(extra)
    import durabletask.testing as testing

    testing.create_test_backend = create_test_backend
    try:
        import durabletask.testing.in_memory_backend as in_memory

        in_memory.create_test_backend = create_test_backend
    except ImportError:
        pass


def pytest_report_header(config) -> str:  # noqa: ANN001 - pytest's hook
    return f"durabletask backend: the local host's scheduler mode ({REPO}; logs in {_LOGS})"
