"""A SIGKILL mid-run loses no instance and no recorded result."""

import time

from emulator.testing import LocalHost

from ..conftest import PROTOCOL_APP


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


def _wait_for_marker(marker, text):
    deadline = time.monotonic() + 30
    while not (marker.exists() and marker.read_text() == text):
        assert time.monotonic() < deadline, "the stalling batch never started"
        time.sleep(0.01)


def test_sigkill_mid_entity_batch_twice_applies_each_operation_exactly_once(tmp_path):
    from .test_entities import ENTITY_APP

    state = str(tmp_path / "state.db")
    flag, marker = tmp_path / "stalls-left", tmp_path / "stalled"
    flag.write_text("2")  # the batch holding "stall" blocks in the first two runs
    host = LocalHost(ENTITY_APP, state=state, subprocess=True).start_host()
    try:
        for _ in range(10):
            host.signal_entity("Counter", "crash", "add", 1)
        host.signal_entity("Counter", "crash", "stall", {"flag": str(flag),
                                                          "marker": str(marker)})
        for _ in range(10):
            host.signal_entity("Counter", "crash", "add", 1)
        caller = host.start("add_and_get", {"key": "crash", "count": 3})
        host.wait_until(caller, lambda s: s["runtimeStatus"] == "Running")
        # Every signal was committed before its 202; the batch holding "stall" is running.
        _wait_for_marker(marker, "2")
        before = host.entity_state("Counter", "crash")
        host.kill()  # SIGKILL inside the entity function, before its batch commits
    finally:
        host.stop_host()
    assert before is None or before < 110  # the stalled batch's effects are not committed

    # The restart runs the uncommitted batch again from the committed state, and is killed in
    # it too: the requests must still be stored for the third run.
    again = LocalHost(ENTITY_APP, state=state, subprocess=True).start_host()
    try:
        _wait_for_marker(marker, "1")
        again.kill()
    finally:
        again.stop_host()

    with LocalHost(ENTITY_APP, state=state, subprocess=True) as restarted:
        status = restarted.wait(caller, timeout=60)
        assert status["runtimeStatus"] == "Completed"
        # 10 + 100 + 10 signals and 3 calls, each applied once; a last get queues behind all.
        final = restarted.wait(restarted.start("add_and_get", {"key": "crash", "count": 0}))
        assert final["output"] == 123
        assert restarted.entity_state("Counter", "crash") == 123
