"""Orchestrator episodes and entity batches waiting for a durabletask worker hold no thread
(``seam.AwaitingWorker``: the runtime awaits them on the host's loop): any number wait, a
stopped host gives them up, and a cancelled wait withdraws its item from the dispatcher."""

import asyncio
import json
import threading
import time
from pathlib import Path

from durabletask import client, entities, task
from durabletask.internal import orchestrator_service_pb2 as pb

from emulator.worker.workitems import (
    Filters,
    ItemKind,
    RemoteWorker,
    WorkItemDispatcher,
    open_index,
)

from .conftest import RunningScheduler, started_worker

KEYS = 50  # entities signalled before any worker connects (a batch each)
STARTED = 250  # orchestrations started before any worker connects (an episode each)


def plus_one(_: task.ActivityContext, value: int) -> int:
    return value + 1


def counter(ctx: entities.EntityContext, value: int | None):
    state = ctx.get_state(int, 0)
    if ctx.operation == "add":
        state += value
        ctx.set_state(state)
    return state


def reads_counter(ctx: task.OrchestrationContext, key: str):
    value = yield ctx.call_entity(entities.EntityInstanceId("counter", key), "get")
    return (yield ctx.call_activity(plus_one, input=value))


def until(scheduler: RunningScheduler, predicate, timeout: float = 30) -> None:
    """Wait for ``predicate()`` (run on the host's loop) to hold: the dispatcher tells no one
    when an item starts waiting, so this polls."""
    deadline = time.monotonic() + timeout
    while not scheduler.on_loop(predicate):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_hundreds_of_items_wait_for_a_worker_with_no_thread_each():
    before = threading.active_count()
    scheduler = RunningScheduler()
    try:
        c = client.TaskHubGrpcClient(host_address=scheduler.address)
        for n in range(KEYS):
            c.signal_entity(entities.EntityInstanceId("counter", f"k{n}"), "add", n)
        ids = [c.schedule_new_orchestration(reads_counter, input=f"k{n % KEYS}")
               for n in range(STARTED)]
        until(scheduler, lambda: scheduler.dispatcher.waiting == KEYS + STARTED)
        # The old host waited in 64 orchestrator threads (and queued the rest behind them).
        assert threading.active_count() - before <= 16
        with started_worker(scheduler.address, orchestrators=(reads_counter,),
                            activities=(plus_one,), entities=(counter,)):
            states = [c.wait_for_orchestration_completion(i, timeout=60) for i in ids]
        assert [s.runtime_status for s in states] == [client.OrchestrationStatus.COMPLETED] * \
            STARTED
        assert [s.serialized_output for s in states] == [str(n % KEYS + 1)
                                                         for n in range(STARTED)]
        assert scheduler.dispatcher.waiting == 0
    finally:
        scheduler.stop()


def test_a_host_stopped_with_items_waiting_stops_at_once_and_gives_them_up(tmp_path):
    state = str(tmp_path / "scheduler.db")
    first = RunningScheduler(state=state)
    c = client.TaskHubGrpcClient(host_address=first.address)
    ids = [c.schedule_new_orchestration(reads_counter, input="k") for _ in range(100)]
    c.signal_entity(entities.EntityInstanceId("counter", "k"), "add", 41)
    until(first, lambda: first.dispatcher.waiting == 101)
    started = time.monotonic()
    first.call(first.server.stop())
    assert time.monotonic() - started < 5
    assert first.on_loop(lambda: first.dispatcher.waiting) == 0  # withdrawn, not left queued
    first.loop.call_soon_threadsafe(first.loop.stop)
    first.thread.join(30)
    second = RunningScheduler(state=state)  # nothing was committed of them: they run now
    try:
        with started_worker(second.address, orchestrators=(reads_counter,),
                            activities=(plus_one,), entities=(counter,)):
            c = client.TaskHubGrpcClient(host_address=second.address)
            states = [c.wait_for_orchestration_completion(i, timeout=60) for i in ids]
        assert {s.serialized_output for s in states} == {"42"}
    finally:
        second.stop()


