"""A 2.x durable app runs in worker processes of its own interpreter: ``func start`` in the app
folder with a Python 3.13 venv holding azure-functions-durable 2.x active (``VIRTUAL_ENV`` and
``PATH``, as a developer's shell has them), the host on the repository's 3.11 ``.venv`` (which
lacks the 2.x SDK). The HTTP starter's durable client reaches the host's gRPC endpoint, the
orchestration's activities and entity run in the workers, and the management API shows the
status. ``EMULATOR_SDK2_PYTHON`` names the 2.x interpreter (``make test-sdk2`` sets it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from emulator.host.child_process import free_port

REPO = Path(__file__).resolve().parents[4]
FUNC = REPO / "bin" / "func"
APP = Path(__file__).resolve().parent / "apps" / "sdk2_plain"
PYTHON = os.environ.get("EMULATOR_SDK2_PYTHON")

pytestmark = pytest.mark.skipif(
    not PYTHON, reason="EMULATOR_SDK2_PYTHON names no 2.x SDK interpreter")


def _request(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _finished(base: str, instance_id: str) -> object:
    """The instance's output once it completed (the management API's status)."""
    deadline = time.monotonic() + 60
    while True:
        status, body = _request(f"{base}/runtime/webhooks/durabletask/instances/{instance_id}")
        assert status in (200, 202), body
        state = json.loads(body)
        if state["runtimeStatus"] not in ("Pending", "Running"):
            break
        assert time.monotonic() < deadline, state
        time.sleep(0.2)
    assert state["runtimeStatus"] == "Completed", state
    output = state["output"]
    return json.loads(output) if isinstance(output, str) and output[:1] in "{[\"" else output


def test_func_start_runs_a_2x_app_in_worker_processes_of_its_venv(tmp_path):
    venv = Path(PYTHON).parent.parent  # not resolved: the venv's python is a symlink
    assert (venv / "pyvenv.cfg").exists(), f"{PYTHON} is not a venv's interpreter"
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    (app / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": {
        "FUNCTIONS_WORKER_RUNTIME": "python", "FUNCTIONS_WORKER_PROCESS_COUNT": "2"}}))
    port = free_port()
    env = {**os.environ, "VIRTUAL_ENV": str(venv),
           "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PYTHONPATH", None)
    process = subprocess.Popen([str(FUNC), "start", "--port", str(port)], cwd=app, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:  # as a script waits for func start: until the route answers
            assert process.poll() is None, process.stdout.read()
            try:
                status, body = _request(f"{base}/api/start/hello", "POST",
                                        json.dumps(["Tokyo", "Oslo"]).encode())
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("func start never served the route")
                time.sleep(0.3)
        assert status == 202, body
        check = json.loads(body)
        instance_id = check["id"]
        output = _finished(base, instance_id)
        assert output == {"greetings": ["Hello Tokyo from 3.13!", "Hello Oslo from 3.13!"],
                          "empty": "got None", "counted": 2, "orchestrator_python": "3.13"}
        # the entity's state, through the management API
        status, body = _request(f"{base}/runtime/webhooks/durabletask/entities/counter/"
                                f"{instance_id}")
        assert status == 200, body
        assert json.loads(body) == 2
        # an activity with a durable client binding asks the host's gRPC endpoint
        status, body = _request(f"{base}/api/start/ask_status", "POST",
                                json.dumps(instance_id).encode())
        assert status == 202, body
        assert _finished(base, json.loads(body)["id"]) == "COMPLETED"
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "worker process(es) of" in output and "(Python 3.13" in output, output[-3000:]
    assert "runs in the host's process" not in output, output[-3000:]
