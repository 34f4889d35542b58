"""Orchestration versioning through the SDK 1.7 client and context, as the extension does it."""

import json
import logging
import shutil

import pytest

from emulator.testing import LocalHost
from emulator.worker.loader import AppLoadError

from ..conftest import APPS

LIFECYCLE_APP = APPS / "lifecycle"
BASE = "/runtime/webhooks/durabletask"
MISMATCH = "VersionMismatch: Orchestration version did not comply with Worker Versioning"


def _app_copy(tmp_path, **durable):
    """The lifecycle app in a folder of its own, with these durableTask settings."""
    target = tmp_path / "app"
    if not target.exists():
        shutil.copytree(LIFECYCLE_APP, target, ignore=shutil.ignore_patterns("__pycache__"))
    host_json = json.loads((target / "host.json").read_text())
    settings = host_json["extensions"]["durableTask"]
    for key, value in durable.items():
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value
    (target / "host.json").write_text(json.dumps(host_json))
    return target


@pytest.fixture(scope="module")
def v1_host():
    """defaultVersion 1.0, the extension's default strategies (CurrentOrOlder, Reject)."""
    with LocalHost(LIFECYCLE_APP, time_skipping=True) as running:
        yield running


def _client(host, operation, **body):
    return host.request("POST", f"/api/client/{operation}", json=body)


def _started_version(host, instance_id):
    history = host.raw_history(instance_id)["history"]
    return next(e["Version"] for e in history if e["EventType"] == 0)


def test_default_version_is_stamped_and_seen_by_context_version(v1_host):
    instance_id = _client(v1_host, "start", name="versioned").json()["id"]
    status = v1_host.wait_until(instance_id, lambda s: s["customStatus"] is not None)
    assert status["customStatus"] == {"version": "1.0"}
    assert _started_version(v1_host, instance_id) == "1.0"
    v1_host.raise_event(instance_id, "go")
    assert v1_host.wait(instance_id)["output"] == {"version": "1.0", "step": "legacy step"}


def test_status_reports_the_version_to_http_and_to_the_sdk_client(v1_host):
    instance_id = _client(v1_host, "start", name="version_of").json()["id"]
    status = v1_host.wait(instance_id)
    assert status["version"] == "1.0"
    assert list(status)[:3] == ["name", "instanceId", "version"]
    assert _client(v1_host, "status", instance_id=instance_id).json()["version"] == "1.0"
    listed = v1_host.request("GET", f"{BASE}/instances/?instanceIdPrefix={instance_id}").json()
    assert listed[0]["version"] == "1.0"


def test_start_new_version_wins_over_the_default(v1_host):
    instance_id = _client(v1_host, "start", name="versioned", version="0.5").json()["id"]
    v1_host.wait_until(instance_id, lambda s: s["customStatus"] is not None)
    assert _started_version(v1_host, instance_id) == "0.5"
    v1_host.raise_event(instance_id, "go")
    assert v1_host.wait(instance_id)["output"] == {"version": "0.5", "step": "new step"}


def test_raw_http_start_takes_the_version_query_parameter(v1_host):
    response = v1_host.request("POST", f"{BASE}/orchestrators/version_of?version=0.7")
    assert response.status_code == 202
    assert v1_host.wait(response.json()["id"])["output"] == "0.7"


def test_sub_orchestrations_get_their_explicit_or_the_default_version(v1_host):
    instance_id = _client(v1_host, "start", name="versioned_parent").json()["id"]
    status = v1_host.wait(instance_id)
    assert status["output"] == {"parent": "1.0", "pinned_child": "0.9", "default_child": "1.0"}
    history = v1_host.raw_history(instance_id)["history"]
    created = [e for e in history if e["EventType"] == 7]
    assert [e["Version"] for e in created] == ["0.9", "1.0"]
    child = v1_host.raw_history(created[0]["InstanceId"])["history"]
    started = next(e for e in child if e["EventType"] == 0)
    assert started["Version"] == "0.9"
    assert started["ParentInstance"]["Version"] == "1.0"


def test_continue_as_new_keeps_the_version_and_retried_children_get_theirs(v1_host):
    instance_id = v1_host.start("version_loop", version="0.8")
    assert v1_host.wait(instance_id)["output"] == {"after_continue_as_new": "0.8",
                                                   "retried_child": "0.1"}


@pytest.mark.parametrize("new_id", [True, False])
def test_restart_starts_again_with_the_current_default_version(v1_host, new_id):
    """As the extension's RestartAsync does: it calls StartNewAsync with the name, id and
    input only, so the new run gets DurableTaskOptions.DefaultVersion, not the old version."""
    response = v1_host.request("POST", f"{BASE}/orchestrators/version_of?version=0.7")
    original = response.json()["id"]
    assert v1_host.wait(original)["output"] == "0.7"
    restarted = v1_host.request(
        "POST", f"{BASE}/instances/{original}/restart"
                f"?restartWithNewInstanceId={str(new_id).lower()}")
    assert restarted.status_code == 202, restarted.text
    instance_id = restarted.json()["id"]
    assert (instance_id != original) is new_id
    status = v1_host.wait(instance_id)
    assert status["output"] == "1.0" and status["version"] == "1.0"
    assert _started_version(v1_host, instance_id) == "1.0"


