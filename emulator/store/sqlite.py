"""A Store in one SQLite file (WAL): the local host's default, safe against a killed process.

One transaction per batch; ``synchronous=NORMAL`` in WAL mode keeps each commit durable against a
process crash (the WAL is written before commit returns) at about 15 us, which is what lets the
engine commit once per episode instead of batching across episodes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from contextlib import contextmanager

from .base import Batch, InstanceRecord, MessageRecord, Snapshot, Store, WorkItem

_DDL = (
    """CREATE TABLE IF NOT EXISTS instances (
        instance_id TEXT PRIMARY KEY, record TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS history (
        instance_id TEXT NOT NULL, idx INTEGER NOT NULL, event TEXT NOT NULL,
        PRIMARY KEY (instance_id, idx)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY, instance_id TEXT NOT NULL, record TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS work (
        id INTEGER PRIMARY KEY, instance_id TEXT NOT NULL, record TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS messages_instance ON messages (instance_id)",
    "CREATE INDEX IF NOT EXISTS work_instance ON work (instance_id)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
)
SCHEMA_VERSION = "1"


class SqliteStore(Store):
    def __init__(self, path: str) -> None:
        self.path = path
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        with self._tx() as db:
            for statement in _DDL:
                db.execute(statement)
            row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            elif row[0] != SCHEMA_VERSION:
                raise RuntimeError(
                    f"{path}: state file schema {row[0]} is not {SCHEMA_VERSION}; "
                    "delete it or use another --state")

    @contextmanager
    def _tx(self):
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def load(self) -> Snapshot:
        with self._tx() as db:
            instances = {
                key: InstanceRecord(**json.loads(record))
                for key, record in db.execute("SELECT instance_id, record FROM instances")
            }
            histories: dict[str, list[dict]] = {}
            for instance_id, event in db.execute(
                    "SELECT instance_id, event FROM history ORDER BY instance_id, idx"):
                histories.setdefault(instance_id, []).append(json.loads(event))
            messages = [MessageRecord(**json.loads(r)) for (r,) in
                        db.execute("SELECT record FROM messages ORDER BY id")]
            work = [WorkItem(**json.loads(r)) for (r,) in
                    db.execute("SELECT record FROM work ORDER BY id")]
        return Snapshot(instances, histories, messages, work)

    def commit(self, batch: Batch) -> None:
        dumps = json.dumps
        with self._tx() as db:
            for instance_id in batch.delete_instances:
                for table in ("instances", "history", "messages", "work"):
                    db.execute(f"DELETE FROM {table} WHERE instance_id=?", (instance_id,))
            for instance_id in batch.reset_history:
                db.execute("DELETE FROM history WHERE instance_id=?", (instance_id,))
            for instance_id, start, events in batch.append_history:
                db.execute("DELETE FROM history WHERE instance_id=? AND idx>=?",
                           (instance_id, start))
                db.executemany(
                    "INSERT INTO history VALUES (?, ?, ?)",
                    [(instance_id, start + i, text) for i, text in enumerate(events)])
            if batch.put_instances:
                db.executemany("INSERT OR REPLACE INTO instances VALUES (?, ?)",
                               [(r.instance_id, dumps(vars(r))) for r in batch.put_instances])
            if batch.put_messages:
                db.executemany("INSERT OR REPLACE INTO messages VALUES (?, ?, ?)",
                               [(m.id, m.instance_id, dumps(vars(m)))
                                for m in batch.put_messages])
            if batch.put_work:
                db.executemany("INSERT OR REPLACE INTO work VALUES (?, ?, ?)",
                               [(w.id, w.instance_id, dumps(vars(w))) for w in batch.put_work])
            if batch.delete_messages:
                db.executemany("DELETE FROM messages WHERE id=?",
                               [(i,) for i in batch.delete_messages])
            if batch.delete_work:
                db.executemany("DELETE FROM work WHERE id=?", [(i,) for i in batch.delete_work])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @property
    def description(self) -> str:
        return f"sqlite {self.path}"
