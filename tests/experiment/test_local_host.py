"""End to end: the experiment CLI against the real app on the local host (emulator.testing, as a
subprocess like `make run`), a small sweep in both modes plus a capped one. Small N and d keep it
to a few seconds."""

import json
from pathlib import Path

import pytest

from experiment import cli, results

testing = pytest.importorskip("emulator.testing")

REPO = Path(__file__).resolve().parents[2]
D = 150


@pytest.fixture(scope="module")
def host():
    with testing.LocalHost(app_dir=REPO, subprocess=True) as local_host:
        yield local_host


def test_f1_and_f2_on_the_local_host(host):
    answer = host.request("POST", "/api/fanout", json={"calls": 120, "delay_ms": D})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["target"] == f"{host.base_url}/api/delay"
    assert body["waves"] == 1 and body["peak_concurrency"] > 100
    assert D <= body["per_call_ms"]["min"] <= body["fanout_ms"] < 4 * D
    bad = host.request("POST", "/api/fanout", json={"calls": 10, "delay_ms": 70_000})
    assert bad.status_code == 400 and "delay_ms" in bad.json()["error"]
    bad = host.request("GET", "/api/delay", params={"ms": "soon"})
    assert bad.status_code == 400 and "ms" in bad.json()["error"]


def test_cli_sweep_in_both_modes_against_the_local_host(host, tmp_path):
    status = cli.main(
        [
            "run",
            "--base-url",
            host.base_url,
            "--calls",
            "1,50",
            "--delay-ms",
            str(D),
            "--sites",
            "5,50",
            "--connect-ms",
            "50",
            "--work-ms",
            "100",
            "--out",
            str(tmp_path),
        ]
    )
    assert status == 0
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["target"]["host_json"]["maxConcurrentActivityFunctions"] >= 1
    assert document["target"]["host_status"]["state"] == "Running"
    rows = results.rows(document)
    assert [(r["mode"], r["n"]) for r in rows] == [
        ("http", 1),
        ("http", 50),
        ("durable", 5),
        ("durable", 50),
    ]
    for row in rows:
        assert row["e2e_ms"] >= row["server_ms"] >= row["delay_ms"]
        assert row["waves"] == 1
    durable = [r for r in rows if r["mode"] == "durable"]
    assert all(r["activities_per_s"] > 0 for r in durable)
    run = document["points"][-1]["runs"][0]
    assert run["output"]["processed"] == 50 and run["failed"] == 0
    assert (tmp_path / "latency.png").exists() and (tmp_path / "results.csv").exists()


def test_cli_with_a_small_cap_shows_waves_on_the_local_host(host, tmp_path):
    status = cli.main(
        [
            "run",
            "--base-url",
            host.base_url,
            "--mode",
            "http",
            "--calls",
            "12",
            "--delay-ms",
            str(D),
            "--max-connections",
            "4",
            "--out",
            str(tmp_path),
            "--no-plot",
        ]
    )
    assert status == 0
    (row,) = results.rows(results.load(tmp_path))
    assert row["waves"] == 3
    assert row["e2e_ms"] >= 3 * D
    assert not (tmp_path / "latency.png").exists()


def test_the_sync_f2_runs_in_waves_of_the_hosts_thread_pool(host):
    threads = host.request("GET", "/admin/host/status").json()["emulator"]["threadPoolSize"]
    calls = 2 * threads
    answer = host.request("POST", "/api/fanout", json={"calls": calls, "delay_ms": D, "f2": "sync"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["waves"] == 2
    assert answer.json()["peak_concurrency"] <= threads


def test_a_cold_fan_out_wider_than_128_connections_is_one_wave():
    """The host listens with a large backlog: with the default 128, a cold fan-out of 400
    connections loses about a second to SYN retransmits and shows 2 waves."""
    with testing.LocalHost(app_dir=REPO, subprocess=True) as fresh:
        answer = fresh.request("POST", "/api/fanout", json={"calls": 400, "delay_ms": D})
    assert answer.status_code == 200, answer.text
    assert answer.json()["waves"] == 1
    assert answer.json()["fanout_ms"] < D + 700
