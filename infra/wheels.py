"""Vendor the app's runtime dependencies as Linux x86_64 CPython wheels (for ``infra.package``).

Neither hosting plan runs a remote build for the package, so its
``.python_packages/lib/site-packages`` must already hold wheels built for the platform, not for
this machine. Downloads are cached by requirements text and target; a hashed lock file is
enforced with pip's ``--require-hashes``.

pip's ``--python-version`` selects wheels for the target but evaluates the environment markers
of the requirements file (``azure-functions==2.3.0 ; python_version >= "3.13"``) against the
Python running pip. So the markers are evaluated here, for the target (Linux x86_64 CPython
of the given version), and pip gets the requirements that apply to it, without markers.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.markers import InvalidMarker, Marker

LINUX_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")


class PackageError(Exception):
    """The package cannot be built; the message says what to fix."""


def default_cache_dir() -> Path:
    """Where downloaded wheels are kept between builds (``$INFRA_WHEEL_CACHE`` overrides)."""
    if env := os.environ.get("INFRA_WHEEL_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "durable-functions-python" / "wheels"


def _platform_args(python_version: str) -> list[str]:
    args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", python_version]
    for platform in LINUX_PLATFORMS:
        args += ["--platform", platform]
    return args


_INCLUDE = re.compile(r"(-r|-c|--requirement|--constraint)[=\s]\s*(\S+)")


def target_environment(python_version: str) -> dict[str, str]:
    """Marker variables of the platform's interpreter: Linux x86_64 CPython ``python_version``."""
    return {
        "python_version": python_version,
        "python_full_version": f"{python_version}.0",
        "implementation_name": "cpython",
        "implementation_version": f"{python_version}.0",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
    }


def requirements_for_target(text: str, python_version: str, base: Path | None = None) -> str:
    """``text`` (a requirements file) with each requirement's marker evaluated for the target:
    a requirement whose marker holds stays, without its marker; one whose marker fails goes.
    Comments and option lines are kept; the file paths of ``-r`` / ``-c`` lines are made
    absolute against ``base`` (the folder of the original file)."""
    kept = []
    for entry in re.sub(r"\\\n", " ", text).splitlines():
        stripped = entry.strip()
        if base is not None and (include := _INCLUDE.fullmatch(stripped)):
            kept.append(f"{include.group(1)} {base / include.group(2)}")
            continue
        if not stripped or stripped.startswith(("#", "-")):
            kept.append(entry)
            continue
        requirement, sep, options = stripped.partition(" --")
        spec, _, marker = requirement.partition(";")
        if marker.strip():
            try:
                applies = Marker(marker.strip()).evaluate(target_environment(python_version))
            except InvalidMarker as exc:
                raise PackageError(f"requirement {requirement.strip()!r}: {exc}") from exc
            if not applies:
                continue
        kept.append(f"{spec.strip()}{sep}{options}".rstrip())
    return "\n".join(kept) + "\n"


def is_hashed_lock(requirements: Path) -> bool:
    """Whether every requirement in the file is pinned with ``==`` and carries a hash."""
    text = requirements.read_text(encoding="utf-8")
    entries = [e for e in re.sub(r"\\\n", " ", text).splitlines()
               if e.strip() and not e.lstrip().startswith("#")]
    return bool(entries) and all("==" in e and "--hash=sha256:" in e for e in entries)


def vendor_dependencies(
    requirements: Path, site_packages: Path, python_version: str, cache_dir: Path
) -> None:
    """Install the wheels for ``requirements`` into ``site_packages`` for Linux x86_64 CPython.

    Wheels are downloaded once into a cache folder keyed by the requirements text and the
    target; later builds install from it with ``--no-index`` and need no network. A hashed
    lock file is enforced with ``--require-hashes`` on both steps.
    """
    hashes = ["--require-hashes"] if is_hashed_lock(requirements) else []
    with tempfile.TemporaryDirectory(prefix="requirements-") as tmp:
        target = Path(tmp) / f"requirements-cp{python_version.replace('.', '')}.txt"
        target.write_text(
            requirements_for_target(
                requirements.read_text(encoding="utf-8"), python_version, requirements.parent
            ),
            encoding="utf-8",
        )
        _vendor(target, site_packages, python_version, cache_dir, hashes)


def _vendor(
    requirements: Path, site_packages: Path, python_version: str, cache_dir: Path,
    hashes: list[str],
) -> None:
    key_source = "\n".join(
        [requirements.read_text(encoding="utf-8"), python_version, *LINUX_PLATFORMS]
    )
    key = hashlib.sha256(key_source.encode()).hexdigest()[:16]
    wheels = cache_dir / f"cp{python_version.replace('.', '')}-{key}"
    marker = wheels / ".complete"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    if not marker.is_file():
        wheels.mkdir(parents=True, exist_ok=True)
        _run_pip(
            [*pip, "download", "--quiet", *hashes, "-r", str(requirements), "-d", str(wheels)]
            + _platform_args(python_version),
            "downloading Linux wheels",
        )
        marker.write_text("ok\n", encoding="utf-8")
    _run_pip(
        [*pip, "install", "--quiet", "--no-index", "--find-links", str(wheels), "--no-compile"]
        + [*hashes, "--target", str(site_packages), "-r", str(requirements)]
        + _platform_args(python_version),
        "installing the wheels into the package",
    )
    # Console scripts carry this machine's interpreter path and are never used by the host.
    shutil.rmtree(site_packages / "bin", ignore_errors=True)


def _run_pip(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PackageError(
            f"{what} failed (pip exit {proc.returncode}). Every requirement must have a wheel "
            f"for Linux x86_64 CPython; pip said:\n{proc.stderr.strip() or proc.stdout.strip()}"
        )
