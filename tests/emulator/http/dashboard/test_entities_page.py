"""The entities page on a host that runs durable entities (tests/emulator/apps/entities): list,
state and signal through the extension's entities HTTP API; and the notice a host without
entities (501) gets."""

from __future__ import annotations

import json

import pytest

from emulator.http.payloads import WEBHOOK_PATH
from emulator.testing import REPO_ROOT, LocalHost

ENTITY_APP = REPO_ROOT / "tests" / "emulator" / "apps" / "entities"


@pytest.fixture(scope="module")
def entity_host():
    with LocalHost(ENTITY_APP, subprocess=True) as host:
        yield host


def entity_state(host: LocalHost, name: str, key: str):
    response = host.request("GET", f"{WEBHOOK_PATH}/entities/{name}/{key}")
    return response.json() if response.status_code == 200 else None


def test_list_state_and_signal(page, entity_host, screenshots):
    # Two entities exist before the page opens: one from a signal, one from an orchestration.
    entity_host.signal_entity("Counter", "c1", "add", 5)
    entity_host.wait_entity("Counter", "c1", lambda state: state == 5)
    entity_host.wait(entity_host.start("call_op", {"name": "Log", "key": "trip-ada",
                                                   "op": "append", "input": "booked"}))
    page.goto(f"{entity_host.base_url}/dashboard/#/entities")
    counter = page.wait_for_selector('#entities tr[data-key="c1"]')
    assert counter.get_attribute("data-name").lower() == "counter"
    page.wait_for_selector('#entities tr[data-key="c1"] td:text-is("5")')
    assert "booked" in page.inner_text('#entities tr[data-key="trip-ada"]')

    counter.query_selector("a").click()
    page.wait_for_selector("#entity-state:text-is('5')")
    page.click("#signal")
    page.fill("#f-op", "add")
    page.fill("#f-input", "{oops")
    assert page.is_disabled("dialog button[type=submit]")  # the JSON is checked first
    page.fill("#f-input", "4")
    page.click("dialog button[type=submit]")
    page.wait_for_selector("#entity-state:text-is('9')")
    page.wait_for_selector('#entities tr[data-key="c1"] td:text-is("9")')  # the list too
    assert entity_state(entity_host, "Counter", "c1") == 9
    info = entity_host.request("GET", "/admin/emulator/dashboard/host").json()
    assert info["limits"]["entities"] >= 2
    assert {"name": "Counter", "trigger": "entityTrigger"} in info["functions"]
    screenshots.take(page, "entities")

    page.click("#signal")
    page.fill("#f-op", "delete")
    page.click("dialog button[type=submit]")
    page.wait_for_selector("#entity-state:text('does not exist')")
    assert entity_state(entity_host, "Counter", "c1") is None


def test_a_host_without_entities_gets_a_clear_notice(page, entity_host):
    # Older hosts answer 501 to entities/: the browser plays one here.
    page.route(f"**{WEBHOOK_PATH}/entities/**", lambda route: route.fulfill(
        status=501, content_type="application/json",
        body=json.dumps({"Message": "Durable entities are not supported by the local host."})))
    page.goto(f"{entity_host.base_url}/dashboard/#/entities")
    notice = page.wait_for_selector("#entities-unsupported").inner_text()
    assert "501" in notice and "not supported" in notice


def test_an_orchestrations_entity_calls_and_signals_are_on_its_timeline(page, entity_host):
    instance_id = entity_host.start("signal_then_get", "timeline", instance_id="entity-calls")
    assert entity_host.wait(instance_id)["output"] == 12
    page.goto(f"{entity_host.base_url}/dashboard/#/instance/{instance_id}")
    call = page.wait_for_selector('g.bar.entity[data-outcome="completed"]')
    assert call.get_attribute("data-name") == "counter@timeline get"
    signals = page.query_selector_all('g.point[data-kind="EntitySignal"]')
    assert [s.get_attribute("data-name") for s in signals] == ["counter@timeline add"] * 2
    call.click()
    assert "12" in page.inner_text("#detail")
