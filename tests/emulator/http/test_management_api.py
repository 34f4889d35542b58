"""Bad input on every management route answers the right 4xx and changes nothing stored."""

import pytest

BASE = "/runtime/webhooks/durabletask"


@pytest.fixture(scope="module")
def finished(host):
    instance_id = host.start("chain", "done")
    host.wait(instance_id)
    return instance_id


@pytest.fixture(scope="module")
def waiting(host):
    with host.clock_held():
        instance_id = host.start("waiter")
        host.wait_until(instance_id, lambda s: s["customStatus"] == "waiting")
    yield instance_id
    host.terminate(instance_id)


def _snapshot(host, instance_id):
    return host.raw_history(instance_id)


@pytest.mark.parametrize("method,path", [
    ("GET", "/instances/nope"),
    ("DELETE", "/instances/nope"),
    ("POST", "/instances/nope/raiseEvent/go"),
    ("POST", "/instances/nope/terminate"),
    ("POST", "/instances/nope/suspend"),
    ("POST", "/instances/nope/resume"),
    ("POST", "/instances/nope/rewind"),
])
@pytest.mark.parametrize("base", [BASE, "/durabletask"])
def test_unknown_instance_is_404(host, method, path, base):
    response = host.request(method, base + path, json={})
    assert response.status_code == 404


def test_restart_unknown_instance_is_400(host):
    response = host.request("POST", f"{BASE}/instances/nope/restart")
    assert response.status_code == 400
    assert "does not match a valid orchestration instance" in response.json()["ExceptionMessage"]


def test_start_unknown_orchestrator_is_400_naming_known_ones(host):
    response = host.request("POST", f"{BASE}/orchestrators/nope", json={})
    assert response.status_code == 400
    message = response.json()["ExceptionMessage"]
    assert "'nope' doesn't exist" in message and "'chain'" in message


