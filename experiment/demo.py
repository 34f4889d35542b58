"""`python -m experiment demo` (what `make run` does): start the local host with Azurite as a
subprocess on a free loopback port, wait until it is Running, run the default sweep in both modes
plus the capped and sync-F2 series that show batches, print the table and the files, and stop
the host, also on Ctrl-C, SIGTERM or failure.

Default sweep (about 80 s on a 2-core machine, 10 s of it Azurite's shutdown):
- HTTP, no cap: N = 1, 10, 100, 1000 calls of d = 1 s (one warm-up run per point, 3 measured);
- HTTP, capped at 8 connections: N = 8, 16, 32 calls of d = 1 s (1, 2 and 4 waves expected);
- HTTP, 6 and 24 calls to the synchronous F2: waves of the host thread-pool size (6 on 2 cores);
- HTTP, 8 calls of 500 ms of CPU (`--f2 cpu`): waves of min(cores, worker processes), the knob
  `--worker-processes` (`make run WORKER_PROCESSES=2`), FUNCTIONS_WORKER_PROCESS_COUNT of the host;
- durable: 10, 100 and 1000 sites of 1 s connect + 2 s work, once each (the 1000-site claim).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from emulator.host.child_process import LocalHostError, start_listening
from experiment.measure import default_out_dir, execute, parameters_of
from experiment.runner import HOST_STATUS_ROUTE, ExperimentError, SweepOptions, plan

STARTUP_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0
DEMO_CAP = 8


def demo_plan(quick: bool = False):
    """The demo's points: uncapped HTTP, capped HTTP, sync F2, CPU F2, then durable."""
    if quick:
        return (
            plan(["http"], [1, 10, 100], [], 200, 0, 0, None)
            + plan(["http"], [8, 32], [], 200, 0, 0, DEMO_CAP)
            + plan(["http"], [12], [], 200, 0, 0, None, f2="sync")
            + plan(["http"], [4], [], 100, 0, 0, None, f2="cpu")
            + plan(["durable"], [], [10, 100], 0, 100, 200, None)
        )
    return (
        plan(["http"], [1, 10, 100, 1000], [], 1000, 0, 0, None)
        + plan(["http"], [8, 16, 32], [], 1000, 0, 0, DEMO_CAP)
        + plan(["http"], [6, 24], [], 1000, 0, 0, None, f2="sync")
        + plan(["http"], [8], [], 500, 0, 0, None, f2="cpu")
        + plan(["durable"], [], [10, 100, 1000], 0, 1000, 2000, None)
    )


class LocalHostProcess:
    """`python -m emulator --app DIR --port PORT --azurite` as a child process (context manager),
    started through the repository's one launcher (``emulator.host.child_process``); its output
    goes to ``log_path``.

    The child runs in its own session so a Ctrl-C in the terminal reaches only the demo, which
    then stops the child: SIGINT first (a clean shutdown stops its Azurite), SIGKILL if it does
    not exit within STOP_TIMEOUT_S, then SIGKILL to anything left in the child's session.
    """

    def __init__(self, app_dir: Path, port: int, workdir: Path, log_path: Path,
                 worker_processes: int = 1):
        self.app_dir, self.port, self.workdir, self.log_path = app_dir, port, workdir, log_path
        self.worker_processes = worker_processes
        self.base_url = ""
        self._proc: subprocess.Popen | None = None
        self._drain: threading.Thread | None = None

    def __enter__(self) -> LocalHostProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("w")
        command = [
            sys.executable,
            "-m",
            "emulator",
            "--app",
            str(self.app_dir),
            "--port",
            str(self.port),  # 0: a free port, read back from the host's "listening on" line
            "--azurite",
            "--state",
            str(self.workdir / "state.db"),
            # One log line per request costs ~70 us of the host's single core at N = 1000;
            # measure the app, keep warnings and errors in the log.
            "--log-level",
            "warning",
            "--setting",
            f"FUNCTIONS_WORKER_PROCESS_COUNT={self.worker_processes}",
        ]
        try:
            self._proc, self.base_url = start_listening(
                command, "the local host", STARTUP_TIMEOUT_S, echo=self._log, new_session=True
            )
        except LocalHostError as exc:
            self._log.close()
            raise ExperimentError(f"{exc} (log: {self.log_path})") from None
        self._drain = threading.Thread(target=self._copy_output, daemon=True)
        self._drain.start()
        try:
            self._wait_running()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _copy_output(self) -> None:
        for line in self._proc.stdout:
            self._log.write(line)
            self._log.flush()

    def _wait_running(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ExperimentError(
                    f"the local host exited with status {self._proc.returncode} while starting "
                    f"(log: {self.log_path})"
                )
            try:
                answer = requests.get(self.base_url + HOST_STATUS_ROUTE, timeout=2)
                if answer.status_code == 200 and answer.json().get("state") == "Running":
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.2)
        raise ExperimentError(
            f"the local host was not Running after {STARTUP_TIMEOUT_S:.0f} s (log: {self.log_path})"
        )

    def stop(self) -> None:
        """Stop the child (idempotent)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)
        # Whatever is left in the child's session is an orphan of ours (an Azurite the host had
        # started but not yet registered for cleanup when it was stopped during start-up).
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self._drain is not None:
            self._drain.join(STOP_TIMEOUT_S)
        self._log.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_demo(args: argparse.Namespace) -> int:
    """Start, measure, print, stop. Returns the exit status."""
    out_dir = args.out or default_out_dir()
    app_dir = args.app_dir.resolve()
    specs = demo_plan(args.quick)
    options = SweepOptions(
        repeat=1 if args.quick else 3, durable_repeat=1, warmup=1, timeout_s=300, poll_ms=50
    )
    # A SIGTERM (a CI timeout, `kill`) stops the demo like Ctrl-C, so the host is stopped too.
    signal.signal(signal.SIGTERM, _interrupt)
    print("starting Azurite and the local host ...", file=sys.stderr)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fanout-demo-") as workdir:
        try:
            with LocalHostProcess(
                app_dir,
                args.port,
                Path(workdir),
                out_dir / "host.log",
                getattr(args, "worker_processes", 1),
            ) as host:
                print(
                    f"local host Running on {host.base_url} after "
                    f"{time.perf_counter() - started:.1f} s; measuring {len(specs)} points",
                    file=sys.stderr,
                )
                status = execute(
                    specs,
                    host.base_url,
                    None,
                    options,
                    out_dir,
                    {**parameters_of(args), "demo": True},
                    app_dir,
                )
        except KeyboardInterrupt:
            print("interrupted while starting the local host; stopped it", file=sys.stderr)
            return 130
    print(f"demo took {time.perf_counter() - started:.0f} s; local host stopped", file=sys.stderr)
    return status
