"""Build the deployment package (``dist/app.zip``) for both hosting plans.

Contract of the zip:

* The app sits at the root: ``function_app.py``, ``host.json``, ``requirements.txt`` and every
  top-level app package (a directory with ``__init__.py``: ``orchestrators/``, ``activities/``,
  ``api/``, and whatever the app adds later). Nothing else from the repository: the hard
  deny-list (:data:`DENIED_TOP_LEVEL`) can never be included, ``.funcignore`` patterns are
  honoured, caches and hidden files are skipped.
* Runtime dependencies are vendored into ``.python_packages/lib/site-packages`` as Linux x86_64
  wheels for the target CPython. Neither plan runs a remote build for this package
  (Flex one deploy with ``RemoteBuild=false``, Consumption run-from-package URL), so the zip must
  already hold them, built for the platform and not for this machine.
* ``host.json`` is written for the chosen Durable Functions backend (:mod:`infra.hostjson`):
  the repository's file for ``azureStorage``, the ``azureManaged`` provider for ``dts``.
* What ships is pinned: dependencies come from the lock of the target Python,
  ``requirements-py3.X.lock`` (every version pinned, every file hashed; ``make lock`` resolves
  ``requirements.txt``, whose markers differ per version, on each Python, see
  :mod:`infra.lock`) and pip refuses any file whose hash is not in it.
* The bytes are a function of the inputs only: entries are sorted, timestamps are fixed, and the
  Unix permission bits are set explicitly. The permission bits matter, not just for
  reproducibility: Flex mounts the package as a Linux file system, and a zip without Unix modes
  (as written on Windows) leaves the host unable to read its own files.

Usage: ``python -m infra.package --out dist/app.zip [--durable-backend dts]`` (``--help``
lists the options).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from infra import hostjson
from infra.funcignore import FuncIgnore
from infra.hostjson import AZURE_STORAGE, DTS, DURABLE_BACKENDS, backend_of
from infra.wheels import PackageError, default_cache_dir, vendor_dependencies

__all__ = ["AZURE_STORAGE", "DTS", "DURABLE_BACKENDS", "build_package", "built_for_backend"]

REQUIRED_FILES = ("function_app.py", "host.json", "requirements.txt")
"""Files the Functions host needs at the package root."""

DENIED_TOP_LEVEL = frozenset(
    {
        "emulator",
        "infra",
        "experiment",
        "tests",
        "benchmarks",
        "docs",
        "dist",
        "results",
        "node_modules",
        ".venv",
        "venv",
        ".python_packages",
        "local.settings.json",
    }
)
"""Top-level entries that are never deployed, whatever ``.funcignore`` or ``--include`` say."""

SKIPPED_NAMES = frozenset({"__pycache__", "local.settings.json", ".DS_Store"})
SKIPPED_SUFFIXES = (".pyc", ".pyo")

SITE_PACKAGES = ".python_packages/lib/site-packages"
DEFAULT_PYTHON_VERSION = "3.11"
LOCKED_PYTHON_VERSIONS = ("3.11", "3.12", "3.13")
"""The Python versions with a lock: every ``pythonVersion`` the stack allows on some plan."""

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644
_DIR_MODE = 0o040755
_MSDOS_DIR = 0x10
_UNIX = 3
_NATIVE_MODULE = re.compile(r"\.cpython-3(\d+)-x86_64-linux-gnu\.so$")


def lock_file(python_version: str) -> str:
    """The name of the lock for ``python_version``: ``requirements-py3.13.lock``."""
    return f"requirements-py{python_version}.lock"


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build_package` wrote."""

    path: Path
    sha256: str
    size: int
    file_count: int


# --------------------------------------------------------------------------------------------
# Selecting the app's files


