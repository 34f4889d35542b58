"""Timer schedules and the schedule monitor's rules, as the timer extension applies them (pure).

``TimerSchedule.create`` follows ``TimerSchedule.Create``: ``%SETTING%`` references are resolved
first; a six-field NCRONTAB expression wins, else a .NET TimeSpan (``hh:mm:ss``, ``d.hh:mm:ss``,
``hh:mm``, or a whole number of days) is a constant interval. A cron schedule with more than one
occurrence in the next minute, or a constant interval under a minute, turns the monitor off,
as the extension does.

Cron times are wall-clock times of the schedule's zone: ``WEBSITE_TIME_ZONE`` (an IANA name on
Linux) or ``TZ`` when set, else UTC (the host's default in Azure). All instants handed in and out
are aware datetimes.

``check_past_due`` is ``ScheduleMonitor.CheckPastDueAsync``: with no stored status it records one
(Last unset, Next = the next occurrence, LastUpdated = now); a stored status whose Next no longer
follows from the schedule (the schedule changed) is recomputed; the timer is past due when now
is after the recorded Next. ``after_invocation`` is the status the listener writes after each run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .ncrontab import Crontab, CrontabError, successive

# The extension's ScheduleMonitor.DefaultDateTime: "never" for Last / LastUpdated.
NEVER = datetime(1, 1, 1, tzinfo=UTC)


class ScheduleError(ValueError):
    """The schedule expression is neither NCRONTAB nor a TimeSpan, or a setting is missing."""


def resolve_settings(text: str, settings: Mapping[str, str] | None = None) -> str:
    """Replace ``%NAME%`` with the app setting ``NAME`` (ScheduleError when it is not set)."""
    source = os.environ if settings is None else settings

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in source:
            raise ScheduleError(f"the schedule refers to app setting '%{name}%', which is not "
                                f"set (local.settings.json Values or --setting)")
        return source[name]

    return re.sub(r"%([^%]+)%", one, text)


_TIMESPAN = re.compile(
    r"^\s*(-)?(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?\s*$")


def parse_timespan(text: str) -> timedelta | None:
    """.NET ``TimeSpan.TryParse`` (invariant culture) for the forms the host meets; None if not."""
    stripped = text.strip()
    if stripped.isdigit():
        return timedelta(days=int(stripped))
    match = _TIMESPAN.match(text)
    if not match:
        return None
    sign, days, hours, minutes, seconds, fraction = match.groups()
    if int(hours) > 23 or int(minutes) > 59 or (seconds and int(seconds) > 59):
        return None
    value = timedelta(days=int(days or 0), hours=int(hours), minutes=int(minutes),
                      seconds=int(seconds or 0),
                      microseconds=int((fraction or "0").ljust(7, "0")) // 10)
    return -value if sign else value


def schedule_zone(settings: Mapping[str, str] | None = None) -> tzinfo:
    source = os.environ if settings is None else settings
    name = source.get("WEBSITE_TIME_ZONE") or source.get("TZ")
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"WEBSITE_TIME_ZONE/TZ '{name}' is not a known time zone "
                            f"(use an IANA name such as Europe/Berlin)") from exc


@dataclass(frozen=True)
class TimerSchedule:
    """A cron or constant schedule in a zone; ``next_after`` takes and returns aware instants."""

    expression: str  # as resolved
    cron: Crontab | None
    interval: timedelta | None
    zone: tzinfo = UTC

    @classmethod
    def create(cls, expression: str, settings: Mapping[str, str] | None = None) -> TimerSchedule:
        resolved = resolve_settings(expression, settings)
        zone = schedule_zone(settings)
        try:
            return cls(resolved, Crontab.parse(resolved), None, zone)
        except CrontabError as exc:
            cron_error = exc
        interval = parse_timespan(resolved)
        if interval is None:
            raise ScheduleError(
                f"The schedule expression '{resolved}' was not recognized as a valid cron "
                f"expression or timespan string ({cron_error})")
        if interval <= timedelta(0):
            raise ScheduleError(f"The schedule interval '{resolved}' must be positive")
        return cls(resolved, None, interval, zone)

    def next_after(self, now: datetime) -> datetime | None:
        if self.interval is not None:
            return now + self.interval
        local = now.astimezone(self.zone).replace(tzinfo=None)
        nxt = self.cron.next_after(local)
        return None if nxt is None else nxt.replace(tzinfo=self.zone).astimezone(UTC)

    def occurrences(self, now: datetime, count: int) -> list[datetime]:
        return successive(self.next_after, now, count)

    def allows_monitor(self, now: datetime) -> bool:
        """False for sub-minute schedules: the extension turns persistence off for them."""
        if self.interval is not None:
            return self.interval >= timedelta(minutes=1)
        limit = now + timedelta(minutes=1)
        within = [t for t in self.occurrences(now, 2) if t < limit]
        return len(within) <= 1

    def describe(self) -> str:
        if self.interval is not None:
            return f"Constant: {self.interval}"
        return f"Cron: '{self.expression}'"


@dataclass(frozen=True)
class ScheduleStatus:
    """What the schedule monitor keeps per timer (``ScheduleStatus``: Last, Next, LastUpdated)."""

    last: datetime
    next: datetime
    last_updated: datetime

    def to_json(self, zone: tzinfo = UTC) -> dict[str, str]:
        """The shape the host puts in ``TimerInfo.ScheduleStatus``: ISO 8601 local times of the
        schedule's zone with their offset (``2026-12-07T02:00:00+00:00`` in UTC), as Json.NET
        writes the host's local ``DateTime`` values; never-set times as ``0001-01-01T00:00:00``."""
        return {"Last": _iso(self.last, zone), "Next": _iso(self.next, zone),
                "LastUpdated": _iso(self.last_updated, zone)}

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> ScheduleStatus:
        return cls(_parse(data["Last"]), _parse(data["Next"]), _parse(data["LastUpdated"]))


