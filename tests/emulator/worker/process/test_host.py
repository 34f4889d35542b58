"""Worker processes behind a whole local host: the settings spread a fan-out over processes; a
worker killed mid fan-out is replaced and the fan-out completes with nothing lost; an
orchestration episode whose worker dies runs again; an activity whose worker dies fails with the
Functions host's message."""

from __future__ import annotations

import os
import signal

from emulator.testing import LocalHost

from ...conftest import APPS
from .conftest import BASIC

STUCK_APP = APPS / "stuck"
APPS_HERE = BASIC.parent


def _pids(host: LocalHost) -> list[int]:
    return [w.pid for w in host.server.worker.pool.workers if w is not None]


def test_a_fan_out_spreads_over_the_worker_processes():
    with LocalHost(BASIC, worker="process",
                   settings={"FUNCTIONS_WORKER_PROCESS_COUNT": "2"}) as host:
        status = host.wait(host.start("burn_fan_out", {"count": 40, "ms": 5}), timeout=120)
        assert status["runtimeStatus"] == "Completed"
        assert status["output"]["calls"] == 40
        assert status["output"]["pids"] == sorted(_pids(host))
        reported = host.request("GET", "/admin/host/status").json()["emulator"]
        assert reported["workerProcessCount"] == 2


def test_a_worker_killed_mid_fan_out_is_replaced_and_the_fan_out_completes(emulator_lines):
    with LocalHost(BASIC, worker="process", log_level="info",
                   settings={"FUNCTIONS_WORKER_PROCESS_COUNT": "2",
                             "PYTHON_THREADPOOL_THREAD_COUNT": "2"}) as host:
        instance_id = host.start("burn_fan_out", {"count": 200, "ms": 20})
        emulator_lines.wait_for("completed in", timeout=60)  # the fan-out is under way
        victim = _pids(host)[0]
        os.kill(victim, signal.SIGKILL)
        status = host.wait(instance_id, timeout=180)
        assert status["runtimeStatus"] == "Completed", status
        assert status["output"]["calls"] == 200
        assert victim not in _pids(host) and len(_pids(host)) == 2
        assert host.server.worker.pool.restarts == 1
        failed = [m for m in emulator_lines.messages() if "exited with code 137" in m]
        assert failed, "no activity failed with the host's exit message"
        history = host.history(instance_id)
        done = [e for e in history if e["EventType"] == "TaskCompleted"]
        assert len(done) == 200  # every call answered once, the killed ones after a retry


def test_an_activity_whose_worker_dies_fails_with_the_hosts_message():
    with LocalHost(BASIC, worker="process") as host:
        status = host.wait(host.start("calls_die", 3), timeout=60)
        assert status["runtimeStatus"] == "Failed"
        assert "Activity function 'die' failed: " in status["output"]
        assert "exited with code 3 (0x3)" in status["output"]
        # the next call runs on the replacement
        assert host.wait(host.start("chain", 4), timeout=60)["output"] == 8


def test_an_episode_whose_worker_dies_runs_again_on_the_replacement(tmp_path, emulator_lines):
    with LocalHost(BASIC, worker="process") as host:
        status = host.wait(host.start("crash_once", str(tmp_path / "crashed")), timeout=60)
        assert status["runtimeStatus"] == "Completed", status
        assert status["output"] == "after the crash"
        emulator_lines.wait_for("runs again")
        assert host.server.worker.pool.restarts == 1


def test_a_stuck_orchestrator_fails_with_the_workers_stack_and_the_worker_is_restarted():
    with LocalHost(STUCK_APP, worker="process") as host:
        spinners = [host.start("spin") for _ in range(2)]
        for instance_id in spinners:
            status = host.wait(instance_id, timeout=60)
            assert status["runtimeStatus"] == "Failed"
            output = status["output"]
            assert "did not return within 1 s" in output
            assert "its worker process was restarted" in output
            assert "function_app.py" in output and "in spin_forever" in output
        assert host.wait(host.start("quick", "still here"), timeout=60)["output"] == \
            "still here"
        assert host.server.worker.pool.restarts >= 1


def test_an_app_with_a_timer_keeps_it_in_the_host_and_the_rest_in_the_workers():
    with LocalHost(APPS_HERE / "mixed", worker="process") as host:
        worker = host.server.engine.worker
        assert type(worker).__name__ == "SplitWorker"
        assert "yearly" in host.server.app.triggered
        status = host.wait(host.start("where"), timeout=60)
        assert status["runtimeStatus"] == "Completed"
        assert status["output"] in _pids(host) and status["output"] != os.getpid()
