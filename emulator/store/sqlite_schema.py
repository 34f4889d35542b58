"""Recognising a local host state file, and creating one.

A state file is marked by SQLite's own header fields: ``PRAGMA application_id`` holds
``APPLICATION_ID`` and ``PRAGMA user_version`` the schema version. Before anything is written the
file is inspected read-only (its header bytes, then an ``immutable`` connection that takes no
locks and creates no sidecar files): a folder, a file that is not SQLite, a truncated file, a
database of another application or of a newer schema is refused with one line and left
byte-for-byte as it was - no WAL conversion, no tables added. An empty file or an empty SQLite
database becomes a new state file. Files written before the marker existed (schema 1 with a
``meta`` row) are recognised by their tables and stamped with the marker.

The schema is created in one transaction in rollback-journal mode, and only then switched to WAL,
so the marker is in the main file as soon as any table exists: a crash during creation leaves an
empty database, which the next start simply creates again.

The ``meta`` table (there since schema 1) also keeps the state's secret (``Store.secret``: the
key of continuation tokens), created with the schema and added to files that lack it - a row an
older host ignores, so it needs no new schema version.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from enum import Enum
from typing import TypeVar
from urllib.parse import quote

from .base import SECRET_BYTES, StateFileError

APPLICATION_ID = 0x44464C48  # "DFLH": Durable Functions local host
# 2: durable entities (the entities table); 3: entity records may carry their lock
# (``EntityRecord.locked_by``/``lock_section``), which a host of schema 2 cannot read.
SCHEMA_VERSION = 3
T = TypeVar("T")

DDL = (
    """CREATE TABLE instances (
        instance_id TEXT PRIMARY KEY, record TEXT NOT NULL)""",
    """CREATE TABLE history (
        instance_id TEXT NOT NULL, idx INTEGER NOT NULL, event TEXT NOT NULL,
        PRIMARY KEY (instance_id, idx)) WITHOUT ROWID""",
    """CREATE TABLE messages (
        id INTEGER PRIMARY KEY, instance_id TEXT NOT NULL, record TEXT NOT NULL)""",
    """CREATE TABLE work (
        id INTEGER PRIMARY KEY, instance_id TEXT NOT NULL, record TEXT NOT NULL)""",
    """CREATE TABLE entities (
        entity_id TEXT PRIMARY KEY, record TEXT NOT NULL)""",
    "CREATE INDEX messages_instance ON messages (instance_id)",
    "CREATE INDEX work_instance ON work (instance_id)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
)
TABLES = frozenset({"instances", "history", "messages", "work", "meta"})  # schema 1
UPGRADES = {  # schema version -> statements that bring the previous one up to it
    2: ("""CREATE TABLE IF NOT EXISTS entities (
        entity_id TEXT PRIMARY KEY, record TEXT NOT NULL)""",),
    # Entity records gained two optional fields; the rows of a schema 2 file lack them, which
    # reads as "not locked" (that file's host kept its locks in memory only).
    3: (),
}

SECRET_KEY = "secret"  # the meta row of the state's secret (hex)

_MAGIC = b"SQLite format 3\x00"
_HINT = "move it away or pass another --state"


class FileKind(Enum):
    NEW = "new"  # missing, empty, or an SQLite database without any table
    OURS = "ours"  # marked with our application id and a schema this host reads
    LEGACY = "legacy"  # our schema 1, written before the marker existed


def inspect(path: str) -> FileKind:
    """Classify ``path`` without writing anything; ``StateFileError`` for what is refused."""
    return inspect_and_read(path)[0]


def inspect_and_read(path: str, read: Callable[[sqlite3.Connection], T] | None = None, *,
                     copy_wal: bool = False) -> tuple[FileKind, T | None]:
    """Classify ``path`` without writing anything, and for a file that holds state also
    ``read(connection)`` through the same read-only connection; ``StateFileError`` for what is
    refused.

    ``copy_wal``: a WAL next to the file (left by a host that was killed) is read from a private
    copy of the file and the WAL, so that not even the ``-shm`` index beside them changes - for
    a state no host owns. Without it (or when there is no room for the copy) SQLite's reader
    reads them in place and may refresh the ``-shm`` index, as it must next to a running host.
    """
    if os.path.isdir(path):
        raise StateFileError(f"{path} is a folder, not a state file; pass a file path "
                             "as --state")
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        return FileKind.NEW, None
    except OSError as exc:
        raise StateFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size == 0:
        return FileKind.NEW, None
    try:
        with open(path, "rb") as file:
            header = file.read(100)
    except OSError as exc:
        raise StateFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(header) < 100 or not header.startswith(_MAGIC):
        raise StateFileError(f"{path} is not an SQLite database (damaged, or another kind "
                             f"of file); {_HINT}")
    if not _has_wal(path):
        _check_length(path, header, size)
    with _reader(path, copy_wal) as connection:
        kind = classify(connection, path)
        return kind, None if read is None or kind is FileKind.NEW else read(connection)


@contextmanager
def _reader(path: str, copy_wal: bool) -> Iterator[sqlite3.Connection]:
    """A read-only connection to ``path`` that writes nothing beside it. Without a WAL the main
    file is the whole database: read it as an immutable file (no locks, no sidecar files). With
    one, only SQLite's WAL reader gives the true content (see ``inspect_and_read``)."""
    has_wal = _has_wal(path)
    with ExitStack() as stack:
        source = path
        if has_wal and copy_wal:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="state-read-"))
            try:
                copy = shutil.copyfile(path, os.path.join(folder, "state.db"))
                shutil.copyfile(f"{path}-wal", f"{copy}-wal")
                source = copy
            except OSError:
                pass
        target = f"file:{quote(os.path.abspath(source))}?mode=ro"
        try:
            connection = sqlite3.connect(target + ("" if has_wal else "&immutable=1"), uri=True,
                                         isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StateFileError(f"cannot open {path}: {exc}; {_HINT}") from None
        try:
            yield connection
        finally:
            connection.close()


def _has_wal(path: str) -> bool:
    try:
        return os.path.getsize(f"{path}-wal") > 0
    except OSError:
        return False


def _check_length(path: str, header: bytes, size: int) -> None:
    """A file shorter than its header says was truncated (checked when no WAL holds more)."""
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        raise StateFileError(f"{path} has a damaged SQLite header; {_HINT}")
    change_counter = header[24:28]
    pages = int.from_bytes(header[28:32], "big")
    valid_for = header[92:96]
    if valid_for == change_counter and size < pages * page_size:
        raise StateFileError(f"{path} is truncated ({size} of {pages * page_size} bytes); "
                             f"{_HINT}")


def classify(connection: sqlite3.Connection, path: str) -> FileKind:
    """The kind of database behind ``connection``; ``StateFileError`` for refused ones."""
    try:
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = {name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        meta = None
        if application_id == 0 and "meta" in tables:
            row = connection.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            meta = row[0] if row else None
    except sqlite3.Error as exc:
        raise StateFileError(f"{path} is damaged or not a state file ({exc}); {_HINT}") \
            from None
    if application_id == APPLICATION_ID:
        if version > SCHEMA_VERSION:
            raise StateFileError(
                f"{path} was written by a newer local host (state schema {version}; this one "
                f"reads schema {SCHEMA_VERSION}): upgrade the project or pass another --state")
        if version < 1 or not TABLES <= tables:
            raise StateFileError(f"{path} is a damaged state file (schema {version}, tables "
                                 f"{', '.join(sorted(tables)) or 'none'}); {_HINT}")
        return FileKind.OURS
    if application_id == 0 and not tables:
        return FileKind.NEW
    if application_id == 0 and tables == TABLES and meta == "1":
        return FileKind.LEGACY
    owner = f"application id {application_id:#x}" if application_id else \
        f"tables {', '.join(sorted(tables)[:5])}"
    raise StateFileError(f"{path} is an SQLite database of another application ({owner}); "
                         f"the local host leaves it untouched: pass another --state")


def create_or_adopt(connection: sqlite3.Connection, kind: FileKind) -> None:
    """In the caller's write transaction: create the schema, or bring an older one (or a legacy
    file, which is schema 1) up to ``SCHEMA_VERSION`` and mark it."""
    if kind is FileKind.NEW:
        for statement in DDL:
            connection.execute(statement)
        connection.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
    else:
        version = 1 if kind is FileKind.LEGACY else \
            connection.execute("PRAGMA user_version").fetchone()[0]
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in UPGRADES[step]:
                connection.execute(statement)
    connection.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)",
                       (SECRET_KEY, secrets.token_hex(SECRET_BYTES)))
    if kind is not FileKind.OURS:
        connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def read_secret(connection: sqlite3.Connection) -> bytes | None:
    """The state's secret (``create_or_adopt`` made it), or None if the file has none yet."""
    row = connection.execute("SELECT value FROM meta WHERE key=?", (SECRET_KEY,)).fetchone()
    try:
        return bytes.fromhex(row[0]) if row and row[0] else None
    except ValueError:  # not hex: treat it as absent rather than refuse the whole state
        return None
