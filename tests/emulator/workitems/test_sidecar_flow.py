"""Standalone durabletask workers and clients against the scheduler host: the installed
``durabletask``'s real ``TaskHubGrpcWorker`` takes orchestrator episodes, activities and entity
batches as work items from ``GetWorkItems`` and completes them; its ``TaskHubGrpcClient``
manages the instances on the same endpoint."""

import asyncio
import threading

import grpc
import pytest
from durabletask import client, entities, task
from durabletask import history as dt_history
from durabletask.internal import orchestrator_service_pb2 as pb
from durabletask.internal import orchestrator_service_pb2_grpc as stubs

from emulator.grpc_api import GrpcEndpoint

from .conftest import RunningScheduler, next_item, raw_worker, started_worker


def plus_one(_: task.ActivityContext, value: int) -> int:
    return value + 1


def sequence(ctx: task.OrchestrationContext, start: int):
    numbers = [start]
    for _ in range(3):
        numbers.append((yield ctx.call_activity(plus_one, input=numbers[-1])))
    ctx.set_custom_status({"step": len(numbers)})
    return numbers


def fail(_: task.ActivityContext, _input) -> None:
    raise ValueError("Kah-BOOM")


def calls_fail(ctx: task.OrchestrationContext, _):
    yield ctx.call_activity(fail)


def counter(ctx: entities.EntityContext, value: int):
    state = ctx.get_state(int, 0)
    if ctx.operation == "add":
        state += value
        ctx.set_state(state)
    return state


def uses_counter(ctx: task.OrchestrationContext, _):
    target = entities.EntityInstanceId("counter", "k")
    ctx.signal_entity(target, "add", 5)
    total = yield ctx.call_entity(target, "add", 2)
    return total


def test_an_orchestration_runs_its_activities_in_the_worker(scheduler):
    with started_worker(scheduler.address, orchestrators=(sequence,), activities=(plus_one,)):
        c = client.TaskHubGrpcClient(host_address=scheduler.address)
        instance_id = c.schedule_new_orchestration(sequence, input=1)
        state = c.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    assert state.serialized_output == "[1, 2, 3, 4]"  # the worker's text, as it sent it
    assert state.serialized_custom_status == '{"step": 4}'
    history = list(c.get_orchestration_history(instance_id))
    assert [e.name for e in history if isinstance(e, dt_history.TaskScheduledEvent)] == \
        ["plus_one"] * 3


def test_an_activity_failure_reaches_the_orchestrator_with_its_type_and_message(scheduler):
    with started_worker(scheduler.address, orchestrators=(calls_fail,), activities=(fail,)):
        c = client.TaskHubGrpcClient(host_address=scheduler.address)
        instance_id = c.schedule_new_orchestration(calls_fail)
        state = c.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == client.OrchestrationStatus.FAILED
    assert state.failure_details.error_type == "durabletask.task.TaskFailedError"
    assert state.failure_details.message.endswith("Kah-BOOM")
    failed = next(e for e in c.get_orchestration_history(instance_id)
                  if isinstance(e, dt_history.TaskFailedEvent))
    assert failed.failure_details.error_type == "builtins.ValueError"  # as the worker sent it


def test_an_entity_runs_in_the_worker_for_signals_calls_and_reads(scheduler):
    with started_worker(scheduler.address, orchestrators=(uses_counter,), entities=(counter,)):
        c = client.TaskHubGrpcClient(host_address=scheduler.address)
        instance_id = c.schedule_new_orchestration(uses_counter)
        state = c.wait_for_orchestration_completion(instance_id, timeout=30)
        assert state.runtime_status == client.OrchestrationStatus.COMPLETED
        assert state.serialized_output == "7"
        c.signal_entity(entities.EntityInstanceId("counter", "k"), "add", 3)
        for _ in range(300):
            metadata = c.get_entity(entities.EntityInstanceId("counter", "k"))
            if metadata is not None and metadata.get_state(int) == 10:
                break
            threading.Event().wait(0.02)
    assert metadata.get_state(int) == 10


def fragile(ctx: entities.EntityContext, _):
    raise ValueError("Something went wrong!")


def calls_fragile(ctx: task.OrchestrationContext, _):
    yield ctx.call_entity(entities.EntityInstanceId("fragile", "k"), "fail")


