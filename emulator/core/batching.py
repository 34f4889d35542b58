"""The batching rule for activity results: hold them for a larger episode, or run one now.

An episode replays the whole history, so when the last one was expensive and more results are on
their way, gathering them first saves replays. The rule is the ski-rental one: hold while
results keep arriving (a gap of a tenth of the last episode's cost ends the burst), never longer
than twice that cost, and not at all once every dispatched activity has answered. A cheap episode
(short history) is never held, so chains and small fan-outs react at once.

``HoldPolicy`` decides; it owns no timers: ``schedule(delay, callback)`` and ``now()`` are
injected (the loop's ``call_later`` and ``time.monotonic`` in the engine, fakes in tests).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .instance import Instance

HOLD_MIN_COST = 0.005  # episodes cheaper than this never wait for more results


class HoldPolicy:
    def __init__(self, release: Callable[[Instance], None],
                 schedule: Callable[[float, Callable[..., Any], Instance], Any], *,
                 now: Callable[[], float] = time.monotonic,
                 min_cost: float = HOLD_MIN_COST) -> None:
        self.release = release  # queue the instance for an episode (clears the hold)
        self.schedule = schedule
        self.now = now
        self.min_cost = min_cost

    def result_arrived(self, inst: Instance) -> None:
        """An activity result reached ``inst``'s inbox: release it now or start holding."""
        now = self.now()
        inst.last_arrival = now
        cost = inst.episode_cost
        if inst.in_flight == 0 or cost < self.min_cost:
            inst.held_since = None
            self.release(inst)
        elif inst.held_since is None:
            inst.held_since = now
            self.schedule(max(0.001, cost / 10), self.check, inst)

    def check(self, inst: Instance) -> None:
        """Re-examine a held instance (called back by ``schedule``)."""
        if inst.held_since is None:
            return
        now = self.now()
        quiet, cap = max(0.001, inst.episode_cost / 10), 2 * inst.episode_cost
        if inst.in_flight == 0 or now - inst.last_arrival >= quiet \
                or now - inst.held_since >= cap:
            inst.held_since = None
            self.release(inst)
        else:
            wait = min(quiet - (now - inst.last_arrival), cap - (now - inst.held_since))
            self.schedule(max(0.0005, wait), self.check, inst)
