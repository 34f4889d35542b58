"""The experiment CLI (`python -m experiment`) against the fake host: a small sweep in both modes,
files written and parsed, plausible numbers, clean failures."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.host.child_process import free_port
from experiment import cli, measure, results

REPO = Path(__file__).resolve().parents[2]
D = 200  # ms: small, so the sweep stays quick


def run(argv, capsys):
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def sweep_dir(fake_host, tmp_path_factory):
    """One small sweep in both modes plus a capped one, shared by the assertions below."""
    out = tmp_path_factory.mktemp("sweep")
    status = cli.main(
        [
            "run",
            "--base-url",
            fake_host.base_url,
            "--calls",
            "1,10,120",
            "--delay-ms",
            str(D),
            "--sites",
            "5,20",
            "--connect-ms",
            "50",
            "--work-ms",
            "100",
            "--repeat",
            "2",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    capped = out / "capped"
    status = cli.main(
        [
            "run",
            "--base-url",
            fake_host.base_url,
            "--mode",
            "http",
            "--calls",
            "4,12",
            "--delay-ms",
            str(D),
            "--max-connections",
            "4",
            "--out",
            str(capped),
        ]
    )
    assert status == 0
    return out


def test_sweep_writes_json_csv_and_figures(sweep_dir):
    names = {p.name for p in sweep_dir.iterdir()}
    assert {"results.json", "results.csv", "latency.png", "batches.png"} <= names
    assert (sweep_dir / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    document = json.loads((sweep_dir / "results.json").read_text())
    assert document["parameters"]["calls"] == [1, 10, 120]
    assert "key" not in document["parameters"]
    assert document["target"]["local"] is True
    assert document["target"]["host_status"]["state"] == "Running"
    assert document["machine"]["cpu_count"] >= 1
    assert document["commit"]["id"]
    assert [(p["mode"], p["n"]) for p in document["points"]] == [
        ("http", 1),
        ("http", 10),
        ("http", 120),
        ("durable", 5),
        ("durable", 20),
    ]
    assert all(len(p["runs"]) == 2 for p in document["points"])


def test_csv_rows_are_plausible(sweep_dir):
    with (sweep_dir / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    http = [r for r in rows if r["mode"] == "http"]
    durable = [r for r in rows if r["mode"] == "durable"]
    assert [int(r["n"]) for r in http] == [1, 10, 120]
    for row in http:
        assert float(row["e2e_ms"]) >= float(row["server_ms"]) >= D
        assert float(row["call_min_ms"]) >= D
        assert int(row["waves"]) == 1  # no cap: one wave, even above aiohttp's default 100
        assert float(row["effective_concurrency"]) > 0.5 * int(row["n"])
    for row in durable:
        assert float(row["e2e_ms"]) >= 150
        assert int(row["waves"]) == 1
        assert float(row["activities_per_s"]) > 0
        assert float(row["sequential_s"]) == pytest.approx(int(row["n"]) * 0.15)


def test_a_small_cap_gives_several_waves(sweep_dir):
    rows = results.rows(results.load(sweep_dir / "capped"))
    assert [(r["n"], r["max_connections"], r["waves"]) for r in rows] == [(4, 4, 1), (12, 4, 3)]
    assert rows[1]["e2e_ms"] >= 3 * D
    assert rows[1]["peak_concurrency"] <= 4


def test_the_sync_f2_gives_waves_of_the_thread_pool(fake_host, tmp_path, capsys):
    status, out, _ = run(
        [
            "run",
            "--base-url",
            fake_host.base_url,
            "--mode",
            "http",
            "--calls",
            "12",
            "--delay-ms",
            str(D),
            "--f2",
            "sync",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert status == 0
    (row,) = results.rows(results.load(tmp_path))
    assert (row["f2"], row["waves"]) == ("sync", 12 // fake_host.sync_threads)
    assert " sync " in out.splitlines()[2]


def test_summarize_and_plot_reread_the_results(sweep_dir, tmp_path, capsys):
    status, out, _ = run(["summarize", str(sweep_dir)], capsys)
    assert status == 0
    assert "durable" in out and "target: http://127.0.0.1" in out
    status, out, _ = run(["plot", str(sweep_dir / "results.json"), "--out", str(tmp_path)], capsys)
    assert status == 0
    assert (tmp_path / "latency.png").stat().st_size > 10_000


def test_ctrl_c_keeps_the_finished_points(fake_host, tmp_path, capsys, monkeypatch):
    def interrupt_second_point(self, index, label):
        if index == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(measure.Progress, "start", interrupt_second_point)
    status, out, err = run(
        [
            "run",
            "--base-url",
            fake_host.base_url,
            "--mode",
            "http",
            "--calls",
            "1,2,3",
            "--delay-ms",
            "10",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert status == 130
    assert "interrupted" in err
    document = results.load(tmp_path)
    assert document["interrupted"] is True
    assert [p["n"] for p in document["points"]] == [1]


def test_unreachable_target_fails_with_one_line(tmp_path, capsys):
    url = f"http://127.0.0.1:{free_port()}"
    status, out, err = run(
        ["run", "--base-url", url, "--calls", "1", "--out", str(tmp_path)], capsys
    )
    assert status == 1
    assert err.count("\n") == 1 and err.startswith(f"error: cannot reach {url}")
    assert not (tmp_path / "results.json").exists()


def test_missing_or_wrong_key_is_named(fake_host_with_key, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("EXPERIMENT_FUNCTION_KEY", raising=False)
    base = [
        "run",
        "--base-url",
        fake_host_with_key.base_url,
        "--mode",
        "http",
        "--calls",
        "1",
        "--delay-ms",
        "0",
        "--out",
        str(tmp_path),
    ]
    status, _, err = run(base, capsys)
    assert status == 1 and "401" in err and "function key is missing or wrong" in err
    status, _, err = run([*base, "--key", "wrong"], capsys)
    assert status == 1 and "401" in err
    monkeypatch.setenv("EXPERIMENT_FUNCTION_KEY", "s3cret")
    status, _, err = run(base, capsys)
    assert status == 0, err


def test_app_errors_are_reported_with_their_status_and_message(fake_host, tmp_path, capsys):
    base = ["--mode", "http", "--calls", "1", "--out", str(tmp_path)]
    status, _, err = run(["run", "--base-url", fake_host.base_url + "/broken", *base], capsys)
    assert status == 1
    assert err.strip().endswith(
        "500 from POST " + fake_host.base_url + "/broken/api/fanout: F1 exploded"
    )
    status, _, err = run(["run", "--base-url", fake_host.base_url + "/nothing", *base], capsys)
    assert status == 1 and "404" in err and "no such function" in err


def test_a_failed_orchestration_is_one_line(fake_host, tmp_path, capsys):
    argv = [
        "run",
        "--base-url",
        fake_host.base_url,
        "--mode",
        "durable",
        "--sites",
        "13",
        "--connect-ms",
        "10",
        "--work-ms",
        "10",
        "--out",
        str(tmp_path),
    ]
    status, _, err = run(argv, capsys)
    assert status == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: process_sites ") and "ended Failed: Orchestrator" in last


def test_a_timeout_is_one_line_naming_the_flag_to_raise(fake_host, tmp_path, capsys):
    url = fake_host.base_url + "/slow"
    argv = ["run", "--base-url", url, "--mode", "http", "--calls", "1", "--timeout", "1"]
    status, _, err = run([*argv, "--out", str(tmp_path)], capsys)
    assert status == 1
    assert err.strip().splitlines()[-1] == (
        f"error: timed out after 1 s waiting for POST {url}/api/fanout "
        "(raise --timeout for long sweeps)"
    )


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["run", "--calls", "0"], "--calls"),
        (["run", "--calls", "1,x"], "--calls"),
        (["run", "--calls", "5001"], "--calls"),
        (["run", "--delay-ms", "-1"], "--delay-ms"),
        (["run", "--repeat", "0"], "--repeat"),
        (["run", "--max-connections", "many"], "--max-connections"),
        (["run", "--mode", "grpc"], "--mode"),
        (["run", "--mode", "durable", "--max-connections", "8"], "--max-connections"),
        (["run", "--mode", "http", "--sites", "10"], "--sites"),
        (["run", "--mode", "durable", "--f2", "sync"], "--f2"),
        (["run", "--f2", "threads"], "--f2"),
        (["run", "--bogus"], "--bogus"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(argv, flag, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert flag in capsys.readouterr().err


def test_module_entry_point_and_help_show_defaults():
    proc = subprocess.run(
        [sys.executable, "-m", "experiment", "run", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0
    assert "default: 'http://localhost:7071'" in proc.stdout
    assert "python -m experiment demo" in proc.stdout


def test_summarize_of_a_missing_file_is_one_line(tmp_path, capsys):
    status, _, err = run(["summarize", str(tmp_path / "nope.json")], capsys)
    assert status == 1 and err.startswith("error: cannot read")
