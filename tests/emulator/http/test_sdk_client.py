"""The SDK's own DurableOrchestrationClient, used from an HTTP function, against the host."""

import uuid


def _call(host, operation, body):
    return host.request("POST", f"/api/client/{operation}", json=body)


def test_start_new_and_check_status_response(host):
    response = _call(host, "start", {"name": "chain", "input": {"k": 1}})
    assert response.status_code == 202
    payload = response.json()
    assert set(payload) >= {"id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri",
                            "purgeHistoryDeleteUri", "restartPostUri", "suspendPostUri",
                            "resumePostUri"}
    assert response.headers["Location"] == payload["statusQueryGetUri"]
    assert payload["statusQueryGetUri"].startswith(host.base_url)
    status = host.wait(payload["id"])
    assert status["output"] == ["{'k': 1}-a", "{'k': 1}-b", "{'k': 1}-c"]
    # The status URL handed out works as is.
    direct = host.http.get(payload["statusQueryGetUri"]).json()
    assert direct["runtimeStatus"] == "Completed"


def test_start_new_with_instance_id_and_get_status_with_history(host):
    instance_id = f"sdk-{uuid.uuid4().hex}"
    _call(host, "start", {"name": "chain", "instance_id": instance_id, "input": "q"})
    host.wait(instance_id)
    status = _call(host, "status", {"instance_id": instance_id}).json()
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == ["q-a", "q-b", "q-c"]
    kinds = [e["EventType"] for e in status["historyEvents"]]
    assert kinds == ["ExecutionStarted", "TaskCompleted", "TaskCompleted", "TaskCompleted",
                     "ExecutionCompleted"]
    assert status["historyEvents"][1]["FunctionName"] == "echo"
    assert status["historyEvents"][1]["Result"] == "q-a"


def test_raise_event_from_the_client_arrives_as_a_json_string(host):
    with host.clock_held():
        instance_id = host.start("waiter")
        host.wait_until(instance_id, lambda s: s["customStatus"] == "waiting")
        response = _call(host, "raise", {"instance_id": instance_id, "event": "go",
                                         "data": {"approved": True}})
        assert response.status_code == 202
        status = host.wait(instance_id)
    # The SDK client double-encodes event data (azure-functions-durable-python #295).
    assert status["output"] == '{"approved": true}'


def test_terminate_and_purge_through_the_client(host):
    instance_id = host.start("waiter")
    host.wait_until(instance_id, lambda s: s["runtimeStatus"] == "Running")
    assert _call(host, "terminate", {"instance_id": instance_id, "reason": "bye"}) \
        .status_code == 202
    assert host.wait(instance_id)["runtimeStatus"] == "Terminated"
    assert _call(host, "purge", {"instance_id": instance_id}).json() == {"deleted": 1}
    assert host.status(instance_id) is None
    assert _call(host, "purge", {"instance_id": instance_id}).json() == {"deleted": 0}


def test_wait_for_completion_or_create_check_status_response(host):
    done = _call(host, "run", {"name": "chain", "input": "w"})
    assert done.status_code == 200
    assert done.json() == ["w-a", "w-b", "w-c"]
    with host.clock_held():
        pending = _call(host, "run", {"name": "waiter", "timeout_ms": 300})
        assert pending.status_code == 202
        instance_id = pending.json()["id"]
        host.terminate(instance_id)


def test_get_status_all_lists_instances(host):
    instance_id = host.start("chain", "listed")
    host.wait(instance_id)
    assert instance_id in _call(host, "list", {}).json()


def test_sdk_client_works_across_hosts_in_one_process():
    """The SDK keeps one aiohttp session per process; each host's loop must get its own."""
    from emulator.testing import LocalHost

    from ..conftest import PROTOCOL_APP

    for _ in range(2):
        with LocalHost(PROTOCOL_APP) as first, LocalHost(PROTOCOL_APP) as second:
            for host in (first, second):
                response = _call(host, "start", {"name": "chain", "input": "p"})
                assert response.status_code == 202, response.text
                assert host.wait(response.json()["id"])["runtimeStatus"] == "Completed"
