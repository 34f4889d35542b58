"""Fixtures for the worker-process tests: a pool running on its own event loop thread, the
small apps under ``apps/``, and a virtual environment of another Python for the app."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from emulator.worker.process import PoolSettings, Reply, WorkerPool

APPS = Path(__file__).parent / "apps"
BASIC = APPS / "basic"
OTHER_REQUIREMENTS = Path(__file__).parent / "other_python_requirements.txt"
OTHER_VERSION = os.environ.get("WORKER_TEST_PYTHON", "3.13")


class RunningPool:
    """A ``WorkerPool`` on an event loop of its own thread, driven with blocking calls."""

    def __init__(self, settings: PoolSettings) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.pool = WorkerPool(settings)
        try:
            self.functions = self.run(self.pool.start())
        except BaseException:
            self.stop_loop()
            raise

    def run(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, kind: str, function: str, body: bytes | None = None,
             fields: dict[str, Any] | None = None, timeout: float | None = 60) -> Reply:
        return self.pool.invoke_blocking(kind, function, fields, body, timeout)

    def gather(self, calls: list[tuple], return_exceptions: bool = True) -> list[Any]:
        async def all_of() -> list[Any]:
            return await asyncio.gather(*(self.pool.invoke(*c) for c in calls),
                                        return_exceptions=return_exceptions)
        return self.run(all_of(), timeout=120)

    def pids(self) -> list[int]:
        return [w.pid for w in self.pool.workers if w is not None]

    def stop_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def close(self) -> None:
        if self.loop.is_closed():  # closed by the test already
            return
        try:
            self.run(self.pool.close())
        finally:
            self.stop_loop()


def settings_for(app: Path, **environ: str) -> PoolSettings:
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env.update(environ)
    python = env.pop("_PYTHON", None)
    return PoolSettings.from_settings(app, environ=env, python=python)


@pytest.fixture
def start_pool():
    """``start_pool(app, **app_settings)``: a running pool, closed after the test."""
    started: list[RunningPool] = []

    def start(app: Path = BASIC, **environ: str) -> RunningPool:
        running = RunningPool(settings_for(app, **environ))
        started.append(running)
        return running

    yield start
    for running in started:
        running.close()


def _runs(python: str | None, version: str) -> bool:
    if not python:
        return False
    done = subprocess.run([python, "-c", "import sys; print(sys.version)"],
                          capture_output=True, text=True)
    return done.returncode == 0 and done.stdout.startswith(version + ".")


def _pyenv_python(version: str) -> str | None:
    if shutil.which("pyenv") is None:
        return None
    bare = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True)
    matches = sorted((v for v in bare.stdout.split() if v.startswith(version + ".")),
                     key=lambda v: [int(p) if p.isdigit() else 0 for p in v.split(".")])
    if not matches:
        return None
    which = subprocess.run(["pyenv", "which", "python"], capture_output=True, text=True,
                           env={**os.environ, "PYENV_VERSION": matches[-1]})
    return which.stdout.strip() or None


def _find_python(version: str) -> str | None:
    """``python3.13`` from pyenv, else from PATH (a pyenv shim there may not run)."""
    for candidate in (_pyenv_python(version), shutil.which(f"python{version}")):
        if _runs(candidate, version):
            return candidate
    return None


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "local-functions-tests"


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: this test must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def other_python() -> str:
    """The interpreter of a virtual environment of Python ``WORKER_TEST_PYTHON`` (3.13) with
    the app's packages, created once under ~/.cache/local-functions-tests. Skipped when that
    Python is not installed, except in CI."""
    base = _find_python(OTHER_VERSION)
    if base is None:
        _skip_or_fail(f"Python {OTHER_VERSION} is not installed (pyenv install {OTHER_VERSION})")
    digest = hashlib.sha256(OTHER_REQUIREMENTS.read_bytes() + base.encode()).hexdigest()[:12]
    venv = _cache_dir() / f"venv-py{OTHER_VERSION}-{digest}"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time (xdist, parallel runs)
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            for step in ([base, "-m", "venv", str(venv)],
                         [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                          "--disable-pip-version-check", "-r", str(OTHER_REQUIREMENTS)]):
                done = subprocess.run(step, capture_output=True, text=True)
                if done.returncode:
                    shutil.rmtree(venv, ignore_errors=True)
                    _skip_or_fail(f"cannot build the Python {OTHER_VERSION} venv: "
                                  f"{done.stderr.strip()[-500:]}")
            (venv / ".complete").write_text(base)
    return str(venv / "bin" / "python")
