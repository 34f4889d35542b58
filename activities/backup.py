"""Backup activities: list the files under a root directory and copy each one to Blob Storage.

App settings (read here, never in the orchestrator):

- ``BACKUP_ROOT``: the default root *and* the allowed base; any requested root must resolve
  inside it. Defaults to the app folder.
- ``BACKUP_STORAGE_CONNECTION``: a connection string (Azurite locally, e.g.
  ``UseDevelopmentStorage=true``), or else ``BACKUP_STORAGE_ACCOUNT_URL`` with
  ``DefaultAzureCredential`` (a managed identity in Azure; no keys in settings).
- ``BACKUP_CONTAINER``: the container, default ``backups``; created if missing.

Safety: roots outside the base are refused, symbolic links are never followed (neither
directories while listing nor files while copying), paths with ``..`` are refused, only regular
files are copied (a file swapped for a FIFO after the listing fails at once instead of blocking
the copy forever), and files are streamed to the blob in blocks instead of being read into
memory. Blob names are the files' paths
relative to the root, with ``/`` separators.
"""

from __future__ import annotations

import functools
import logging
import os
import stat
from collections.abc import Mapping
from pathlib import Path

import azure.durable_functions as df

from activities import names

APP_FOLDER = Path(__file__).resolve().parent.parent
DEFAULT_CONTAINER = "backups"
# Upload in 4 MiB blocks: a file bigger than one block is never held in memory whole (the SDK's
# default single-put limit is 64 MiB, which it would buffer).
_BLOCK_SIZE = 4 * 1024 * 1024

bp = df.Blueprint()
log = logging.getLogger(__name__)


class BackupConfigError(RuntimeError):
    """The app settings do not say where to back up to."""


def allowed_base(settings: Mapping[str, str] | None = None) -> Path:
    """The directory every backup root must be inside: ``BACKUP_ROOT`` or the app folder."""
    settings = os.environ if settings is None else settings
    return Path(os.path.realpath(settings.get("BACKUP_ROOT") or APP_FOLDER))


def resolve_root(requested: str | None, base: Path) -> Path:
    """The real path of the root to back up; ``base`` when ``requested`` is None.

    A relative ``requested`` is taken relative to ``base``. Raises PermissionError when the
    resolved root (after following links) is outside ``base``, NotADirectoryError when it is not
    a directory.
    """
    base = Path(os.path.realpath(base))
    candidate = base if requested is None else base / requested  # absolute requested wins
    root = Path(os.path.realpath(candidate))
    if root != base and base not in root.parents:
        raise PermissionError(f"root {requested!r} is outside the allowed base {str(base)!r}")
    if not root.is_dir():
        raise NotADirectoryError(f"root {requested!r} is not a directory")
    return root


def list_files(root: Path) -> list[str]:
    """Regular files under ``root`` as sorted relative POSIX paths; links are skipped."""
    found = []
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for filename in filenames:
            path = Path(directory, filename)
            if stat.S_ISREG(os.lstat(path).st_mode):  # lstat: a link is not a regular file
                found.append(path.relative_to(root).as_posix())
    return sorted(found)


class NotARegularFile(OSError):
    """The path names something else than a regular file now (it was swapped after listing)."""


_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a directory"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def open_inside(root: Path, relative: str):
    """Open the regular file ``root/relative`` for reading, refusing anything that leaves
    ``root`` or is not a regular file.

    Refuses absolute paths, ``..`` parts, and links anywhere along the path (``O_NOFOLLOW``
    covers the last component even if it is swapped for a link after the check). The open does
    not block (``O_NONBLOCK``: opening a FIFO without a writer would wait for one forever), and
    what was opened is checked with ``fstat``: a FIFO, folder or device raises
    ``NotARegularFile`` at once.
    """
    parts = Path(relative).parts
    if not parts or Path(relative).is_absolute() or ".." in parts:
        raise PermissionError(f"path {relative!r} is not a plain relative path")
    path = Path(root, *parts)
    if os.path.realpath(path) != str(path):
        raise PermissionError(f"path {relative!r} goes through a symbolic link")
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise NotARegularFile(f"path {relative!r} is {kind} now, not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@functools.lru_cache(maxsize=4)
def _service_client(connection: str | None, account_url: str | None):
    """One BlobServiceClient per setting per process: it pools connections and, with a
    credential, caches tokens, so it must not be rebuilt for every file."""
    from azure.storage.blob import BlobServiceClient

    options = {"max_single_put_size": _BLOCK_SIZE, "max_block_size": _BLOCK_SIZE}
    if connection:
        return BlobServiceClient.from_connection_string(connection, **options)
    from azure.identity import DefaultAzureCredential

    return BlobServiceClient(account_url, credential=DefaultAzureCredential(), **options)


def container_client(settings: Mapping[str, str] | None = None):
    """The backup container's client, from the app settings (see the module docstring)."""
    settings = os.environ if settings is None else settings
    connection = settings.get("BACKUP_STORAGE_CONNECTION") or None
    account_url = settings.get("BACKUP_STORAGE_ACCOUNT_URL") or None
    if not connection and not account_url:
        raise BackupConfigError(
            "set BACKUP_STORAGE_CONNECTION (e.g. UseDevelopmentStorage=true for Azurite) or "
            "BACKUP_STORAGE_ACCOUNT_URL (Azure, with a managed identity)")
    container = settings.get("BACKUP_CONTAINER") or DEFAULT_CONTAINER
    return _service_client(connection, account_url).get_container_client(container)


@bp.activity_trigger(input_name="payload", activity=names.PREPARE_BACKUP_CONTAINER)
def prepare_backup_container(payload: dict | None) -> dict:
    """Create the backup container if it does not exist; returns ``{"container", "url"}``."""
    from azure.core.exceptions import ResourceExistsError

    container = container_client()
    try:
        container.create_container()
        log.info("created container %s", container.container_name)
    except ResourceExistsError:
        pass
    return {"container": container.container_name, "url": container.url}


@bp.activity_trigger(input_name="payload", activity=names.LIST_BACKUP_FILES)
def list_backup_files(payload: dict) -> dict:
    """List the files to back up. Input ``{"root": str | None}``; output ``{"root", "files"}``
    with ``root`` resolved and ``files`` relative to it. Raises PermissionError for a root
    outside the allowed base."""
    root = resolve_root(payload.get("root"), allowed_base())
    files = list_files(root)
    log.info("found %d file(s) under %s", len(files), root)
    return {"root": str(root), "files": files}


@bp.activity_trigger(input_name="payload", activity=names.COPY_FILE_TO_BLOB)
def copy_file_to_blob(payload: dict) -> dict:
    """Stream one file to the blob named by its relative path (overwriting an older copy).

    Input ``{"root", "path"}``; output ``{"path", "bytes"}``. The root is checked against the
    allowed base again: the activity does not trust its input more than the listing did. A file
    removed, or swapped for a link, FIFO or folder after the listing raises at once (``OSError``,
    ``NotARegularFile``); the orchestrator names it when every other copy is done.
    """
    root = resolve_root(payload["root"], allowed_base())
    relative = payload["path"]
    with open_inside(root, relative) as source:
        size = os.fstat(source.fileno()).st_size
        container_client().upload_blob(name=relative, data=source, length=size, overwrite=True)
    return {"path": relative, "bytes": size}
