"""A wide fan-out's timeline aggregates by function and still draws every task's outcome."""

from __future__ import annotations

import pytest

from emulator.testing import REPO_ROOT, LocalHost

WIDTH = 2000


@pytest.fixture(scope="module")
def bench_host():
    with LocalHost(REPO_ROOT / "benchmarks" / "app", subprocess=True,
                   max_activities=250) as host:
        yield host


def test_a_wide_fan_out_draws_as_one_aggregated_row(page, bench_host, screenshots):
    instance_id = bench_host.start("fan_out", {"count": WIDTH, "seconds": 0.02},
                                   instance_id="wide-fan-out")
    assert bench_host.wait(instance_id, timeout=120)["output"] == WIDTH
    page.goto(f"{bench_host.base_url}/dashboard/#/instance/{instance_id}")
    group = page.wait_for_selector('g.group[data-name="wait"]')
    assert group.get_attribute("data-count") == str(WIDTH)
    assert page.query_selector_all("g.bar") == []  # no per-task bars at this width
    assert page.query_selector("g.group path.area.completed")
    group.click()
    detail = page.inner_text("#detail")
    assert f"completed {WIDTH}" in detail and "Peak outstanding" in detail
    screenshots.take(page, "fan-out-timeline")
