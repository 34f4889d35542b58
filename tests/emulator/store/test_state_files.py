"""State files: only ours are opened, one host owns one, and failed writes are reported.

Refused files must be left byte-for-byte as they were (no WAL conversion, no tables added), and
the command line must say why in one line.
"""

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.store import (
    Batch,
    CommitError,
    CommitFailure,
    EntityRecord,
    InstanceRecord,
    SqliteStore,
    StateFileError,
    StateInUse,
)
from emulator.store.sqlite_schema import APPLICATION_ID, SCHEMA_VERSION

from ..conftest import PROTOCOL_APP
from ..filesystems import fill, read_only, small_tmpfs

ROOT = Path(__file__).resolve().parents[3]


def _record(instance_id="i1", payload=None):
    return InstanceRecord(instance_id=instance_id, name="orch", execution_id="e1",
                          status="Running", input=payload, created="2026-01-01T00:00:00Z",
                          last_updated="2026-01-01T00:00:00Z")


def _digest(folder: Path) -> dict[str, str]:
    """Every file in ``folder`` and its content hash."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.iterdir())}


def _state_with_data(path: Path) -> None:
    store = SqliteStore(str(path))
    store.commit(Batch(put_instances=[_record("a"), _record("b", '"x"')]))
    store.close()


# -- files that are not ours -------------------------------------------------------------------
def _foreign(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    db.execute("INSERT INTO customers VALUES (1, 'Ada')")
    db.commit()
    db.close()


def _foreign_with_our_table_names(path: Path) -> None:
    db = sqlite3.connect(path)
    for table in ("instances", "history", "messages", "work", "meta"):
        db.execute(f"CREATE TABLE {table} (x)")
    db.execute("PRAGMA application_id = 1234")
    db.commit()
    db.close()


def _junk(path: Path) -> None:
    path.write_bytes(b"not a database at all\n" * 100)


def _truncated(path: Path) -> None:
    store = SqliteStore(str(path))
    store.commit(Batch(put_instances=[_record(f"i{n}", '"' + "x" * 3000 + '"')
                                      for n in range(20)]))
    store.close()
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _folder(path: Path) -> None:
    path.mkdir()


def _newer(path: Path) -> None:
    _state_with_data(path)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()


def _ours_without_tables(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE something (x)")
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()


REFUSED = {
    "foreign sqlite": (_foreign, "another application"),
    "foreign with our table names": (_foreign_with_our_table_names, "another application"),
    "not sqlite": (_junk, "not an SQLite database"),
    "truncated": (_truncated, "truncated"),
    "folder": (_folder, "is a folder"),
    "newer schema": (_newer, f"state schema {SCHEMA_VERSION + 1}"),
    "damaged state file": (_ours_without_tables, "damaged"),
}


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_files_that_are_not_our_state_are_refused_untouched(tmp_path, kind):
    make, says = REFUSED[kind]
    path = tmp_path / "state.db"
    make(path)
    before = _digest(tmp_path)
    with pytest.raises(StateFileError, match=says) as info:
        SqliteStore(str(path))
    assert "\n" not in str(info.value)
    assert _digest(tmp_path) == before  # no WAL, no journal, no lock file, no new tables


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_the_command_line_refuses_them_in_one_line(tmp_path, kind):
    make, says = REFUSED[kind]
    path = tmp_path / "state.db"
    make(path)
    result = _serve(path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert says in result.stderr and "Traceback" not in result.stderr
    history = subprocess.run([sys.executable, "-m", "emulator", "history", "x", "--state",
                              str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert history.returncode == 2 and history.stderr.count("\n") == 1


def _serve(path: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emulator", "--app", str(PROTOCOL_APP),
                           "--port", "0", "--state", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_a_newer_schema_names_the_version_it_needs(tmp_path):
    path = tmp_path / "state.db"
    _newer(path)
    with pytest.raises(StateFileError) as info:
        SqliteStore(str(path))
    assert f"schema {SCHEMA_VERSION + 1}" in str(info.value)
    assert f"reads schema {SCHEMA_VERSION}" in str(info.value)


# -- files that are ours, or may become ours ---------------------------------------------------
def test_a_new_state_file_is_marked_with_our_id_and_version(tmp_path):
    path = tmp_path / "state.db"
    SqliteStore(str(path)).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


@pytest.mark.parametrize("make", [
    lambda p: p.write_bytes(b""),  # an empty file
    lambda p: sqlite3.connect(p).execute("PRAGMA journal_mode=WAL").close(),  # no tables yet
], ids=["empty file", "empty database"])
def test_empty_files_become_state_files(tmp_path, make):
    path = tmp_path / "state.db"
    make(path)
    store = SqliteStore(str(path))
    store.commit(Batch(put_instances=[_record()]))
    store.close()
    assert list(SqliteStore(str(path), read_only=True).load().instances) == ["i1"]


def test_a_state_file_from_before_the_marker_is_adopted_with_its_data(tmp_path):
    path = tmp_path / "state.db"
    _state_with_data(path)
    db = sqlite3.connect(path)  # what the previous version wrote: no application id, schema 1
    db.execute("PRAGMA application_id = 0")
    db.execute("PRAGMA user_version = 0")
    db.execute("DROP TABLE entities")
    db.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    db.commit()
    db.close()
    store = SqliteStore(str(path))
    assert sorted(store.load().instances) == ["a", "b"]
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_a_schema_1_state_file_is_upgraded_for_entities_and_readable_before(tmp_path):
    path = tmp_path / "state.db"
    _state_with_data(path)
    db = sqlite3.connect(path)  # a marked file of schema 1: no entities table
    db.execute("PRAGMA user_version = 1")
    db.execute("DROP TABLE entities")
    db.commit()
    db.close()
    reader = SqliteStore(str(path), read_only=True)  # reads it as it is, changes nothing
    assert sorted(reader.load().instances) == ["a", "b"] and reader.load().entities == {}
    reader.close()
    store = SqliteStore(str(path))
    store.commit(Batch(put_entities=[EntityRecord("@c@k", True, "1", "2026-01-01T00:00:00Z")]))
    assert list(store.load().entities) == ["@c@k"]
    assert sorted(store.load().instances) == ["a", "b"]
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    db.close()


# -- ownership ---------------------------------------------------------------------------------
def test_a_second_owner_in_the_same_process_is_refused_until_the_first_closes(tmp_path):
    path = str(tmp_path / "state.db")
    first = SqliteStore(path)
    with pytest.raises(StateInUse) as info:
        SqliteStore(path)
    assert info.value.pid == os.getpid() and f"pid {os.getpid()}" in str(info.value)
    reader = SqliteStore(path, read_only=True)  # reading next to the owner is fine
    assert reader.load().instances == {}
    with pytest.raises(CommitError):
        reader.commit(Batch(put_instances=[_record()]))
    reader.close()
    first.close()
    SqliteStore(path).close()


_HOLDER = """
import sys, time
from emulator.store import SqliteStore
store = SqliteStore(sys.argv[1])
print("ready", flush=True)
time.sleep(600)
"""


def _holder(path: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path)], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


def test_a_second_host_exits_naming_the_holder_and_a_killed_holder_leaves_no_stale_lock(
        tmp_path):
    path = tmp_path / "state.db"
    holder = _holder(path)
    try:
        result = _serve(path)
        assert result.returncode == 2
        assert result.stderr == (f"error: {path} is in use by another local host "
                                 f"(pid {holder.pid}); stop it or pass another --state\n")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (tmp_path / "state.db.lock").exists()  # the file stays; its lock died with the pid
    store = SqliteStore(str(path))
    store.close()


# -- read-only and full filesystems ------------------------------------------------------------
def test_a_read_only_state_file_refuses_to_start(tmp_path):
    path = tmp_path / "state.db"
    _state_with_data(path)
    with read_only(path):
        with pytest.raises(StateFileError, match="is read-only"):
            SqliteStore(str(path))
        result = _serve(path)
        assert result.returncode == 2 and result.stderr.count("\n") == 1
        assert "read-only" in result.stderr
        # ... while reading it (the history command) still works.
        assert sorted(SqliteStore(str(path), read_only=True).load().instances) == ["a", "b"]


def test_a_read_only_state_folder_refuses_to_start(tmp_path):
    folder = tmp_path / "state"
    folder.mkdir()
    _state_with_data(folder / "existing.db")
    with read_only(folder):
        for name in ("existing.db", "new.db"):
            with pytest.raises(StateFileError, match="not writable"):
                SqliteStore(str(folder / name))
        result = _serve(folder / "new.db")
        assert result.returncode == 2 and result.stderr.count("\n") == 1
        assert "not writable" in result.stderr


def test_a_full_disk_fails_the_commit_keeps_what_was_committed_and_recovers(tmp_path):
    with small_tmpfs(tmp_path / "small", "2m") as folder:
        store = SqliteStore(str(folder / "state.db"))
        store.commit(Batch(put_instances=[_record("kept")]))
        filler = fill(folder)
        with pytest.raises(CommitError) as info:
            for n in range(1000):
                store.commit(Batch(put_instances=[_record(f"i{n}", '"' + "x" * 8000 + '"')]))
        assert info.value.failure is CommitFailure.FULL
        assert "full" in str(info.value)
        committed = store.load().instances
        assert "kept" in committed
        filler.unlink()
        store.commit(Batch(put_instances=[_record("after")]))
        store.close()
        again = SqliteStore(str(folder / "state.db"))
        assert set(again.load().instances) == set(committed) | {"after"}
        again.close()


def test_a_full_disk_at_start_refuses_in_one_line(tmp_path):
    with small_tmpfs(tmp_path / "small", "1m") as folder:
        filler = fill(folder)
        try:
            result = _serve(folder / "state.db")
            assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
            assert "full" in result.stderr or "No space" in result.stderr
        finally:
            filler.unlink()


def test_a_state_file_with_a_damaged_record_refuses_to_start_in_one_line(tmp_path):
    path = tmp_path / "state.db"
    _state_with_data(path)
    db = sqlite3.connect(path)
    db.execute("UPDATE instances SET record = '{broken' WHERE instance_id = 'a'")
    db.commit()
    db.close()
    result = _serve(path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "cannot read the stored state" in result.stderr
    with pytest.raises(StateFileError, match="cannot read the stored state"):
        SqliteStore(str(path))  # refused again: the refused start left it as it was, unowned


def test_two_hosts_on_one_file_in_one_process_the_second_is_refused(tmp_path):
    from emulator.testing import LocalHost

    state = str(tmp_path / "state.db")
    with LocalHost(PROTOCOL_APP, state=state) as first:
        instance_id = first.start("chain", "mine")
        first.wait(instance_id)
        with pytest.raises(StateInUse, match=f"pid {os.getpid()}"):
            LocalHost(PROTOCOL_APP, state=state).start_host()
        assert first.status(instance_id)["runtimeStatus"] == "Completed"  # undisturbed
    with LocalHost(PROTOCOL_APP, state=state) as second:  # released on stop
        assert second.status(instance_id)["output"] == ["mine-a", "mine-b", "mine-c"]