def test_a_newer_instance_is_left_pending_by_current_or_older_reject(v1_host, caplog):
    with caplog.at_level(logging.WARNING, logger="emulator"):
        instance_id = _client(v1_host, "start", name="version_of", version="2.0").json()["id"]
        v1_host.wait_until(instance_id, lambda s: any(
            "2.0" in r.getMessage() and instance_id in r.getMessage()
            for r in caplog.records), timeout=10)
    status = v1_host.status(instance_id)
    assert status["runtimeStatus"] == "Pending" and status["version"] == "2.0"
    assert v1_host.raw_history(instance_id)["history"] == []  # nothing ran, nothing consumed


def test_fail_strategy_fails_a_mismatched_instance_without_running_it(tmp_path):
    app = _app_copy(tmp_path, versionFailureStrategy="Fail")
    with LocalHost(app) as host:
        instance_id = _client(host, "start", name="versioned", version="3.0").json()["id"]
        status = host.wait(instance_id)
        assert status["runtimeStatus"] == "Failed"
        assert status["output"] == MISMATCH
        assert status["customStatus"] is None  # the orchestrator never ran
        history = host.raw_history(instance_id)["history"]
        completed = next(e for e in history if e["EventType"] == 1)
        assert completed["FailureDetails"]["ErrorType"] == "VersionMismatch"
        assert completed["FailureDetails"]["IsNonRetriable"] is True
        assert completed["Result"] is None


def test_a_child_failed_by_versioning_reports_the_mismatch_to_its_parent(tmp_path):
    app = _app_copy(tmp_path, versionFailureStrategy="Fail")
    with LocalHost(app) as host:
        instance_id = host.start("newer_child_parent")
        output = host.wait(instance_id)["output"]
        assert output["child_failed"].startswith(MISMATCH)


def test_strict_runs_only_the_exact_version(tmp_path):
    app = _app_copy(tmp_path, versionMatchStrategy="Strict", versionFailureStrategy="Fail")
    with LocalHost(app) as host:
        same = _client(host, "start", name="version_of").json()["id"]
        older = _client(host, "start", name="version_of", version="0.9").json()["id"]
        assert host.wait(same)["output"] == "1.0"
        assert host.wait(older)["output"] == MISMATCH


def test_no_default_version_means_a_null_version(tmp_path):
    app = _app_copy(tmp_path, defaultVersion=None)
    with LocalHost(app) as host:
        instance_id = _client(host, "start", name="version_of").json()["id"]
        status = host.wait(instance_id)
        assert status["output"] is None and "version" not in status
        assert _started_version(host, instance_id) is None


def test_a_running_instance_keeps_its_version_across_a_restart_with_a_new_default(tmp_path):
    state = str(tmp_path / "state.db")
    app = _app_copy(tmp_path, defaultVersion="1.0")
    with LocalHost(app, state=state) as host:
        old = _client(host, "start", name="versioned").json()["id"]
        host.wait_until(old, lambda s: s["customStatus"] == {"version": "1.0"})
    app = _app_copy(tmp_path, defaultVersion="2.0")
    with LocalHost(app, state=state) as host:
        new = _client(host, "start", name="versioned").json()["id"]
        host.wait_until(new, lambda s: s["customStatus"] == {"version": "2.0"})
        host.raise_event(old, "go")
        host.raise_event(new, "go")
        assert host.wait(old)["output"] == {"version": "1.0", "step": "legacy step"}
        assert host.wait(new)["output"] == {"version": "2.0", "step": "new step"}


def test_after_a_downgrade_newer_instances_wait_for_a_matching_host(tmp_path, caplog):
    state = str(tmp_path / "state.db")
    app = _app_copy(tmp_path, defaultVersion="2.0")
    with LocalHost(app, state=state) as host:
        instance_id = _client(host, "start", name="versioned").json()["id"]
        host.wait_until(instance_id, lambda s: s["customStatus"] == {"version": "2.0"})
    app = _app_copy(tmp_path, defaultVersion="1.0")
    with caplog.at_level(logging.WARNING, logger="emulator"), \
            LocalHost(app, state=state) as host:
        host.raise_event(instance_id, "go")  # accepted and kept, not processed
        host.wait_until(instance_id, lambda s: any(
            instance_id in r.getMessage() and "Reject" in r.getMessage()
            for r in caplog.records), timeout=10)
        assert host.status(instance_id)["runtimeStatus"] == "Running"
    app = _app_copy(tmp_path, defaultVersion="2.0")
    with LocalHost(app, state=state) as host:
        assert host.wait(instance_id)["output"] == {"version": "2.0", "step": "new step"}


def test_a_bad_strategy_in_host_json_stops_the_host_with_a_clear_error(tmp_path):
    app = _app_copy(tmp_path, versionMatchStrategy="Newest")
    with pytest.raises(AppLoadError, match="versionMatchStrategy must be one of None, Strict"):
        LocalHost(app).start_host()
