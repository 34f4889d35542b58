"""The engine on its own (no HTTP): behaviour when the store fails under it.

An episode or entity batch whose commit fails changed nothing in memory, so it is retried from
the committed state after a backoff (0.1 s doubling to 30 s); an internal error stays stalled.
The backoff's scheduler is replaced by one that records each delay and calls back on the next
loop turn (or never), so no test waits for a delay.
"""

import asyncio
import errno
import json
import logging
from collections import Counter

import pytest

from emulator.core.instance import ORCHESTRATION
from emulator.core.stalls import CommitRetry, retry_delay
from emulator.protocol.entities import EntityId
from emulator.protocol.enums import EventType
from emulator.runtime.assembly import build_engine
from emulator.runtime.clock import Clock
from emulator.runtime.engine import Limits
from emulator.runtime.entities import EmptyEntities
from emulator.store import MemoryStore
from emulator.worker.loader import load_app

from ..conftest import APPS, PROTOCOL_APP

ENTITY_APP = APPS / "entities"


class FlakyStore(MemoryStore):
    """Fails commits that touch ``target`` (appending to its history, or writing or deleting
    its entity row) as ``plan`` says: one entry per such commit, True fails it; past the plan, all
    succeed (``always=True``: all fail)."""

    def __init__(self, target: str, plan: list[bool] | None = None, *,
                 always: bool = False) -> None:
        super().__init__()
        self.target = target
        self.plan = list(plan or [])
        self.always = always
        self.failed = 0

    def commit(self, batch):
        touches = any(iid == self.target for iid, _, _ in batch.append_history) or \
            any(e.entity_id == self.target for e in batch.put_entities) or \
            self.target in batch.delete_entities
        if touches and (self.always or (self.plan and self.plan.pop(0))):
            self.failed += 1
            raise OSError(errno.ENOSPC, "No space left on device")
        super().commit(batch)


class Backoff:
    """The engine's retry scheduler: records each delay; calls back on the next loop turn, or
    keeps the callback for the test when ``held``."""

    def __init__(self, held: bool = False) -> None:
        self.delays: list[float] = []
        self.held = held
        self.kept: list = []
        self.scheduled = asyncio.Event()

    def __call__(self, delay, callback):
        self.delays.append(delay)
        self.scheduled.set()
        if self.held:
            self.kept.append(callback)
            return None
        return asyncio.get_running_loop().call_soon(callback)


async def _engine(store, app=PROTOCOL_APP, backoff=None, empty=EmptyEntities.KEPT):
    engine = build_engine(load_app(app), store, Clock(), Limits(100, 10, 4),
                          empty_entities=empty)
    engine.retries.schedule = backoff or Backoff()
    await engine.start()
    return engine


async def _finished(engine, instance_id):
    inst = await engine.wait_for(instance_id, lambda i: i is not None and i.is_terminal, 30)
    assert inst is not None and inst.is_terminal, instance_id
    return inst


def _input(value):
    return json.dumps(json.dumps(value))  # as the SDK client encodes it


def _kinds(inst):
    return Counter(EventType(e["EventType"]) for e in inst.history)


def test_a_commit_that_fails_is_retried_with_backoff_and_runs_each_effect_once(caplog):
    # Episode 1 fails twice, then commits; a later episode fails once more (the count resets).
    store = FlakyStore("retried", [True, True, False, True])

    async def scenario():
        backoff = Backoff()
        engine = await _engine(store, backoff=backoff)
        engine.operations.start("chain", _input("x"), "retried")
        inst = await _finished(engine, "retried")
        await engine.stop()
        return engine, inst, backoff

    with caplog.at_level(logging.WARNING, logger="emulator"):
        engine, inst, backoff = asyncio.run(scenario())
    assert store.failed == 3
    assert backoff.delays == [0.1, 0.2, 0.1]
    assert inst.status == "Completed" and json.loads(inst.record.output) == \
        ["x-a", "x-b", "x-c"]
    assert not inst.stalled and inst.commit_failures == 0
    kinds = _kinds(inst)
    assert kinds[EventType.EXECUTION_STARTED] == kinds[EventType.EXECUTION_COMPLETED] == 1
    assert kinds[EventType.TASK_SCHEDULED] == kinds[EventType.TASK_COMPLETED] == 3
    assert engine.stats["activities"] == 3  # no activity ran twice
    stored = [json.loads(text) for text in store._histories["retried"]]
    assert stored == inst.history  # memory is exactly what was committed
    assert not store.load().messages and not store.load().work
    messages = [r.getMessage() for r in caplog.records]
    assert any("retried in 0.1 s" in m for m in messages)
    assert any("committed after 2 failed attempt(s)" in m for m in messages)


