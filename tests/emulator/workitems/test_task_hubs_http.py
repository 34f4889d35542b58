"""The dashboard and the management API of a scheduler host show one task hub at a time: the
``taskHub`` query parameter picks it (none: the first hub, so a one-hub host's URLs are as they
were; an undeclared hub: 404 with a JSON message). The dashboard's function list shows what the
hub can know of its names: the workers' work-item filters and the names it saw."""

import json
import urllib.error
import urllib.request

import pytest
from durabletask import task

from .conftest import RunningScheduler, started_worker

MGMT = "/runtime/webhooks/durabletask"


def plus_one(_: task.ActivityContext, value: int) -> int:
    return value + 1


def adds_one(ctx: task.OrchestrationContext, value: int):
    return (yield ctx.call_activity(plus_one, input=value))


def _get(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            status, body = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    return status, json.loads(body) if body else None


def _post(url: str, body: object) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, json.load(answer)


def test_the_management_api_answers_for_the_hub_the_url_names(two_hubs):
    base = two_hubs.base_url
    in_a = two_hubs.client("a").schedule_new_orchestration("adds_one", input=1)
    in_b = two_hubs.client("b").schedule_new_orchestration("adds_one", input=2)
    listed = {hub: {i["instanceId"] for i in _get(f"{base}{MGMT}/instances?taskHub={hub}")[1]}
              for hub in ("a", "b")}
    assert listed == {"a": {in_a}, "b": {in_b}}
    # No parameter: the first hub.
    assert {i["instanceId"] for i in _get(f"{base}{MGMT}/instances")[1]} == {in_a}
    assert _get(f"{base}{MGMT}/instances/{in_b}")[0] == 404
    assert _get(f"{base}{MGMT}/instances/{in_b}?taskHub=b")[0] == 202


def test_an_instance_started_over_http_lands_in_the_named_hub(two_hubs):
    status, started = _post(f"{two_hubs.base_url}{MGMT}/orchestrators/adds_one?taskHub=b", 5)
    assert status == 202
    assert two_hubs.client("b").get_orchestration_state(started["id"]) is not None
    assert two_hubs.client("a").get_orchestration_state(started["id"]) is None
    # Its status URL names its hub, so following it finds it.
    assert "taskHub=b" in started["statusQueryGetUri"]
    assert _get(started["statusQueryGetUri"])[1]["instanceId"] == started["id"]


@pytest.mark.parametrize("path", [f"{MGMT}/instances", "/admin/emulator/dashboard/host",
                                  "/admin/host/status", "/dashboard/"])
def test_an_undeclared_hub_answers_404_naming_the_declared_ones(two_hubs, path):
    status, body = _get(f"{two_hubs.base_url}{path}?taskHub=nope")
    assert status == 404
    assert body["Message"].startswith("Task hub not found: nope") and "a, b" in body["Message"]


def test_the_dashboard_shows_the_chosen_hub_and_offers_the_others(two_hubs):
    base = two_hubs.base_url
    two_hubs.client("b").schedule_new_orchestration("adds_one", input=1)
    for query, hub in (("", "a"), ("?taskHub=b", "b"), ("?taskHub=B", "b")):
        status, info = _get(f"{base}/admin/emulator/dashboard/host{query}")
        assert status == 200 and info["limits"]["hubName"] == hub
        assert info["taskHubs"] == {"names": ["a", "b"], "default": "a", "selectable": True}
    with urllib.request.urlopen(f"{base}/dashboard?taskHub=b", timeout=10) as page:
        assert page.url.endswith("/dashboard/?taskHub=b")  # the redirect keeps the hub
    assert _get(f"{base}/admin/emulator/dashboard/instances")[1]["total"] == 0
    assert _get(f"{base}/admin/emulator/dashboard/instances?taskHub=b")[1]["total"] == 1


def test_the_function_list_shows_the_names_workers_declared_and_the_hub_saw(two_hubs):
    host = f"{two_hubs.base_url}/admin/emulator/dashboard/host"
    with started_worker(two_hubs.address, orchestrators=(adds_one,), activities=(plus_one,),
                        filtered=True, taskhub="a"):
        c = two_hubs.client("a")
        c.wait_for_orchestration_completion(c.schedule_new_orchestration(adds_one, input=1),
                                            timeout=30)
        two_hubs.client("b").schedule_new_orchestration("only_in_b")
        rows = {(f["name"], f["trigger"]): f["sources"] for f in _get(host)[1]["functions"]}
        assert rows == {("adds_one", "orchestrationTrigger"): ["workers", "seen"],
                        ("plus_one", "activityTrigger"): ["workers"]}
    info = _get(f"{host}?taskHub=b")[1]
    assert [(f["name"], f["sources"]) for f in info["functions"]] == [("only_in_b", ["seen"])]
    assert info["orchestrators"] == ["only_in_b"]
    assert "work-item filters" in info["functionsNote"]


def test_a_one_hub_scheduler_lists_the_names_its_unfiltered_worker_ran():
    scheduler = RunningScheduler()
    try:
        with started_worker(scheduler.address, orchestrators=(adds_one,),
                            activities=(plus_one,)):
            c = scheduler.client()
            c.wait_for_orchestration_completion(c.schedule_new_orchestration(adds_one, input=1),
                                                timeout=30)
            info = _get(f"{scheduler.base_url}/admin/emulator/dashboard/host")[1]
        assert [f["name"] for f in info["functions"]] == ["adds_one"]
        assert info["anyName"]["activityTrigger"] == 1  # a worker without filters takes any
        assert info["taskHubs"]["selectable"] is False
    finally:
        scheduler.stop()
