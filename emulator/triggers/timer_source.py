"""The timer trigger source: fires timer functions on their schedules, on the host's clock.

It follows the timer extension's ``TimerListener``: at start, with ``use_monitor``, the stored
schedule status is checked (``check_past_due``) and a missed occurrence runs at once with
``IsPastDue``; else ``run_on_startup`` runs at once; else the timer waits for the recorded Next.
Invocations of one timer never overlap; after each one the status (Last, Next, LastUpdated) is
recorded and the timer waits for the new Next (already past: it fires at once).

Time comes from the clock passed in (``ClockLike``: the host's ``Clock`` / ``SkippingClock``).
In real time the loop sleeps until the earliest due timer. With a skipping clock, when
``idle()`` says nothing else can run, the loop jumps the clock to that due time, so a timer fires
exactly at its occurrence in skipped time. The local host does not run this loop: it attaches
the source to its durable timer loop (``next_due`` / ``fire_due`` on the same clock, ``changed``
pokes that loop), so one loop decides every jump.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .contract import DataType, Invoke, Outcome, TriggerCall, TriggerType, TypedValue
from .lifecycle import wait_woken
from .schedule import (
    NEVER,
    PastDueCheck,
    ScheduleStatus,
    TimerSchedule,
    after_invocation,
    check_past_due,
    timer_info_json,
)
from .status_store import StatusStore

log = logging.getLogger("emulator")


class ClockLike(Protocol):
    skipping: bool

    def now(self) -> datetime: ...

    def can_skip(self) -> bool: ...

    def advance_to(self, when: datetime) -> None: ...


@dataclass(frozen=True)
class TimerSpec:
    """A timer-triggered function as indexed from the app."""

    function_name: str
    schedule: str  # as written (may hold %SETTING% references)
    run_on_startup: bool = False
    use_monitor: bool = True


class _Timer:
    def __init__(self, spec: TimerSpec, schedule: TimerSchedule, monitor: bool) -> None:
        self.spec = spec
        self.schedule = schedule
        self.monitor = monitor
        self.status: ScheduleStatus | None = None
        self.due: datetime | None = None
        self.reason = ""  # "IsPastDue" / "RunOnStartup" for the immediate start-up run
        self.original: datetime | None = None
        self.running = False
        self.last_outcome: Outcome | None = None


class TimerSource:
    def __init__(self, specs: list[TimerSpec], invoke: Invoke, clock: ClockLike,
                 store: StatusStore, *, settings: Mapping[str, str] | None = None,
                 idle: Callable[[], bool] = lambda: True, drive_clock: bool = True,
                 changed: Callable[[], None] | None = None) -> None:
        self.clock = clock
        self.invoke = invoke
        self.store = store
        self.idle = idle
        self.drive_clock = drive_clock
        self.changed = changed  # told when the next due time changes (an attached loop)
        now = clock.now()
        self._timers: dict[str, _Timer] = {}
        for spec in specs:
            schedule = TimerSchedule.create(spec.schedule, settings)  # ScheduleError at start
            monitor = spec.use_monitor and schedule.allows_monitor(now)
            self._timers[spec.function_name.lower()] = _Timer(spec, schedule, monitor)
        self._wake: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = False

    # -- start-up (TimerListener.StartAsync) ---------------------------------------------------

    def start(self) -> None:
        """Read the stored statuses and decide each timer's first firing."""
        now = self.clock.now()
        for timer in self._timers.values():
            check: PastDueCheck | None = None
            if timer.monitor:
                stored = self.store.get(timer.spec.function_name)
                check = check_past_due(timer.schedule, now, stored)
                if check.changed:
                    self.store.put(timer.spec.function_name, check.status)
                timer.status = check.status
            else:
                nxt = timer.schedule.next_after(now)
                timer.status = ScheduleStatus(NEVER, nxt or NEVER, NEVER)
                timer.due = nxt
            if check is not None:
                timer.due = check.status.next if check.status.next > NEVER else None
                if check.past_due:
                    timer.reason, timer.original, timer.due = "IsPastDue", check.status.next, now
                    log.info("Function '%s' is past due (its occurrence at %s was missed); "
                             "running it now", timer.spec.function_name, check.status.next)
            if not timer.reason and timer.spec.run_on_startup:
                timer.reason, timer.due = "RunOnStartup", now
            shown = ", ".join(t.isoformat() for t in timer.schedule.occurrences(now, 5))
            log.info("Timer '%s' (%s): next occurrences %s", timer.spec.function_name,
                     timer.schedule.describe(), shown or "none")
        self._started = True

    # -- what the host and the dashboard read --------------------------------------------------

    def next_due(self) -> datetime | None:
        dues = [t.due for t in self._timers.values() if t.due is not None and not t.running]
        return min(dues) if dues else None

    def due(self, function_name: str) -> datetime | None:
        """When the timer fires next (during its run: the occurrence it runs for)."""
        timer = self._timers.get(function_name.lower())
        return timer.due if timer is not None else None

    def busy(self) -> bool:
        return any(t.running for t in self._timers.values())

    def describe(self, count: int = 5) -> list[dict[str, object]]:
        now = self.clock.now()
        out = []
        for timer in self._timers.values():
            status = timer.status
            out.append({
                "function": timer.spec.function_name, "schedule": timer.schedule.describe(),
                "useMonitor": timer.monitor, "runOnStartup": timer.spec.run_on_startup,
                "due": timer.due.isoformat() if timer.due else None,
                "next": [t.isoformat() for t in timer.schedule.occurrences(now, count)],
                "status": status.to_json() if status else None, "running": timer.running,
            })
        return out

    def poke(self) -> None:
        if self._wake is not None:
            self._wake.set()
        if self.changed is not None:
            self.changed()

    # -- firing --------------------------------------------------------------------------------

    def fire_due(self, now: datetime) -> None:
        for timer in self._timers.values():
            if timer.due is not None and timer.due <= now and not timer.running:
                timer.running = True
                # In skipped time the clock jumped to the occurrence: that is the run's time
                # (the microseconds the host spent since are its own bookkeeping).
                at = timer.due if self.clock.skipping and not timer.reason else now
                task = asyncio.get_running_loop().create_task(self._run_one(timer, at))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _run_one(self, timer: _Timer, fired_at: datetime) -> None:
        reason, original = timer.reason, timer.original
        timer.reason, timer.original = "", None
        past_due = reason == "IsPastDue"
        info = timer_info_json(timer.schedule, timer.status if timer.monitor else None, past_due)
        call = TriggerCall(timer.spec.function_name, TriggerType.TIMER,
                           TypedValue(DataType.JSON, json.dumps(info)), {}, {},
                           reason or "Timer fired at " + fired_at.isoformat())
        if original is not None:
            log.info("Executing '%s' (Reason='%s', OriginalSchedule=%s)",
                     timer.spec.function_name, reason, original.isoformat())
        try:
            timer.last_outcome = await self.invoke(call)
        except Exception as exc:  # the contract says never; keep the schedule going anyway
            log.exception("Timer '%s': the invocation raised", timer.spec.function_name)
            timer.last_outcome = Outcome.failed(str(exc))
        finally:
            status = after_invocation(timer.schedule, fired_at, timer.status,
                                      unscheduled=bool(reason))
            timer.status = status
            if timer.monitor:
                self.store.put(timer.spec.function_name, status)
            timer.due = status.next if status.next > NEVER else None
            timer.running = False
            self.poke()

    async def stop(self) -> None:
        """Cancel the invocations still running (the host stops)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def run(self) -> None:
        if not self._started:
            self.start()
        self._wake = wake = asyncio.Event()
        clock = self.clock
        try:
            while True:
                wake.clear()
                now = clock.now()
                self.fire_due(now)
                due = self.next_due()
                if (self.drive_clock and due is not None and clock.skipping and clock.can_skip()
                        and not self.busy() and self.idle()):
                    await asyncio.sleep(0)
                    if not self.busy() and self.idle() and self.next_due() == due:
                        clock.advance_to(due)
                        continue
                timeout = None if due is None else max(0.0, (due - now).total_seconds())
                await wait_woken(wake, timeout)
        finally:
            for task in list(self._tasks):
                task.cancel()
