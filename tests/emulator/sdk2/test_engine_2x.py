"""The engine with a 2.x worker behind the seam (durabletask's executor standing in for the 2.x
SDK, so this runs on the host's own Python): entity critical sections, entities that start
orchestrations, scheduled signals waiting on the timer queue, and a failure's details."""

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from durabletask import entities, task

from emulator.protocol.entities import EntityId
from emulator.protocol.enums import EventType, RuntimeStatus
from emulator.runtime.assembly import build_engine
from emulator.runtime.clock import make_clock
from emulator.runtime.engine import Limits
from emulator.store import MemoryStore
from emulator.worker import sdk2
from emulator.worker.index import (
    ActivityFunction,
    EntityFunction,
    FunctionIndex,
    OrchestratorFunction,
)
from emulator.worker.invoke import activity_failure

from .durabletask_functions import entity_handler, orchestrator_handler


class Counter(entities.DurableEntity):
    def add(self, amount: int) -> int:
        self.set_state(self.get_state(int, 0) + amount)
        return self.get_state(int, 0)

    def get(self, _=None) -> int:
        return self.get_state(int, 0)

    def spawn(self, instance_id: str) -> None:
        self.schedule_new_orchestration("locked_add", input="spawned", instance_id=instance_id)


def locked_add(ctx: task.OrchestrationContext, key: str):
    counter = entities.EntityInstanceId("counter", key)
    with (yield ctx.lock_entities([counter])):
        yield ctx.call_entity(counter, "add", 5)
        total = yield ctx.call_entity(counter, "get")
    return total


def locked_throw(ctx: task.OrchestrationContext, key: str):
    counter = entities.EntityInstanceId("counter", key)
    with (yield ctx.lock_entities([counter])):
        yield ctx.call_entity(counter, "add", 1)
        raise RuntimeError("boom inside the lock")


def locked_wait(ctx: task.OrchestrationContext, key: str):
    counter = entities.EntityInstanceId("counter", key)
    with (yield ctx.lock_entities([counter])):
        yield ctx.call_entity(counter, "add", 5)
        yield ctx.wait_for_external_event("go")
        total = yield ctx.call_entity(counter, "get")
    return total


def signal_later(ctx: task.OrchestrationContext, key: str):
    when = ctx.current_utc_datetime + timedelta(hours=1)
    ctx.signal_entity(entities.EntityInstanceId("counter", key), "add", 7, signal_time=when)
    yield ctx.create_timer(ctx.current_utc_datetime + timedelta(hours=2))
    return "done"


def notify(ctx: task.OrchestrationContext, target: str):
    ctx.send_event(target, "go", data={"from": ctx.instance_id})
    return "sent"


def waiter(ctx: task.OrchestrationContext, _):
    return (yield ctx.wait_for_external_event("go"))


def collect(ctx: task.OrchestrationContext, seen: list):
    if len(seen) == 2:
        return seen
    item = yield ctx.wait_for_external_event("item")
    ctx.continue_as_new(seen + [item], save_events=True)


ORCHESTRATORS = {"collect": collect, "locked_add": locked_add, "locked_throw": locked_throw,
                 "locked_wait": locked_wait, "signal_later": signal_later,
                 "notify": notify, "waiter": waiter}


class DurableTaskWorker:
    """A ``Worker`` for a 2.x app whose functions are durabletask ones, in this process."""

    def __init__(self) -> None:
        self.app = FunctionIndex(
            Path("."), [], {n: OrchestratorFunction(n, n) for n in ORCHESTRATORS},
            {"noop": ActivityFunction("noop", "noop", False, "input", False)},
            {"counter": EntityFunction("counter", "Counter")}, {},
            sdk=sdk2.SdkGeneration.V2)
        self._orchestrators = sdk2.in_process(orchestrator_handler(*ORCHESTRATORS.values()),
                                              "context")
        self._entities = sdk2.in_process(entity_handler(Counter, "counter"), "context")

    def orchestrator(self, name):
        known = name in ORCHESTRATORS
        return lambda record, history, texts: sdk2.invoke_orchestrator(
            self._orchestrators if known else None, record, history)

    def entity(self, name):
        return sdk2.entity_invoker(self._entities) if name == "counter" else None

    async def run_activity(self, activity, input_text, timeout):
        return input_text

    def activity_failure(self, name, exc):
        return activity_failure(name, exc)

    async def run_http(self, function, call, timeout):
        raise NotImplementedError

    replaced_threads = 0

    def close(self) -> None:
        pass


async def _engine(skipping=False):
    engine = build_engine(None, MemoryStore(), make_clock("always" if skipping else "off"),
                          Limits(100, 10, 4), worker=DurableTaskWorker())
    await engine.start()
    return engine


async def _finished(engine, instance_id):
    inst = await engine.wait_for(instance_id, lambda i: i is not None and i.is_terminal, 30)
    assert inst is not None and inst.is_terminal, instance_id
    return inst


def _state(engine, key):
    record = engine.entities.queries.read(EntityId("counter", key))
    return None if record is None else json.loads(record.state)


