"""Which worker runs the app's code: worker processes of the app's interpreter, or this process.

``process`` (the default) is how Functions runs Python: ``FUNCTIONS_WORKER_PROCESS_COUNT``
processes of the app's own interpreter (``--python``, else the active ``VIRTUAL_ENV``'s, else the
host's) import the app, and the host never does (``worker/process/``). ``in-process`` imports
the app into the host and calls it directly (``worker/seam.InProcessWorker``): no process
boundary, the app's module reachable from tests, one interpreter for both.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..worker.index import AppLoadError, FunctionIndex
from ..worker.loader import read_host_json
from ..worker.process import PoolSettings, WorkerStartError
from ..worker.process.worker import ProcessWorker
from ..worker.timeouts import function_timeout


class WorkerMode(StrEnum):
    PROCESS = "process"
    IN_PROCESS = "in-process"

    @classmethod
    def parse(cls, value: WorkerMode | str) -> WorkerMode:
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"worker must be 'process' or 'in-process', not {value!r}") \
                from None


def app_folder_index(app_dir: Path) -> FunctionIndex:
    """What the host checks of an app it does not import: the folder, ``function_app.py`` and
    ``host.json`` (its ``functionTimeout``); an index with no functions yet (AppLoadError)."""
    if not app_dir.is_dir():
        raise AppLoadError(f"App folder {app_dir} does not exist")
    if not (app_dir / "function_app.py").exists():
        raise AppLoadError(f"No function_app.py in {app_dir} (use --app to point at the app)")
    host_json = read_host_json(app_dir)
    try:
        function_timeout(host_json)
    except ValueError as exc:
        raise AppLoadError(f"{app_dir / 'host.json'}: {exc}") from None
    return FunctionIndex(app_dir, [], {}, {}, {}, host_json)


async def start_process_worker(app_dir: Path, *, python: str | None, threads: int | None,
                               sdk_dateutil: bool, orchestrator_timeout: float | None,
                               blocked_loop_seconds: float) -> ProcessWorker:
    """Worker processes for the app, started and indexed (AppLoadError naming what failed:
    a bad setting, a missing interpreter, the app's import)."""
    try:
        settings = PoolSettings.from_settings(
            app_dir, python=python, threads=threads, sdk_dateutil=sdk_dateutil,
            log_level=logging.getLogger().getEffectiveLevel(),
            blocked_loop_seconds=blocked_loop_seconds)
    except WorkerStartError as exc:
        raise AppLoadError(str(exc)) from None
    return await ProcessWorker.start(settings, orchestrator_timeout)


def describe(worker: Any, threads: int) -> str:
    """For the start-up banner."""
    if hasattr(worker, "describe"):  # worker processes (all or some functions)
        return worker.describe()
    return f"in-process worker, threads {threads}"
