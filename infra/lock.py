"""Pin ``requirements.txt`` into one hashed lock per Python version (``make lock``).

``requirements.txt`` carries environment markers (azure-functions 1.x below Python 3.13,
2.x from 3.13), so one resolution cannot serve every version the stack allows: each
``requirements-py3.X.lock`` is resolved by pip-tools running on Python 3.X itself, so markers
and ``Requires-Python`` are evaluated for that version, and pins every file with its hash.
``infra.package`` vendors the lock of the stack's ``pythonVersion``.

pip-tools runs from this environment when its Python is the one asked for; for any other
version it runs from a small virtual environment of that interpreter (kept next to the wheel
cache folder), with the pip-tools version ``requirements-dev.txt`` pins. Interpreters are
found by :mod:`infra.pythons` (pyenv or ``python3.X`` on ``PATH``).

Usage: ``python -m infra.lock`` (every version in :data:`LOCKED_PYTHON_VERSIONS`) or
``python -m infra.lock --python-version 3.13``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from infra.package import LOCKED_PYTHON_VERSIONS, lock_file
from infra.pythons import find_python
from infra.wheels import PackageError, default_cache_dir

COMPILE_OPTIONS = (
    "--quiet",
    "--generate-hashes",
    "--strip-extras",
    "--allow-unsafe",
    "--no-emit-index-url",
    "--no-emit-find-links",
    "--no-emit-trusted-host",
)
"""pip-compile options of every lock (hashes for every file; no index or machine paths)."""


def pip_tools_pin(app_root: Path) -> str:
    """``pip-tools==X`` as ``requirements-dev.txt`` pins it."""
    text = (app_root / "requirements-dev.txt").read_text(encoding="utf-8")
    match = re.search(r"^pip-tools==([^\s#;]+)", text, re.MULTILINE)
    if not match:
        raise PackageError("requirements-dev.txt does not pin pip-tools (pip-tools==X)")
    return f"pip-tools=={match.group(1)}"


def _tool_python(version: str, python: Path, pin: str) -> Path:
    """An interpreter of ``version`` that can run pip-tools ``pin``."""
    if python == Path(sys.executable) and importlib.util.find_spec("piptools") is not None:
        from importlib.metadata import version as installed

        if f"pip-tools=={installed('pip-tools')}" == pin:
            return python
    venv = default_cache_dir().parent / "lock-tools" / f"cp{version.replace('.', '')}"
    tool = venv / "bin" / "python"
    marker = venv / ".installed"
    if not marker.is_file() or marker.read_text(encoding="utf-8").strip() != pin:
        _run([str(python), "-m", "venv", "--clear", str(venv)], f"creating {venv}")
        _run([str(tool), "-m", "pip", "install", "--quiet", "--upgrade", "pip", pin],
             f"installing {pin} for Python {version}")
        marker.write_text(pin + "\n", encoding="utf-8")
    return tool


def lock(app_root: Path, version: str) -> Path:
    """Resolve ``requirements.txt`` for Python ``version`` into its lock file; return its path.

    Existing pins are kept where they still satisfy ``requirements.txt`` (pip-compile's rule),
    so re-locking changes only what must change.
    """
    python = find_python(version)
    if python is None:
        raise PackageError(
            f"no Python {version} to resolve {lock_file(version)} with: install it "
            f"(`pyenv install {version}`) or lock the others with --python-version"
        )
    tool = _tool_python(version, python, pip_tools_pin(app_root))
    out = lock_file(version)
    env = {**os.environ, "CUSTOM_COMPILE_COMMAND": "make lock"}
    _run([str(tool), "-m", "piptools", "compile", *COMPILE_OPTIONS,
          "--output-file", out, "requirements.txt"],
         f"resolving requirements.txt for Python {version}", cwd=app_root, env=env)
    return app_root / out


def _run(cmd: list[str], what: str, **kwargs) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        raise PackageError(f"{what} failed (exit {proc.returncode}):\n"
                           f"{(proc.stderr or proc.stdout).strip()[-3000:]}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.lock",
        description="Pin requirements.txt with hashes into requirements-py3.X.lock, "
        "resolved by each Python version itself.",
    )
    parser.add_argument("--app-root", type=Path, default=Path("."), help="%(default)s")
    parser.add_argument(
        "--python-version",
        action="append",
        choices=LOCKED_PYTHON_VERSIONS,
        help="lock only this version (repeatable; default: all of %(choices)s)",
    )
    args = parser.parse_args(argv)
    try:
        for version in args.python_version or LOCKED_PYTHON_VERSIONS:
            print(f"{lock(args.app_root.resolve(), version)}", flush=True)
    except PackageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
