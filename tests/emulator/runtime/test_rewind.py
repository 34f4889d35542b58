"""Rewind of failed instances: HTTP and the SDK client, activities and sub-orchestrations."""

import uuid

import pytest

from emulator.protocol.history import EventType
from emulator.testing import LocalHost
from emulator.views.timeline import format_timeline

from ..conftest import APPS

BASE = "/runtime/webhooks/durabletask"


@pytest.fixture(scope="module")
def host():
    # in process: the tests break and repair the app's code through its module
    with LocalHost(APPS / "lifecycle", time_skipping=True, worker="in-process") as running:
        yield running


@pytest.fixture()
def app(host):
    module = host.server.app.module
    yield module
    module.BROKEN.clear()


def _key():
    return f"k{uuid.uuid4().hex[:8]}"


def _client(host, operation, **body):
    return host.request("POST", f"/api/client/{operation}", json=body)


def _rewind(host, instance_id, reason="repaired"):
    return host.request("POST", f"{BASE}/instances/{instance_id}/rewind?reason={reason}")


def _fail(host, app, name, key, instance_id=None):
    app.BROKEN.add(key)
    instance_id = host.start(name, key, instance_id=instance_id)
    assert host.wait(instance_id)["runtimeStatus"] == "Failed"
    app.BROKEN.discard(key)
    return instance_id


def test_rewind_through_the_sdk_client_reruns_only_the_failed_activity(host, app):
    key = _key()
    instance_id = _fail(host, app, "fragile_chain", key)
    assert _client(host, "rewind", instance_id=instance_id, reason="fixed the db") \
        .status_code == 202
    status = host.wait(instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == [f"{key}: first", f"{key} ok", f"{key}: third"]
    assert app.CALLS[key] == 2  # the failed call, then the rewound one
    history = host.raw_history(instance_id)["history"]
    scheduled = [(e["EventId"], e["Name"]) for e in history
                 if e["EventType"] == EventType.TASK_SCHEDULED]
    assert scheduled == [(0, "echo"), (1, "fragile"), (2, "echo")]  # echo#0 ran once
    markers = [e.get("Reason") for e in history if e["EventType"] == EventType.GENERIC]
    assert markers == ["Rewound: TaskScheduled", "Rewound: TaskFailed",
                       "Rewound: ExecutionCompleted", None]
    revive = [e for e in history if e["EventType"] == EventType.GENERIC][-1]
    assert revive["Data"] == "fixed the db" and revive["EventId"] == -1
    finals = [e["OrchestrationStatus"] for e in history
              if e["EventType"] == EventType.EXECUTION_COMPLETED]
    assert finals == [1]  # only the new completion is an ExecutionCompleted
    timeline = format_timeline(host.raw_history(instance_id)["instance"], history)
    assert "Rewound: TaskScheduled #1" in timeline and "Rewound: ExecutionCompleted #2" in timeline
    assert "rewind  reason=fixed the db" in timeline


def test_rewind_of_a_fan_out_reruns_the_failed_branches_only(host, app):
    good, bad = _key(), _key()
    app.BROKEN.add(bad)
    instance_id = host.start("fragile_fan", [good, bad])
    assert host.wait(instance_id)["runtimeStatus"] == "Failed"
    app.BROKEN.discard(bad)
    assert _rewind(host, instance_id).status_code == 202
    assert host.wait(instance_id)["output"] == [f"{good} ok", f"{bad} ok"]
    assert (app.CALLS[good], app.CALLS[bad]) == (1, 2)


def test_rewind_resumes_a_failed_sub_orchestration_in_place(host, app):
    key = _key()
    app.BROKEN.add(key)
    parent = host.start("fragile_parent", key)
    assert host.wait(parent)["runtimeStatus"] == "Failed"
    child = f"{key}-child"
    assert host.status(child)["runtimeStatus"] == "Failed"
    app.BROKEN.discard(key)
    assert _rewind(host, parent).status_code == 202
    assert host.status(parent)["runtimeStatus"] in ("Pending", "Running", "Completed")
    status = host.wait(parent)
    assert status["output"] == {
        "healthy": [f"{key}-healthy: first", f"{key}-healthy ok", f"{key}-healthy: third"],
        "broken": [f"{key}: first", f"{key} ok", f"{key}: third"]}
    assert host.status(child)["runtimeStatus"] == "Completed"
    assert app.CALLS[f"{key}-healthy"] == 1
    parent_history = host.raw_history(parent)["history"]
    created = [e["InstanceId"] for e in parent_history
               if e["EventType"] == EventType.SUB_ORCHESTRATION_CREATED]
    assert created.count(child) == 1  # the child was rewound, not created again
    child_history = host.raw_history(child)["history"]
    assert sum(e["EventType"] == EventType.EXECUTION_STARTED for e in child_history) == 1


def test_rewind_recurses_through_generations(host, app):
    key = _key()
    app.BROKEN.add(key)
    top = host.start("fragile_grandparent", key)
    assert host.wait(top)["runtimeStatus"] == "Failed"
    app.BROKEN.discard(key)
    assert _client(host, "rewind", instance_id=top).status_code == 202
    assert host.wait(top)["output"]["broken"][1] == f"{key} ok"
    for instance_id in (f"{key}-parent", f"{key}-child"):
        assert host.status(instance_id)["runtimeStatus"] == "Completed"


def test_rewind_refuses_what_cannot_be_rewound(host, app):
    assert _rewind(host, "no-such-instance").status_code == 404
    done = host.start("fragile_chain", _key())
    host.wait(done)
    gone = _rewind(host, done)
    assert gone.status_code == 410
    with host.clock_held():
        running = host.start("versioned")
        host.wait_until(running, lambda s: s["runtimeStatus"] == "Running")
        conflict = _rewind(host, running)
        assert conflict.status_code == 409
        assert conflict.json()["ExceptionMessage"] == (
            "The rewind operation is only supported on failed orchestration instances.")
        host.terminate(running)
    # The SDK client turns those answers into its own messages.
    assert "No instance with ID" in _client(host, "rewind", instance_id="nope").json()["error"]
    assert _client(host, "rewind", instance_id=done).json()["error"] == (
        "The rewind operation is only supported on failed orchestration instances.")


def test_rewind_refuses_when_a_failed_child_is_gone_and_changes_nothing(host, app):
    key = _key()
    app.BROKEN.add(key)
    parent = host.start("fragile_parent", key)
    assert host.wait(parent)["runtimeStatus"] == "Failed"
    app.BROKEN.discard(key)
    assert host.purge(f"{key}-child") == 1
    before = host.raw_history(parent)
    response = _rewind(host, parent)
    assert response.status_code == 409
    assert f"{key}-child" in response.json()["ExceptionMessage"]
    assert host.raw_history(parent) == before


def test_a_rewound_instance_survives_a_restart(tmp_path):
    state = str(tmp_path / "state.db")
    key = _key()
    with LocalHost(APPS / "lifecycle", state=state, worker="in-process") as first:
        module = first.server.app.module
        module.BROKEN.add(key)
        instance_id = first.start("fragile_chain", key)
        assert first.wait(instance_id)["runtimeStatus"] == "Failed"
        module.BROKEN.discard(key)
        assert _rewind(first, instance_id).status_code == 202  # committed before the answer
    with LocalHost(APPS / "lifecycle", state=state) as second:
        assert second.wait(instance_id)["output"][1] == f"{key} ok"
