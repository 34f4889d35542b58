"""The dashboard of a scheduler host with two task hubs, in a real browser: the hub selector,
each hub's own instances, and a hub's function list (names its workers declared in their
work-item filters), where a page's calls carry the hub it shows (``?taskHub=``)."""

from __future__ import annotations

import pytest
from durabletask import client, task

from ...workitems.conftest import scheduler_running, started_worker


def plus_one(_: task.ActivityContext, value: int) -> int:
    return value + 1


def adds_one(ctx: task.OrchestrationContext, value: int):
    return (yield ctx.call_activity(plus_one, input=value))


@pytest.fixture
def two_hubs():
    with scheduler_running(task_hubs=("default", "orders")) as running:
        yield running


def test_the_hub_selector_switches_the_instances_and_the_functions_shown(page, two_hubs,
                                                                         screenshots):
    orders = two_hubs.client("orders")
    with started_worker(two_hubs.address, orchestrators=(adds_one,), activities=(plus_one,),
                        filtered=True, taskhub="orders"):
        orders.schedule_new_orchestration(adds_one, input=1, instance_id="in-orders")
        done = orders.wait_for_orchestration_completion("in-orders", timeout=30)
        assert done.runtime_status == client.OrchestrationStatus.COMPLETED

        page.goto(f"{two_hubs.base_url}/dashboard/?taskHub=orders#/instances")
        page.wait_for_selector('#instances tr[data-id="in-orders"]')
        select = page.wait_for_selector("#hub-select")
        assert select.input_value() == "orders"
        assert page.eval_on_selector_all("#hub-select option", "os => os.map(o => o.value)") \
            == ["default", "orders"]

        page.goto(f"{two_hubs.base_url}/dashboard/?taskHub=orders#/host")
        page.wait_for_selector('#functions td:text-is("adds_one")')
        assert "workers" in page.inner_text("#functions")
        screenshots.take(page, "scheduler-task-hubs")

        page.select_option("#hub-select", "default")  # reloads on the default hub
        page.wait_for_url(f"{two_hubs.base_url}/dashboard/#/host")
        page.wait_for_selector('#functions td:text("none known yet")')
        page.goto(f"{two_hubs.base_url}/dashboard/#/instances")
        page.wait_for_selector('body[data-ready="instances"]')
        page.wait_for_selector("#instances td.empty")
        assert page.query_selector('#instances tr[data-id="in-orders"]') is None
