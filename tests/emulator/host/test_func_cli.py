"""``func``: Core Tools' command line on the local host - a script that starts ``func start`` in
the app folder and waits for an HTTP route works unchanged."""

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
from emulator.host.func_cli import build_parser, serve_argv, split_language_worker, wants_azurite

REPO = Path(__file__).resolve().parents[3]
APPS = Path(__file__).resolve().parent / "apps"
FUNC = REPO / "bin" / "func"


def test_version_prints_a_core_tools_major_version():
    done = subprocess.run([str(FUNC), "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.startswith("4.")


def test_language_worker_arguments_are_taken_after_the_double_dash():
    argv, worker = split_language_worker(
        ["start", "--language-worker", "--", "-m debugpy --listen 127.0.0.1:5678", "--verbose"])
    assert worker == "-m debugpy --listen 127.0.0.1:5678"
    assert argv == ["start", "--verbose"]
    args = build_parser().parse_args(argv)
    args.language_worker = worker
    assert "languageWorkers__python__arguments=-m debugpy --listen 127.0.0.1:5678" in \
        serve_argv(args, Path("/app"))


def test_development_storage_starts_azurite_only_when_none_listens():
    dev = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    assert wants_azurite(dev, {}, probe=lambda _: False)
    assert not wants_azurite(dev, {}, probe=lambda _: True)
    assert not wants_azurite({"AzureWebJobsStorage": "DefaultEndpointsProtocol=https;..."}, {},
                             probe=lambda _: False)
    assert not wants_azurite(dev, {"AzureWebJobsStorage": "elsewhere"}, probe=lambda _: False)


def test_func_start_outside_an_app_folder_says_so(tmp_path):
    done = subprocess.run([str(FUNC), "start"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert "no function_app.py" in done.stderr


def test_a_script_that_starts_func_start_and_waits_for_a_route_works(tmp_path):
    app = tmp_path / "app"
    shutil.copytree(APPS / "func_app", app)
    # local.settings.json is git-ignored (it holds secrets in real apps): written here, as a
    # developer's own file would be, so a clean clone runs the test too
    (app / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": {
        "FUNCTIONS_WORKER_RUNTIME": "python", "BASIC_APP_SETTING": "from-local-settings"}}))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    process = subprocess.Popen([str(FUNC), "start", "--port", str(port)],
                               cwd=app, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/hello/ann",
                                            timeout=5) as response:
                    assert response.status == 201
                    assert response.read() == b"hello ann from-local-settings"
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("func start never served the route")
                time.sleep(0.2)
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "hello: [GET]" in output
