"""The durable protocol end to end: the SDK's orchestrators driven by the local host."""

import json
import time
import uuid

import pytest

from ..conftest import PROTOCOL_APP


def _events(host, instance_id):
    """(EventType name, EventId) pairs of the stored history, episodes markers left out."""
    history = host.raw_history(instance_id)["history"]
    names = {0: "ExecutionStarted", 1: "ExecutionCompleted", 4: "TaskScheduled",
             5: "TaskCompleted", 6: "TaskFailed", 7: "SubOrchestrationInstanceCreated",
             8: "SubOrchestrationInstanceCompleted", 9: "SubOrchestrationInstanceFailed",
             10: "TimerCreated", 11: "TimerFired", 15: "EventRaised", 3: "ExecutionTerminated",
             19: "ExecutionSuspended", 20: "ExecutionResumed"}
    out = []
    for event in history:
        name = names.get(event["EventType"])
        if name is None:
            continue
        ref = event.get("TaskScheduledId", event.get("TimerId", event["EventId"]))
        out.append((name, ref))
    return out


def test_chaining_runs_activities_in_order_with_custom_status(host):
    instance_id = host.start("chain", "v")
    status = host.wait(instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == ["v-a", "v-b", "v-c"]
    assert status["customStatus"] == "step c"
    assert _events(host, instance_id) == [
        ("ExecutionStarted", -1), ("TaskScheduled", 0), ("TaskCompleted", 0),
        ("TaskScheduled", 1), ("TaskCompleted", 1), ("TaskScheduled", 2),
        ("TaskCompleted", 2), ("ExecutionCompleted", 3)]


def test_fan_out_fan_in_delivers_results_in_few_episodes(host):
    instance_id = host.start("fan_out", {"count": 200})
    status = host.wait(instance_id)
    assert status["output"] == sum(2 * i for i in range(200))
    history = host.raw_history(instance_id)["history"]
    episodes = sum(1 for e in history if e["EventType"] == 12)
    scheduled = [e["EventId"] for e in history if e["EventType"] == 4]
    assert scheduled == list(range(200))
    # Every result that is ready is delivered in one episode: far fewer than one per result.
    assert episodes <= 10, episodes


def test_fan_out_waits_run_concurrently(host):
    started = time.monotonic()
    instance_id = host.start("fan_out", {"count": 100, "seconds": 0.5})
    status = host.wait(instance_id)
    elapsed = time.monotonic() - started
    assert status["output"] == sum(range(100))
    assert elapsed < 0.5 * 100 / 4, f"100 x 0.5 s waits took {elapsed:.1f} s: not concurrent"


def test_retry_history_has_a_timer_after_each_failure(host):
    spec = {"key": uuid.uuid4().hex, "fail_times": 2, "attempts": 4, "interval_ms": 300_000}
    instance_id = host.start("retrying", spec)
    status = host.wait(instance_id)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == "ok"
    assert _events(host, instance_id) == [
        ("ExecutionStarted", -1),
        ("TaskScheduled", 0), ("TaskFailed", 0), ("TimerCreated", 1), ("TimerFired", 1),
        ("TaskScheduled", 2), ("TaskFailed", 2), ("TimerCreated", 3), ("TimerFired", 3),
        ("TaskScheduled", 4), ("TaskCompleted", 4), ("ExecutionCompleted", 5)]
    history = host.raw_history(instance_id)["history"]
    failed = next(e for e in history if e["EventType"] == 6)
    assert failed["Reason"] == ("Activity function 'flaky' failed:  ValueError: "
                                "transient failure, 1 left")
    timer = next(e for e in history if e["EventType"] == 10)
    from emulator.protocol.history import parse_ts
    delay = parse_ts(timer["FireAt"]) - parse_ts(timer["Timestamp"])
    assert abs(delay.total_seconds() - 300) < 1


def test_retry_gives_up_after_the_last_attempt(host):
    spec = {"key": uuid.uuid4().hex, "fail_times": 5, "attempts": 2, "interval_ms": 1000}
    instance_id = host.start("retrying", spec)
    status = host.wait(instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert "Activity function 'flaky' failed:  ValueError: transient failure, 3 left" in \
        status["output"]
    kinds = [name for name, _ in _events(host, instance_id)]
    # Two attempts, each followed by a timer (the last one is the host's "dummy" timer).
    assert kinds.count("TaskFailed") == 2 and kinds.count("TimerFired") == 2


def test_sub_orchestrations_with_default_and_explicit_ids(host):
    instance_id = host.start("parent")
    status = host.wait(instance_id)
    assert status["output"] == [["x-a", "x-b", "x-c"], ["y-a", "y-b", "y-c"],
                                ["z-a", "z-b", "z-c"]]
    history = host.raw_history(instance_id)["history"]
    created = [e for e in history if e["EventType"] == 7]
    execution_id = history[1]["OrchestrationInstance"]["ExecutionId"]
    assert created[0]["InstanceId"] == f"{execution_id}:0"
    assert created[2]["InstanceId"] == f"{instance_id}-z"
    child = host.status(f"{instance_id}-z")
    assert child["runtimeStatus"] == "Completed" and child["input"] == "\"z\""


def test_failed_sub_orchestration_reaches_the_parent(host):
    status = host.wait(host.start("parent_of_failure"))
    assert status["runtimeStatus"] == "Completed"
    assert status["output"].startswith("caught: Orchestrator function 'failing' failed: ")
    assert "child boom" in status["output"]


def test_durable_timer_with_time_skipping_takes_no_real_time(host):
    started = time.monotonic()
    instance_id = host.start("sleeper", 2)
    status = host.wait(instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert time.monotonic() - started < 5
    history = host.raw_history(instance_id)["history"]
    created = next(e for e in history if e["EventType"] == 10)
    fired = next(e for e in history if e["EventType"] == 11)
    assert fired["FireAt"] == created["FireAt"]


def test_long_timer_is_split_into_intervals(host):
    instance_id = host.start("sleeper", 24 * 10)  # 10 days > the 6-day maximum short timer
    status = host.wait(instance_id)
    assert status["runtimeStatus"] == "Completed"
    kinds = [name for name, _ in _events(host, instance_id)]
    assert kinds.count("TimerCreated") >= 3


def test_event_raised_while_waiting(host):
    with host.clock_held():
        instance_id = host.start("waiter")
        host.wait_until(instance_id, lambda s: s["customStatus"] == "waiting")
        host.raise_event(instance_id, "go", {"x": 1})
        status = host.wait(instance_id)
    assert status["output"] == {"x": 1}


def test_early_event_is_buffered_until_the_orchestrator_waits(host):
    instance_id = host.start("busy_then_wait")
    host.raise_event(instance_id, "go", {"early": True})
    status = host.wait(instance_id)
    assert status["output"] == {"early": True}
    kinds = [name for name, _ in _events(host, instance_id)]
    assert kinds.index("EventRaised") < kinds.index("TaskCompleted")


def test_task_any_event_wins_over_the_timeout(host):
    with host.clock_held():
        instance_id = host.start("approval")
        host.wait_until(instance_id, lambda s: s["customStatus"] == "awaiting approval")
        host.raise_event(instance_id, "approve", True)
        status = host.wait(instance_id)
    assert status["output"] == {"approved": True}


def test_task_any_timeout_wins_with_time_skipping(host):
    started = time.monotonic()
    status = host.wait(host.start("approval"))
    assert status["output"] == {"timed_out": True}
    assert time.monotonic() - started < 5


def test_continue_as_new_restarts_with_new_input(host):
    instance_id = host.start("counter", 0)
    status = host.wait(instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == 3
    assert status["input"] == "3"  # the latest execution's input (JSON text of the SDK)
    history = host.raw_history(instance_id)["history"]
    assert sum(1 for e in history if e["EventType"] == 0) == 1


def test_terminate_a_waiting_instance(host):
    instance_id = host.start("waiter")
    host.wait_until(instance_id, lambda s: s["runtimeStatus"] == "Running")
    host.terminate(instance_id, "no longer needed")
    status = host.wait(instance_id)
    assert status["runtimeStatus"] == "Terminated"
    assert status["output"] == "no longer needed"
    response = host.raise_event.__self__.request(
        "POST", f"/runtime/webhooks/durabletask/instances/{instance_id}/raiseEvent/go",
        json={"late": True})
    assert response.status_code == 410


def test_suspend_holds_events_until_resume(host):
    with host.clock_held():
        instance_id = host.start("waiter")
        host.wait_until(instance_id, lambda s: s["customStatus"] == "waiting")
        host.suspend(instance_id, "pause")
        host.wait_until(instance_id, lambda s: s["runtimeStatus"] == "Suspended")
        host.raise_event(instance_id, "go", "during suspension")
        time.sleep(0.2)
        assert host.status(instance_id)["runtimeStatus"] == "Suspended"
        host.resume(instance_id, "continue")
        status = host.wait(instance_id)
    assert status["output"] == "during suspension"
    kinds = [name for name, _ in _events(host, instance_id)]
    # The event raised during the suspension is held back and delivered after the resume.
    assert kinds.index("ExecutionSuspended") < kinds.index("ExecutionResumed") < \
        kinds.index("EventRaised")


def test_activity_failure_fails_the_orchestration_with_host_messages(host):
    status = host.wait(host.start("failing", "it broke"))
    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith(
        "Orchestrator function 'failing' failed: Activity function 'explode' failed:  "
        "ValueError: it broke")


def test_activity_failure_is_catchable_as_a_plain_exception(host):
    status = host.wait(host.start("catching"))
    assert status["runtimeStatus"] == "Completed"
    reason, _, details = status["output"].partition(" \n ")
    assert reason == "Activity function 'explode' failed:  ValueError: caught boom"
    assert json.loads(details)["Message"] == " ValueError: caught boom"


def test_orchestrator_exception_fails_after_its_scheduled_work(host):
    instance_id = host.start("raising")
    status = host.wait(instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert status["output"] == "Orchestrator function 'raising' failed: orchestrator boom"


def test_unknown_activity_fails_fast_naming_known_functions(host):
    status = host.wait(host.start("unknown_activity"), timeout=10)
    assert status["runtimeStatus"] == "Failed"
    assert "The function 'does_not_exist' doesn't exist" in status["output"]
    assert "'echo'" in status["output"] and "'flaky'" in status["output"]


def test_non_determinism_fails_naming_the_sequence_id_and_function(in_process_host, app_module):
    host = in_process_host
    with host.clock_held():
        instance_id = host.start("drifting")
        host.wait_until(instance_id, lambda s: s["runtimeStatus"] == "Running"
                        and any(e["EventType"] == "TaskCompleted"
                                for e in host.history(instance_id)))
        app_module.DRIFT["first"] = "double"  # the code changed under a running instance
        try:
            host.raise_event(instance_id, "go", 1)
            status = host.wait(instance_id)
        finally:
            app_module.DRIFT["first"] = "echo"
    assert status["runtimeStatus"] == "Failed"
    assert "Non-Deterministic" in status["output"]
    assert "sequence number 0" in status["output"] and "'echo'" in status["output"]
    assert "'double'" in status["output"]


def test_start_with_existing_running_id_is_refused(host):
    instance_id = f"dup-{uuid.uuid4().hex}"
    with host.clock_held():
        host.start("waiter", instance_id=instance_id)
        response = host.request("POST", f"/runtime/webhooks/durabletask/orchestrators/waiter/"
                                         f"{instance_id}")
        assert response.status_code == 409
        assert "already exists" in response.json()["ExceptionMessage"]
        host.terminate(instance_id)


@pytest.mark.parametrize("path,expected", [
    ("/api/hello/ada", "hello ada"),
    ("/api/hello?name=bob", "hello bob"),
    ("/api/hello", "hello world"),
])
def test_http_functions_route_parameters_and_query(host, path, expected):
    response = host.request("GET", path)
    assert response.status_code == 200
    assert response.text == expected
    assert response.headers["X-Test"] == "yes"


def test_http_function_receives_method_body_and_headers(host):
    response = host.request("PUT", "/api/echo?a=1", data="payload",
                            headers={"x-custom": "value"})
    assert response.json() == {"method": "PUT", "params": {"a": "1"}, "body": "payload",
                               "header": "value"}
    assert host.request("GET", "/api/echo").status_code == 404  # method not allowed
    assert host.request("GET", "/api/nothing-here").status_code == 404


def test_exception_in_http_function_answers_500_and_host_keeps_serving(host):
    assert host.request("GET", "/api/boom").status_code == 500
    assert host.request("GET", "/api/hello").status_code == 200


def test_host_status_reports_running_and_limits(host):
    body = host.request("GET", "/admin/host/status").json()
    assert body["state"] == "Running"
    assert body["extensions"]["durableTask"]["maxConcurrentActivityFunctions"] == 200
    assert body["extensions"]["durableTask"]["hubName"] == "ProtocolTests"


def test_real_time_host_waits_for_timers(local_host):
    """Without time skipping a timer takes its real time (here 0.3 s)."""
    host = local_host(PROTOCOL_APP)
    started = time.monotonic()
    status = host.wait(host.start("sleeper", 0.3 / 3600))
    assert status["runtimeStatus"] == "Completed"
    assert time.monotonic() - started >= 0.3


def test_sub_orchestrator_retry_starts_a_new_child_per_attempt(host):
    spec = {"key": uuid.uuid4().hex, "fail_times": 1, "attempts": 3}
    instance_id = host.start("sub_retrying", spec)
    status = host.wait(instance_id)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == "ok"
    history = host.raw_history(instance_id)["history"]
    children = [e["InstanceId"] for e in history if e["EventType"] == 7]
    execution_id = history[1]["OrchestrationInstance"]["ExecutionId"]
    # Attempt 1 (seq 0) failed, its retry timer took seq 1, attempt 2 is seq 2.
    assert children == [f"{execution_id}:0", f"{execution_id}:2"]
    assert host.status(children[0])["runtimeStatus"] == "Failed"
    assert host.status(children[1])["runtimeStatus"] == "Completed"


def test_unknown_sub_orchestrator_fails_fast(host):
    status = host.wait(host.start("unknown_sub"), timeout=10)
    assert status["runtimeStatus"] == "Failed"
    assert "The function 'no_such_orchestrator' doesn't exist" in status["output"]
    assert "'chain'" in status["output"]


def test_max_concurrent_activities_runs_a_fan_out_in_waves(local_host):
    host = local_host(PROTOCOL_APP, max_activities=5)
    limits = host.request("GET", "/admin/host/status").json()["extensions"]["durableTask"]
    assert limits["maxConcurrentActivityFunctions"] == 5
    started = time.monotonic()
    status = host.wait(host.start("fan_out", {"count": 20, "seconds": 0.2}))
    elapsed = time.monotonic() - started
    assert status["output"] == sum(range(20))
    assert elapsed >= 4 * 0.2, f"20 x 0.2 s with 5 at a time took {elapsed:.2f} s: no limit"


def test_one_log_line_per_orchestration_and_activity_event(local_host, caplog):
    host = local_host(PROTOCOL_APP, log_level="info")
    with caplog.at_level("INFO", logger="emulator"):
        instance_id = host.start("catching")
        host.wait(instance_id)
    lines = [r.getMessage() for r in caplog.records if instance_id in r.getMessage()]
    assert any(line.endswith("] scheduled") for line in lines)
    assert any(line.endswith("] started") for line in lines)
    assert any("activity explode#0 failed: ValueError: caught boom" in line for line in lines)
    assert any(line.endswith("] completed") for line in lines)


def test_call_http_runs_as_the_built_in_http_activity(host):
    instance_id = host.start("http_caller", f"{host.base_url}/api/hello/durable")
    status = host.wait(instance_id)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == {"status": 200, "content": "hello durable"}
    history = host.raw_history(instance_id)["history"]
    scheduled = next(e for e in history if e["EventType"] == 4)
    assert scheduled["Name"] == "BuiltIn::HttpActivity"
