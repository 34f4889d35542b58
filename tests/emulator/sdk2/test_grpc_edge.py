"""The gRPC edge, driven by durabletask's own ``TaskHubGrpcClient`` (the client the 2.x SDK's
durable client binding builds on) against a fake of the runtime's management operations."""

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from durabletask import client as dt
from durabletask.entities import EntityInstanceId

from emulator.grpc_api import EntityView, FailureView, GrpcEndpoint, GrpcEndpointError
from emulator.protocol import history as h

from .fake_operations import T0, FakeOperations


@pytest.fixture
def edge():
    """(fake operations, client) with the endpoint served on a loop in its own thread."""
    ops = FakeOperations()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder = {}

    async def serve():
        ops._condition()  # bind the fake's notifications to this loop
        endpoint = GrpcEndpoint(ops)
        await endpoint.start()
        holder["endpoint"] = endpoint
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(serve(), loop).result(timeout=30)
    ready.wait(30)
    endpoint = holder["endpoint"]
    client = dt.TaskHubGrpcClient(host_address=endpoint.rpc_base_url)
    try:
        yield ops, client
    finally:
        client.close()
        asyncio.run_coroutine_threadsafe(endpoint.stop(0), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


def _code(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code()


def test_start_and_status_carry_the_payload_text_and_the_runtime_status(edge):
    ops, client = edge
    instance_id = client.schedule_new_orchestration("orch", input={"a": 1}, instance_id="i1",
                                                    version="2.0")
    assert instance_id == "i1"
    assert ops.calls[-1][:5] == ("start", "orch", '{"a": 1}', "i1", "2.0")
    state = client.get_orchestration_state("i1")
    assert state.runtime_status == dt.OrchestrationStatus.PENDING
    assert state.get_input() == {"a": 1} and state.name == "orch"
    assert client.get_orchestration_state("nobody") is None


def test_starting_an_active_instance_again_is_already_exists(edge):
    _, client = edge
    client.schedule_new_orchestration("orch", instance_id="dup")
    assert _code(lambda: client.schedule_new_orchestration("orch", instance_id="dup")) == \
        grpc.StatusCode.ALREADY_EXISTS


def test_wait_for_completion_returns_when_the_instance_finishes(edge):
    ops, client = edge
    client.schedule_new_orchestration("orch", instance_id="w1")
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(client.wait_for_orchestration_completion, "w1", timeout=30)
        ops.finish("w1", "Completed", json.dumps([1, 2]))
        state = waiting.result(timeout=30)
    assert state.runtime_status == dt.OrchestrationStatus.COMPLETED
    assert state.get_output() == [1, 2]


def test_a_failed_instance_reports_its_failure_details(edge):
    ops, client = edge
    client.schedule_new_orchestration("orch", instance_id="f1")
    ops.finish("f1", "Failed", "boom", FailureView("builtins.ValueError", "boom", "trace"))
    state = client.get_orchestration_state("f1")
    assert state.runtime_status == dt.OrchestrationStatus.FAILED
    assert state.failure_details.error_type == "builtins.ValueError"
    assert state.failure_details.message == "boom"
    without = client.get_orchestration_state("f1", fetch_payloads=False)
    assert without.failure_details is None and without.serialized_output is None


def test_raise_terminate_suspend_resume_and_their_errors(edge):
    ops, client = edge
    client.schedule_new_orchestration("orch", instance_id="r1")
    client.raise_orchestration_event("r1", "approval", data=True)
    assert ops.calls[-1] == ("raise_event", "r1", "approval", "true")
    client.suspend_orchestration("r1", reason="hold")
    assert client.get_orchestration_state("r1").runtime_status == \
        dt.OrchestrationStatus.SUSPENDED
    assert _code(lambda: client.suspend_orchestration("r1")) == \
        grpc.StatusCode.FAILED_PRECONDITION
    client.resume_orchestration("r1", reason="go")
    client.terminate_orchestration("r1", output="enough")
    state = client.get_orchestration_state("r1")
    assert state.runtime_status == dt.OrchestrationStatus.TERMINATED
    assert state.get_output() == "enough"
    assert _code(lambda: client.raise_orchestration_event("r1", "late")) == \
        grpc.StatusCode.FAILED_PRECONDITION
    assert _code(lambda: client.raise_orchestration_event("nobody", "x")) == \
        grpc.StatusCode.NOT_FOUND


def test_rewind_restart_and_purge(edge):
    ops, client = edge
    client.schedule_new_orchestration("orch", instance_id="p1", input=5)
    assert _code(lambda: client.rewind_orchestration("p1")) == \
        grpc.StatusCode.FAILED_PRECONDITION
    ops.finish("p1", "Failed", "boom")
    client.rewind_orchestration("p1", reason="try again")
    assert ops.calls[-1] == ("rewind", "p1", "try again")
    assert client.restart_orchestration("p1", restart_with_new_instance_id=True) == "p1-again"
    assert _code(lambda: client.restart_orchestration("nobody")) == grpc.StatusCode.NOT_FOUND
    ops.finish("p1", "Completed", "1")
    assert client.purge_orchestration("p1").deleted_instance_count == 1
    assert client.purge_orchestration("p1").deleted_instance_count == 0
    ops.finish("p1-again", "Failed", "x")
    result = client.purge_orchestrations_by(created_time_from=T0,
                                            runtime_status=[dt.OrchestrationStatus.FAILED])
    assert result.deleted_instance_count == 1
    assert ops.calls[-1] == ("purge_where", T0, None, ["Failed"])


def test_query_pages_through_every_instance(edge):
    ops, client = edge
    for n in range(5):
        client.schedule_new_orchestration("orch", instance_id=f"q{n}")
    ops.finish("q3", "Completed", "3")
    query = dt.OrchestrationQuery(max_instance_count=2, fetch_inputs_and_outputs=True)
    states = client.get_all_orchestration_states(query)
    assert [s.instance_id for s in states] == [f"q{n}" for n in range(5)]
    completed = client.get_all_orchestration_states(dt.OrchestrationQuery(
        runtime_status=[dt.OrchestrationStatus.COMPLETED]))
    assert [s.instance_id for s in completed] == ["q3"]


def test_history_streams_the_stored_events_as_protobuf(edge):
    ops, client = edge
    ops.histories["hst"] = [
        h.execution_started(T0, name="orch", instance_id="hst", execution_id="e",
                            input_json="1"),
        h.task_scheduled(T0, 0, "act", "1"),
        h.task_completed(T0, 0, "2"),
    ] * 300  # more than one chunk
    events = client.get_orchestration_history("hst")
    assert len(events) == 900
    assert type(events[1]).__name__ == "TaskScheduledEvent" and events[1].name == "act"
    assert _code(lambda: client.get_orchestration_history("nobody")) == \
        grpc.StatusCode.NOT_FOUND


def test_entities_signal_get_query_and_clean(edge):
    ops, client = edge
    counter = EntityInstanceId("counter", "c1")
    client.signal_entity(counter, "add", input=3)
    assert ops.calls[-1][:4] == ("signal_entity", "@counter@c1", "add", "3")
    assert client.get_entity(counter) is None
    ops.entities["@counter@c1"] = EntityView("@counter@c1", T0, state="3")
    ops.entities["@counter@empty"] = EntityView("@counter@empty", T0, state=None)
    entity = client.get_entity(counter)
    assert entity.get_state(int) == 3 and str(entity.id) == "@counter@c1"
    listed = client.get_all_entities(dt.EntityQuery(instance_id_starts_with="@counter@c"))
    assert [str(e.id) for e in listed] == ["@counter@c1"]
    cleaned = client.clean_entity_storage()
    assert cleaned.empty_entities_removed == 1


def test_a_taken_port_is_a_clear_error():
    async def scenario():
        first = GrpcEndpoint(FakeOperations())
        port = await first.start()
        second = GrpcEndpoint(FakeOperations(), port=port)
        try:
            with pytest.raises(GrpcEndpointError, match=str(port)):
                await second.start()
        finally:
            await second.stop(0)
            await first.stop(0)

    asyncio.run(scenario())


def test_a_scheduled_start_passes_its_time(edge):
    from datetime import timedelta

    ops, client = edge
    at = T0 + timedelta(hours=2, microseconds=5)
    client.schedule_new_orchestration("orch", instance_id="s1", start_at=at)
    assert ops.calls[-1][5] == at


def test_an_unknown_runtime_status_in_a_filter_is_invalid_argument(edge):
    """Each call that filters by status (query, purge, list) names the unknown number."""
    from durabletask.internal import orchestrator_service_pb2 as pb

    _, client = edge
    stub = client._stub
    calls = [
        lambda: stub.QueryInstances(pb.QueryInstancesRequest(
            query=pb.InstanceQuery(runtimeStatus=[99]))),
        lambda: stub.PurgeInstances(pb.PurgeInstancesRequest(
            purgeInstanceFilter=pb.PurgeInstanceFilter(runtimeStatus=[99]))),
        lambda: stub.ListInstanceIds(pb.ListInstanceIdsRequest(runtimeStatus=[99])),
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as caught:
            call()
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "Unknown orchestration status 99" in caught.value.details()