def test_an_entity_operation_failure_reaches_its_caller_with_its_own_message(scheduler):
    with started_worker(scheduler.address, orchestrators=(calls_fragile,), entities=(fragile,)):
        c = client.TaskHubGrpcClient(host_address=scheduler.address)
        instance_id = c.schedule_new_orchestration(calls_fragile)
        state = c.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == client.OrchestrationStatus.FAILED
    assert state.failure_details.message == (
        "Operation 'fail' on entity '@fragile@k' failed with error: Something went wrong!")


def test_an_abandoned_item_is_delivered_again_with_a_new_token(scheduler):
    c = client.TaskHubGrpcClient(host_address=scheduler.address)
    instance_id = c.schedule_new_orchestration("sequence", input=1)
    with raw_worker(scheduler.address) as (stub, stream):
        first = next_item(stream)
        assert first.orchestratorRequest.instanceId == instance_id
        stub.AbandonTaskOrchestratorWorkItem(
            pb.AbandonOrchestrationTaskRequest(completionToken=first.completionToken))
        again = next_item(stream)
        assert again.orchestratorRequest == first.orchestratorRequest
        assert again.completionToken != first.completionToken
        # A completion with the abandoned token is ignored; the new one completes.
        done = pb.OrchestratorAction(id=0, completeOrchestration=pb.CompleteOrchestrationAction(
            orchestrationStatus=pb.ORCHESTRATION_STATUS_COMPLETED))
        done.completeOrchestration.result.value = '"stale"'
        stub.CompleteOrchestratorTask(pb.OrchestratorResponse(
            instanceId=instance_id, completionToken=first.completionToken, actions=[done]))
        done.completeOrchestration.result.value = '"fresh"'
        stub.CompleteOrchestratorTask(pb.OrchestratorResponse(
            instanceId=instance_id, completionToken=again.completionToken, actions=[done]))
        state = c.wait_for_orchestration_completion(instance_id, timeout=30)
        assert state.serialized_output == '"fresh"'
        assert scheduler.dispatcher.redelivered == 1


def test_an_item_held_by_a_worker_that_disconnects_goes_to_the_next_worker(scheduler):
    c = client.TaskHubGrpcClient(host_address=scheduler.address)
    instance_id = c.schedule_new_orchestration(sequence, input=5)
    with raw_worker(scheduler.address) as (_, stream):
        held = next_item(stream)
        assert held.orchestratorRequest.instanceId == instance_id
    # the worker has gone away without answering
    with started_worker(scheduler.address, orchestrators=(sequence,), activities=(plus_one,)):
        state = c.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    assert state.serialized_output == "[5, 6, 7, 8]"
    assert scheduler.dispatcher.redelivered >= 1


def test_items_wait_for_a_worker_whose_filters_take_them(scheduler):
    c = client.TaskHubGrpcClient(host_address=scheduler.address)
    filters = pb.WorkItemFilters(orchestrations=[pb.OrchestrationFilter(name="other")])
    with raw_worker(scheduler.address, filters):
        instance_id = c.schedule_new_orchestration(sequence, input=1)
        state = c.get_orchestration_state(instance_id)
        assert state.runtime_status == client.OrchestrationStatus.PENDING
        assert scheduler.on_loop(lambda: scheduler.dispatcher.waiting) == 1
        with started_worker(scheduler.address, orchestrators=(sequence,),
                            activities=(plus_one,), filtered=True):
            state = c.wait_for_orchestration_completion(instance_id, timeout=30)
        assert state.runtime_status == client.OrchestrationStatus.COMPLETED


def test_items_no_worker_takes_do_not_hold_up_the_others(scheduler):
    """Episodes waiting for a worker that never comes do not hold up the others."""
    c = client.TaskHubGrpcClient(host_address=scheduler.address)
    for n in range(5):
        c.schedule_new_orchestration(f"unserved_{n}")
    with started_worker(scheduler.address, orchestrators=(sequence,),
                        activities=(plus_one,), filtered=True):
        instance_id = c.schedule_new_orchestration(sequence, input=1)
        state = c.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.serialized_output == "[1, 2, 3, 4]"
    assert scheduler.on_loop(lambda: scheduler.dispatcher.waiting) == 5


def test_state_persists_across_a_restart_of_the_scheduler(tmp_path):
    state_file = str(tmp_path / "scheduler.db")
    first = RunningScheduler(state=state_file)
    try:
        c = client.TaskHubGrpcClient(host_address=first.address)
        instance_id = c.schedule_new_orchestration(sequence, input=1)
    finally:
        first.stop()
    second = RunningScheduler(state=state_file)
    try:
        with started_worker(second.address, orchestrators=(sequence,), activities=(plus_one,)):
            c = client.TaskHubGrpcClient(host_address=second.address)
            state = c.wait_for_orchestration_completion(instance_id, timeout=30)
    finally:
        second.stop()
    assert state.serialized_output == "[1, 2, 3, 4]"