def test_an_episode_waiting_for_a_worker_keeps_time_from_skipping(scheduler):
    """It is work in flight (its decision may schedule an earlier timer): the host is not
    idle, as when the episode waited in a thread."""
    c = client.TaskHubGrpcClient(host_address=scheduler.address)
    instance_id = c.schedule_new_orchestration(reads_counter, input="i")
    until(scheduler, lambda: scheduler.dispatcher.waiting == 1)
    assert scheduler.on_loop(scheduler.server.engine.idle) is False
    with started_worker(scheduler.address, orchestrators=(reads_counter,),
                        activities=(plus_one,), entities=(counter,)):
        c.wait_for_orchestration_completion(instance_id, timeout=30)
    until(scheduler, scheduler.server.engine.idle)


def test_a_terminated_instance_whose_episode_waits_ends_terminated_once_served(scheduler):
    """Terminate does not cancel the episode in flight (as before): the worker gets it when it
    connects, and the termination is the instance's next episode."""
    c = client.TaskHubGrpcClient(host_address=scheduler.address)
    instance_id = c.schedule_new_orchestration(reads_counter, input="t")
    until(scheduler, lambda: scheduler.dispatcher.waiting == 1)
    c.terminate_orchestration(instance_id, output="enough")
    with started_worker(scheduler.address, orchestrators=(reads_counter,),
                        activities=(plus_one,), entities=(counter,)):
        state = c.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == client.OrchestrationStatus.TERMINATED
    assert state.serialized_output == '"enough"'


# -- the withdraw rule, on the worker seam itself ------------------------------------------
def _batch_request() -> str:
    return '{"self": {"name": "counter", "key": "k"}, "exists": false, "state": null, ' \
           '"batch": [{"id": "r1", "name": "add", "signal": true, "input": "1"}]}'


def test_a_cancelled_wait_withdraws_its_item_before_delivery():
    async def scenario() -> tuple[int, int, bool]:
        dispatcher = WorkItemDispatcher()
        worker = RemoteWorker(open_index(Path(".")), dispatcher)
        call = asyncio.ensure_future(worker.awaited_entity("counter")(_batch_request()))
        await asyncio.sleep(0)  # the call submits its item
        queued = dispatcher.waiting
        call.cancel()
        await asyncio.gather(call, return_exceptions=True)
        stream = dispatcher.connect(Filters())  # a worker connecting later gets nothing
        return queued, dispatcher.waiting, stream.outbox.empty()

    assert asyncio.run(scenario()) == (1, 0, True)


def test_a_cancelled_wait_ignores_the_answer_of_the_worker_that_holds_its_item():
    async def scenario() -> tuple[bool, bool]:
        dispatcher = WorkItemDispatcher()
        stream = dispatcher.connect(Filters())
        worker = RemoteWorker(open_index(Path(".")), dispatcher)
        call = asyncio.ensure_future(worker.awaited_entity("counter")(_batch_request()))
        item = await asyncio.wait_for(stream.outbox.get(), 10)
        call.cancel()
        await asyncio.gather(call, return_exceptions=True)
        answered = dispatcher.complete(item.completionToken, ItemKind.ENTITY,
                                       pb.EntityBatchResult())
        return answered, item.completionToken in stream.held

    assert asyncio.run(scenario()) == (False, False)


def test_the_threaded_entity_call_still_waits_for_the_worker_from_a_thread():
    """``RemoteWorker`` stays a whole ``Worker``: its threaded calls wait in the caller's thread
    for the awaited ones on the dispatcher's loop (the runtime itself awaits those)."""
    async def scenario() -> dict:
        dispatcher = WorkItemDispatcher()
        stream = dispatcher.connect(Filters())
        worker = RemoteWorker(open_index(Path(".")), dispatcher)
        call = asyncio.ensure_future(asyncio.to_thread(worker.entity("counter"),
                                                       _batch_request()))
        item = await asyncio.wait_for(stream.outbox.get(), 10)
        result = pb.EntityBatchResult(results=[pb.OperationResult(
            success=pb.OperationResultSuccess())])
        result.entityState.value = "1"
        assert dispatcher.complete(item.completionToken, ItemKind.ENTITY, result)
        return json.loads(await call)

    answer = asyncio.run(scenario())
    assert (answer["entityExists"], answer["entityState"]) == (True, "1")
