"""What the Durable Task Scheduler serves and a Functions host does not: ``ListInstanceIds``
(the finished instances by completion time, which durabletask's history export pages through),
a termination of a finished instance that is dropped instead of refused (the export's
``delete_job`` terminates its finished orchestration so), and ``recursive`` termination and
purge (the durabletask clients' default) reaching the sub-orchestrations."""

import grpc
import pytest
from durabletask import client, task

from emulator.core.errors import Unsupported
from emulator.grpc_api.facade import FacadeOperations

from .conftest import started_worker


def echo(_: task.OrchestrationContext, value):
    return value


def fails(_: task.OrchestrationContext, _input):
    raise ValueError("no")


def waits(ctx: task.OrchestrationContext, _input):
    return (yield ctx.wait_for_external_event("go"))


def _finish(c: client.TaskHubGrpcClient, orchestrator, value=None) -> client.OrchestrationState:
    instance_id = c.schedule_new_orchestration(orchestrator, input=value)
    return c.wait_for_orchestration_completion(instance_id, timeout=30)


def _code(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code()


def test_finished_instances_page_by_completion_time_and_running_ones_are_not_listed(scheduler):
    c = scheduler.client()
    with started_worker(scheduler.address, orchestrators=(echo, fails, waits)):
        finished = [_finish(c, echo, n) for n in range(3)] + [_finish(c, fails)]
        running = c.schedule_new_orchestration(waits)
        c.wait_for_orchestration_start(running, timeout=30)
        in_order = [s.instance_id for s in
                    sorted(finished, key=lambda s: (s.last_updated_at, s.instance_id))]
        pages, token = [], None
        while True:
            page = c.list_instance_ids(page_size=3, continuation_token=token)
            pages.append(page.items)
            token = page.continuation_token
            if token is None:
                break
        assert pages == [in_order[:3], in_order[3:]]
        failed = c.list_instance_ids(runtime_status=[client.OrchestrationStatus.FAILED])
        assert failed.items == [finished[3].instance_id]
        assert c.list_instance_ids(runtime_status=[client.OrchestrationStatus.RUNNING]).items \
            == []


def test_the_completion_window_takes_both_bounds(scheduler):
    c = scheduler.client()
    with started_worker(scheduler.address, orchestrators=(echo,)):
        first, second, third = (_finish(c, echo, n) for n in range(3))
    window = c.list_instance_ids(completed_time_from=second.last_updated_at,
                                 completed_time_to=second.last_updated_at)
    assert window.items == [second.instance_id]
    after = c.list_instance_ids(completed_time_from=second.last_updated_at)
    assert set(after.items) == {second.instance_id, third.instance_id}
    assert first.instance_id not in after.items


def test_a_continuation_token_the_host_did_not_write_is_invalid(scheduler):
    c = scheduler.client()
    assert _code(lambda: c.list_instance_ids(continuation_token="not-a-key")) == \
        grpc.StatusCode.INVALID_ARGUMENT


def test_terminating_a_finished_instance_changes_nothing_and_an_unknown_one_is_not_found(
        scheduler):
    c = scheduler.client()
    with started_worker(scheduler.address, orchestrators=(echo,)):
        done = _finish(c, echo, "kept")
    c.terminate_orchestration(done.instance_id, output="too late")
    state = c.get_orchestration_state(done.instance_id)
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    assert state.serialized_output == '"kept"'
    assert _code(lambda: c.terminate_orchestration("nobody")) == grpc.StatusCode.NOT_FOUND


def parent(ctx: task.OrchestrationContext, _input):
    return (yield ctx.call_sub_orchestrator(waits, instance_id=f"{ctx.instance_id}-child"))


def _started_tree(c: client.TaskHubGrpcClient, name: str) -> tuple[str, str]:
    parent_id = c.schedule_new_orchestration(parent, instance_id=name)
    child_id = f"{name}-child"
    c.wait_for_orchestration_start(child_id, timeout=30)
    return parent_id, child_id


def test_recursive_termination_and_purge_reach_the_sub_orchestrations(scheduler):
    c = scheduler.client()
    with started_worker(scheduler.address, orchestrators=(parent, waits)):
        parent_id, child_id = _started_tree(c, "tree")
        assert c.purge_orchestration(parent_id).deleted_instance_count == 0  # still running
        c.terminate_orchestration(parent_id, output="stop")  # recursive by default
        for instance_id in (parent_id, child_id):
            state = c.wait_for_orchestration_completion(instance_id, timeout=30)
            assert state.runtime_status == client.OrchestrationStatus.TERMINATED
        assert c.purge_orchestration(parent_id).deleted_instance_count == 2
        assert c.get_orchestration_state(child_id) is None

        alone_id, its_child = _started_tree(c, "alone")
        c.terminate_orchestration(alone_id, recursive=False)
        c.wait_for_orchestration_completion(alone_id, timeout=30)
        assert c.get_orchestration_state(its_child).runtime_status == \
            client.OrchestrationStatus.RUNNING
        assert c.purge_orchestration(alone_id, recursive=False).deleted_instance_count == 1


def grandparent(ctx: task.OrchestrationContext, _input):
    return (yield ctx.call_sub_orchestrator(parent, instance_id=f"{ctx.instance_id}-middle"))


def test_recursion_goes_down_the_whole_tree(scheduler):
    c = scheduler.client()
    with started_worker(scheduler.address, orchestrators=(grandparent, parent, waits)):
        top = c.schedule_new_orchestration(grandparent, instance_id="top")
        tree = [top, "top-middle", "top-middle-child"]
        c.wait_for_orchestration_start(tree[-1], timeout=30)
        c.terminate_orchestration(top)
        for instance_id in tree:
            state = c.wait_for_orchestration_completion(instance_id, timeout=30)
            assert state.runtime_status == client.OrchestrationStatus.TERMINATED
        assert c.purge_orchestration(top).deleted_instance_count == 3
        assert all(c.get_orchestration_state(i) is None for i in tree)


def test_a_functions_host_does_not_list_finished_ids():
    """The Durable extension does not implement ListInstanceIds (the 2.x SDK queries)."""
    facade = FacadeOperations(operations=None, scheduler=False)
    with pytest.raises(Unsupported, match="query the instances instead"):
        facade.list_finished_ids(statuses=None, completed_from=None, completed_to=None,
                                 page_size=0, continuation=None)
