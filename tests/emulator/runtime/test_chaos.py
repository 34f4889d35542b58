"""Chaos: SIGKILL the host at random moments of a mixed workload, restart it, repeat.

Asserts that every start the host acknowledged (202) completes with the right output, that no
activity result, sub-orchestration or completion is recorded twice, and that the store holds no
leftover message or work item at the end. A start or event whose answer the kill swallowed may
or may not have happened; if it did, it must be complete and correct too.

Short by default (6 kills, about 15 s); ``EMULATOR_CHAOS_KILLS=40`` runs a longer one and
``EMULATOR_CHAOS_SEED`` replays a given run.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests

from emulator.http.payloads import WEBHOOK_PATH
from emulator.protocol.history import EventType
from emulator.store import SqliteStore
from emulator.testing import TERMINAL, LocalHost

from ..conftest import PROTOCOL_APP

KILLS = int(os.environ.get("EMULATOR_CHAOS_KILLS", "6"))
SEED = int(os.environ.get("EMULATOR_CHAOS_SEED", str(random.randrange(1 << 30))))

CHAIN = lambda v: [f"{v}-a", f"{v}-b", f"{v}-c"]  # noqa: E731 - the chain orchestrator's output
WORKLOAD = [  # (weight, orchestrator, input maker, expected output or None for "any")
    (3, "chain", lambda n: f"v{n}", lambda n: CHAIN(f"v{n}")),
    (1, "fan_out", lambda n: {"count": 10, "seconds": 0.3}, lambda n: sum(range(10))),
    (1, "fan_out", lambda n: {"count": 50}, lambda n: sum(2 * i for i in range(50))),
    (1, "parent", lambda n: None, lambda n: [CHAIN("x"), CHAIN("y"), CHAIN("z")]),
    (2, "waiter", lambda n: None, lambda n: {"n": n}),
    (1, "counter", lambda n: 0, lambda n: 3),
    (1, "sleeper", lambda n: 1, None),
]


@dataclass
class Ledger:
    """What the client asked for, and what the host confirmed."""

    expected: dict[str, Any] = field(default_factory=dict)  # id -> output (None: any)
    acknowledged: set[str] = field(default_factory=set)
    uncertain: set[str] = field(default_factory=set)  # the kill may have swallowed the answer
    waiting: dict[str, Any] = field(default_factory=dict)  # waiter id -> event data


def _client(host: LocalHost, ledger: Ledger, rng: random.Random, cycle: int,
            stop: threading.Event) -> None:
    weights = [w for w, *_ in WORKLOAD]
    n = 0
    while not stop.is_set():
        n += 1
        if ledger.waiting and rng.random() < 0.3:
            instance_id = rng.choice(sorted(ledger.waiting))
            try:
                response = _raise(host, instance_id, ledger.waiting[instance_id])
            except requests.RequestException:
                return
            if response.status_code == 202:
                del ledger.waiting[instance_id]  # delivered at least once
            continue
        _, name, make_input, make_output = rng.choices(WORKLOAD, weights)[0]
        instance_id = f"chaos-{cycle}-{n}-{name}"
        ledger.expected[instance_id] = make_output(n) if make_output else None
        ledger.uncertain.add(instance_id)
        try:
            host.start(name, make_input(n), instance_id=instance_id)
        except Exception:  # noqa: BLE001 - the host died under the request
            return
        ledger.uncertain.discard(instance_id)
        ledger.acknowledged.add(instance_id)
        if name == "waiter":
            ledger.waiting[instance_id] = {"n": n}
        time.sleep(rng.uniform(0, 0.05))


def _raise(host: LocalHost, instance_id: str, data: Any) -> requests.Response:
    """Raise "go"; the response whatever it is (410 once the waiter has finished)."""
    return host.request("POST", f"{WEBHOOK_PATH}/instances/{instance_id}/raiseEvent/go",
                        data=json.dumps(data), headers={"Content-Type": "application/json"},
                        timeout=10)


def _check_history(instance_id: str, history: list[dict[str, Any]]) -> None:
    kinds = Counter(e["EventType"] for e in history)
    assert kinds[EventType.EXECUTION_STARTED] == 1, instance_id
    assert kinds[EventType.EXECUTION_COMPLETED] == 1, instance_id
    scheduled = [e["EventId"] for e in history if e["EventType"] == EventType.TASK_SCHEDULED]
    done = [e["TaskScheduledId"] for e in history
            if e["EventType"] in (EventType.TASK_COMPLETED, EventType.TASK_FAILED)]
    assert len(scheduled) == len(set(scheduled)), f"{instance_id}: scheduled twice"
    assert sorted(done) == sorted(scheduled), f"{instance_id}: results {done} for {scheduled}"
    created = [e["EventId"] for e in history
               if e["EventType"] == EventType.SUB_ORCHESTRATION_CREATED]
    finished = [e["TaskScheduledId"] for e in history if e["EventType"] in (
        EventType.SUB_ORCHESTRATION_COMPLETED, EventType.SUB_ORCHESTRATION_FAILED)]
    assert sorted(finished) == sorted(created), f"{instance_id}: children {finished}"
    timers = [e["EventId"] for e in history if e["EventType"] == EventType.TIMER_CREATED]
    fired = [e["TimerId"] for e in history if e["EventType"] == EventType.TIMER_FIRED]
    assert sorted(fired) == sorted(timers), f"{instance_id}: timers {fired} for {timers}"


def test_random_sigkills_lose_nothing_and_complete_nothing_twice(tmp_path):
    rng = random.Random(SEED)
    state = str(tmp_path / "state.db")
    ledger = Ledger()
    print(f"chaos seed {SEED}, {KILLS} kills")  # shown on failure: EMULATOR_CHAOS_SEED=...
    for cycle in range(KILLS):
        host = LocalHost(PROTOCOL_APP, state=state, subprocess=True, time_skipping=True)
        host.start_host()
        stop = threading.Event()
        client = threading.Thread(target=_client, args=(host, ledger, rng, cycle, stop))
        try:
            client.start()
            time.sleep(rng.uniform(0.3, 1.5))
            host.kill()  # SIGKILL, wherever the host is
        finally:
            stop.set()
            client.join(timeout=30)
            host.stop_host()

    with LocalHost(PROTOCOL_APP, state=state, subprocess=True, time_skipping=True) as host:
        present = {i for i in ledger.uncertain if host.status(i) is not None}
        for instance_id in sorted(ledger.acknowledged | present):
            if instance_id.endswith("-waiter") and \
                    host.status(instance_id)["runtimeStatus"] not in TERMINAL:
                _raise(host, instance_id, ledger.expected[instance_id])
        for instance_id in sorted(ledger.acknowledged | present):
            status = host.wait(instance_id, timeout=60)
            assert status["runtimeStatus"] == "Completed", status
            expected = ledger.expected[instance_id]
            if expected is not None:
                assert status["output"] == expected, instance_id
            _check_history(instance_id, host.raw_history(instance_id)["history"])
        assert len(ledger.acknowledged) >= KILLS  # the workload did run
        print(f"{len(ledger.acknowledged)} acknowledged starts, {len(present)} of "
              f"{len(ledger.uncertain)} unanswered ones had happened")

    store = SqliteStore(state)  # the stopped host released the state
    snapshot = store.load()
    store.close()
    assert snapshot.messages == [] and snapshot.work == [], "leftovers in the store"
    assert all(r.status == "Completed" for r in snapshot.instances.values())
    assert ledger.acknowledged <= set(snapshot.instances)
