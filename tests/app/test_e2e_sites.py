"""Site processing end to end: one wide async fan-out, failures in the summary, bounded batches."""

import time


def run(host, body, timeout=30):
    response = host.request("POST", "/api/orchestrators/process_sites", json=body)
    assert response.status_code == 202, response.text
    status = host.wait(response.json()["id"], timeout=timeout)
    assert status["runtimeStatus"] == "Completed", status
    return status["output"]


def test_a_thousand_sites_take_about_as_long_as_one(host):
    began = time.monotonic()
    summary = run(host, {"count": 1000, "connect_ms": 1000, "work_ms": 2000}, timeout=60)
    wall_s = time.monotonic() - began
    assert (summary["sites"], summary["processed"], summary["failed"]) == (1000, 1000, 0)
    assert summary["batches"] == 0  # within the default width: one fan-out
    assert 3000 <= summary["slowest_ms"] < 6000
    assert summary["total_ms"] < 8000 and wall_s < 10  # sequentially this would be 50 minutes
    assert summary["sequential_estimate_ms"] >= 3_000_000


def test_failed_sites_are_counted_and_the_rest_complete(host):
    summary = run(host, {"sites": ["https://a.example", "https://b.example", "c"],
                         "connect_ms": 10, "work_ms": 20, "fail": ["https://b.example"]})
    assert (summary["sites"], summary["processed"], summary["failed"]) == (3, 2, 1)
    assert summary["failures"] == [{"site": "https://b.example",
                                    "error": "SiteUnreachableError: could not connect to "
                                             "https://b.example"}]
    assert summary["slowest_site"] in ("https://a.example", "c")
    assert summary["slowest_ms"] >= 30


def test_inputs_wider_than_max_width_run_as_sub_orchestrations(host):
    response = host.request("POST", "/api/orchestrators/process_sites",
                            json={"count": 25, "connect_ms": 5, "work_ms": 5, "max_width": 10,
                                  "fail": ["site-12"]})
    status = host.wait(response.json()["id"])
    summary = status["output"]
    assert (summary["sites"], summary["processed"], summary["failed"]) == (25, 24, 1)
    assert summary["batches"] == 3 and summary["failures"][0]["site"] == "site-12"
    children = [e for e in host.history(status["instanceId"])
                if e["EventType"] == "SubOrchestrationInstanceCompleted"]
    assert sorted(c["Result"]["sites"] for c in children) == [5, 10, 10]  # completion order


def test_an_invalid_input_that_bypasses_the_starter_fails_the_instance(host):
    status = host.wait(host.start("process_sites", {"count": -1}))
    assert status["runtimeStatus"] == "Failed"
    assert "count: must be between 1 and 100000" in str(status["output"])
