"""Small filesystems for failure tests: a full tmpfs and read-only bind mounts.

They need ``mount`` privileges (root in a container that allows it); where the machine cannot make
one, the test that asked is skipped, naming why.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount here ({result.stderr.strip() or result.returncode})")


def _umount(path: Path) -> None:
    for _ in range(50):
        if subprocess.run(["umount", str(path)], capture_output=True).returncode == 0:
            return
        time.sleep(0.1)  # a child that held a file there is still exiting
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str = "1m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on the folder ``path`` (created)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    try:
        yield path
    finally:
        _umount(path)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """``path`` (a file or a folder) bind-mounted read-only over itself. Root ignores file
    modes, so ``chmod`` alone would not make a file read-only for these tests."""
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    _mount("--bind", str(path), str(path))
    result = subprocess.run(["mount", "-o", "remount,ro,bind", str(path)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        _umount(path)
        pytest.skip(f"cannot remount read-only ({result.stderr.strip()})")
    try:
        yield path
    finally:
        _umount(path)


def fill(folder: Path) -> Path:
    """Fill the filesystem holding ``folder``; the filler file (delete it to free space)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for size in (65536, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)
    return filler
