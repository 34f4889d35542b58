"""A SIGKILL mid-run loses no instance and no recorded result."""

from emulator.testing import LocalHost

from .conftest import PROTOCOL_APP


def test_sigkill_mid_fan_out_then_restart_on_the_same_state(tmp_path):
    state = str(tmp_path / "state.db")
    host = LocalHost(PROTOCOL_APP, state=state, subprocess=True).start_host()
    try:
        finished = host.start("chain", "before")
        assert host.wait(finished)["output"] == ["before-a", "before-b", "before-c"]
        instance_id = host.start("fan_out", {"count": 40, "seconds": 1.5})
        host.wait_until(instance_id, lambda s: s["runtimeStatus"] == "Running"
                        and any(e["EventType"] == "TaskScheduled"
                                for e in host.history(instance_id)))
        host.kill()  # SIGKILL while the 40 activities are sleeping
    finally:
        host.stop_host()

    with LocalHost(PROTOCOL_APP, state=state, subprocess=True) as restarted:
        status = restarted.wait(instance_id, timeout=60)
        assert status["runtimeStatus"] == "Completed"
        assert status["output"] == sum(range(40))
        history = restarted.raw_history(instance_id)["history"]
        scheduled = [e["EventId"] for e in history if e["EventType"] == 4]
        completed = sorted(e["TaskScheduledId"] for e in history if e["EventType"] == 5)
        assert scheduled == list(range(40)) and completed == list(range(40))
        # The instance finished before the crash is intact.
        assert restarted.status(finished)["output"] == ["before-a", "before-b", "before-c"]