def test_a_critical_section_locks_the_entity_and_releases_it_even_when_the_code_throws():
    async def scenario():
        engine = await _engine()
        engine.operations.start("locked_throw", json.dumps("k"), "first")
        first = await _finished(engine, "first")
        engine.operations.start("locked_add", json.dumps("k"), "second")
        second = await _finished(engine, "second")
        await engine.stop()
        return engine, first, second

    engine, first, second = asyncio.run(scenario())
    assert first.status == RuntimeStatus.Failed
    assert "boom inside the lock" in first.record.output
    assert second.status == RuntimeStatus.Completed and json.loads(second.record.output) == 6
    sent = [e["Name"] for e in second.history if e["EventType"] == EventType.EVENT_SENT]
    assert sent == ["op", "op", "op", "release"]  # lock, add, get, release
    assert not engine.entities.entities["@counter@k"].lock.held


def test_requests_of_others_wait_while_the_entity_is_locked():
    async def scenario():
        engine = await _engine()
        engine.operations.start("locked_wait", json.dumps("busy"), "holder")
        await engine.wait_for("holder", lambda i: _state(engine, "busy") == 5, 30)
        engine.entities.signal(EntityId("counter", "busy"), "add", "100")  # not the holder's
        busy = engine.entities.entities["@counter@busy"]
        # Delivery decides at once: a free entity would have started a batch for it.
        held = (_state(engine, "busy"), len(busy.inbox), busy.running, engine.entities.busy())
        engine.operations.raise_event("holder", "go", None)
        holder = await _finished(engine, "holder")
        await engine.wait_for("holder", lambda i: _state(engine, "busy") == 105, 5)
        await engine.stop()
        return engine, held, holder

    engine, held, holder = asyncio.run(scenario())
    assert held == (5, 1, False, False)  # waiting, and not keeping the host busy
    assert json.loads(holder.record.output) == 5  # the holder saw its own state only
    assert _state(engine, "busy") == 105  # the signal ran once the lock was released


def test_an_entity_starts_an_orchestration_after_its_batch():
    async def scenario():
        engine = await _engine()
        engine.entities.signal(EntityId("counter", "spawner"), "spawn", json.dumps("child-1"))
        await engine.wait_for("child-1", lambda i: i is not None, 30)
        child = await _finished(engine, "child-1")
        await engine.stop()
        return child

    child = asyncio.run(scenario())
    assert child.status == RuntimeStatus.Completed and json.loads(child.record.output) == 5


def test_a_scheduled_signal_waits_on_the_timer_queue_and_time_skipping_reaches_it():
    async def scenario():
        engine = await _engine(skipping=True)
        engine.clock.hold()
        engine.operations.start("signal_later", json.dumps("later"), "sender")
        await engine.wait_for("sender", lambda i: i is not None and len(i.history) > 3, 30)
        before = _state(engine, "later")
        pending = [m.instance_id for m in engine.timers.pending()]
        engine.clock.release()
        done = await _finished(engine, "sender")
        await engine.stop()
        return engine, before, pending, done

    engine, before, pending, done = asyncio.run(scenario())
    assert before is None and "@counter@later" in pending
    assert done.status == RuntimeStatus.Completed
    assert _state(engine, "later") == 7


def test_a_scheduled_start_stays_pending_until_its_time():
    async def scenario():
        engine = await _engine(skipping=True)
        engine.clock.hold()
        start_at = engine.clock.now() + timedelta(hours=3)
        engine.operations.start("locked_add", json.dumps("sched"), "later", start_at=start_at)
        pending = (engine.instances["later"].status, engine.instances["later"].inbox,
                   [m.instance_id for m in engine.timers.pending()])
        engine.clock.release()
        done = await _finished(engine, "later")
        await engine.stop()
        return pending, done, start_at

    pending, done, start_at = asyncio.run(scenario())
    assert pending == (RuntimeStatus.Pending, [], ["later"])
    assert done.status == RuntimeStatus.Completed and json.loads(done.record.output) == 5
    started = done.history[1]
    assert started["EventType"] == EventType.EXECUTION_STARTED
    assert started["ScheduledStartTime"] is not None


def test_an_orchestration_sends_an_event_to_another():
    async def scenario():
        engine = await _engine()
        engine.operations.start("waiter", None, "receiver")
        engine.operations.start("notify", json.dumps("receiver"), "sender")
        sender = await _finished(engine, "sender")
        receiver = await _finished(engine, "receiver")
        engine.operations.start("notify", json.dumps("nobody"), "lost")  # dropped, as in DTFx
        lost = await _finished(engine, "lost")
        await engine.stop()
        return sender, receiver, lost

    sender, receiver, lost = asyncio.run(scenario())
    assert json.loads(receiver.record.output) == {"from": "sender"}
    sent = [e for e in sender.history if e["EventType"] == EventType.EVENT_SENT]
    assert (sent[0]["InstanceId"], sent[0]["Name"]) == ("receiver", "go")
    assert lost.status == RuntimeStatus.Completed


def test_events_carried_over_by_continue_as_new_reach_the_new_execution():
    async def scenario():
        engine = await _engine()
        engine.operations.start("collect", "[]", "collector")
        await engine.wait_for("collector", lambda i: i is not None and i.history, 30)
        # both events arrive in one episode: the second is carried over to the next execution
        engine.operations.raise_event("collector", "item", json.dumps("a"))
        engine.operations.raise_event("collector", "item", json.dumps("b"))
        done = await _finished(engine, "collector")
        await engine.stop()
        return done

    done = asyncio.run(scenario())
    assert json.loads(done.record.output) == ["a", "b"]