def test_a_stalled_instance_waits_for_its_retry_and_others_run_on(caplog):
    store = FlakyStore("poisoned", always=True)

    async def scenario():
        backoff = Backoff(held=True)
        engine = await _engine(store, backoff=backoff)
        engine.operations.start("chain", _input("bad"), "poisoned")
        engine.operations.start("chain", _input("good"), "healthy")
        healthy = await _finished(engine, "healthy")
        await backoff.scheduled.wait()
        poisoned = engine.instances["poisoned"]
        before = (poisoned.stalled, poisoned.episodes, poisoned.status, list(poisoned.history),
                  [m.event["EventType"] for m in poisoned.inbox], engine.retries.pending,
                  engine.idle())
        snapshot = store.load()
        store.always = False  # the disk has room again: the retry completes it
        backoff.kept.pop()()
        done = await _finished(engine, "poisoned")
        await engine.stop()
        return healthy, before, snapshot, done, backoff

    with caplog.at_level(logging.ERROR, logger="emulator"):
        healthy, before, snapshot, done, backoff = asyncio.run(scenario())
    assert healthy.status == "Completed"
    # Memory is as it was before the failed episode: nothing ran ahead of the store.
    assert before == (True, 0, "Pending", [], [0], 1, False)
    assert backoff.delays == [0.1]
    assert any("nothing was changed" in r.getMessage() and "retried in 0.1 s" in r.getMessage()
               for r in caplog.records)
    # What is on disk is the state before the failed episode, which the retry ran again.
    assert snapshot.instances["poisoned"].status == "Pending"
    assert "poisoned" not in snapshot.histories
    assert any(m.instance_id == "poisoned" for m in snapshot.messages)
    assert done.status == "Completed" and json.loads(done.record.output)[0] == "bad-a"


def test_an_internal_error_stays_stalled_without_retries(caplog):
    store = MemoryStore()

    async def scenario():
        backoff = Backoff()
        engine = await _engine(store, backoff=backoff)
        loop = asyncio.get_running_loop()
        handled = loop.create_future()
        real = engine.kinds[ORCHESTRATION]

        class Broken:
            kind = ORCHESTRATION

            async def episode(self, inst):
                if inst.id != "buggy":
                    return await real.episode(inst)
                loop.call_soon(handled.set_result, None)  # runs after the engine's handler
                raise RuntimeError("a bug of the local host")
        engine.kinds[ORCHESTRATION] = Broken()
        engine.operations.start("chain", _input("z"), "buggy")
        await handled
        inst = engine.instances["buggy"]
        state = (inst.stalled, engine.retries.pending, inst.processable())
        other = await _finished(engine, engine.operations.start("chain", _input("ok")))
        await engine.stop()
        return state, backoff.delays, other

    with caplog.at_level(logging.ERROR, logger="emulator"):
        state, delays, other = asyncio.run(scenario())
    assert state == (True, 0, False) and delays == []
    assert other.status == "Completed"
    assert any("internal error in an episode" in r.getMessage() for r in caplog.records)


