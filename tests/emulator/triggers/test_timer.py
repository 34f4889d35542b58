"""Timer schedules, the schedule monitor's past-due rules and the timer source on a held clock."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequestConverter

from emulator.runtime.clock import SkippingClock, TimeSkipping
from emulator.triggers.contract import Outcome
from emulator.triggers.schedule import (
    NEVER,
    ScheduleError,
    ScheduleStatus,
    TimerSchedule,
    after_invocation,
    check_past_due,
    parse_timespan,
    timer_info_json,
)
from emulator.triggers.status_store import JsonFileStatusStore, MemoryStatusStore
from emulator.triggers.timer_source import TimerSource, TimerSpec


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


class HeldClock:
    """A skipping clock that moves only when told (no real time passes)."""

    skipping = True

    def __init__(self, now: datetime, *, skip: bool = True) -> None:
        self.t = now
        self.skip = skip

    def now(self) -> datetime:
        return self.t

    def can_skip(self) -> bool:
        return self.skip

    def advance_to(self, when: datetime) -> None:
        self.t = max(self.t, when)


# -- schedules ---------------------------------------------------------------------------------

def test_setting_reference_and_timespan():
    s = TimerSchedule.create("%BACKUP_SCHEDULE%", {"BACKUP_SCHEDULE": "0 0 2 * * *"})
    assert s.cron is not None
    assert s.next_after(at(2026, 12, 6, 17)) == at(2026, 12, 7, 2)
    with pytest.raises(ScheduleError, match="BACKUP_SCHEDULE"):
        TimerSchedule.create("%BACKUP_SCHEDULE%", {})
    ts = TimerSchedule.create("00:05:00", {})
    assert ts.interval == timedelta(minutes=5)
    assert ts.next_after(at(2026, 1, 1)) == at(2026, 1, 1, 0, 5)
    with pytest.raises(ScheduleError, match="not recognized"):
        TimerSchedule.create("every five minutes", {})


@pytest.mark.parametrize("text,expected", [
    ("00:00:30", timedelta(seconds=30)),
    ("1.02:03:04", timedelta(days=1, hours=2, minutes=3, seconds=4)),
    ("01:30", timedelta(hours=1, minutes=30)),
    ("2", timedelta(days=2)),
    ("00:00:00.5", timedelta(milliseconds=500)),
    ("24:00:00", None),
    ("00:60:00", None),
    ("abc", None),
])
def test_timespan(text, expected):
    assert parse_timespan(text) == expected


def test_status_json_in_the_schedule_zone():
    s = TimerSchedule.create("0 0 9 * * *", {"WEBSITE_TIME_ZONE": "Europe/Berlin"})
    status = ScheduleStatus(NEVER, at(2026, 12, 7, 8), at(2026, 12, 6, 12))
    info = json.loads(json.dumps(timer_info_json(s, status, False)))
    assert info["ScheduleStatus"] == {"Last": "0001-01-01T00:00:00",
                                      "Next": "2026-12-07T09:00:00+01:00",
                                      "LastUpdated": "2026-12-06T13:00:00+01:00"}
    assert ScheduleStatus.from_json(info["ScheduleStatus"]) == status


def test_zone_from_website_time_zone():
    s = TimerSchedule.create("0 0 9 * * *", {"WEBSITE_TIME_ZONE": "Europe/Berlin"})
    assert s.next_after(at(2026, 12, 6, 12)) == at(2026, 12, 7, 8)      # 09:00 CET
    assert s.next_after(at(2026, 7, 6, 12)) == at(2026, 7, 7, 7)        # 09:00 CEST
    with pytest.raises(ScheduleError, match="not a known time zone"):
        TimerSchedule.create("0 0 9 * * *", {"WEBSITE_TIME_ZONE": "Mars/Olympus"})


def test_sub_minute_schedules_turn_the_monitor_off():
    now = at(2026, 1, 1)
    assert not TimerSchedule.create("*/10 * * * * *", {}).allows_monitor(now)
    assert not TimerSchedule.create("00:00:30", {}).allows_monitor(now)
    assert TimerSchedule.create("0 * * * * *", {}).allows_monitor(now)
    assert TimerSchedule.create("00:01:00", {}).allows_monitor(now)


# -- the schedule monitor (ScheduleMonitor.CheckPastDueAsync) ----------------------------------

HOURLY = TimerSchedule.create("0 0 * * * *", {})


def test_first_start_records_a_status_and_is_not_past_due():
    check = check_past_due(HOURLY, at(2026, 1, 1, 10, 30), None)
    assert check.changed and not check.past_due
    assert check.status == ScheduleStatus(NEVER, at(2026, 1, 1, 11), at(2026, 1, 1, 10, 30))


def test_missed_occurrence_is_past_due():
    stored = ScheduleStatus(at(2026, 1, 1, 10), at(2026, 1, 1, 11), at(2026, 1, 1, 10))
    check = check_past_due(HOURLY, at(2026, 1, 1, 12, 15), stored)
    assert not check.changed
    assert check.past_due == timedelta(hours=1, minutes=15)


def test_changed_schedule_is_recomputed_not_past_due():
    # stored under a daily schedule; now hourly: Next (from Last) no longer matches
    stored = ScheduleStatus(at(2026, 1, 1, 2), at(2026, 1, 2, 2), at(2026, 1, 1, 2))
    check = check_past_due(HOURLY, at(2026, 1, 1, 12, 15), stored)
    assert check.changed and not check.past_due
    assert check.status == ScheduleStatus(NEVER, at(2026, 1, 1, 13), at(2026, 1, 1, 12, 15))


def test_early_fire_counts_from_the_scheduled_time():
    current = ScheduleStatus(NEVER, at(2026, 1, 1, 11), at(2026, 1, 1, 10))
    early = at(2026, 1, 1, 10, 59, 59, 999000)
    status = after_invocation(HOURLY, early, current, unscheduled=False)
    assert status == ScheduleStatus(at(2026, 1, 1, 11), at(2026, 1, 1, 12), at(2026, 1, 1, 11))


def test_file_store_round_trip(tmp_path):
    path = tmp_path / "state" / "timers.json"
    store = JsonFileStatusStore(path)
    status = ScheduleStatus(NEVER, at(2026, 1, 1, 11), at(2026, 1, 1, 10, 30))
    store.put("Backup", status)
    assert JsonFileStatusStore(path).get("backup") == status
    path.write_text("{nope")
    with pytest.raises(Exception, match="cannot read the timer schedule status"):
        JsonFileStatusStore(path)


# -- the source --------------------------------------------------------------------------------

class Recorder:
    def __init__(self, fail: bool = False, clock=None) -> None:
        self.calls = []
        self.times = []
        self.clock = clock
        self.fail = fail
        self.event = asyncio.Event()

    async def __call__(self, call):
        self.calls.append(call)
        if self.clock is not None:
            self.times.append(self.clock.now())
        self.event.set()
        return Outcome.failed("boom") if self.fail else Outcome.ok()


def timer_request(call) -> func.TimerRequest:
    datum = func.meta.Datum(call.value.value, call.value.type.value)
    return TimerRequestConverter.decode(datum, trigger_metadata=call.metadata)


async def run_until(source: TimerSource, done, timeout: float = 5) -> None:
    task = asyncio.create_task(source.run())
    try:
        await asyncio.wait_for(done(), timeout)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_fires_exactly_on_time_in_skipped_time():
    clock = HeldClock(at(2026, 12, 6, 17, 29, 22, 123000))
    rec = Recorder()
    fired_at = []

    async def invoke(call):
        fired_at.append(clock.now())
        return await rec(call)

    source = TimerSource([TimerSpec("nightly", "0 0 2 * * *")], invoke, clock,
                         MemoryStatusStore())

    async def three():
        while len(fired_at) < 3:
            await asyncio.sleep(0.001)

    asyncio.run(run_until(source, three))
    assert fired_at[:3] == [at(2026, 12, 7, 2), at(2026, 12, 8, 2), at(2026, 12, 9, 2)]
    first = timer_request(rec.calls[0])
    assert first.past_due is False
    assert first.schedule_status["Next"] == "2026-12-07T02:00:00+00:00"
    assert timer_request(rec.calls[1]).schedule_status["Last"] == "2026-12-07T02:00:00+00:00"


def test_restart_after_a_missed_occurrence_reports_past_due(tmp_path):
    store = JsonFileStatusStore(tmp_path / "timers.json")
    clock = HeldClock(at(2026, 12, 6, 1, 0), skip=False)
    rec = Recorder()
    source = TimerSource([TimerSpec("nightly", "0 0 2 * * *")], rec, clock, store)
    source.start()  # first start: records Next = 02:00, does not fire
    assert rec.calls == []
    # the host is down over 02:00 and starts again at 03:30 on the same state
    clock.t = at(2026, 12, 6, 3, 30)
    again = TimerSource([TimerSpec("nightly", "0 0 2 * * *")], rec,
                        clock, JsonFileStatusStore(tmp_path / "timers.json"))

    async def one():
        await rec.event.wait()
        while again.busy():
            await asyncio.sleep(0.001)

    asyncio.run(run_until(again, one))
    request = timer_request(rec.calls[0])
    assert request.past_due is True
    assert rec.calls[0].reason == "IsPastDue"
    assert store.path.exists()
    kept = JsonFileStatusStore(tmp_path / "timers.json").get("NIGHTLY")
    assert kept.last == at(2026, 12, 6, 3, 30) and kept.next == at(2026, 12, 7, 2)


def test_run_on_startup_then_schedule_and_no_monitor_means_no_status():
    clock = HeldClock(at(2026, 12, 6, 1, 0))
    rec = Recorder(fail=True)  # failures do not stop the schedule
    source = TimerSource([TimerSpec("tick", "0 */5 * * * *", run_on_startup=True,
                                    use_monitor=False)], rec, clock, MemoryStatusStore())

    async def two():
        while len(rec.calls) < 2:
            await asyncio.sleep(0.001)

    asyncio.run(run_until(source, two))
    assert rec.calls[0].reason == "RunOnStartup"
    assert timer_request(rec.calls[0]).schedule_status == {}
    assert rec.calls[1].reason == "Timer fired at 2026-12-06T01:05:00+00:00"


def test_real_skipping_clock_and_real_time():
    clock = SkippingClock(TimeSkipping.ALWAYS)
    rec = Recorder(clock=clock)
    source = TimerSource([TimerSpec("daily", "0 0 0 * * *")], rec, clock, MemoryStatusStore())
    start = clock.now()

    async def one():
        await rec.event.wait()

    asyncio.run(run_until(source, one))
    fired = rec.times[0]
    assert fired - start < timedelta(days=1, seconds=1)
    midnight = fired.replace(hour=0, minute=0, second=0, microsecond=0)
    assert fired - midnight < timedelta(milliseconds=5)  # jumped to the occurrence


def test_real_time_every_second():
    from emulator.runtime.clock import Clock
    rec = Recorder()
    source = TimerSource([TimerSpec("tick", "* * * * * *")], rec, Clock(), MemoryStatusStore())

    async def one():
        await rec.event.wait()

    asyncio.run(run_until(source, one, timeout=3))
    assert json.loads(rec.calls[0].value.value)["IsPastDue"] is False


def test_a_source_poked_just_before_its_cancellation_ends():
    """A cancellation that arrives as the source's wake is set ends its loop (Python 3.11's
    ``wait_for`` swallowed it and the source waited for its next occurrence)."""
    source = TimerSource([TimerSpec("daily", "0 0 2 * * *")], Recorder(),
                         HeldClock(at(2026, 12, 6, 17), skip=False), MemoryStatusStore())

    async def poke_then_cancel():
        task = asyncio.create_task(source.run())
        await asyncio.sleep(0)  # one pass of the loop, no time: the source reaches its wait
        source.poke()
        task.cancel()
        async with asyncio.timeout(5):
            await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()

    asyncio.run(poke_then_cancel())

def test_a_bad_schedule_fails_at_construction():
    with pytest.raises(ScheduleError, match="BACKUP_SCHEDULE"):
        TimerSource([TimerSpec("b", "%BACKUP_SCHEDULE%")], Recorder(), HeldClock(at(2026, 1, 1)),
                    MemoryStatusStore(), settings={})


def test_plan_from_the_app_index():
    import azure.functions as func

    from emulator.triggers import plan_triggers

    app = func.FunctionApp()

    @app.timer_trigger(arg_name="t", schedule="%SCHED%", run_on_startup=True, use_monitor=False)
    def tick(t):
        pass

    @app.queue_trigger(arg_name="msg", queue_name="%Q%", connection="Store")
    @app.blob_output(arg_name="out", path="out/{id}.txt", connection="Store")
    def on_message(msg, out):
        pass

    @app.blob_trigger(arg_name="b", path="in/{name}", connection="Store", source="EventGrid")
    def on_blob(b):
        pass

    @app.service_bus_queue_trigger(arg_name="m", queue_name="orders", connection="SB")
    def on_bus(m):
        pass

    functions = [(f.get_function_name(), f.get_trigger().get_dict_repr(),
                  [b.get_dict_repr() for b in f.get_bindings()]) for f in app.get_functions()]
    plan = plan_triggers(functions, {"Q": "Booking-Requests"})
    assert plan.timers == [TimerSpec("tick", "%SCHED%", True, False)]
    assert [(q.queue_name, q.connection) for q in plan.queues] == [("booking-requests", "Store")]
    assert [b.name for b in plan.bindings["on_message"]] == ["out"]
    assert plan.blobs[0].event_grid
    assert plan.foreign[0].line.startswith(
        "Function 'on_bus' (Service Bus trigger on 'orders') is not run by the local host")
    with pytest.raises(Exception, match="Function 'on_message'.*%Q%"):
        plan_triggers(functions, {})
