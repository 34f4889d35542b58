"""The app settings with the Functions host's meaning: process count, thread pool, interpreter
arguments (a debugger); a bad setting or app fails the start with a clear message."""

from __future__ import annotations

import json
import sys

import pytest

from emulator.worker.process import FunctionFailed, PoolSettings, WorkerStartError
from emulator.worker.process.interpreter import choose_python

from .conftest import APPS, BASIC


def test_calls_spread_over_the_worker_processes(start_pool):
    running = start_pool(FUNCTIONS_WORKER_PROCESS_COUNT="3")
    assert len(set(running.pids())) == 3
    outcomes = running.gather([("activity", "where", None, b"0", 60)] * 9,
                              return_exceptions=False)
    pids = [json.loads(o.text)["pid"] for o in outcomes]
    assert sorted(pids) == sorted(running.pids() * 3)  # in turn, as the host's load balancer


def test_sync_functions_run_on_the_thread_pool_of_the_setting(start_pool):
    two = start_pool(PYTHON_THREADPOOL_THREAD_COUNT="2")
    assert [o.text for o in two.gather([("activity", "pair", None, b"10", 30)] * 2,
                                       return_exceptions=False)] == ['"paired"'] * 2
    one = start_pool(PYTHON_THREADPOOL_THREAD_COUNT="1")
    outcomes = one.gather([("activity", "pair", None, b"0.5", 30)] * 2)
    assert all(isinstance(o, FunctionFailed) and o.type_name == "BrokenBarrierError"
               for o in outcomes)


def test_app_settings_reach_the_worker_and_it_runs_in_the_app_folder(start_pool):
    running = start_pool(BASIC_APP_SETTING="from-settings")
    info = json.loads(running.call("activity", "where", b"0").text)
    assert info["setting"] == "from-settings"
    assert info["cwd"] == str(BASIC)


def test_interpreter_arguments_go_before_the_worker_script(start_pool):
    """What attaching a debugger uses: ``-m debugpy --listen ...`` in this setting."""
    running = start_pool(languageWorkers__python__arguments="-X dev")
    assert json.loads(running.call("activity", "where", b"0").text)["dev_mode"] is True


@pytest.mark.parametrize("name,value", [("FUNCTIONS_WORKER_PROCESS_COUNT", "11"),
                                        ("FUNCTIONS_WORKER_PROCESS_COUNT", "0"),
                                        ("FUNCTIONS_WORKER_PROCESS_COUNT", "two"),
                                        ("PYTHON_THREADPOOL_THREAD_COUNT", "0")])
def test_a_bad_setting_is_refused_by_name(name, value):
    with pytest.raises(WorkerStartError, match=f"{name}='{value}'"):
        PoolSettings.from_settings(BASIC, environ={name: value})


def test_an_app_that_does_not_import_fails_the_start_with_its_traceback(start_pool):
    with pytest.raises(WorkerStartError) as failed:
        start_pool(APPS / "broken")
    assert "this app does not import" in str(failed.value)
    assert "Traceback" in str(failed.value)


def test_the_interpreter_is_the_flag_else_the_active_venv_else_the_hosts(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    assert choose_python(None, {"VIRTUAL_ENV": str(venv)}) == str(venv / "bin" / "python")
    assert choose_python(str(venv), {}) == str(venv / "bin" / "python")
    assert choose_python(None, {}) == sys.executable
    with pytest.raises(WorkerStartError, match="--python"):
        choose_python(str(tmp_path / "missing"), {})