def select_app_files(app_root: Path, includes: Sequence[str] = ()) -> list[tuple[str, Path]]:
    """Return ``(archive name, source path)`` for every app file that belongs in the package.

    ``includes`` adds top-level entries that the discovery rule misses (a data folder, a
    top-level module). Raises :class:`PackageError` if a required file is missing or an include
    names a denied or absent entry.
    """
    app_root = app_root.resolve()
    missing = [name for name in REQUIRED_FILES if not (app_root / name).is_file()]
    if missing:
        raise PackageError(f"{app_root} is not a Functions app root: missing {', '.join(missing)}")
    for name in includes:
        if name in DENIED_TOP_LEVEL or name.startswith("."):
            raise PackageError(f"--include {name}: {name!r} is never deployed")
        if not (app_root / name).exists():
            raise PackageError(f"--include {name}: {app_root / name} does not exist")

    ignore = FuncIgnore.from_root(app_root)
    top_level = set(REQUIRED_FILES) | set(includes)
    top_level |= {
        child.name
        for child in app_root.iterdir()
        if child.is_dir() and (child / "__init__.py").is_file()
    }
    selected: list[tuple[str, Path]] = []
    for name in sorted(top_level):
        path = app_root / name
        if _skipped(name) or name in DENIED_TOP_LEVEL:
            continue
        if name not in REQUIRED_FILES and ignore.ignored(name, is_dir=path.is_dir()):
            continue
        if path.is_file():
            selected.append((name, path))
        else:
            selected.extend(_walk(path, name, ignore))
    return selected


