"""``GetEntity`` / ``QueryEntities`` for entities held in a critical section, through the real
``durabletask`` worker and client on the scheduler host, as the extension's
``EntityBackendQueries`` answer them: an entity without state that is only locked (or has
requests queued) is *transient* - listed when the query includes transient entities, unknown to
``GetEntity`` - and the backlog counts the requests queued behind the lock.

An orchestration locks the entity and waits (``critical_sections.py``); the client's signals
then queue behind the lock. A batch the
worker holds (its entity function waits on an event) is not part of the backlog. Nothing
sleeps."""

import threading

import grpc
from durabletask import client, entities, task, worker
from durabletask.internal import orchestrator_service_pb2 as pb
from durabletask.internal import orchestrator_service_pb2_grpc as stubs

from .critical_sections import hold, holds, note_locked, release

entered, proceed = threading.Event(), threading.Event()


def counter(ctx: entities.EntityContext, value: int):
    state = ctx.get_state(int, 0)
    if ctx.operation == "wait":  # holds its batch until the test lets it go
        entered.set()
        assert proceed.wait(30)
    if ctx.operation == "add":
        state += value
        ctx.set_state(state)
    return state


def adds(ctx: task.OrchestrationContext, key: str):
    return (yield ctx.call_entity(entities.EntityInstanceId("counter", key), "add", 1))


def _raw_query(address: str, include_transient: bool) -> dict[str, pb.EntityMetadata]:
    with grpc.insecure_channel(address) as channel:
        query = pb.EntityQuery(includeTransient=include_transient)
        response = stubs.TaskHubSidecarServiceStub(channel).QueryEntities(
            pb.QueryEntitiesRequest(query=query))
    return {e.instanceId: e for e in response.entities}


def _run(c: client.TaskHubGrpcClient, key: str) -> str:
    instance_id = c.schedule_new_orchestration(adds, input=key)
    return c.wait_for_orchestration_completion(instance_id, timeout=30).serialized_output


def _worker(address: str) -> worker.TaskHubGrpcWorker:
    w = worker.TaskHubGrpcWorker(host_address=address)
    w.add_orchestrator(holds)
    w.add_orchestrator(adds)
    w.add_activity(note_locked)
    w.add_entity(counter)
    return w


def test_a_locked_entity_without_state_is_transient(scheduler):
    fresh = entities.EntityInstanceId("counter", "fresh")
    with _worker(scheduler.address) as w:
        w.start()
        c = client.TaskHubGrpcClient(host_address=scheduler.address)
        holder = hold(c, "fresh")
        c.signal_entity(fresh, "add", 1)  # queued behind the lock

        listed = {str(m.id): m for m in c.get_all_entities(
            client.EntityQuery(include_transient=True))}
        assert "@counter@fresh" in listed
        assert listed["@counter@fresh"].backlog_queue_size == 1
        assert "@counter@fresh" not in {str(m.id) for m in c.get_all_entities()}
        assert c.get_entity(fresh) is None  # the extension's GetEntity: includeStateless false
        raw = _raw_query(scheduler.address, include_transient=True)["@counter@fresh"]
        assert raw.lockedBy.value == holder
        assert not raw.HasField("serializedState")

        release(c, holder)
        assert _run(c, "fresh") == "2"  # the queued signal ran after the release
    assert c.get_entity(fresh).backlog_queue_size == 0


def test_the_backlog_counts_the_requests_queued_behind_a_lock(scheduler):
    kept = entities.EntityInstanceId("counter", "kept")
    with _worker(scheduler.address) as w:
        w.start()
        c = client.TaskHubGrpcClient(host_address=scheduler.address)
        assert _run(c, "kept") == "1"
        holder = hold(c, "kept")
        for _ in range(3):
            c.signal_entity(kept, "add", 1)

        metadata = c.get_entity(kept)
        assert metadata.backlog_queue_size == 3
        assert metadata.get_state(int) == 1
        assert metadata._locked_by == holder  # the SDK's get_locked_by parses an entity id
        [listed] = [m for m in c.get_all_entities() if str(m.id) == "@counter@kept"]
        assert listed.backlog_queue_size == 3
        assert _raw_query(scheduler.address, False)["@counter@kept"].lockedBy.value == holder

        release(c, holder)
        assert _run(c, "kept") == "5"
        metadata = c.get_entity(kept)
    assert (metadata.backlog_queue_size, metadata._locked_by) == (0, "")


def test_the_backlog_leaves_out_the_requests_of_the_running_batch(scheduler):
    slow = entities.EntityInstanceId("counter", "slow")
    entered.clear()
    proceed.clear()
    with _worker(scheduler.address) as w:
        w.start()
        c = client.TaskHubGrpcClient(host_address=scheduler.address)
        assert _run(c, "slow") == "1"
        try:
            c.signal_entity(slow, "wait")
            assert entered.wait(30), "the batch did not start"
            c.signal_entity(slow, "add", 1)
            c.signal_entity(slow, "add", 1)
            backlog = c.get_entity(slow).backlog_queue_size
        finally:
            proceed.set()
        assert backlog == 2  # the 'wait' in the worker is being processed, not queued
        assert _run(c, "slow") == "4"
