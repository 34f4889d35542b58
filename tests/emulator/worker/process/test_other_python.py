"""An app in a virtual environment of another Python (3.13, azure-functions 2.x) runs in workers
started with that interpreter: indexing, activities, orchestrator episodes, HTTP functions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from emulator.host.child_process import free_port
from emulator.protocol.history import execution_started, orchestrator_started
from emulator.store.base import InstanceRecord
from emulator.worker.invoke import trigger_json

from .conftest import BASIC, OTHER_VERSION

REPO = Path(__file__).resolve().parents[4]
FUNC = REPO / "bin" / "func"
FUNC_APP = REPO / "tests" / "emulator" / "host" / "apps" / "func_app"


def test_the_app_runs_on_the_other_interpreter(start_pool, other_python):
    running = start_pool(BASIC, _PYTHON=other_python)
    worker = running.pool.workers[0]
    assert worker.python_version.startswith(OTHER_VERSION + ".")
    info = json.loads(running.call("activity", "where", b"0").text)
    assert info["python"].startswith(OTHER_VERSION + ".")
    assert running.call("activity", "double", b"4").text == "8"
    now = datetime(2026, 1, 1, tzinfo=UTC)
    record = InstanceRecord("i1", "chain", "e1", "Running", '"3"', "2026-01-01T00:00:00Z",
                            "2026-01-01T00:00:00Z")
    history = [orchestrator_started(now),
               execution_started(now, name="chain", instance_id="i1", execution_id="e1",
                                 input_json='"3"')]
    state = json.loads(running.call("orchestrator", "chain",
                                    trigger_json(record, history).encode()).text)
    assert state["actions"][0][0]["functionName"] == "echo"
    reply = running.call("http", "hello", b"", {
        "method": "GET", "url": "http://localhost/api/hello/bo", "route_params": {"name": "bo"}})
    assert reply.body == b"hello bo "


def test_func_start_in_an_activated_venv_of_another_python_serves_the_app(tmp_path,
                                                                          other_python):
    """The Core Tools routine: activate the app's venv, `func start`, wait for a route."""
    app = tmp_path / "app"
    shutil.copytree(FUNC_APP, app)
    venv = Path(other_python).parent.parent
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}")
    port = free_port()
    process = subprocess.Popen([str(FUNC), "start", "--port", str(port)], cwd=app, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        body = _wait_for_route(process, f"http://127.0.0.1:{port}/api/python")
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    version, pid = body.split()
    assert version.startswith(OTHER_VERSION + "."), output
    assert int(pid) != process.pid  # the app ran in a worker, not in the host
    assert "\tpython: [GET] http://localhost:" in output


def _wait_for_route(process: subprocess.Popen, url: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, process.stdout.read()
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"func start never served {url}") from None
            time.sleep(0.2)