def _skipped(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED_NAMES or name.endswith(SKIPPED_SUFFIXES)


def _walk(directory: Path, prefix: str, ignore: FuncIgnore) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for child in sorted(directory.iterdir()):
        rel = f"{prefix}/{child.name}"
        if _skipped(child.name) or ignore.ignored(rel, is_dir=child.is_dir()):
            continue
        if child.is_dir() and not child.is_symlink():
            found.extend(_walk(child, rel, ignore))
        elif child.is_file():
            found.append((rel, child))
    return found


# --------------------------------------------------------------------------------------------
# Writing the zip


def write_zip(entries: Iterable[tuple[str, Path | bytes]], out: Path) -> BuildResult:
    """Write ``entries`` to ``out`` deterministically and return its hash.

    Entries and their parent directories are written in sorted order, with a fixed timestamp,
    mode 0644 for files and 0755 for directories. The file is written next to ``out`` and
    renamed, so a failed build never leaves a half-written package behind.
    """
    files = dict(entries)
    dirs = {
        "/".join(name.split("/")[:i]) + "/" for name in files for i in range(1, name.count("/") + 1)
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for name in sorted(set(files) | dirs):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.create_system = _UNIX
            if name.endswith("/"):
                info.external_attr = (_DIR_MODE << 16) | _MSDOS_DIR
                archive.writestr(info, b"")
            else:
                info.external_attr = _FILE_MODE << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                source = files[name]
                data = source if isinstance(source, bytes) else source.read_bytes()
                archive.writestr(info, data, compresslevel=6)
    tmp.replace(out)
    return BuildResult(out, sha256_file(out), out.stat().st_size, len(files))


def built_for_python(path: Path) -> str | None:
    """The CPython version (``"3.11"``) the package's native modules were built for, or None
    when it has none. Raises ``zipfile.BadZipFile`` if ``path`` is not a zip."""
    with zipfile.ZipFile(path) as archive:
        minors = {
            match.group(1) for name in archive.namelist() if (match := _NATIVE_MODULE.search(name))
        }
    return f"3.{min(minors)}" if len(minors) == 1 else (None if not minors else "mixed")


def built_for_backend(path: Path) -> str | None:
    """The Durable backend the package's host.json configures; None without a host.json."""
    with zipfile.ZipFile(path) as archive:
        if "host.json" not in archive.namelist():
            return None
        try:
            host = json.loads(archive.read("host.json").decode("utf-8-sig"))
        except ValueError:
            return None
    return backend_of(host) if isinstance(host, dict) else None


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_package(
    app_root: Path,
    out: Path,
    *,
    python_version: str = DEFAULT_PYTHON_VERSION,
    cache_dir: Path | None = None,
    includes: Sequence[str] = (),
    durable_backend: str = AZURE_STORAGE,
    requirements: Path | None = None,
) -> BuildResult:
    """Build the deployment zip of the app at ``app_root`` into ``out``.

    ``requirements`` defaults to the app's lock for ``python_version``
    (:func:`lock_file`).
    """
    if not re.fullmatch(r"3\.\d{1,2}", python_version):
        raise PackageError(f"--python-version {python_version!r}: expected a version like 3.11")
    if durable_backend not in DURABLE_BACKENDS:
        raise PackageError(f"--durable-backend {durable_backend!r}: use one of "
                           f"{', '.join(DURABLE_BACKENDS)}")
    if requirements is None and python_version not in LOCKED_PYTHON_VERSIONS:
        raise PackageError(f"--python-version {python_version}: no lock for it; the locked "
                           f"versions (the stack's pythonVersion values) are "
                           f"{', '.join(LOCKED_PYTHON_VERSIONS)}, or pass --requirements")
    app_files: list[tuple[str, Path | bytes]] = list(select_app_files(app_root, includes))
    requirements = requirements or app_root / lock_file(python_version)
    if not requirements.is_file():
        raise PackageError(f"{requirements} does not exist: run `make lock` to pin "
                           f"requirements.txt with hashes for Python {python_version}")
    app_files = [(name, _host_json(src, durable_backend) if name == "host.json" else src)
                 for name, src in app_files]
    with tempfile.TemporaryDirectory(prefix="app-package-") as tmp:
        site_packages = Path(tmp) / SITE_PACKAGES
        vendor_dependencies(
            requirements,
            site_packages,
            python_version,
            cache_dir or default_cache_dir(),
        )
        vendored = [
            (f"{SITE_PACKAGES}/{path.relative_to(site_packages).as_posix()}", path)
            for path in sorted(site_packages.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts
        ]
        return write_zip(app_files + vendored, out)


def _host_json(source: Path | bytes, backend: str) -> bytes:
    raw = source if isinstance(source, bytes) else source.read_bytes()
    try:
        host = json.loads(raw.decode("utf-8-sig"))
    except ValueError as exc:
        raise PackageError(f"host.json is not valid JSON: {exc}") from exc
    try:
        return hostjson.dumps(hostjson.host_json_for(host, backend))
    except hostjson.HostJsonError as exc:
        raise PackageError(f"host.json: {exc}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.package",
        description="Build the Functions deployment zip with Linux wheels vendored in.",
        epilog="example: python -m infra.package --out dist/app.zip --python-version 3.11",
    )
    parser.add_argument("--out", type=Path, default=Path("dist/app.zip"), help="%(default)s")
    parser.add_argument("--app-root", type=Path, default=Path("."), help="%(default)s")
    parser.add_argument(
        "--python-version",
        default=DEFAULT_PYTHON_VERSION,
        help="target CPython of the function app (default %(default)s)",
    )
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="NAME",
        help="extra top-level file or folder to package (repeatable)",
    )
    parser.add_argument("--cache-dir", type=Path, default=None, help="wheel cache folder")
    parser.add_argument(
        "--durable-backend",
        choices=DURABLE_BACKENDS,
        default=AZURE_STORAGE,
        help="the stack's durableBackend: host.json is written for it (default %(default)s)",
    )
    parser.add_argument(
        "--requirements",
        type=Path,
        default=None,
        help="pinned requirements to vendor (default: the lock of --python-version, "
        f"<app-root>/{lock_file('3.X')})",
    )
    args = parser.parse_args(argv)
    try:
        result = build_package(
            args.app_root,
            args.out,
            python_version=args.python_version,
            cache_dir=args.cache_dir,
            includes=args.include,
            durable_backend=args.durable_backend,
            requirements=args.requirements,
        )
    except PackageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{result.path}: {result.size / 1e6:.1f} MB, {result.file_count} files, "
        f"sha256 {result.sha256}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
