"""Task hubs, as the Durable Task Scheduler emulator keeps them (``--task-hubs``,
``DTS_TASK_HUB_NAMES``): each hub is a world of its own - instances, work items, entities,
queries and purges - chosen by the ``taskhub`` gRPC header that durabletask-azuremanaged sends
(here the real durabletask worker and client send it as metadata); no header is the first hub;
an undeclared hub is NOT_FOUND; each hub keeps its own state across restarts."""

import grpc
import pytest
from durabletask import client, entities, task
from durabletask.internal import orchestrator_service_pb2 as pb
from durabletask.internal import orchestrator_service_pb2_grpc as stubs

from .conftest import RunningScheduler, started_worker


def tagged_a(ctx: task.OrchestrationContext, _):
    return "a"


def tagged_b(ctx: task.OrchestrationContext, _):
    return "b"


# The same orchestration name in both hubs, each worker answering with its hub's tag.
tagged_a.__name__ = tagged_b.__name__ = "tagged"


def counter(ctx: entities.EntityContext, value: int):
    state = ctx.get_state(int, 0) + value
    ctx.set_state(state)
    return state


COUNTER = entities.EntityInstanceId("counter", "k")


def adds(ctx: task.OrchestrationContext, value: int):
    return (yield ctx.call_entity(COUNTER, "add", value))


def test_each_hubs_work_goes_to_its_own_workers_only(two_hubs):
    with started_worker(two_hubs.address, orchestrators=(tagged_a,), taskhub="a"), \
            started_worker(two_hubs.address, orchestrators=(tagged_b,), taskhub="b"):
        hub_a, hub_b = two_hubs.client("a"), two_hubs.client("b")
        started = [(hub_a, hub_a.schedule_new_orchestration("tagged"), "a") for _ in range(4)]
        started += [(hub_b, hub_b.schedule_new_orchestration("tagged"), "b") for _ in range(4)]
        for c, instance_id, tag in started:
            state = c.wait_for_orchestration_completion(instance_id, timeout=30)
            assert state.serialized_output == f'"{tag}"', instance_id


def test_an_item_waits_for_a_worker_of_its_own_hub(two_hubs):
    hub_a, hub_b = two_hubs.client("a"), two_hubs.client("b")
    waiting = hub_b.schedule_new_orchestration("tagged")
    with started_worker(two_hubs.address, orchestrators=(tagged_a,), taskhub="a"):
        done = hub_a.schedule_new_orchestration("tagged")
        assert hub_a.wait_for_orchestration_completion(done, timeout=30).serialized_output == '"a"'
        # Hub a's worker took no work of hub b's, though it takes any name.
        assert hub_b.get_orchestration_state(waiting).runtime_status == \
            client.OrchestrationStatus.PENDING
    with started_worker(two_hubs.address, orchestrators=(tagged_b,), taskhub="b"):
        state = hub_b.wait_for_orchestration_completion(waiting, timeout=30)
    assert state.serialized_output == '"b"'


def test_instances_entities_queries_and_purges_stay_in_their_hub(two_hubs):
    hub_a, hub_b = two_hubs.client("a"), two_hubs.client("b")
    with started_worker(two_hubs.address, orchestrators=(tagged_a, adds),
                        entities=(counter,), taskhub="a"):
        instance_id = hub_a.schedule_new_orchestration("tagged", instance_id="same-id")
        hub_a.wait_for_orchestration_completion(instance_id, timeout=30)
        added = hub_a.schedule_new_orchestration(adds, input=3)
        assert hub_a.wait_for_orchestration_completion(added, timeout=30).serialized_output == "3"
    assert hub_a.get_entity(COUNTER) is not None
    assert hub_b.get_entity(COUNTER) is None
    assert hub_b.get_orchestration_state("same-id") is None
    # The same id is free in the other hub.
    assert hub_b.schedule_new_orchestration("tagged", instance_id="same-id") == "same-id"
    assert {s.instance_id for s in hub_b.get_all_orchestration_states()} == {"same-id"}
    purged = hub_b.purge_orchestrations_by(
        created_time_from=None, runtime_status=[client.OrchestrationStatus.COMPLETED])
    assert purged.deleted_instance_count == 0
    assert hub_a.get_orchestration_state("same-id").runtime_status == \
        client.OrchestrationStatus.COMPLETED


def test_a_call_with_no_taskhub_header_goes_to_the_first_hub(two_hubs):
    plain = two_hubs.client(None)
    instance_id = plain.schedule_new_orchestration("tagged")
    assert two_hubs.client("a").get_orchestration_state(instance_id) is not None
    assert two_hubs.client("b").get_orchestration_state(instance_id) is None
    with started_worker(two_hubs.address, orchestrators=(tagged_a,)):  # no header: hub a
        state = plain.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.serialized_output == '"a"'


def test_hub_names_match_case_insensitively(two_hubs):
    instance_id = two_hubs.client("B").schedule_new_orchestration("tagged")
    assert two_hubs.client("b").get_orchestration_state(instance_id) is not None


def test_an_undeclared_hub_is_not_found_naming_the_declared_ones(two_hubs):
    with pytest.raises(grpc.RpcError) as caught:
        two_hubs.client("nope").schedule_new_orchestration("tagged")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert caught.value.details().startswith("Task hub not found: nope")
    assert "a, b" in caught.value.details()


def test_a_worker_of_an_undeclared_hub_is_refused(two_hubs):
    with grpc.insecure_channel(two_hubs.address) as channel:
        stream = stubs.TaskHubSidecarServiceStub(channel).GetWorkItems(
            pb.GetWorkItemsRequest(), metadata=[("taskhub", "nope")], timeout=10)
        with pytest.raises(grpc.RpcError) as caught:
            next(stream)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert two_hubs.server.hubs[0].dispatcher.connected == 0
    assert two_hubs.server.hubs[1].dispatcher.connected == 0


def test_each_hub_keeps_its_own_state_across_a_restart(tmp_path):
    state = str(tmp_path / "scheduler.db")
    first = RunningScheduler(state=state, task_hubs=("default", "orders"))
    try:
        with started_worker(first.address, orchestrators=(tagged_a,), taskhub="default"), \
                started_worker(first.address, orchestrators=(tagged_b,), taskhub="orders"):
            for hub in ("default", "orders"):
                c = first.client(hub)
                c.wait_for_orchestration_completion(
                    c.schedule_new_orchestration("tagged", instance_id=f"in-{hub}"), timeout=30)
    finally:
        first.stop()
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["scheduler.db",
                                                              "scheduler.orders.db"]
    # Declared in the other order: each hub finds its own state (chosen by name).
    second = RunningScheduler(state=state, task_hubs=("orders", "default"))
    try:
        orders, default = second.client("orders"), second.client("default")
        assert orders.get_orchestration_state("in-orders").serialized_output == '"b"'
        assert orders.get_orchestration_state("in-default") is None
        assert default.get_orchestration_state("in-default").serialized_output == '"a"'
        assert default.get_orchestration_state("in-orders") is None
    finally:
        second.stop()
