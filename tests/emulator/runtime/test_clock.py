"""The clocks on their own: modes, holds, waiting clients and poll leases (no host)."""

import pytest

from emulator.runtime.clock import Clock, SkippingClock, TimeSkipping, make_clock


class FakeMonotonic:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize("value,expected", [
    (True, TimeSkipping.ALWAYS), (False, TimeSkipping.OFF), (None, TimeSkipping.OFF),
    ("always", TimeSkipping.ALWAYS), ("while-waiting", TimeSkipping.WHILE_WAITING),
    ("WHILE_WAITING", TimeSkipping.WHILE_WAITING), ("off", TimeSkipping.OFF),
    (TimeSkipping.ALWAYS, TimeSkipping.ALWAYS),
])
def test_parse_accepts_the_old_flag_and_both_mode_names(value, expected):
    assert TimeSkipping.parse(value) is expected


def test_parse_rejects_unknown_modes_naming_the_choices():
    with pytest.raises(ValueError, match="always, while-waiting"):
        TimeSkipping.parse("sometimes")


def test_make_clock_picks_the_clock_for_the_mode():
    assert type(make_clock(False)) is Clock
    assert make_clock(True).mode is TimeSkipping.ALWAYS
    assert make_clock("while-waiting").mode is TimeSkipping.WHILE_WAITING


def test_always_skips_unless_held():
    clock = SkippingClock(TimeSkipping.ALWAYS)
    assert clock.can_skip()
    clock.hold()
    assert not clock.can_skip()
    clock.release()
    assert clock.can_skip()


def test_while_waiting_skips_only_while_a_client_waits():
    clock = SkippingClock(TimeSkipping.WHILE_WAITING)
    assert not clock.can_skip()
    with clock.waiting():
        assert clock.can_skip()
        with clock.waiting():
            assert clock.can_skip()
        assert clock.can_skip()  # one waiter left
        clock.hold()
        assert not clock.can_skip()  # a hold wins
        clock.release()
    assert not clock.can_skip()


def test_a_poll_lease_lets_time_skip_until_it_runs_out():
    monotonic = FakeMonotonic()
    clock = SkippingClock(TimeSkipping.WHILE_WAITING, monotonic=monotonic)
    clock.lease_wait(1.5)
    assert clock.can_skip()
    monotonic.now += 1.4
    assert clock.can_skip()
    monotonic.now += 0.2
    assert not clock.can_skip()
    clock.lease_wait(1.0)
    clock.lease_wait(0.1)  # a shorter lease never cuts a longer one
    monotonic.now += 0.5
    assert clock.can_skip()


def test_waits_and_releases_notify_subscribers():
    clock = SkippingClock(TimeSkipping.WHILE_WAITING)
    calls = []
    clock.subscribe(lambda: calls.append("wake"))
    with clock.waiting():
        pass
    clock.lease_wait(1)
    clock.release()
    assert calls == ["wake", "wake", "wake"]


def test_the_real_clock_ignores_waits():
    clock = Clock()
    with clock.waiting():
        assert not clock.can_skip()
    clock.lease_wait(5)
    assert not clock.can_skip()