def test_an_entity_batch_whose_commit_fails_is_retried_and_applied_once():
    store = FlakyStore("@counter@retry", [True, True])

    async def scenario():
        backoff = Backoff()
        engine = await _engine(store, ENTITY_APP, backoff)
        caller = engine.operations.start("add_and_get", _input({"key": "retry", "count": 3}))
        inst = await _finished(engine, caller)
        record = engine.entities.queries.read(EntityId.parse("@counter@retry"))
        entity = engine.entities.entities["@counter@retry"]
        await engine.stop()
        return inst, record, entity, backoff

    inst, record, entity, backoff = asyncio.run(scenario())
    assert store.failed == 2 and backoff.delays == [0.1, 0.2]
    assert inst.status == "Completed" and json.loads(inst.record.output) == 3
    assert json.loads(record.state) == 3  # each add landed exactly once
    assert not entity.stalled and entity.commit_failures == 0
    assert store.load().entities["@counter@retry"].state == record.state


def test_an_empty_entity_whose_removal_fails_keeps_its_row_until_a_later_batch(caplog):
    """The scheduler mode's removal of an emptied entity (``EmptyEntities.REMOVED``) is a
    commit of its own: when it fails, the empty row stays (nothing else is lost) and the
    entity's next batch that leaves it empty removes it."""
    target = "@counter@gone"
    # add (row written), delete (row written, empty), the removal (fails); then all succeed
    store = FlakyStore(target, [False, False, True])
    spec = {"key": "gone", "op": "delete"}

    async def scenario():
        engine = await _engine(store, ENTITY_APP, empty=EmptyEntities.REMOVED)
        ops = engine.operations
        await _finished(engine, ops.start("call_op", _input({**spec, "op": "add", "input": 2})))
        await _finished(engine, ops.start("call_op", _input(spec)))
        after_failure = (target in engine.entities.entities, target in store.load().entities)
        await _finished(engine, ops.start("call_op", _input(spec)))
        after_retry = (target in engine.entities.entities, target in store.load().entities)
        await engine.stop()
        return after_failure, after_retry

    with caplog.at_level(logging.WARNING, logger="emulator"):
        after_failure, after_retry = asyncio.run(scenario())
    assert store.failed == 1
    assert after_failure == (True, True)
    assert "its empty row stays for now" in caplog.text
    assert after_retry == (False, False)


@pytest.mark.parametrize(("failures", "delay"), [
    (0, 0.0), (1, 0.1), (2, 0.2), (3, 0.4), (9, 25.6), (10, 30.0), (11, 30.0), (10_000, 30.0)])
def test_the_backoff_doubles_from_a_tenth_of_a_second_to_thirty(failures, delay):
    assert retry_delay(failures) == pytest.approx(delay)


def test_cancelled_retries_never_run():
    class Subject:
        stalled = False
        commit_failures = 0

    async def scenario():
        loop = asyncio.get_running_loop()
        retries = CommitRetry(lambda delay, callback: loop.call_soon(callback))
        resumed = []
        purged, stopped, kept = Subject(), Subject(), Subject()
        for subject in (purged, stopped, kept):
            retries.failed(subject, lambda subject=subject: resumed.append(subject))
        retries.cancel(purged)  # an instance purged while it waited
        pending = retries.pending
        done = loop.create_future()
        loop.call_soon(done.set_result, None)  # after the retries scheduled before it
        await done
        retries.failed(stopped, lambda: resumed.append(stopped))
        retries.cancel_all()  # the host stops
        again = loop.create_future()
        loop.call_soon(again.set_result, None)
        await again
        return (pending, retries.pending, resumed == [stopped, kept],
                [s.stalled for s in (purged, stopped, kept)])

    assert asyncio.run(scenario()) == (2, 0, True, [True, True, False])


def test_an_instance_ready_when_the_engine_stops_runs_no_episode_after_it():
    started = []

    async def scenario():
        engine = await _engine(MemoryStore())
        real = engine._episode

        async def episode(inst):
            started.append(inst.id)
            await real(inst)
        engine._episode = episode
        engine.operations.start("chain", _input("x"), "late")  # ready: its dispatch is due
        await engine.stop()
        await asyncio.sleep(0.05)  # the due dispatch has run by now
        return engine, engine.instances["late"]

    engine, inst = asyncio.run(scenario())
    assert started == [] and engine.stats["episodes"] == 0
    assert inst.status == "Pending" and not inst.running
