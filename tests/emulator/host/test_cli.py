"""The command line: flags, start-up errors, the history timeline and the replay check."""

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.host.cli import build_parser
from emulator.runtime.clock import TimeSkipping
from emulator.testing import LocalHost
from emulator.worker.loader import AppLoadError, load_app, route_pattern

from ..conftest import APPS, PROTOCOL_APP

ROOT = Path(__file__).resolve().parents[3]


def _cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "emulator", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"]])
def test_help_documents_every_flag(args):
    result = _cli(*args)
    assert result.returncode == 0
    assert "history" in result.stdout and "replay" in result.stdout
    for flag in ("--app", "--port", "--state", "--time-skipping", "--log-level",
                 "--max-activities", "--max-orchestrators", "--threads", "--azurite"):
        assert flag in result.stdout


@pytest.mark.parametrize("args,mode", [
    ([], TimeSkipping.OFF),
    (["--time-skipping"], TimeSkipping.ALWAYS),  # the bare flag keeps its old meaning
    (["--time-skipping=always"], TimeSkipping.ALWAYS),
    (["--time-skipping", "while-waiting"], TimeSkipping.WHILE_WAITING),
    (["--time-skipping=off"], TimeSkipping.OFF),
])
def test_time_skipping_modes(args, mode):
    assert build_parser().parse_args(["serve", *args]).time_skipping is mode


def test_help_says_which_time_skipping_mode_fits_whom():
    text = " ".join(_cli("--help").stdout.split())
    assert "'always' (what the bare flag means)" in text and "for tests and scripts" in text
    assert "'while-waiting' skips only while a client waits" in text
    assert "for a person at a terminal" in text


@pytest.mark.parametrize("args,named", [
    (["--port", "seventy"], "--port"),
    (["--port", "70000"], "--port"),
    (["--log-level", "loud"], "--log-level"),
    (["--max-activities", "-3"], "--max-activities"),
    (["--bogus"], "--bogus"),
    (["--time-skipping=sometimes"], "--time-skipping"),
])
def test_bad_flags_fail_naming_the_flag(args, named):
    result = _cli(*args)
    assert result.returncode == 2
    assert named in result.stderr


def test_port_in_use_is_a_one_line_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = _cli("--app", str(PROTOCOL_APP), "--port", str(port), "--state", ":memory:")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"127.0.0.1:{port}" in errors[0]


def test_missing_function_app_is_a_clear_error(tmp_path):
    result = _cli("--app", str(tmp_path), "--state", ":memory:")
    assert result.returncode == 2
    assert "No function_app.py" in result.stderr


def test_import_error_shows_the_traceback():
    with pytest.raises(AppLoadError) as info:
        load_app(APPS / "broken_import")
    assert "module_that_does_not_exist" in str(info.value)
    assert "Traceback" in str(info.value)


def test_duplicate_route_is_refused():
    with pytest.raises(AppLoadError, match="both serve route"):
        load_app(APPS / "dup_route")


@pytest.mark.parametrize("template,path,params", [
    ("orchestrators/{name}/{id?}", "orchestrators/book", {"name": "book", "id": None}),
    ("orchestrators/{name}/{id?}", "orchestrators/book/42", {"name": "book", "id": "42"}),
    ("items/{id:int}", "items/7", {"id": "7"}),
    ("files/{*path}", "files/a/b/c.txt", {"path": "a/b/c.txt"}),
])
def test_route_templates(template, path, params):
    match = route_pattern(template).match(path)
    assert match is not None and match.groupdict() == params


@pytest.mark.parametrize("template,path", [("items/{id:int}", "items/x"),
                                           ("orchestrators/{name}", "orchestrators")])
def test_route_templates_reject(template, path):
    assert route_pattern(template).match(path) is None


