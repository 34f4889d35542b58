"""An entity's lock (its critical section's holder) is stored with the entity's row, in the
batch that changed it, and a state file of the schema before (no lock in its rows) opens and is
upgraded."""

import json
import sqlite3

import pytest

from emulator.store import Batch, EntityRecord, MemoryStore, MessageRecord, SqliteStore
from emulator.store.sqlite_schema import SCHEMA_VERSION

T0 = "2026-01-01T00:00:00Z"


def _locked(entity_id="@counter@k"):
    return EntityRecord(entity_id, False, None, T0, locked_by="holder", lock_section="cs-1")


@pytest.fixture(params=["memory", "sqlite"])
def reopen(request, tmp_path):
    """A store, and a function that closes it and opens the same state again (a restart)."""
    if request.param == "memory":
        store = MemoryStore()
        yield store, lambda: store
        return
    path = str(tmp_path / "state.db")
    current = [SqliteStore(path)]

    def restart():
        current[0].close()
        current[0] = SqliteStore(path)
        return current[0]
    yield current[0], restart
    current[0].close()


def test_a_lock_is_stored_with_the_entity_in_the_batch_that_consumed_its_request(reopen):
    store, restart = reopen
    request = MessageRecord(7, "@counter@k", {"EventType": 6, "Name": "op", "Input": "{}"})
    store.commit(Batch(put_messages=[request]))
    store.commit(Batch(put_entities=[_locked()], delete_messages=[7]))
    store = restart()
    snapshot = store.load()
    assert snapshot.messages == []
    record = snapshot.entities["@counter@k"]
    assert (record.locked_by, record.lock_section, record.exists) == ("holder", "cs-1", False)
    # The release is a put of the same row without the lock.
    store.commit(Batch(put_entities=[EntityRecord("@counter@k", False, None, T0)]))
    assert restart().load().entities["@counter@k"].locked_by is None


def _schema_2_file(path):
    """A state file as a host of schema 2 left it: an entity row without lock fields."""
    store = SqliteStore(str(path))
    store.commit(Batch(put_entities=[EntityRecord("@counter@old", True, "3", T0)]))
    store.close()
    db = sqlite3.connect(path)
    row = {"entity_id": "@counter@old", "exists": True, "state": "3", "last_operation": T0}
    db.execute("UPDATE entities SET record = ? WHERE entity_id = '@counter@old'",
               (json.dumps(row),))
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()


def test_a_schema_2_state_file_opens_upgraded_and_its_entities_read_as_unlocked(tmp_path):
    path = tmp_path / "state.db"
    _schema_2_file(path)
    reader = SqliteStore(str(path), read_only=True)  # reads it as it is, changes nothing
    assert reader.load().entities["@counter@old"].locked_by is None
    reader.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    db.close()
    store = SqliteStore(str(path))
    old = store.load().entities["@counter@old"]
    assert (old.exists, old.state, old.locked_by, old.lock_section) == (True, "3", None, None)
    store.commit(Batch(put_entities=[_locked("@counter@new")]))
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    db.close()
    store = SqliteStore(str(path))
    assert store.load().entities["@counter@new"].locked_by == "holder"
    store.close()
