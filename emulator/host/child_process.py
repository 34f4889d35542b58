"""Start a server of this repository as a child process and read the URL it listens on.

The testing API (``LocalHost(subprocess=True)``) starts ``python -m emulator`` this way, the
experiment's demo starts its local host this way, and the benchmarks start their baseline servers
the same way: one way to give a child the repository on its import path and to wait for its
``listening on http://...`` line.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import TextIO

REPO_ROOT = Path(__file__).resolve().parents[2]


def child_env() -> dict[str, str]:
    """The environment for a child Python process that imports this repository's packages."""
    return dict(os.environ, PYTHONUNBUFFERED="1",
                PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                         os.environ.get("PYTHONPATH")])))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (for a server that cannot be given port 0)."""
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct TCP ports free on ``host`` now. All are held at once while chosen: one
    ``free_port`` after another may hand out a port twice, since each is released at once."""
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]


def start_listening(command: list[str], what: str, timeout: float, *,
                    echo: TextIO | None = None,
                    new_session: bool = False) -> tuple[subprocess.Popen[str], str]:
    """Start ``command`` (a server that prints ``listening on http://...``) from the repository
    root; the process and that URL once printed. LocalHostError with the output's tail when it
    exits or does not print it within ``timeout``. The caller drains the rest of its output.

    ``echo`` receives the lines read until then (a log file); ``new_session`` starts the child
    in a session of its own, so a Ctrl-C in the terminal reaches only its parent."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL if new_session else None,
                               text=True, env=child_env(), cwd=str(REPO_ROOT),
                               start_new_session=new_session)
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if echo is not None:
            echo.write(line)
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            return process, match.group(1)
    process.kill()
    raise LocalHostError(f"{what} did not start:\n" + "".join(lines[-30:]))


class LocalHostError(RuntimeError):
    """The host did not start, or an instance did not reach the state a test waited for."""
