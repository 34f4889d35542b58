"""experiment/results.py and plot.py on hand-made documents: no host needed."""

import csv
import json
from pathlib import Path

import pytest

from experiment import plot, results


def document():
    doc = results.new_document(
        {"calls": [10, 100]},
        {"base_url": "http://x", "local": False},
        repo=Path("/nonexistent"),
    )
    http_run = {
        "e2e_ms": 1020.0,
        "server_ms": 1010.0,
        "fanout_ms": 1010.0,
        "waves": 1,
        "peak_concurrency": 10,
        "per_call_ms": {
            "count": 10,
            "min": 1001.0,
            "p50": 1005.0,
            "p95": 1009.0,
            "max": 1010.0,
            "mean": 1005.0,
        },
        "details": {"start_ms": [1.0] * 10, "end_ms": [1005.0] * 10},
    }
    doc["points"] = [
        {"mode": "http", "n": 10, "delay_ms": 1000, "max_connections": None, "runs": [http_run]},
        {
            "mode": "durable",
            "n": 1000,
            "delay_ms": 3000,
            "max_connections": None,
            "connect_ms": 1000,
            "work_ms": 2000,
            "runs": [{"e2e_ms": 3500.0, "server_ms": 3300.0, "activities": 1000}],
        },
    ]
    return doc


def test_new_document_records_context_without_a_commit_outside_git():
    doc = document()
    assert doc["schema"] == results.SCHEMA
    assert doc["commit"] == {}
    assert set(doc["machine"]) >= {"cpu_count", "python", "system"}
    assert doc["timestamp"].endswith("+00:00")


def test_save_then_load_round_trips_and_the_csv_has_one_row_per_point(tmp_path):
    paths = results.save(document(), tmp_path)
    assert [p.name for p in paths] == ["results.json", "results.csv"]
    assert results.load(tmp_path)["points"] == document()["points"]
    with (tmp_path / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["mode"] for r in rows] == ["http", "durable"]
    assert rows[0]["max_connections"] == "" and rows[0]["call_p95_ms"] == "1009.0"
    assert float(rows[1]["activities_per_s"]) == pytest.approx(303.03, abs=0.01)


def test_render_table_has_a_line_per_point_and_the_settings():
    doc = document()
    doc["target"]["host_json"] = {"maxConcurrentActivityFunctions": 10}
    doc["target"]["host_status"] = {
        "extensions": {"durableTask": {"maxConcurrentActivityFunctions": 1000}},
        "emulator": {"threadPoolSize": 6},
    }
    table = results.render_table(doc)
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["mode", "N", "d"]
    assert lines[2].split()[:2] == ["http", "10"]
    assert "50.0 min" in lines[3]  # 1000 sites x 3 s, sequentially
    assert "settings: maxConcurrentActivityFunctions=1000, threadPoolSize=6" in table


@pytest.mark.parametrize(
    "content, message",
    [(None, "cannot read"), ("{", "is not JSON"), (json.dumps({"schema": 99}), "schema")],
)
def test_load_rejects_what_it_cannot_read(tmp_path, content, message):
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(results.ResultsError, match=message):
        results.load(path)


def test_plots_are_written_for_both_modes(tmp_path):
    paths = plot.plot_all(document(), tmp_path)
    assert [p.name for p in paths] == ["latency.png", "batches.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)


def test_started_over_time_is_a_staircase_from_zero_to_one():
    times, fractions = plot.started_over_time([2000.0, 0.0, 1000.0, 0.0])
    assert times == [0.0, 0.0, 0.0, 1.0, 2.0]
    assert fractions == [0.0, 0.25, 0.5, 0.75, 1.0]
