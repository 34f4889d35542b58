"""Which Python runs the app's workers, and with which extra arguments.

As Core Tools: the interpreter of the active virtual environment (``VIRTUAL_ENV``), unless one
is named explicitly (``--python``); otherwise the host's own. Arguments for the interpreter
come from the app setting ``languageWorkers__python__arguments`` (Core Tools'
``--language-worker -- "<args>"``), e.g. ``-m debugpy --listen 127.0.0.1:5678`` to attach a
debugger: they go between the interpreter and the worker's script.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from .errors import WorkerStartError

WORKER_MAIN = Path(__file__).resolve().parent / "child" / "__main__.py"
ARGUMENTS_SETTINGS = ("languageWorkers__python__arguments", "languageWorkers:python:arguments")


def venv_python(venv: Path) -> Path:
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def choose_python(explicit: str | os.PathLike[str] | None = None,
                  environ: Mapping[str, str] | None = None) -> str:
    """The interpreter for the workers: ``explicit`` (a python or a venv folder), else the
    active ``VIRTUAL_ENV``'s, else this process's. WorkerStartError when it does not exist."""
    environ = os.environ if environ is None else environ
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_dir():
            path = venv_python(path)
        if not path.exists():
            raise WorkerStartError(f"--python: {explicit} is not a Python interpreter or a "
                                   "virtual environment folder")
        return str(path)
    venv = environ.get("VIRTUAL_ENV")
    if venv:
        path = venv_python(Path(venv))
        if path.exists():
            return str(path)
    return sys.executable


def interpreter_arguments(environ: Mapping[str, str] | None = None) -> list[str]:
    environ = os.environ if environ is None else environ
    for key in ARGUMENTS_SETTINGS:
        if environ.get(key):
            return shlex.split(environ[key])
    return []


def worker_command(python: str, app_dir: Path, *, threads: int, log_level: int,
                   arguments: list[str] | None = None, sdk_dateutil: bool = False,
                   blocked_loop_seconds: float = 2.0) -> list[str]:
    return [python, *(arguments or []), str(WORKER_MAIN), "--app", str(app_dir),
            "--threads", str(threads), "--log-level", str(log_level),
            "--blocked-loop-seconds", f"{blocked_loop_seconds:g}",
            *(["--sdk-dateutil"] if sdk_dateutil else [])]
