"""Where the timer schedule monitor keeps each timer's status across restarts.

The host keeps ``ScheduleStatus`` in the storage account (``azure-webjobs-hosts/timers/...``);
the local host keeps it in its own state, so a restart of the same state folder remembers when
each timer last ran and reports a missed occurrence as past due. The contract is two calls keyed
by the timer's name (the host keys by the function's full name); ``JsonFileStatusStore`` writes
one small JSON file atomically (write to a temp file, fsync, rename), ``MemoryStatusStore`` is
for a host without a state folder and for tests.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Protocol

from .schedule import ScheduleStatus


class StatusStore(Protocol):
    def get(self, timer: str) -> ScheduleStatus | None: ...

    def put(self, timer: str, status: ScheduleStatus) -> None: ...


class MemoryStatusStore:
    def __init__(self) -> None:
        self._data: dict[str, ScheduleStatus] = {}

    def get(self, timer: str) -> ScheduleStatus | None:
        return self._data.get(timer.lower())

    def put(self, timer: str, status: ScheduleStatus) -> None:
        self._data[timer.lower()] = status


class StatusFileError(RuntimeError):
    """The status file exists but cannot be read; the message names it."""


class JsonFileStatusStore:
    """``{timer name (lower case): {"Last", "Next", "LastUpdated"}}`` in one file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._data = self._read()

    def _read(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise StatusFileError(f"{self.path}: cannot read the timer schedule status ({exc}); "
                                  f"delete it to start the schedules afresh") from exc
        if not isinstance(data, dict):
            raise StatusFileError(f"{self.path}: expected a JSON object")
        return data

    def get(self, timer: str) -> ScheduleStatus | None:
        with self._lock:
            entry = self._data.get(timer.lower())
        return ScheduleStatus.from_json(entry) if entry else None

    def put(self, timer: str, status: ScheduleStatus) -> None:
        with self._lock:
            self._data[timer.lower()] = status.to_json()
            text = json.dumps(self._data, indent=1, sort_keys=True)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".timers-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
