"""The entity host's lock keeper without an SDK: each lock step is one store batch holding the
entity's row with its new lock, the request it consumed and the message it sends; memory
changes only after that commit; a holder that has ended loses its locks."""

from datetime import UTC, datetime

import pytest

from emulator.core.entity_locks import Lock
from emulator.core.errors import StoreUnavailable
from emulator.protocol.entities import LOCK_GRANTED, EntityId, Request
from emulator.runtime.entity_locks import EntitySlot, LockKeeper, LockLinks
from emulator.store import EntityRecord, MessageRecord

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LOCK_SET = ["@counter@a", "@counter@b"]


class Host:
    """Fake engine links: records commits and deliveries; ``live`` instances still run."""

    def __init__(self) -> None:
        self.batches, self.sent, self.scheduled = [], [], []
        self.live = {("orch", "e1")}
        self.fail = False
        self.ids = iter(range(100, 1000))
        self.entities: dict[str, EntitySlot] = {}
        self.keeper = LockKeeper(self.entities, LockLinks(
            commit=self.commit, now=lambda: NOW, new_id=lambda: next(self.ids),
            deliver=self.sent.extend, waits=self.waits, request_message=self.message,
            schedule=self.scheduled.append))

    def commit(self, batch) -> None:
        if self.fail:
            raise StoreUnavailable("the disk is full")
        self.batches.append(batch)

    def waits(self, instance_id, execution_id) -> bool:
        return any(i == instance_id and execution_id in (None, e) for i, e in self.live)

    def message(self, target: EntityId, request: Request) -> MessageRecord:
        return MessageRecord(next(self.ids), target.scheduler_id, {"Input": request.to_json()})

    def slot(self, scheduler_id: str, record: EntityRecord | None = None) -> EntitySlot:
        slot = self.entities[scheduler_id] = EntitySlot(EntityId.parse(scheduler_id), record)
        if record is not None:
            self.keeper.restore(slot)
        return slot


def _lock_request(position=0, parent="orch", execution="e1"):
    return Request("cs-1", "", parent=parent, parent_execution=execution, lock_set=LOCK_SET,
                   position=position)


def test_a_lock_step_commits_the_row_with_its_lock_the_consumed_request_and_the_forward():
    host = Host()
    slot = host.slot("@counter@a", EntityRecord("@counter@a", True, "3", "2025-12-31T00:00:00Z"))
    host.keeper.control(slot, 7, _lock_request())
    [batch] = host.batches
    [row] = batch.put_entities
    assert (row.locked_by, row.lock_section, row.exists, row.state) == ("orch", "cs-1", True, "3")
    assert batch.delete_messages == [7]
    [forward] = batch.put_messages
    assert forward.instance_id == "@counter@b" and host.sent == [forward]
    assert slot.lock == Lock("orch", "cs-1") and slot.record is row
    assert host.keeper.holders == {"orch": {"@counter@a"}}


def test_the_last_entity_of_the_set_grants_in_the_batch_that_locks_it():
    host = Host()
    slot = host.slot("@counter@b")  # never ran an operation: a row that does not exist
    host.keeper.control(slot, 8, _lock_request(position=1))
    [batch] = host.batches
    assert batch.put_entities[0].exists is False and batch.put_entities[0].locked_by == "orch"
    [grant] = batch.put_messages
    assert grant.instance_id == "orch" and grant.execution_id == "e1"
    assert LOCK_GRANTED in grant.event["Input"]


def test_a_lock_step_whose_commit_fails_changes_nothing_in_memory():
    host = Host()
    slot = host.slot("@counter@a")
    host.fail = True
    with pytest.raises(StoreUnavailable):
        host.keeper.control(slot, 7, _lock_request())
    assert slot.lock == Lock() and slot.record is None and host.keeper.holders == {}
    assert host.sent == []


def test_the_holders_release_commits_the_row_unlocked():
    host = Host()
    locked = EntityRecord("@counter@a", True, "3", "2025-12-31T00:00:00Z", "orch", "cs-1")
    slot = host.slot("@counter@a", locked)
    host.keeper.control(slot, 9, Request("cs-1", "", parent="orch", release=True, signal=True))
    [batch] = host.batches
    assert batch.put_entities[0].locked_by is None and batch.delete_messages == [9]
    assert slot.lock == Lock() and host.keeper.holders == {}


def test_a_lock_request_of_an_ended_orchestration_locks_nothing():
    host = Host()
    slot = host.slot("@counter@a")
    host.keeper.control(slot, 7, _lock_request(execution="an-earlier-execution"))
    [batch] = host.batches
    assert batch.delete_messages == [7] and not batch.put_entities and not batch.put_messages
    assert slot.lock == Lock()


class _Instance:
    def __init__(self, instance_id):
        self.id = instance_id


def test_a_holder_that_ends_has_its_entities_release_their_locks():
    host = Host()
    rows = {e: EntityRecord(e, False, None, "2025-12-31T00:00:00Z", "orch", "cs-1")
            for e in LOCK_SET}
    slots = [host.slot(e, rows[e]) for e in LOCK_SET]
    other = host.slot("@counter@c", EntityRecord("@counter@c", False, None, "x", "other", "s"))
    host.live.add(("other", "e9"))
    host.keeper.holder_changed(_Instance("orch"))  # still running: nothing to do
    assert host.scheduled == [] and not any(host.keeper.orphaned(s) for s in slots)
    host.live.discard(("orch", "e1"))  # terminated
    host.keeper.holder_changed(_Instance("orch"))
    assert host.scheduled == slots and all(host.keeper.has_work(s) for s in slots)
    host.keeper.release_orphan(slots[0])
    assert host.batches[-1].put_entities[0].locked_by is None and slots[0].lock == Lock()
    # CleanEntityStorage(releaseOrphanedLocks) releases what is left, in one batch.
    assert host.keeper.release_orphans() == 1
    assert [r.entity_id for r in host.batches[-1].put_entities] == ["@counter@b"]
    assert other.lock == Lock("other", "s") and host.keeper.holders == {"other": {"@counter@c"}}
