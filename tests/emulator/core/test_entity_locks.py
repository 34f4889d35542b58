"""Entity critical sections as pure decisions: who may run while an entity is locked, and what
lock requests and releases do."""

from emulator.core.entity_locks import Lock, apply, orphaned, runnable
from emulator.protocol.entities import Request


def _lock(parent, position=0, lock_set=("@a@1", "@b@2")):
    return Request("cs-1", "", parent=parent, lock_set=list(lock_set), position=position)


def test_a_lock_request_locks_and_travels_to_the_next_entity_of_the_set():
    lock = Lock()
    step = apply(lock, _lock("orch"))
    assert (lock.holder, lock.section) == ("orch", "cs-1")
    assert step.forward_to == "@b@2" and step.forward.position == 1 and not step.granted


def test_the_last_entity_of_the_set_grants_the_lock():
    lock = Lock()
    step = apply(lock, _lock("orch", position=1))
    assert step.granted and step.forward is None


def test_while_locked_only_the_holder_and_releases_run_in_order():
    lock = Lock(holder="orch", section="cs-1")
    inbox = [(1, Request("r1", "add", parent="other")),
             (2, Request("r2", "add", parent="orch")),
             (3, _lock("other")),
             (4, Request("cs-1", "", parent="orch", release=True)),
             (5, Request("r5", "add", signal=True))]
    assert [mid for mid, _ in runnable(lock, inbox)] == [2, 4]
    assert [mid for mid, _ in runnable(Lock(), inbox)] == [1, 2, 3, 4, 5]


def test_only_the_holders_release_unlocks():
    lock = Lock(holder="orch", section="cs-1")
    apply(lock, Request("cs-9", "", parent="intruder", release=True))
    assert lock.held
    apply(lock, Request("cs-1", "", parent="orch", release=True))
    assert not lock.held


def test_a_late_release_of_an_earlier_critical_section_is_stray():
    lock = Lock(holder="orch", section="cs-2")
    apply(lock, Request("cs-1", "", parent="orch", release=True))
    assert (lock.holder, lock.section) == ("orch", "cs-2")


def test_a_lock_is_orphaned_when_its_holder_no_longer_runs_and_sent_no_release():
    live = {"running"}.__contains__
    assert orphaned(Lock(holder="ended", section="cs-1"), [], live)
    assert not orphaned(Lock(holder="running", section="cs-1"), [], live)
    assert not orphaned(Lock(), [], live)
    # The SDK's own release, sent as its orchestration completed, is queued: it releases.
    release = Request("cs-1", "", parent="ended", release=True)
    assert not orphaned(Lock(holder="ended", section="cs-1"), [(4, release)], live)
    other = Request("cs-9", "", parent="another", release=True)
    assert orphaned(Lock(holder="ended", section="cs-1"), [(4, other)], live)
