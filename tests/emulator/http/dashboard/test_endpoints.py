"""The dashboard's HTTP side without a browser: the cross-site guard, the static files and the
read-only JSON endpoints."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from emulator.http.payloads import WEBHOOK_PATH
from emulator.testing import REPO_ROOT, LocalHost

TRIP = {"traveler": "Ada", "conference": "PyCon DE", "origin": "Paris", "destination": "Berlin",
        "departure_date": "2026-04-20", "return_date": "2026-04-23"}
DASH = "/admin/emulator/dashboard"


@pytest.fixture(scope="module")
def host():
    with LocalHost(REPO_ROOT, time_skipping=True) as local:
        yield local


def waiting_instance(host: LocalHost, instance_id: str) -> str:
    host.start("book_trip", {**TRIP, "approval": {"required": True}}, instance_id=instance_id)
    host.wait_until(instance_id, lambda s: s["customStatus"] == "awaiting approval")
    return instance_id


def terminate(host: LocalHost, instance_id: str, headers: dict[str, str]):
    return host.request("POST", f"{WEBHOOK_PATH}/instances/{instance_id}/terminate",
                        headers=headers)


@pytest.mark.parametrize("headers", [
    {"Origin": "http://127.0.0.1:9"},  # another port is another origin
    {"Origin": "null"},  # a sandboxed frame or a file:// page
    {"Sec-Fetch-Site": "same-site"},  # another port of the same site
    {"Sec-Fetch-Site": "cross-site"},
])
def test_state_changing_requests_from_other_pages_are_refused(host, headers):
    with host.clock_held():
        instance_id = waiting_instance(host, f"csrf-{len(headers)}-{abs(hash(str(headers)))}")
        response = terminate(host, instance_id, headers)
        assert response.status_code == 403
        assert "refused" in response.json()["Message"]
        assert host.status(instance_id)["runtimeStatus"] == "Running"
        host.terminate(instance_id)  # clean up: no headers, as the SDK calls


def test_the_hosts_own_pages_and_clients_without_origin_may_change_state(host):
    with host.clock_held():
        own = waiting_instance(host, "csrf-own-page")
        origin = host.base_url
        response = terminate(host, own, {"Origin": origin, "Sec-Fetch-Site": "same-origin"})
        assert response.status_code == 202
        sdk = waiting_instance(host, "csrf-sdk-client")
        assert terminate(host, sdk, {}).status_code == 202
    assert host.wait(own)["runtimeStatus"] == "Terminated"
    assert host.wait(sdk)["runtimeStatus"] == "Terminated"


def test_clock_and_purge_are_guarded_too(host):
    foreign = {"Origin": "http://localhost:1234"}
    assert host.request("POST", "/admin/emulator/clock/hold", headers=foreign).status_code == 403
    instance_id = host.start("book_trip", TRIP)
    host.wait(instance_id)
    path = f"{WEBHOOK_PATH}/instances/{instance_id}"
    assert host.request("DELETE", path, headers=foreign).status_code == 403
    assert host.status(instance_id) is not None
    assert host.request("GET", path, headers=foreign).status_code == 200  # reads pass


def test_a_rebound_host_name_gets_nothing(host):
    evil = {"Host": "attacker.example"}
    for path in (f"{DASH}/host", "/dashboard/", f"{WEBHOOK_PATH}/instances"):
        response = host.request("GET", path, headers=evil)
        assert response.status_code == 403, path
        assert "DNS rebinding" in response.json()["Message"]
    assert host.request("GET", "/api/delay?ms=0", headers=evil).status_code == 200  # the app
    assert host.request("GET", f"{DASH}/host",
                        headers={"Host": "localhost"}).status_code == 200


def test_static_files_are_served_with_a_strict_policy(host):
    index = host.request("GET", "/dashboard/")
    assert index.status_code == 200 and "<script type=\"module\"" in index.text
    assert "frame-ancestors 'none'" in index.headers["Content-Security-Policy"]
    assert index.headers["X-Frame-Options"] == "DENY"
    script = host.request("GET", "/dashboard/main.js")
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert host.request("GET", "/dashboard", allow_redirects=False).status_code == 302
    assert host.request("GET", "/dashboard/nothing.js").status_code == 404
    assert host.request("GET", "/dashboard/..%2F__init__.py").status_code == 404


def test_instance_list_filters_pages_and_counts(host):
    ids = [host.start("book_trip", TRIP, instance_id=f"list-{n}") for n in range(7)]
    for instance_id in ids:
        host.wait(instance_id)
    page = host.request("GET", f"{DASH}/instances?instanceIdPrefix=list-&top=5").json()
    assert page["total"] == 7 and page["counts"] == {"Completed": 7}
    assert [i["instanceId"] for i in page["instances"]] == [f"list-{n}" for n in range(6, 1, -1)]
    second = host.request("GET", f"{DASH}/instances?instanceIdPrefix=list-&top=5&offset=5")
    assert [i["instanceId"] for i in second.json()["instances"]] == ["list-1", "list-0"]
    failed = host.request("GET", f"{DASH}/instances?instanceIdPrefix=list-&runtimeStatus=Failed")
    assert failed.json()["total"] == 0 and failed.json()["counts"] == {"Completed": 7}
    other = host.request("GET", f"{DASH}/instances?instanceIdPrefix=list-&name=book_trips")
    assert other.json()["total"] == 0


@pytest.mark.parametrize("query, word", [
    ("runtimeStatus=Done", "runtimeStatus"), ("top=0", "top"), ("offset=-1", "offset"),
    ("createdTimeFrom=yesterday", "createdTimeFrom"),
    # The management API's rules (params.py): no Python-only integer spelling, no '+' that
    # arrived as a space.
    ("top=1_0", "top"), ("createdTimeTo=2026-01-01T10:00:00%2005:00", "createdTimeTo"),
])
def test_bad_list_parameters_get_a_clear_400(host, query, word):
    response = host.request("GET", f"{DASH}/instances?{query}")
    assert response.status_code == 400 and word in response.json()["Message"]


def test_list_created_range_takes_offsets_as_the_management_api_does(host):
    instance_id = host.start("book_trip", TRIP, instance_id="range-offset")
    host.wait(instance_id)
    created = datetime.fromisoformat(host.status(instance_id)["createdTime"].replace("Z", "+00:00"))
    minus_two = timezone(timedelta(hours=-2))

    def listed(start: datetime, end: datetime) -> list[str]:
        # Bounds written with a -02:00 offset, converted to UTC as the management API does.
        page = host.request("GET", f"{DASH}/instances", params={
            "instanceIdPrefix": "range-offset",
            "createdTimeFrom": start.astimezone(minus_two).isoformat(),
            "createdTimeTo": end.astimezone(minus_two).isoformat()}).json()
        return [i["instanceId"] for i in page["instances"]]

    minute = timedelta(minutes=1)
    assert listed(created - minute, created + minute) == [instance_id]
    assert listed(created - 2 * minute, created - minute) == []


def test_host_info_shows_functions_limits_clock_and_pending_timers(host):
    with host.clock_held():
        instance_id = waiting_instance(host, "host-info-timer")
        info = host.request("GET", f"{DASH}/host").json()
        assert info["clock"]["held"] is True and info["clock"]["timeSkipping"] is True
        timers = [t for t in info["work"]["timers"]["items"] if t["instanceId"] == instance_id]
        assert len(timers) == 1  # the approval timeout
        host.terminate(instance_id)
    triggers = {f["name"]: f["trigger"] for f in info["functions"]}
    assert triggers["book_trip"] == "orchestrationTrigger"
    assert triggers["book_flight"] == "activityTrigger"
    assert "book_trip" in info["orchestrators"]
    assert info["limits"]["maxConcurrentActivityFunctions"] > 0


def test_timeline_of_an_unknown_instance_is_a_404(host):
    response = host.request("GET", f"{DASH}/instances/nope/timeline")
    assert response.status_code == 404 and "nope" in response.json()["Message"]
