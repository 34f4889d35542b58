"""Time skipping while a client waits (``--time-skipping=while-waiting``): a person at a
terminal can act before a long timer fires, and time still skips once something waits."""

from datetime import UTC, datetime, timedelta

import pytest

from emulator.testing import LocalHost

from ..conftest import PROTOCOL_APP

BASE = "/runtime/webhooks/durabletask"


@pytest.fixture()
def host():
    with LocalHost(PROTOCOL_APP, time_skipping="while-waiting") as running:
        yield running


def _clock_ahead(host) -> timedelta:
    return datetime.fromisoformat(host.now()) - datetime.now(UTC)


def _awaiting(host):
    instance_id = host.start("approval")
    # Plain status requests (no waiting client): nothing may skip meanwhile.
    status = host.wait_until(instance_id, lambda s: s["customStatus"] == "awaiting approval",
                             waiting=False)
    assert status["runtimeStatus"] == "Running"
    return instance_id


def test_a_24_hour_timeout_does_not_fire_before_anyone_waits(host):
    instance_id = _awaiting(host)
    for _ in range(20):
        assert host.status(instance_id)["runtimeStatus"] == "Running"
    assert _clock_ahead(host) < timedelta(minutes=5)
    host.raise_event(instance_id, "approve", {"by": "Ada"})
    assert host.wait(instance_id)["output"] == {"approved": {"by": "Ada"}}
    assert _clock_ahead(host) < timedelta(minutes=5)  # done before the timeout was due


def test_the_timeout_fires_at_once_when_a_client_waits(host):
    instance_id = _awaiting(host)
    status = host.wait(instance_id, timeout=10)
    assert status["output"] == {"timed_out": True}
    assert _clock_ahead(host) >= timedelta(hours=23, minutes=59)


def test_the_sdk_clients_wait_for_completion_counts_as_waiting(host):
    response = host.request("POST", "/api/client/run",
                            json={"name": "approval", "timeout_ms": 10000})
    assert response.status_code == 200
    assert response.json() == {"timed_out": True}


def test_a_start_with_timeout_counts_as_waiting(host):
    response = host.request("POST", f"{BASE}/orchestrators/approval?timeout=10"
                                    "&pollingInterval=1")
    assert response.status_code == 200
    assert response.json()["output"] == {"timed_out": True}


def test_a_status_request_with_waiting_seconds_counts_as_waiting(host):
    instance_id = _awaiting(host)
    response = host.request("GET", f"{BASE}/instances/{instance_id}?waitingSeconds=5")
    assert response.status_code in (200, 202)
    status = host.wait_until(instance_id, lambda s: s["runtimeStatus"] == "Completed",
                             waiting=False, timeout=10)
    assert status["output"] == {"timed_out": True}


def test_a_bad_waiting_seconds_is_a_400(host):
    instance_id = _awaiting(host)
    response = host.request("GET", f"{BASE}/instances/{instance_id}?waitingSeconds=soon")
    assert response.status_code == 400
    assert "waitingSeconds" in response.json()["Message"]
    assert host.status(instance_id)["runtimeStatus"] == "Running"


def test_always_mode_is_unchanged():
    with LocalHost(PROTOCOL_APP, time_skipping=True) as always:
        instance_id = always.start("approval")
        status = always.wait_until(instance_id, lambda s: s["runtimeStatus"] == "Completed",
                                   waiting=False)
        assert status["output"] == {"timed_out": True}


def test_the_cli_flag_reaches_the_clock_of_a_subprocess_host():
    with LocalHost(PROTOCOL_APP, time_skipping="while-waiting", subprocess=True) as child:
        assert child.request("GET", "/admin/host/status").json()["emulator"][
            "timeSkipping"] == "while-waiting"
        instance_id = _awaiting(child)
        assert _clock_ahead(child) < timedelta(minutes=5)
        assert child.wait(instance_id, timeout=20)["output"] == {"timed_out": True}
