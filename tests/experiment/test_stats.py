"""experiment/stats.py: from measured runs to one table row."""

import pytest

from experiment.stats import (
    ROW_FIELDS,
    median,
    representative_run,
    summarize_point,
    waves_from_duration,
)


def http_run(e2e_ms, fanout_ms, waves=1, p50=1010.0):
    return {
        "e2e_ms": e2e_ms,
        "server_ms": fanout_ms,
        "fanout_ms": fanout_ms,
        "waves": waves,
        "peak_concurrency": 100,
        "per_call_ms": {
            "count": 100,
            "min": 1001.0,
            "p50": p50,
            "p95": 1020.0,
            "max": 1030.0,
            "mean": 1011.0,
        },
    }


def test_median_and_representative_run():
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 2, 3]) == 2.5
    runs = [{"e2e_ms": 30}, {"e2e_ms": 10}, {"e2e_ms": 20}, {"e2e_ms": 40}]
    assert representative_run(runs) == {"e2e_ms": 20}


@pytest.mark.parametrize(
    "duration, ideal, waves",
    [(3300, 3000, 1), (6400, 3000, 2), (300_000, 3000, 100), (10, 3000, 1), (50, 0, 1)],
)
def test_waves_from_duration(duration, ideal, waves):
    assert waves_from_duration(duration, ideal) == waves


def test_http_point_row_uses_medians_and_the_median_runs_per_call_figures():
    point = {
        "mode": "http",
        "n": 100,
        "delay_ms": 1000,
        "max_connections": None,
        "runs": [
            http_run(1100, 1050, p50=1011.0),
            http_run(1300, 1250, waves=2, p50=1099.0),
            http_run(1200, 1150, p50=1022.0),
        ],
    }
    row = summarize_point(point)
    assert set(row) == set(ROW_FIELDS)
    assert row["runs"] == 3
    assert row["f2"] == "async"  # the default when a point does not say
    assert row["e2e_ms"] == 1200 and row["e2e_min_ms"] == 1100
    assert row["server_ms"] == 1150
    assert row["overhead_ms"] == 150
    assert row["call_p50_ms"] == 1022.0  # from the run with the median e2e
    assert row["waves"] == 1
    assert row["effective_concurrency"] == pytest.approx(100 * 1000 / 1150)
    assert row["sequential_s"] == 100
    assert row["activities_per_s"] is None


def test_durable_point_row_has_throughput_and_waves_from_duration():
    point = {
        "mode": "durable",
        "n": 1000,
        "delay_ms": 3000,
        "max_connections": None,
        "connect_ms": 1000,
        "work_ms": 2000,
        "runs": [{"e2e_ms": 3400, "server_ms": 3200, "activities": 1000}],
    }
    row = summarize_point(point)
    assert row["server_ms"] == 3200
    assert row["activities_per_s"] == pytest.approx(1000 / 3.2)
    assert row["waves"] == 1
    assert row["sequential_s"] == 3000  # 50 minutes
    assert row["call_p50_ms"] is None
    assert row["f2"] is None


def test_a_point_without_runs_is_an_error():
    with pytest.raises(ValueError):
        summarize_point({"mode": "http", "n": 1, "delay_ms": 1, "runs": []})
