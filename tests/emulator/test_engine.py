"""The engine on its own (no HTTP): behaviour when the store fails under it."""

import asyncio
import json
import logging

from emulator.clock import Clock
from emulator.engine import Engine, Limits
from emulator.loader import load_app
from emulator.store import MemoryStore

from .conftest import PROTOCOL_APP


class FlakyStore(MemoryStore):
    """Fails every commit that appends history for one instance."""

    def __init__(self, poisoned: str) -> None:
        super().__init__()
        self.poisoned = poisoned

    def commit(self, batch):
        if any(iid == self.poisoned for iid, _, _ in batch.append_history):
            raise OSError("disk full")
        super().commit(batch)


async def _run_two(store: FlakyStore) -> tuple[Engine, dict]:
    engine = Engine(load_app(PROTOCOL_APP), store, Clock(), Limits(100, 10, 4))
    await engine.start()
    finished = {}
    engine.listeners.append(lambda inst: finished.setdefault(inst.id, inst.status)
                            if inst.status == "Completed" else None)
    engine.operations.start("chain", json.dumps(json.dumps("bad")), "poisoned")
    engine.operations.start("chain", json.dumps(json.dumps("good")), "healthy")
    for _ in range(200):
        if "healthy" in finished:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    await engine.stop()
    return engine, finished


def test_a_failing_commit_stalls_only_that_instance_and_keeps_the_store_consistent(caplog):
    store = FlakyStore("poisoned")
    with caplog.at_level(logging.ERROR, logger="emulator"):
        engine, finished = asyncio.run(_run_two(store))
    assert finished == {"healthy": "Completed"}
    poisoned = engine.instances["poisoned"]
    assert poisoned.stalled and poisoned.episodes == 0
    assert not poisoned.processable()
    assert any("could not commit" in r.getMessage() and "stalled" in r.getMessage()
               for r in caplog.records)
    # Memory is as it was before the failed episode: nothing ran ahead of the store.
    assert poisoned.status == "Pending" and poisoned.history == []
    assert [m.event["EventType"] for m in poisoned.inbox] == [0]
    # What is on disk is the state before the failed episode: a restart would run it again.
    snapshot = store.load()
    assert snapshot.instances["poisoned"].status == "Pending"
    assert "poisoned" not in snapshot.histories
    assert any(m.instance_id == "poisoned" for m in snapshot.messages)
