"""One contract suite for every Store backend."""

import json

import pytest

from emulator.store import (
    Batch,
    EntityRecord,
    InstanceRecord,
    MemoryStore,
    MessageRecord,
    SqliteStore,
    WorkItem,
)


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    backend = MemoryStore() if request.param == "memory" else SqliteStore(
        str(tmp_path / "state.db"))
    yield backend
    backend.close()


def _record(instance_id="i1", status="Running"):
    return InstanceRecord(instance_id=instance_id, name="orch", execution_id="e1",
                          status=status, input='"x"', created="2026-01-01T00:00:00Z",
                          last_updated="2026-01-01T00:00:00Z")


def _event(n):
    return {"EventType": 12, "EventId": -1, "IsPlayed": False, "Timestamp": f"t{n}"}


def _texts(*numbers):
    """Events as the engine hands them to a store: JSON text."""
    return [json.dumps(_event(n)) for n in numbers]


def test_empty_store_loads_nothing(store):
    snapshot = store.load()
    assert snapshot.instances == {} and snapshot.messages == [] and snapshot.work == []


def test_commit_then_load_round_trips_everything(store):
    store.commit(Batch(
        put_instances=[_record()],
        append_history=[("i1", 0, _texts(0, 1))],
        put_messages=[MessageRecord(1, "i1", {"EventType": 15}, None, None),
                      MessageRecord(2, "i1", {"EventType": 11}, "2026-01-02T00:00:00Z", "e1")],
        put_work=[WorkItem(3, "i1", "e1", 0, "act", '"in"')],
    ))
    snapshot = store.load()
    assert snapshot.instances["i1"] == _record()
    assert snapshot.histories["i1"] == [_event(0), _event(1)]
    assert [m.id for m in snapshot.messages] == [1, 2]
    assert snapshot.messages[1].visible_at == "2026-01-02T00:00:00Z"
    assert snapshot.work == [WorkItem(3, "i1", "e1", 0, "act", '"in"')]


def test_appends_extend_history_and_deletes_retire_messages_and_work(store):
    store.commit(Batch(put_instances=[_record()], append_history=[("i1", 0, _texts(0))],
                       put_messages=[MessageRecord(1, "i1", {"EventType": 15})],
                       put_work=[WorkItem(2, "i1", "e1", 0, "act", None)]))
    store.commit(Batch(put_instances=[_record(status="Completed")],
                       append_history=[("i1", 1, _texts(1, 2))],
                       delete_messages=[1], delete_work=[2]))
    snapshot = store.load()
    assert snapshot.instances["i1"].status == "Completed"
    assert len(snapshot.histories["i1"]) == 3
    assert snapshot.messages == [] and snapshot.work == []


def test_reset_history_then_append_starts_a_new_execution(store):
    store.commit(Batch(put_instances=[_record()], append_history=[("i1", 0, _texts(0))]))
    store.commit(Batch(reset_history=["i1"], append_history=[("i1", 0, _texts(9))]))
    assert store.load().histories["i1"] == [_event(9)]


def test_delete_instance_removes_its_history_messages_and_work(store):
    store.commit(Batch(put_instances=[_record("i1"), _record("i2")],
                       append_history=[("i1", 0, _texts(0)), ("i2", 0, _texts(0))],
                       put_messages=[MessageRecord(1, "i1", {}), MessageRecord(2, "i2", {})],
                       put_work=[WorkItem(3, "i1", "e1", 0, "a", None)]))
    store.commit(Batch(delete_instances=["i1"]))
    snapshot = store.load()
    assert list(snapshot.instances) == ["i2"]
    assert "i1" not in snapshot.histories
    assert [m.instance_id for m in snapshot.messages] == ["i2"]
    assert snapshot.work == []


def test_loaded_state_is_a_copy(store):
    store.commit(Batch(put_instances=[_record()], append_history=[("i1", 0, _texts(0))]))
    snapshot = store.load()
    snapshot.histories["i1"].append(_event(5))
    snapshot.instances["i1"].status = "Failed"
    again = store.load()
    assert len(again.histories["i1"]) == 1 and again.instances["i1"].status == "Running"


def test_sqlite_batch_is_atomic(tmp_path):
    store = SqliteStore(str(tmp_path / "state.db"))
    store.commit(Batch(put_instances=[_record()]))
    unstorable = _record(status="Completed")
    unstorable.parent = {"not": object()}  # not JSON-serialisable
    broken = Batch(put_instances=[_record("i2"), unstorable],
                   append_history=[("i1", 0, _texts(0))])
    with pytest.raises(TypeError):
        store.commit(broken)
    snapshot = store.load()
    assert snapshot.instances["i1"].status == "Running"
    assert "i2" not in snapshot.instances and "i1" not in snapshot.histories
    store.close()


def test_sqlite_state_survives_reopening(tmp_path):
    path = str(tmp_path / "state.db")
    first = SqliteStore(path)
    first.commit(Batch(put_instances=[_record()], append_history=[("i1", 0, _texts(0))]))
    first.close()
    second = SqliteStore(path)
    assert second.load().histories["i1"] == [_event(0)]
    second.close()


def _entity(entity_id="@counter@a", state="1", exists=True):
    return EntityRecord(entity_id, exists, state, "2026-01-01T00:00:00Z")


def test_entities_round_trip_and_update_with_their_messages(store):
    request = MessageRecord(1, "@counter@a", {"EventType": 15, "Name": "op"})
    store.commit(Batch(put_entities=[_entity()], put_messages=[request]))
    snapshot = store.load()
    assert snapshot.entities == {"@counter@a": _entity()}
    assert [m.instance_id for m in snapshot.messages] == ["@counter@a"]
    # A batch: state written, the request consumed, a response queued - all or nothing.
    response = MessageRecord(2, "i1", {"EventType": 15, "Name": "guid"}, None, "e1")
    store.commit(Batch(put_entities=[_entity(state="2")], delete_messages=[1],
                       put_messages=[response]))
    snapshot = store.load()
    assert snapshot.entities["@counter@a"].state == "2"
    assert [m.id for m in snapshot.messages] == [2]


def test_delete_entity_removes_its_row_and_queued_requests(store):
    store.commit(Batch(put_entities=[_entity("@c@a"), _entity("@c@b")],
                       put_messages=[MessageRecord(1, "@c@a", {}), MessageRecord(2, "@c@b", {})]))
    store.commit(Batch(delete_entities=["@c@a"]))
    snapshot = store.load()
    assert list(snapshot.entities) == ["@c@b"]
    assert [m.instance_id for m in snapshot.messages] == ["@c@b"]


def test_sqlite_entity_batch_is_atomic(tmp_path):
    store = SqliteStore(str(tmp_path / "state.db"))
    store.commit(Batch(put_entities=[_entity()], put_messages=[MessageRecord(1, "@counter@a", {})]))
    unstorable = MessageRecord(2, "i1", {"not": object()})
    with pytest.raises(TypeError):
        store.commit(Batch(put_entities=[_entity(state="2")], delete_messages=[1],
                           put_messages=[unstorable]))
    snapshot = store.load()
    assert snapshot.entities["@counter@a"].state == "1" and len(snapshot.messages) == 1
    store.close()