def test_history_timeline_and_replay_against_changed_code(tmp_path):
    state = tmp_path / "state.db"
    with LocalHost(PROTOCOL_APP, state=str(state), time_skipping=True) as host:
        instance_id = host.start("retrying", {"key": "cli", "fail_times": 1, "attempts": 3})
        assert host.wait(instance_id)["runtimeStatus"] == "Completed"
        via_url = _cli("history", instance_id, "--url", host.base_url)
    timeline = _cli("history", instance_id, "--state", str(state))
    assert timeline.returncode == 0, timeline.stderr
    assert via_url.stdout == timeline.stdout
    for expected in ("retrying", "Completed", "TaskFailed #0", "TimerCreated #1",
                     "TaskCompleted #2", "flaky", "episode"):
        assert expected in timeline.stdout
    picture = tmp_path / "timeline.png"
    drawn = _cli("history", instance_id, "--state", str(state), "--plot", str(picture))
    assert drawn.returncode == 0 and picture.read_bytes()[:4] == b"\x89PNG"

    exported = _cli("history", instance_id, "--state", str(state), "--json")
    history_file = tmp_path / "history.json"
    history_file.write_text(exported.stdout)
    assert json.loads(exported.stdout)["instance"]["instance_id"] == instance_id

    same = _cli("replay", str(history_file), "--app", str(PROTOCOL_APP))
    assert same.returncode == 0, same.stdout + same.stderr
    assert "deterministic" in same.stdout and "3 recorded steps" in same.stdout

    changed_app = tmp_path / "changed"
    changed_app.mkdir()
    source = (PROTOCOL_APP / "function_app.py").read_text()
    changed = source.replace('call_activity_with_retry("flaky"', 'call_activity_with_retry("echo"')
    assert changed != source
    (changed_app / "function_app.py").write_text(changed)
    drift = _cli("replay", str(history_file), "--app", str(changed_app))
    assert drift.returncode == 1
    assert "NON-DETERMINISTIC" in drift.stdout
    assert "sequence number 0" in drift.stdout and "'flaky'" in drift.stdout


def test_history_of_unknown_instance_fails_cleanly(tmp_path):
    result = _cli("history", "nope", "--state", str(tmp_path / "missing.db"))
    assert result.returncode == 2 and result.stderr.startswith("error:")


@pytest.mark.parametrize("content", [b"[" * 100_000 + b"]" * 100_000, b"[NaN]", b"\xff{"])
def test_replay_of_a_hostile_history_file_is_a_one_line_error(tmp_path, content):
    history_file = tmp_path / "h.json"
    history_file.write_bytes(content)
    result = _cli("replay", str(history_file), "--app", str(PROTOCOL_APP))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: cannot read")


def _app_with_hub_name(tmp_path: Path, hub_name: str) -> Path:
    app = tmp_path / "app"
    shutil.copytree(PROTOCOL_APP, app, ignore=shutil.ignore_patterns("__pycache__"))
    host_json = json.loads((app / "host.json").read_text())
    host_json["extensions"]["durableTask"]["hubName"] = hub_name
    (app / "host.json").write_text(json.dumps(host_json))
    return app


def test_hub_name_resolves_app_setting_references(tmp_path):
    # The DTS package's host.json names its hub as "%TASKHUB_NAME%", as the Functions host allows.
    app = _app_with_hub_name(tmp_path, "%TASKHUB_NAME%")
    with LocalHost(app, settings={"TASKHUB_NAME": "DtsHub"}) as host:
        response = host.request("POST", "/runtime/webhooks/durabletask/orchestrators/chain")
        assert response.status_code == 202
        assert "taskHub=DtsHub&" in response.json()["statusQueryGetUri"]
        durable = host.request("GET", "/admin/host/status").json()["extensions"]["durableTask"]
        assert durable["hubName"] == "DtsHub"


def test_hub_name_with_a_missing_app_setting_is_a_one_line_error(tmp_path):
    app = _app_with_hub_name(tmp_path, "%NO_SUCH_HUB_SETTING%")
    result = _cli("--app", str(app), "--state", ":memory:")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "NO_SUCH_HUB_SETTING" in errors[0]
