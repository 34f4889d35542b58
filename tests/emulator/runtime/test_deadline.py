"""Orchestrator code that never returns fails its instance with the stack it was stuck in, and
the orchestrator pool gets its thread back (in process: with worker processes the worker is
restarted instead, tests/emulator/worker/process/test_host.py)."""

from emulator.testing import LocalHost

from ..conftest import APPS


def test_a_stuck_orchestrator_fails_with_its_stack_and_the_pool_keeps_serving():
    with LocalHost(APPS / "stuck", worker="in-process") as host:
        # Two spinners: as many as the orchestrator pool has threads.
        spinners = [host.start("spin") for _ in range(2)]
        for instance_id in spinners:
            status = host.wait(instance_id, timeout=60)
            assert status["runtimeStatus"] == "Failed"
            output = status["output"]
            assert "did not return within 1 s" in output
            assert "function_app.py" in output and "in spin_forever" in output
        quick = host.start("quick", "still here")
        assert host.wait(quick, timeout=60)["output"] == "still here"
        pool = host.server.engine.orchestrator_pool
        assert pool.replaced == 2
