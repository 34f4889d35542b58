"""The processes a benchmark run measures side by side, and how to read their peak memory.

Every figure comes from a process of its own (the local host, the bare aiohttp server, the SDK
driver), none of them the load client's, so no two share an interpreter, and each one's peak
resident memory is read the same way (``VmHWM`` in ``/proc/<pid>/status``, reset before a run).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import requests

from emulator.host.child_process import REPO_ROOT, LocalHostError, child_env, start_listening


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far: less noisy than wall time on a
    machine shared with other work."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak_memory(pid: int) -> bool:
    """Reset the process's peak RSS (Linux ``clear_refs`` 5); False where that is refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_memory_mib(pid: int) -> float | None:
    """Peak resident memory of the process (since the last reset), MiB; None off Linux."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else None


class SdkDriver:
    """``python -m benchmarks.sdk_driver`` (or ``module``, under ``python``) as a child
    process; ``run`` sends it one request."""

    def __init__(self, module: str = "benchmarks.sdk_driver", python: str = sys.executable) -> None:
        self.process = subprocess.Popen(
            [python, "-m", module], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=child_env(),
            cwd=str(REPO_ROOT))

    @property
    def pid(self) -> int:
        return self.process.pid

    def run(self, orchestrator: str, input_value: Any, **options: Any) -> dict[str, Any]:
        """One orchestration; ``options``: more fields of the request (the 2.x driver's
        ``through``)."""
        self.process.stdin.write(json.dumps({"orchestrator": orchestrator,
                                             "input": input_value, **options}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the SDK driver died running {orchestrator} {input_value}")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> SdkDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BareServer:
    """``python -m benchmarks.bare_http`` as a child process on a free port."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.http = requests.Session()
        try:
            self.process, self.base_url = start_listening(
                [sys.executable, "-m", "benchmarks.bare_http", "--port", "0"],
                "the bare aiohttp server", timeout)
        except LocalHostError as exc:
            raise SystemExit(str(exc)) from None
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for _ in self.process.stdout:
            pass

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 120)
        return self.http.request(method, self.base_url + path, **kwargs)

    def close(self) -> None:
        self.http.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> BareServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
