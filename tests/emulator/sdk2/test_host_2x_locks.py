"""A host killed (SIGKILL) while a 2.x orchestration holds an entity lock keeps the lock after
its restart: a client's signal queued behind the lock waits until the holder releases, on the
real SDK in worker processes and a real state file. Skipped where the SDK is 1.x (``make
test-sdk2`` runs it)."""

from pathlib import Path

from .sdk_generation import needs_sdk2

pytestmark = needs_sdk2

APP_DIR = Path(__file__).parents[1] / "apps" / "sdk2"
ENTITIES = "/runtime/webhooks/durabletask/entities"


def test_a_lock_held_when_the_host_is_killed_still_holds_after_the_restart(tmp_path):
    from emulator.testing import LocalHost

    state = str(tmp_path / "state.db")
    host = LocalHost(APP_DIR, state=state, subprocess=True).start_host()
    try:
        holder = host.start("locked_wait", "killed", "holder")
        host.wait_entity("counter", "killed", lambda value: value == 5)  # inside the section
        # A client's signal (the JSON body is the operation's input), committed before its 202.
        signal = host.request("POST", f"{ENTITIES}/counter/killed", params={"op": "add"},
                              data="100", headers={"Content-Type": "application/json"})
        assert signal.status_code == 202, signal.text
        host.kill()
    finally:
        host.stop_host()

    with LocalHost(APP_DIR, state=state) as restarted:
        # Had the restart forgotten the lock, the signal (first in the entity's queue) would
        # have run at once, before the holder's own 'get' below.
        assert restarted.entity_state("counter", "killed") == 5
        assert restarted.raise_event(holder, "go").status_code == 202
        status = restarted.wait(holder)
        assert status["runtimeStatus"] == "Completed" and status["output"] == 5
        restarted.wait_entity("counter", "killed", lambda value: value == 105)  # released
