"""One host per state file: an exclusive OS lock on a sidecar ``<state>.lock`` file.

``flock`` locks belong to the open file, so the kernel drops them when the owning process exits
for any reason (``kill -9`` included): a crashed host never leaves a stale lock behind, and the
lock file itself (which stays, holding the last owner's pid for the error message) means nothing
on its own. The lock is taken on a separate file rather than on the database so SQLite's own
locking is left alone. Two hosts in one process conflict too: each opens the file anew.

The lock file is never deleted: deleting it while another process waits to open it would let
two processes lock two different files of the same name.
"""

from __future__ import annotations

import errno
import fcntl
import os

from .base import StateFileError, StateInUse


def lock_path(state_path: str) -> str:
    return f"{state_path}.lock"


class StateLock:
    """Held from ``acquire`` until ``release`` (or the process's end)."""

    def __init__(self, state_path: str) -> None:
        self.state_path = state_path
        self.path = lock_path(state_path)
        self._fd: int | None = None

    def acquire(self) -> StateLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StateFileError(_unwritable(self.path, exc)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_pid(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise self._in_use(holder) from None
            raise StateFileError(f"cannot lock {self.path}: {exc.strerror or exc}") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:  # a full disk: the lock holds, only the pid note is missing
            if exc.errno != errno.ENOSPC:
                os.close(fd)
                raise StateFileError(_unwritable(self.path, exc)) from None
        self._fd = fd
        return self

    def check_free(self) -> None:
        """Raise ``StateInUse`` if another host holds the lock now; creates and writes nothing
        (for a state about to be refused, which must stay exactly as it was)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return  # no lock file: nobody has ever owned the state here
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise self._in_use(_read_pid(fd)) from None
        finally:
            os.close(fd)  # closing drops a lock this probe took

    def _in_use(self, holder: int | None) -> StateInUse:
        who = f"pid {holder}" if holder is not None else "a process whose pid is unknown"
        return StateInUse(f"{self.state_path} is in use by another local host ({who}); stop "
                          "it or pass another --state", holder)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)  # before unlocking: the next owner writes its own pid
        except OSError:
            pass
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _unwritable(path: str, exc: OSError) -> str:
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (f"the state folder {os.path.dirname(path) or '.'} is not writable "
                f"({exc.strerror}); pass a writable --state or --state :memory:")
    return f"cannot create {path}: {exc.strerror or exc}"
