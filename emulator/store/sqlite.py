"""A Store in one SQLite file (WAL): the local host's default, safe against a killed process.

One transaction per batch; ``synchronous=NORMAL`` in WAL mode keeps each commit durable against a
process crash (the WAL is written before commit returns) at about 15 us, which is what lets the
engine commit once per episode instead of batching across episodes.

Opening for writing first checks that no running host owns the state, that the file is a state
file this host reads (``sqlite_schema``) and that every stored row can be read - all without
writing anything, so a refused file stays byte-for-byte as it was - then takes the state's
ownership lock (``ownership``), then proves in one write transaction that the file can be
written. A failed commit raises ``CommitError`` naming the
cause and leaves the file as the last successful commit left it.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from urllib.parse import quote

from .base import (
    Batch,
    CommitError,
    CommitFailure,
    EntityRecord,
    InstanceRecord,
    MessageRecord,
    Snapshot,
    StateFileError,
    Store,
    WorkItem,
)
from .ownership import StateLock
from .sqlite_schema import (
    FileKind,
    classify,
    create_or_adopt,
    inspect,
    inspect_and_read,
    read_secret,
)

_FAILURES = {  # SQLite primary result codes -> why a write failed
    sqlite3.SQLITE_FULL: CommitFailure.FULL,
    sqlite3.SQLITE_READONLY: CommitFailure.READ_ONLY,
    sqlite3.SQLITE_IOERR: CommitFailure.IO,
    sqlite3.SQLITE_CANTOPEN: CommitFailure.IO,
    sqlite3.SQLITE_BUSY: CommitFailure.BUSY,
    sqlite3.SQLITE_LOCKED: CommitFailure.BUSY,
    sqlite3.SQLITE_CORRUPT: CommitFailure.DAMAGED,
    sqlite3.SQLITE_NOTADB: CommitFailure.DAMAGED,
}


def _failure(exc: sqlite3.Error) -> CommitFailure:
    code = getattr(exc, "sqlite_errorcode", None)
    return _FAILURES.get(code & 0xFF, CommitFailure.IO) if code is not None else \
        CommitFailure.IO


class SqliteStore(Store):
    """``read_only=True`` opens an existing state file for reading only, without taking
    ownership (``python -m emulator history`` next to a running host)."""

    def __init__(self, path: str, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self._lock = threading.Lock()
        self._owner: StateLock | None = None
        self._preloaded: Snapshot | None = None  # read before the lock: the first load's
        if read_only:
            if inspect(path) is FileKind.NEW:
                raise StateFileError(f"{path} holds no local host state")
            self._conn = self._connect(f"file:{quote(os.path.abspath(path))}?mode=ro",
                                       uri=True)
            try:
                self._secret = read_secret(self._conn)
            except sqlite3.Error:
                self._secret = None  # Store.secret makes a key of this process
            return
        # Everything is read before anything is locked or written: a file that is refused -
        # foreign, newer, damaged, or with a row that cannot be read - stays byte-for-byte as it
        # was (its -wal and -shm too). A running host's state is refused as in use before it is
        # read. The snapshot read here is what the first ``load`` returns, unless the file
        # changed before the lock was taken (a host wrote and stopped meanwhile).
        lock = StateLock(path)
        lock.check_free()
        fingerprint = _fingerprint(path)
        _, self._preloaded = inspect_and_read(path, functools.partial(self._snapshot, path=path),
                                              copy_wal=True)
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        except OSError as exc:
            raise StateFileError(f"cannot create the folder for {path}: "
                                 f"{exc.strerror or exc}") from None
        self._owner = lock.acquire()
        if _fingerprint(path) != fingerprint:
            self._preloaded = None
        try:
            self._conn = self._open_for_writing()
        except BaseException:
            self._owner.release()
            raise

    @staticmethod
    def _connect(target: str, uri: bool = False) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(target, check_same_thread=False, isolation_level=None,
                                         uri=uri)
            connection.execute("PRAGMA busy_timeout=5000")
        except sqlite3.Error as exc:
            raise StateFileError(f"cannot open {target}: {exc}") from None
        return connection

    def _open_for_writing(self) -> sqlite3.Connection:
        path = self.path
        connection = self._connect(path)
        try:
            connection.execute("BEGIN IMMEDIATE")
            # Again under the lock and through a connection that sees the WAL: the file may have
            # been created meanwhile, or hold tables only its WAL knows about.
            create_or_adopt(connection, classify(connection, path))
            connection.execute("INSERT OR REPLACE INTO meta VALUES ('opened', ?)",
                               (f"pid {os.getpid()} at {time.time():.0f}",))
            self._secret = read_secret(connection)
            connection.execute("COMMIT")
            if connection.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
                raise StateFileError(f"{path}: cannot switch the state file to WAL mode")
            connection.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            self._abandon(connection)
            raise StateFileError(_open_failure(path, exc)) from None
        except BaseException:
            self._abandon(connection)
            raise
        return connection

    @staticmethod
    def _abandon(connection: sqlite3.Connection) -> None:
        try:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        connection.close()

    @contextmanager
    def _tx(self):
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                if self._conn.in_transaction:  # SQLite may have rolled back already
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def load(self) -> Snapshot:
        snapshot, self._preloaded = self._preloaded, None
        if snapshot is not None:
            return snapshot
        with self._lock:
            return self._snapshot(self._conn, path=self.path)

    @staticmethod
    def _snapshot(db: sqlite3.Connection, *, path: str) -> Snapshot:
        """Every stored record, decoded; ``StateFileError`` when one cannot be read."""
        loads = json.loads
        try:
            db.execute("BEGIN")  # one consistent read
            try:
                instances = {
                    key: InstanceRecord(**loads(record)) for key, record in
                    db.execute("SELECT instance_id, record FROM instances")}
                histories: dict[str, list[dict]] = {}
                for instance_id, event in db.execute(
                        "SELECT instance_id, event FROM history ORDER BY instance_id, idx"):
                    histories.setdefault(instance_id, []).append(loads(event))
                messages = [MessageRecord(**loads(r)) for (r,) in
                            db.execute("SELECT record FROM messages ORDER BY id")]
                work = [WorkItem(**loads(r)) for (r,) in
                        db.execute("SELECT record FROM work ORDER BY id")]
                entities = {}
                if db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND "
                              "name='entities'").fetchone():  # schema 1 files read-only
                    entities = {key: EntityRecord(**loads(record)) for key, record in
                                db.execute("SELECT entity_id, record FROM entities")}
            finally:
                if db.in_transaction:
                    db.execute("ROLLBACK")
        except (sqlite3.Error, ValueError, TypeError) as exc:
            raise StateFileError(f"{path}: cannot read the stored state ({exc}); move "
                                 "it away or pass another --state") from None
        return Snapshot(instances, histories, messages, work, entities)

    def commit(self, batch: Batch) -> None:
        if self.read_only:
            raise CommitError(CommitFailure.READ_ONLY, "opened for reading")
        self._preloaded = None  # the state changes: the next load reads it
        dumps = json.dumps
        # Serialise first: a record that cannot be stored leaves the file untouched.
        instances = [(r.instance_id, dumps(vars(r))) for r in batch.put_instances]
        messages = [(m.id, m.instance_id, dumps(vars(m))) for m in batch.put_messages]
        work = [(w.id, w.instance_id, dumps(vars(w))) for w in batch.put_work]
        entities = [(e.entity_id, dumps(vars(e))) for e in batch.put_entities]
        try:
            with self._tx() as db:
                self._apply(db, batch, instances, messages, work, entities)
        except sqlite3.Error as exc:
            raise CommitError(_failure(exc), str(exc)) from exc

    @staticmethod
    def _apply(db: sqlite3.Connection, batch: Batch, instances: list, messages: list,
               work: list, entities: list) -> None:
        for entity_id in batch.delete_entities:
            db.execute("DELETE FROM entities WHERE entity_id=?", (entity_id,))
            db.execute("DELETE FROM messages WHERE instance_id=?", (entity_id,))
        for instance_id in batch.delete_instances:
            for table in ("instances", "history", "messages", "work"):
                db.execute(f"DELETE FROM {table} WHERE instance_id=?", (instance_id,))
        for instance_id in batch.reset_history:
            db.execute("DELETE FROM history WHERE instance_id=?", (instance_id,))
        for instance_id, start, events in batch.append_history:
            db.execute("DELETE FROM history WHERE instance_id=? AND idx>=?",
                       (instance_id, start))
            db.executemany("INSERT INTO history VALUES (?, ?, ?)",
                           [(instance_id, start + i, text) for i, text in enumerate(events)])
        if instances:
            db.executemany("INSERT OR REPLACE INTO instances VALUES (?, ?)", instances)
        if entities:
            db.executemany("INSERT OR REPLACE INTO entities VALUES (?, ?)", entities)
        if messages:
            db.executemany("INSERT OR REPLACE INTO messages VALUES (?, ?, ?)", messages)
        if work:
            db.executemany("INSERT OR REPLACE INTO work VALUES (?, ?, ?)", work)
        if batch.delete_messages:
            db.executemany("DELETE FROM messages WHERE id=?",
                           [(i,) for i in batch.delete_messages])
        if batch.delete_work:
            db.executemany("DELETE FROM work WHERE id=?", [(i,) for i in batch.delete_work])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        if self._owner is not None:
            self._owner.release()
            self._owner = None

    @property
    def description(self) -> str:
        return f"sqlite {self.path}"


def _fingerprint(path: str) -> tuple:
    """What changes when anyone commits to the state: identity, size and times of the file and
    of its WAL."""
    def stat(name: str) -> tuple[int, ...] | None:
        try:
            info = os.stat(name)
        except OSError:
            return None
        return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns

    return stat(path), stat(f"{path}-wal")


def _open_failure(path: str, exc: sqlite3.Error) -> str:
    failure = _failure(exc)
    if failure is CommitFailure.READ_ONLY:
        return f"{path} is read-only; the local host needs to write its state there"
    if failure is CommitFailure.FULL:
        return f"the disk holding {path} is full"
    if failure is CommitFailure.BUSY:
        return f"{path} is locked by another process ({exc})"
    if failure is CommitFailure.DAMAGED:
        return f"{path} is damaged ({exc}); move it away or pass another --state"
    return f"cannot write {path} ({exc}); check that it and its folder are writable"
