"""Chunked orchestrator responses: a worker whose ``OrchestratorResponse`` would pass its gRPC
message limit sends it in chunks (``isPartial``, ``chunkIndex``; the .NET worker does, the
Python one never needs to), and the scheduler joins them before it reads the decision."""


import grpc
import pytest
from durabletask import client
from durabletask import history as dt_history
from durabletask.internal import orchestrator_service_pb2 as pb

from .conftest import next_item, raw_worker


def _schedule(task_id: int, name: str) -> pb.OrchestratorAction:
    return pb.OrchestratorAction(id=task_id, scheduleTask=pb.ScheduleTaskAction(name=name))


def _chunk(item: pb.WorkItem, index: int | None, partial: bool,
           *actions: pb.OrchestratorAction, status: str | None = None) -> pb.OrchestratorResponse:
    response = pb.OrchestratorResponse(instanceId=item.orchestratorRequest.instanceId,
                                       completionToken=item.completionToken,
                                       actions=list(actions), isPartial=partial)
    if index is not None:
        response.chunkIndex.value = index
    if status is not None:
        response.customStatus.value = status
    return response


def _complete(item: pb.WorkItem, result: str) -> pb.OrchestratorResponse:
    done = pb.OrchestratorAction(id=99, completeOrchestration=pb.CompleteOrchestrationAction(
        orchestrationStatus=pb.ORCHESTRATION_STATUS_COMPLETED))
    done.completeOrchestration.result.value = result
    return _chunk(item, None, False, done)


def _answer_activities(stub, items: list[pb.WorkItem]) -> None:
    for item in items:
        request = item.activityRequest
        response = pb.ActivityResponse(instanceId=request.orchestrationInstance.instanceId,
                                       taskId=request.taskId,
                                       completionToken=item.completionToken)
        response.result.value = f'"{request.name}"'
        stub.CompleteActivityTask(response)


def _finish(c: client.TaskHubGrpcClient, instance_id: str, stub, stream,
            activities: list[pb.WorkItem]) -> client.OrchestrationState:
    """Answer the activities, complete the episode they wake, and wait for the end."""
    _answer_activities(stub, activities)
    stub.CompleteOrchestratorTask(_complete(next_item(stream), '"done"'))
    return c.wait_for_orchestration_completion(instance_id, timeout=30)


def _scheduled(c: client.TaskHubGrpcClient, instance_id: str) -> list[str]:
    return [e.name for e in c.get_orchestration_history(instance_id)
            if isinstance(e, dt_history.TaskScheduledEvent)]


def test_the_chunks_of_a_response_are_joined_in_order(scheduler):
    c = client.TaskHubGrpcClient(host_address=scheduler.address)
    instance_id = c.schedule_new_orchestration("chunky")
    with raw_worker(scheduler.address) as (stub, stream):
        episode = next_item(stream)
        stub.CompleteOrchestratorTask(_chunk(episode, 0, True, _schedule(1, "a"),
                                             status='"first"'))
        stub.CompleteOrchestratorTask(_chunk(episode, 1, True, _schedule(2, "b"),
                                             status='"first"'))
        # Nothing is read before the last chunk: no activity is out yet.
        assert scheduler.on_loop(lambda: len(scheduler.dispatcher.open_items())) == 1
        stub.CompleteOrchestratorTask(_chunk(episode, 2, False, _schedule(3, "c"),
                                             status='"last"'))
        activities = [next_item(stream) for _ in range(3)]
        assert [(i.activityRequest.taskId, i.activityRequest.name) for i in activities] == \
            [(1, "a"), (2, "b"), (3, "c")]
        assert c.get_orchestration_state(instance_id).serialized_custom_status == '"last"'
        state = _finish(c, instance_id, stub, stream, activities)
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    assert _scheduled(c, instance_id) == ["a", "b", "c"]


def test_a_chunk_sent_again_is_taken_once_and_an_early_one_is_refused(scheduler):
    c = client.TaskHubGrpcClient(host_address=scheduler.address)
    instance_id = c.schedule_new_orchestration("chunky")
    with raw_worker(scheduler.address) as (stub, stream):
        episode = next_item(stream)
        first = _chunk(episode, 0, True, _schedule(1, "a"))
        stub.CompleteOrchestratorTask(first)
        stub.CompleteOrchestratorTask(first)  # a retried call
        with pytest.raises(grpc.RpcError) as refused:
            stub.CompleteOrchestratorTask(_chunk(episode, 2, False, _schedule(3, "c")))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "Chunk 2" in refused.value.details()
        assert "before chunk 1" in refused.value.details()
        # The refusal lost nothing: the chunk taken and the missing one make the response.
        stub.CompleteOrchestratorTask(_chunk(episode, 1, False, _schedule(2, "b")))
        activities = [next_item(stream), next_item(stream)]
        assert [i.activityRequest.name for i in activities] == ["a", "b"]
        state = _finish(c, instance_id, stub, stream, activities)
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    assert _scheduled(c, instance_id) == ["a", "b"]


def test_chunks_from_a_worker_that_went_away_are_dropped_with_its_delivery(scheduler):
    c = client.TaskHubGrpcClient(host_address=scheduler.address)
    instance_id = c.schedule_new_orchestration("chunky")
    with raw_worker(scheduler.address) as (stub, stream):
        episode = next_item(stream)
        stub.CompleteOrchestratorTask(_chunk(episode, 0, True, _schedule(1, "lost")))
    # That worker went away mid-response; the next one gets the episode again.
    with raw_worker(scheduler.address) as (stub, stream):
        again = next_item(stream)
        assert again.orchestratorRequest.instanceId == instance_id
        # The late end of the old delivery's response is ignored (its token is not held).
        stub.CompleteOrchestratorTask(_chunk(episode, 1, False, _schedule(2, "late")))
        stub.CompleteOrchestratorTask(_complete(again, '"fresh"'))
        state = c.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.serialized_output == '"fresh"'
    assert _scheduled(c, instance_id) == []
