"""A state file refused because one of its rows cannot be read stays byte-for-byte as it was -
the file, its ``-wal`` and ``-shm`` left by a killed host, and the folder (no lock file, no
journal) - as foreign and newer files do (test_state_files.py). And the snapshot read before the
lock is taken is the one the host starts from only if nobody wrote in between.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.store import Batch, EntityRecord, InstanceRecord, SqliteStore, StateFileError
from emulator.store import sqlite as sqlite_store

from ..conftest import PROTOCOL_APP

ROOT = Path(__file__).resolve().parents[3]


def _record(instance_id: str) -> InstanceRecord:
    return InstanceRecord(instance_id=instance_id, name="orch", execution_id="e1",
                          status="Running", input=None, created="2026-01-01T00:00:00Z",
                          last_updated="2026-01-01T00:00:00Z")


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _store_with_data(path: Path) -> SqliteStore:
    store = SqliteStore(str(path))
    store.commit(Batch(put_instances=[_record("a"), _record("b")],
                       append_history=[("a", 0, ['{"EventType": 0}', '{"EventType": 12}'])],
                       put_entities=[EntityRecord("@c@k", True, "1", "2026-01-01T00:00:00Z")]))
    return store


DAMAGE = {  # one row each, as a disk error or a hand edit would leave it
    "instance not JSON": "UPDATE instances SET record = '{broken' WHERE instance_id = 'a'",
    "instance with unknown fields": """UPDATE instances SET record = '{"x": 1}'""",
    "history event not JSON": "UPDATE history SET event = 'x' WHERE idx = 1",
    "entity not JSON": "UPDATE entities SET record = '['",
}


def _refused(path: Path) -> StateFileError:
    with pytest.raises(StateFileError, match="cannot read the stored state") as info:
        store = SqliteStore(str(path))
        try:
            store.load()
        finally:
            store.close()
    assert "\n" not in str(info.value)
    return info.value


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_state_file_with_a_damaged_row_is_refused_untouched(tmp_path, damage):
    state = tmp_path / "state"
    state.mkdir()
    _store_with_data(state / "state.db").close()
    (state / "state.db.lock").unlink()  # as if copied here alone: the refusal must not add one
    db = sqlite3.connect(state / "state.db")
    db.execute(DAMAGE[damage])
    db.commit()
    db.close()
    before = _digest(state)
    _refused(state / "state.db")
    assert _digest(state) == before  # no "opened" row, no WAL switch, no -wal/-shm, no lock


def test_a_damaged_row_in_the_wal_of_a_killed_host_leaves_the_wal_and_shm_untouched(tmp_path):
    live, left = tmp_path / "live", tmp_path / "left"
    live.mkdir()
    left.mkdir()
    store = _store_with_data(live / "state.db")
    store.commit(Batch(put_instances=[_record("c")]))
    store._conn.execute("UPDATE instances SET record = '{broken' WHERE instance_id = 'c'")
    for name in ("state.db", "state.db-wal", "state.db-shm"):  # what kill -9 leaves behind
        shutil.copyfile(live / name, left / name)
    store.close()
    assert (left / "state.db-wal").stat().st_size > 0
    before = _digest(left)
    _refused(left / "state.db")
    assert _digest(left) == before


def test_the_command_line_refuses_it_in_one_line_and_leaves_it_untouched(tmp_path):
    path = tmp_path / "state.db"
    _store_with_data(path).close()
    db = sqlite3.connect(path)
    db.execute(DAMAGE["instance not JSON"])
    db.commit()
    db.close()
    before = _digest(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--app", str(PROTOCOL_APP), "--port", "0",
         "--state", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "cannot read the stored state" in result.stderr
    assert _digest(tmp_path) == before


def test_a_killed_hosts_wal_is_read_and_the_state_opens(tmp_path):
    live, left = tmp_path / "live", tmp_path / "left"
    live.mkdir()
    left.mkdir()
    store = _store_with_data(live / "state.db")
    store.commit(Batch(put_instances=[_record("c")]))
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        shutil.copyfile(live / name, left / name)
    store.close()
    reopened = SqliteStore(str(left / "state.db"))
    try:
        assert sorted(reopened.load().instances) == ["a", "b", "c"]
    finally:
        reopened.close()


def test_a_write_between_the_read_and_the_lock_is_not_lost(tmp_path, monkeypatch):
    """The state is read before the lock is taken; a host that wrote and stopped in between
    must not be overruled by that older snapshot."""
    path = tmp_path / "state.db"
    _store_with_data(path).close()
    acquire = sqlite_store.StateLock.acquire

    def write_then_acquire(lock):
        db = sqlite3.connect(path)  # another host's last commit, then it stops
        db.execute("INSERT INTO instances VALUES ('late', ?)", (json.dumps(vars(_record("late"))),))
        db.commit()
        db.close()
        return acquire(lock)

    monkeypatch.setattr(sqlite_store.StateLock, "acquire", write_then_acquire)
    store = SqliteStore(str(path))
    try:
        assert sorted(store.load().instances) == ["a", "b", "late"]
    finally:
        store.close()