def _iso(value: datetime, zone: tzinfo = UTC) -> str:
    return value.astimezone(zone).isoformat() if value > NEVER else "0001-01-01T00:00:00"


def _parse(text: str) -> datetime:
    if text.startswith("0001-01-01"):
        return NEVER
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class PastDueCheck:
    status: ScheduleStatus  # the status to keep (written when ``changed``)
    changed: bool
    past_due: timedelta  # zero when not past due


def check_past_due(schedule: TimerSchedule, now: datetime,
                   stored: ScheduleStatus | None) -> PastDueCheck:
    """``ScheduleMonitor.CheckPastDueAsync`` with the status it would write."""
    if stored is None:
        nxt = schedule.next_after(now) or NEVER
        return PastDueCheck(ScheduleStatus(NEVER, nxt, now), True, timedelta(0))
    if stored.last > NEVER:
        expected, basis = schedule.next_after(stored.last), stored.last
    elif stored.last_updated > NEVER:
        expected, basis = schedule.next_after(stored.last_updated), stored.last_updated
    else:
        expected, basis = schedule.next_after(now), now
    status, changed = stored, False
    if expected is not None and stored.next != expected:
        if now > expected:  # the schedule changed and its next occurrence passed: not past due
            expected, basis = schedule.next_after(now), now
        status, changed = ScheduleStatus(NEVER, expected or NEVER, basis), True
    past = now - status.next if status.next > NEVER and now > status.next else timedelta(0)
    return PastDueCheck(status, changed, past)


def after_invocation(schedule: TimerSchedule, invoked_at: datetime,
                     current: ScheduleStatus | None, *, unscheduled: bool) -> ScheduleStatus:
    """The status the listener records after an invocation (``InvokeJobFunction``): an
    on-schedule run that fired a little early counts from its scheduled time."""
    at = invoked_at
    if not unscheduled and current is not None and current.next > invoked_at:
        at = current.next
    return ScheduleStatus(at, schedule.next_after(at) or NEVER, at)


def timer_info_json(schedule: TimerSchedule, status: ScheduleStatus | None,
                    past_due: bool) -> dict[str, object]:
    """The ``TimerInfo`` JSON the host sends (``TimerRequest`` reads IsPastDue, ScheduleStatus,
    Schedule); ScheduleStatus is null without the monitor, as in the host."""
    return {"Schedule": {"AdjustForDST": True},
            "ScheduleStatus": status.to_json(schedule.zone) if status is not None else None,
            "IsPastDue": past_due}
