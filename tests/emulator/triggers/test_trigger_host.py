"""The trigger host's start-up decisions without storage: what runs, what is off and why, and the
one line per other trigger type."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from emulator.triggers.host import TriggerHost, host_id_for
from emulator.worker.index import TriggeredFunction


def fn(name, ttype, **trigger) -> TriggeredFunction:
    return TriggeredFunction(name, ttype, "arg", {"name": "arg", "type": ttype, **trigger}, [],
                             None, False, False)


FUNCTIONS = [
    fn("tick", "timerTrigger", schedule="0 */5 * * * *"),
    fn("bad_tick", "timerTrigger", schedule="every day"),
    fn("unset_tick", "timerTrigger", schedule="%NOPE%"),
    fn("orders", "queueTrigger", queueName="%ORDERS%", connection="Store"),
    fn("no_connection", "queueTrigger", queueName="q-x", connection="Missing"),
    fn("bad_name", "queueTrigger", queueName="Bad_Name", connection="Store"),
    fn("pictures", "blobTrigger", path="pics/{name}", connection="Store", source="EventGrid"),
    fn("bus", "serviceBusTrigger", queueName="sb"),
]
SETTINGS = {"Store": "UseDevelopmentStorage=true", "ORDERS": "Orders-In"}


async def run_nothing(*args):
    return {}


def build(host_json=None) -> TriggerHost:
    return TriggerHost(FUNCTIONS, host_json or {}, run_nothing, lambda: datetime.now(UTC),
                       settings=SETTINGS)


def test_what_runs_and_what_is_off():
    host = build()
    assert [q.queue_name for q in host.queues] == ["orders-in"]
    assert [b.function_name for b in host.blobs] == ["pictures"]
    assert set(host.errors) == {"bad_tick", "unset_tick", "no_connection", "bad_name"}
    assert "not recognized as a valid cron expression" in host.errors["bad_tick"]
    assert "'%NOPE%'" in host.errors["unset_tick"]
    assert "connection 'Missing' is not set" in host.errors["no_connection"]
    assert "not a valid queue name" in host.errors["bad_name"]
    lines = "\n".join(host.lines)
    assert "Function 'pictures': the blob trigger's Event Grid source" in lines
    assert "Function 'bus' (Service Bus trigger on 'sb') is not run by the local host" in lines
    assert host.timers.describe()[0]["function"] == "tick"


def test_a_bad_queues_option_turns_queue_and_blob_triggers_off():
    host = build({"extensions": {"queues": {"batchSize": 64}}})
    assert host.queues == [] and host.blobs == []
    assert "batchSize must be 1-32" in host.errors["host.json"]


def test_snapshot_without_depths_makes_no_storage_call():
    host = build()
    state = asyncio.run(host.snapshot(depths=False))
    assert state["queues"][0]["queue"] == "orders-in" and state["queues"][0]["depth"] is None
    assert {o["function"] for o in state["off"]} >= {"bad_tick", "no_connection"}
    assert state["other"][0]["trigger"] == "serviceBusTrigger"


def test_host_id(tmp_path):
    assert host_id_for(tmp_path / "My App_1") == "my-app-1"
    assert len(host_id_for(tmp_path / ("x" * 50))) == 32
