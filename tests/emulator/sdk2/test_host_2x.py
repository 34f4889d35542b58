"""A 2.x app served by the local host (in process, Python 3.13+ with the 2.x SDK): the app's
own durable client (gRPC), both orchestrator styles, entity-started orchestrations, scheduled
signals under time skipping, and a failure's details. Skipped where the SDK is 1.x;
``test_real_sdk_interpreter.py`` runs it under ``EMULATOR_SDK2_PYTHON``."""

from pathlib import Path

import pytest

from .sdk_generation import needs_sdk2

pytestmark = needs_sdk2

APP_DIR = Path(__file__).parents[1] / "apps" / "sdk2"


@pytest.fixture(scope="module")
def host():
    from emulator.testing import LocalHost

    with LocalHost(APP_DIR, time_skipping=True) as running:
        yield running


@pytest.fixture(scope="module")
def client(host):
    from durabletask.client import TaskHubGrpcClient

    rpc = host.request("GET", "/api/rpc")
    assert rpc.status_code == 200 and rpc.text.startswith("http://127.0.0.1:")
    grpc_client = TaskHubGrpcClient(host_address=rpc.text)
    yield grpc_client
    grpc_client.close()


def _start(host, name, body):
    response = host.request("POST", f"/api/start/{name}", json=body)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_both_styles_run_and_show_in_the_management_api_as_1x_instances(host):
    v1 = _start(host, "hello_v1", ["Oslo"])
    dtask = _start(host, "hello_dtask", ["A", "B"])
    assert host.wait(v1)["output"] == ["Hello Oslo!"]
    status = host.wait(dtask)
    assert status["runtimeStatus"] == "Completed" and status["input"] == ["A", "B"]
    assert status["output"]["greetings"] == ["Hello A!", "Hello B!"]
    kinds = [e["EventType"] for e in host.history(dtask)]
    assert kinds[0] == "ExecutionStarted" and kinds[-1] == "ExecutionCompleted"


def test_the_grpc_client_reads_status_and_a_failures_details(host, client):
    from durabletask.client import OrchestrationStatus

    instance_id = client.schedule_new_orchestration("fails")
    state = client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == OrchestrationStatus.FAILED
    assert state.failure_details.error_type == "builtins.ValueError"
    assert state.failure_details.message == "boom"
    assert host.status(instance_id)["output"] == "builtins.ValueError: boom"


def test_an_entity_starts_an_orchestration(host, client):
    from durabletask.entities import EntityInstanceId

    client.signal_entity(EntityInstanceId("counter", "spawner"), "spawn", input="spawned-1")
    assert client.wait_for_orchestration_start("spawned-1", timeout=30) is not None
    state = client.wait_for_orchestration_completion("spawned-1", timeout=30)
    assert state is not None and state.get_output() == ["Hello Spawned!"]


def test_scheduled_signals_wait_for_their_time(host, client):
    from durabletask.entities import EntityInstanceId

    counter = EntityInstanceId("counter", "later")
    with host.clock_held():  # no skipping: the signals must wait for their time
        client.signal_entity(counter, "later", input=3600)  # it signals itself in an hour
        instance_id = client.schedule_new_orchestration("signals_later", input="later")
        done = client.wait_for_orchestration_completion(instance_id, timeout=30)
        assert done.get_output() == "sent"
        host.advance(60)
        assert host.entity_state("counter", "later") is None  # nothing delivered yet
    # Time skipping then jumps to each due signal once nothing else can run.
    assert host.wait_entity("counter", "later", lambda s: s == 105, timeout=30) == 105


def test_an_async_function_may_block_its_loop_on_a_synchronous_client(host, client):
    instance_id = client.schedule_new_orchestration("hello_v1", input=["Rome"])
    client.wait_for_orchestration_completion(instance_id, timeout=30)
    # The app's async functions run on a loop of their own: the host's gRPC endpoint answers.
    response = host.request("GET", f"/api/sync-status/{instance_id}", timeout=30)
    assert (response.status_code, response.text) == (200, "COMPLETED")


def test_an_activity_gets_its_durable_client_binding(host, client):
    instance_id = client.schedule_new_orchestration("ask_status", input="nobody-yet")
    target = client.schedule_new_orchestration("hello_v1", input=["Lima"])
    client.wait_for_orchestration_completion(target, timeout=30)
    asker = client.schedule_new_orchestration("ask_status", input=target)
    state = client.wait_for_orchestration_completion(asker, timeout=30)
    assert state.get_output() == "COMPLETED"
    failed = client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert failed.runtime_status.name == "FAILED"  # no such instance: the activity raised
