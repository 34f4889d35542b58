"""Entity critical sections (2.x SDK ``lock_entities``) survive a host restart on a real SQLite
state file: the lock is committed with the entity's row, so other callers' requests keep
waiting after the restart until the holder releases; a holder that ends without releasing
(terminated: the host ends it without running its code) has its locks released by the host -
also when it ended just before the host died.

The orchestrations run on the real durabletask SDK in this process (``test_engine_2x``); a
restart is an engine stopped and a new one started on the same file. Nothing sleeps: entity
batches and instance changes notify."""

import asyncio
import json
import logging

from emulator.core.entity_locks import Lock
from emulator.grpc_api.facade import FacadeOperations
from emulator.protocol.entities import EntityId
from emulator.protocol.enums import RuntimeStatus
from emulator.runtime.assembly import build_engine
from emulator.runtime.clock import make_clock
from emulator.runtime.engine import Limits
from emulator.runtime.operations import Operations
from emulator.store import Batch, SqliteStore

from .test_engine_2x import DurableTaskWorker, _finished, _state


class BatchWatch:
    """Wakes a test each time an entity batch (or lock step) finishes."""

    def __init__(self, engine) -> None:
        self.event = asyncio.Event()
        before = engine.entities.links.changed

        def changed() -> None:
            before()
            self.event.set()
        engine.entities.links.changed = changed

    async def until(self, predicate, timeout=30) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self.event.clear()
                await self.event.wait()


async def _engine(path):
    engine = build_engine(None, SqliteStore(str(path)), make_clock("off"), Limits(100, 10, 4),
                          worker=DurableTaskWorker())
    watch = BatchWatch(engine)  # before start: restored entities may run at once
    await engine.start()
    return engine, watch


def _stored(path, entity_id):
    reader = SqliteStore(str(path), read_only=True)
    try:
        return reader.load().entities[entity_id]
    finally:
        reader.close()


async def _holder_inside_its_section(path, key):
    """An orchestration that locked ``@counter@<key>``, added 5 and waits for 'go' inside its
    critical section; a client's signal (add 100) queued behind the lock; then the host
    stops."""
    engine, watch = await _engine(path)
    engine.operations.start("locked_wait", json.dumps(key), "holder")
    await watch.until(lambda: _state(engine, key) == 5)
    engine.entities.signal(EntityId("counter", key), "add", "100")
    queued = engine.entities.entities[f"@counter@{key}"]
    assert (len(queued.inbox), queued.running, _state(engine, key)) == (1, False, 5)
    await engine.stop()


def _held(engine, key):
    slot = engine.entities.entities[f"@counter@{key}"]
    return _state(engine, key), len(slot.inbox), slot.running, engine.entities.busy()


ORPHAN = "ended without releasing"


def test_a_critical_section_open_across_a_restart_keeps_others_out_until_released(tmp_path,
                                                                                   caplog):
    caplog.set_level(logging.INFO, logger="emulator")
    path = tmp_path / "state.db"

    async def scenario():
        await _holder_inside_its_section(path, "k")
        stored = _stored(path, "@counter@k")
        engine, watch = await _engine(path)
        lock = engine.entities.entities["@counter@k"].lock
        restored = (lock.holder, lock.section == stored.lock_section)
        metadata = FacadeOperations(Operations(engine)).get_entity("@counter@k", False)
        # The signal queued before the restart still waits, and so does a second section.
        held = _held(engine, "k")
        engine.operations.start("locked_add", json.dumps("k"), "second")
        engine.operations.raise_event("holder", "go", None)
        holder = await _finished(engine, "holder")
        second = await _finished(engine, "second")
        await watch.until(lambda: not engine.entities.busy())
        free = engine.entities.entities["@counter@k"].lock
        await engine.stop()
        return stored, restored, metadata, held, holder, second, free

    stored, restored, metadata, held, holder, second, free = asyncio.run(scenario())
    assert stored.locked_by == "holder" and stored.lock_section  # committed with the row
    assert restored == ("holder", True)
    assert metadata.locked_by == "holder"  # what GetEntity's EntityMetadata.lockedBy shows
    assert held == (5, 1, False, False)  # waiting, and not keeping the host busy
    # The holder's release after the restart unlocked the entity: the holder saw only its own
    # operations, then the signal ran, then the second section (add 5).
    assert holder.status == RuntimeStatus.Completed and json.loads(holder.record.output) == 5
    assert second.status == RuntimeStatus.Completed and json.loads(second.record.output) == 110
    assert free == Lock()
    assert _stored(path, "@counter@k").locked_by is None
    # The SDK's releases did it: the host had no orphaned lock to release.
    assert not [r for r in caplog.records if ORPHAN in r.getMessage()]


def test_a_terminated_holder_releases_its_locks_and_the_waiting_requests_run(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="emulator")
    path = tmp_path / "state.db"

    async def scenario():
        await _holder_inside_its_section(path, "t")
        engine, watch = await _engine(path)  # the lock held across a restart, as above
        held = _held(engine, "t")
        engine.operations.terminate("holder", "enough")
        holder = await _finished(engine, "holder")
        await watch.until(lambda: _state(engine, "t") == 105)
        lock = engine.entities.entities["@counter@t"].lock
        await engine.stop()
        return held, holder, lock

    held, holder, lock = asyncio.run(scenario())
    assert held == (5, 1, False, False)
    assert holder.status == RuntimeStatus.Terminated
    assert lock == Lock()
    assert _stored(path, "@counter@t").locked_by is None  # the release was committed
    assert [r.getMessage() for r in caplog.records if ORPHAN in r.getMessage()] == \
        ["[@counter@t] released: its holder holder ended without releasing"]


def test_a_holder_that_ended_while_the_host_was_down_has_its_lock_released_on_start(tmp_path):
    path = tmp_path / "state.db"

    async def scenario():
        await _holder_inside_its_section(path, "gone")
        # The holder's end was committed, and the host died before it released the lock.
        store = SqliteStore(str(path))
        record = store.load().instances["holder"]
        record.status = RuntimeStatus.Terminated.value
        store.commit(Batch(put_instances=[record]))
        store.close()
        engine, watch = await _engine(path)
        await watch.until(lambda: _state(engine, "gone") == 105)
        lock = engine.entities.entities["@counter@gone"].lock
        await engine.stop()
        return lock

    assert asyncio.run(scenario()) == Lock()
    assert _stored(path, "@counter@gone").locked_by is None
