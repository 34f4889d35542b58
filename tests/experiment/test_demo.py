"""`python -m experiment demo --quick`: what `make run` does, end to end in a child process
(Azurite + the local host started, swept in both modes, stopped), on a smaller sweep."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from experiment import demo

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    not (REPO / "node_modules" / ".bin" / "azurite-blob").exists() or not shutil.which("node"),
    reason="Azurite is not installed (make setup installs it)",
)
def test_quick_demo_starts_measures_and_stops_everything(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "experiment", "demo", "--quick", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "local host stopped" in proc.stderr
    assert "durable" in proc.stdout and str(tmp_path / "latency.png") in proc.stdout
    document = json.loads((tmp_path / "results.json").read_text())
    modes = [(p["mode"], p["n"], p["max_connections"]) for p in document["points"]]
    assert modes == [(s.mode, s.n, s.max_connections) for s in demo.demo_plan(quick=True)]
    assert document["parameters"]["demo"] is True
    assert "Running" in document["target"]["host_status"]["state"]
    capped = [p for p in document["points"] if p["max_connections"]]
    assert capped[-1]["runs"][0]["waves"] > 1
    assert (tmp_path / "host.log").read_text().count("listening on") == 1


def test_demo_plan_shows_batches_and_the_1000_site_claim():
    specs = demo.demo_plan()
    assert max(s.n for s in specs if s.mode == "http" and not s.max_connections) == 1000
    assert any(s.max_connections and s.n > s.max_connections for s in specs)
    (sites,) = [s for s in specs if s.mode == "durable" and s.n == 1000]
    assert (sites.connect_ms, sites.work_ms) == (1000, 2000)