def test_start_with_invalid_json_is_400_and_creates_nothing(host):
    before = len(host.request("GET", f"{BASE}/instances?top=1000").json())
    response = host.request("POST", f"{BASE}/orchestrators/chain", data="{not json",
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "Invalid JSON" in response.json()["Message"]
    assert len(host.request("GET", f"{BASE}/instances?top=1000").json()) == before


@pytest.mark.parametrize("bad_id", ["@entity", "a" * 257, "tab\tid", "back\\slash"])
def test_start_with_invalid_instance_id_is_400(host, bad_id):
    from urllib.parse import quote
    response = host.request("POST", f"{BASE}/orchestrators/chain/{quote(bad_id, safe='')}",
                            json="x")
    assert response.status_code == 400
    assert host.status(bad_id) is None


def test_raise_event_wrong_content_type_is_400_and_not_stored(host, waiting):
    before = _snapshot(host, waiting)
    response = host.request("POST", f"{BASE}/instances/{waiting}/raiseEvent/go",
                            data="hello", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert response.json()["Message"] == "Only application/json request content is supported"
    assert _snapshot(host, waiting) == before


def test_raise_event_invalid_json_is_400_and_not_stored(host, waiting):
    before = _snapshot(host, waiting)
    response = host.request("POST", f"{BASE}/instances/{waiting}/raiseEvent/go",
                            data="{oops", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert _snapshot(host, waiting) == before


@pytest.mark.parametrize("operation", ["raiseEvent/go", "terminate", "suspend", "resume"])
def test_operations_on_a_finished_instance_are_410(host, finished, operation):
    before = _snapshot(host, finished)
    response = host.request("POST", f"{BASE}/instances/{finished}/{operation}", json={})
    assert response.status_code == 410
    assert _snapshot(host, finished) == before


def test_resume_a_running_instance_is_refused(host, waiting):
    response = host.request("POST", f"{BASE}/instances/{waiting}/resume")
    assert response.status_code == 500
    assert "Cannot resume" in response.json()["ExceptionMessage"]


def test_purge_of_a_running_instance_is_refused(host, waiting):
    response = host.request("DELETE", f"{BASE}/instances/{waiting}")
    assert response.status_code == 409
    assert host.status(waiting)["runtimeStatus"] == "Running"


def test_status_codes_and_headers(host, finished, waiting):
    done = host.request("GET", f"{BASE}/instances/{finished}")
    assert done.status_code == 200
    running = host.request("GET", f"{BASE}/instances/{waiting}")
    assert running.status_code == 202
    assert running.headers["Retry-After"] == "5"
    assert running.headers["Location"].endswith(f"/instances/{waiting}")
    no_input = host.request("GET", f"{BASE}/instances/{finished}?showInput=false").json()
    assert no_input["input"] is None
    assert host.request("GET", f"{BASE}/instances/{finished}?showHistory=maybe").status_code \
        == 400


def test_failed_instance_can_answer_500_on_request(host):
    instance_id = host.start("failing", "x")
    host.wait(instance_id)
    plain = host.request("GET", f"{BASE}/instances/{instance_id}")
    assert plain.status_code == 200 and plain.json()["runtimeStatus"] == "Failed"
    strict = host.request("GET", f"{BASE}/instances/{instance_id}"
                                 "?returnInternalServerErrorOnFailure=true")
    assert strict.status_code == 500


def test_list_filters_and_pages(host, finished):
    prefix = host.start("chain", "paged", instance_id="page-1")
    host.wait(prefix)
    host.wait(host.start("chain", "paged", instance_id="page-2"))
    found = host.request("GET", f"{BASE}/instances?instanceIdPrefix=page-").json()
    assert sorted(s["instanceId"] for s in found) == ["page-1", "page-2"]
    first = host.request("GET", f"{BASE}/instances?instanceIdPrefix=page-&top=1")
    assert len(first.json()) == 1
    token = first.headers["x-ms-continuation-token"]
    second = host.request("GET", f"{BASE}/instances?instanceIdPrefix=page-&top=1",
                          headers={"x-ms-continuation-token": token})
    assert [s["instanceId"] for s in first.json() + second.json()] == ["page-1", "page-2"]
    assert "x-ms-continuation-token" not in second.headers
    completed = host.request("GET", f"{BASE}/instances?runtimeStatus=Completed").json()
    assert all(s["runtimeStatus"] == "Completed" for s in completed)
    assert host.request("GET", f"{BASE}/instances?runtimeStatus=Finished").status_code == 400
    assert host.request("GET", f"{BASE}/instances?top=-1").status_code == 400
    assert host.request("GET", f"{BASE}/instances?createdTimeFrom=yesterday").status_code == 400


def test_purge_by_filter(host):
    host.wait(host.start("chain", "purge", instance_id="purge-me-1"))
    missing = host.request("DELETE", f"{BASE}/instances/?runtimeStatus=Completed")
    assert missing.status_code == 400
    assert "createdTimeFrom" in missing.json()["Message"]
    deleted = host.request("DELETE", f"{BASE}/instances/?createdTimeFrom=2000-01-01T00:00:00Z"
                                     "&runtimeStatus=Completed")
    assert deleted.status_code == 200 and deleted.json()["instancesDeleted"] >= 1
    assert host.status("purge-me-1") is None
    again = host.request("DELETE", f"{BASE}/instances/?createdTimeFrom=2000-01-01T00:00:00Z"
                                   "&runtimeStatus=Completed")
    assert again.status_code == 404


def test_restart_starts_a_new_instance_with_the_same_input(host):
    original = host.start("chain", "again")
    host.wait(original)
    response = host.request("POST", f"{BASE}/instances/{original}/restart")
    assert response.status_code == 202
    new_id = response.json()["id"]
    assert new_id != original
    assert host.wait(new_id)["output"] == ["again-a", "again-b", "again-c"]
    same = host.request("POST", f"{BASE}/instances/{original}/restart"
                                "?restartWithNewInstanceId=false")
    assert same.json()["id"] == original
    assert host.wait(original)["output"] == ["again-a", "again-b", "again-c"]


def test_an_entity_of_an_app_without_entities_is_not_found(host):
    assert host.request("GET", f"{BASE}/entities/counter/one").status_code == 404
    signal = host.request("POST", f"{BASE}/entities/counter/one?op=add")
    assert signal.status_code == 400
    assert "No entity functions are currently registered!" in signal.json()["Message"]


def test_unknown_management_route_is_404(host):
    assert host.request("GET", f"{BASE}/whatever").status_code == 404
