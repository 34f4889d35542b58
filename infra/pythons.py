"""Find this machine's CPython interpreter of a given minor version (``"3.13"``).

Used by ``make lock`` (each lock is resolved by the Python it is for), by the package boot
tests (each package is imported by the Python it is for) and by ``.ci/run`` (the second
``make test`` on 3.13). Looks, in order, at the running interpreter, at pyenv's installed
versions (the newest patch release wins) and at ``python3.X`` on ``PATH``; every candidate is
run once to confirm its version, because a pyenv shim on ``PATH`` exists even when its version
is not selected. Standard library only: ``python3 -m infra.pythons 3.13`` works before any
virtual environment exists.

Usage: ``python -m infra.pythons 3.13`` prints the interpreter's path, or exits 1 saying why.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

_VERSION = re.compile(r"3\.\d{1,2}")
_PROBE = "import sys; print('%d.%d' % sys.version_info[:2])"


def minor_version(python: str | Path) -> str | None:
    """The ``X.Y`` version of the interpreter at ``python``, or None when it does not run."""
    try:
        proc = subprocess.run(
            [str(python), "-c", _PROBE], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _pyenv_candidates(version: str) -> list[Path]:
    pyenv = shutil.which("pyenv")
    if not pyenv:
        return []
    try:
        proc = subprocess.run(
            [pyenv, "root"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return []
    versions = Path(proc.stdout.strip()) / "versions"
    pattern = re.compile(rf"{re.escape(version)}\.(\d+)")
    found = []
    if versions.is_dir():
        for entry in versions.iterdir():
            if match := pattern.fullmatch(entry.name):
                found.append((int(match.group(1)), entry / "bin" / "python"))
    return [path for _, path in sorted(found, reverse=True)]


def find_python(version: str) -> Path | None:
    """The path of a CPython ``version`` interpreter (``"3.13"``), or None if there is none."""
    if not _VERSION.fullmatch(version):
        raise ValueError(f"expected a version like 3.13, not {version!r}")
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return Path(sys.executable)
    candidates = _pyenv_candidates(version)
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.exists() and minor_version(candidate) == version:
            return candidate
    return None


def in_ci() -> bool:
    """Whether this runs in CI (``CI=true``), where a missing interpreter is an error."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not _VERSION.fullmatch(args[0]):
        print("usage: python -m infra.pythons 3.X", file=sys.stderr)
        return 2
    python = find_python(args[0])
    if python is None:
        print(
            f"error: no Python {args[0]} here (looked at pyenv's versions and python{args[0]} "
            f"on PATH): install it, e.g. `pyenv install {args[0]}`",
            file=sys.stderr,
        )
        return 1
    print(python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