def test_a_functions_host_answers_the_work_item_stream_unimplemented():
    """Without a dispatcher (a Functions app's endpoint) work comes through triggers."""
    async def scenario() -> grpc.StatusCode:
        endpoint = GrpcEndpoint(operations=None)
        port = await endpoint.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stream = stubs.TaskHubSidecarServiceStub(channel).GetWorkItems(
                    pb.GetWorkItemsRequest())
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await stream.read()
                assert "python -m emulator scheduler" in caught.value.details()
                return caught.value.code()
        finally:
            await endpoint.stop(0)

    assert asyncio.run(scenario()) == grpc.StatusCode.UNIMPLEMENTED


def test_rewinding_a_parent_whose_failed_child_was_purged_runs_the_child_again(scheduler):
    """The Scheduler's rewind (a Functions host refuses it: runtime/test_rewind.py)."""
    calls = []

    def flaky(_: task.ActivityContext, value: str) -> str:
        calls.append(value)
        if len(calls) == 1:
            raise RuntimeError("first time")
        return f"child:{value}"

    def child(ctx: task.OrchestrationContext, value: str):
        return (yield ctx.call_activity(flaky, input=value))

    def parent(ctx: task.OrchestrationContext, value: str):
        result = yield ctx.call_sub_orchestrator(child, input=value, instance_id="purged-child")
        return f"parent:{result}"

    with started_worker(scheduler.address, orchestrators=(parent, child,), activities=(flaky,)):
        c = client.TaskHubGrpcClient(host_address=scheduler.address)
        instance_id = c.schedule_new_orchestration(parent, input="data")
        state = c.wait_for_orchestration_completion(instance_id, timeout=30)
        assert state.runtime_status == client.OrchestrationStatus.FAILED
        c.purge_orchestration("purged-child")
        c.rewind_orchestration(instance_id, reason="retry")
        state = c.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    assert state.serialized_output == '"parent:child:data"'
    assert c.get_orchestration_state("purged-child").runtime_status == \
        client.OrchestrationStatus.COMPLETED


def test_stopping_the_scheduler_ends_the_work_item_streams_at_once():
    running = RunningScheduler()
    c = client.TaskHubGrpcClient(host_address=running.address)
    with raw_worker(running.address) as (_, stream):
        instance_id = c.schedule_new_orchestration("waits")
        assert next_item(stream).orchestratorRequest.instanceId == instance_id
        ended = threading.Event()
        outcome = []

        def drain() -> None:
            try:
                for _ in stream:
                    pass
                outcome.append("closed")
            except grpc.RpcError as exc:  # cancelled after the server's grace period
                outcome.append(exc.code())
            ended.set()
        threading.Thread(target=drain, daemon=True).start()
        running.stop()  # an episode is still waiting for the worker's answer
        assert ended.wait(5)
        assert outcome == ["closed"]  # ended by the host, not cut off


def test_a_stream_cancelled_as_an_item_arrives_ends_instead_of_sending_it():
    """The worker went away (the RPC is cancelled) in the pass its next item arrived: the
    stream ends and disconnects (what it held is delivered again) instead of sending the item
    and going on (Python 3.11's ``wait_for`` swallowed that cancellation)."""
    import asyncio

    from emulator.grpc_api import HubService
    from emulator.grpc_api.workitems import WorkItemRpcs
    from emulator.worker.sdk2.messages import pb
    from emulator.worker.workitems import TaskHubs, WorkItemDispatcher

    async def scenario():
        rpcs = WorkItemRpcs()
        dispatcher = WorkItemDispatcher()
        rpcs.hubs = TaskHubs.only(HubService(None, dispatcher))
        items = rpcs.GetWorkItems(pb.GetWorkItemsRequest(), context=None)
        task = asyncio.ensure_future(items.__anext__())
        await asyncio.sleep(0)  # one pass: the stream waits for its first item
        (stream,) = dispatcher._streams
        stream.outbox.put_nowait(pb.WorkItem(completionToken="t1"))
        task.cancel()
        async with asyncio.timeout(5):
            outcome = await asyncio.gather(task, return_exceptions=True)
        await items.aclose()
        return outcome[0], task.cancelled(), dispatcher.connected

    outcome, cancelled, connected = asyncio.run(scenario())
    assert cancelled and isinstance(outcome, asyncio.CancelledError)
    assert connected == 0
