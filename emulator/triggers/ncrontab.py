"""NCRONTAB expressions as the Functions timer trigger reads them (pure; no clock, no I/O).

The timer extension parses schedules with NCrontab and ``IncludingSeconds = true``: exactly six
fields, ``{second} {minute} {hour} {day} {month} {day-of-week}``. The field rules follow
NCrontab's ``CrontabFieldImpl`` / ``CrontabField.Accumulate``:

- a field is ``*``, a value, a range ``a-b`` (reversed ranges are swapped: ``5-2`` is ``2-5``),
  each optionally with a step ``/n`` (a step below 1 counts as 1; ``a/n`` is ``a-max/n``), or a
  comma list of those;
- months and days of week accept names, case-insensitively, as any *prefix* of the English name
  (``Jan``, ``january``, ``Ju`` is June: the first name that starts with the text wins);
- days of week are 0-6 with Sunday 0 (7 is out of range); there is no ``?``, ``L``, ``W`` or ``#``;
- a day matches only when BOTH the day of month and the day of week match (NCrontab checks the
  day-of-week after the date, unlike Vixie cron's "either" rule).

``next_after(t)`` is the first occurrence strictly after ``t`` (whole seconds), as
``CrontabSchedule.GetNextOccurrence``; times are naive wall-clock times of the schedule's zone.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum


class CrontabError(ValueError):
    """The expression is not a valid six-field NCRONTAB expression; the message says why."""


class Field(Enum):
    SECOND = ("Second", 0, 59, ())
    MINUTE = ("Minute", 0, 59, ())
    HOUR = ("Hour", 0, 23, ())
    DAY = ("Day", 1, 31, ())
    MONTH = ("Month", 1, 12, ("January", "February", "March", "April", "May", "June", "July",
                              "August", "September", "October", "November", "December"))
    DAY_OF_WEEK = ("DayOfWeek", 0, 6, ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday",
                                       "Friday", "Saturday"))

    def __init__(self, label: str, low: int, high: int, names: tuple[str, ...]) -> None:
        self.label = label
        self.low = low
        self.high = high
        self.names = names


FIELDS = tuple(Field)


def _value(field: Field, text: str, whole: str) -> int:
    if not text:
        raise CrontabError(f"'{whole}' is not a valid [{field.label}] field: a value is empty")
    if text[0].isdigit():
        if not text.isdigit():
            raise CrontabError(f"'{whole}' is not a valid [{field.label}] field: "
                               f"'{text}' is not a number")
        return int(text)
    if not field.names:
        raise CrontabError(f"'{text}' is not a valid [{field.label}] value: it must be a number "
                           f"between {field.low} and {field.high}")
    lowered = text.lower()
    for index, name in enumerate(field.names):
        if name.lower().startswith(lowered):
            return index + field.low
    raise CrontabError(f"'{text}' is not a known {field.label} name; use one of "
                       f"{', '.join(field.names)}")


def _check(field: Field, value: int) -> int:
    if value < field.low:
        raise CrontabError(f"{value} is lower than the minimum for the [{field.label}] field "
                           f"({field.low}-{field.high})")
    if value > field.high:
        raise CrontabError(f"{value} is higher than the maximum for the [{field.label}] field "
                           f"({field.low}-{field.high})")
    return value


def _part(field: Field, part: str, whole: str) -> set[int]:
    step = 1
    body = part
    slash = part.find("/")
    if slash > 0:
        step_text = part[slash + 1:]
        if not step_text.isdigit():
            raise CrontabError(f"'{whole}' is not a valid [{field.label}] field: the step "
                               f"'{step_text}' is not a number")
        step = max(1, int(step_text))
        body = part[:slash]
    if body == "*":
        first, last = field.low, field.high
    elif body.find("-") > 0:
        dash = body.find("-")
        first = _check(field, _value(field, body[:dash], whole))
        last = _check(field, _value(field, body[dash + 1:], whole))
        first, last = min(first, last), max(first, last)
    else:
        first = _check(field, _value(field, body, whole))
        last = field.high if slash > 0 else first
    return set(range(first, last + 1, step))


def parse_field(field: Field, text: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        values |= _part(field, part, text)
    return frozenset(values)


@dataclass(frozen=True)
class Crontab:
    """A parsed six-field expression: the set of allowed values per field."""

    expression: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: tuple[int, ...]
    days_of_week: frozenset[int]

    @classmethod
    def parse(cls, expression: str) -> Crontab:
        tokens = expression.split()
        if len(tokens) != 6:
            raise CrontabError(
                f"'{expression}' is an invalid crontab expression. It must contain 6 "
                f"components of a schedule in the sequence of seconds, minutes, hours, days, "
                f"months, and days of week.")
        sets = [parse_field(field, token) for field, token in zip(FIELDS, tokens, strict=True)]
        return cls(expression, tuple(sorted(sets[0])), tuple(sorted(sets[1])),
                   tuple(sorted(sets[2])), sets[3], tuple(sorted(sets[4])), sets[5])

    def _day_matches(self, year: int, month: int, day: int) -> bool:
        weekday = (calendar.weekday(year, month, day) + 1) % 7  # Sunday 0, as .NET DayOfWeek
        return day in self.days and weekday in self.days_of_week

    def next_after(self, base: datetime) -> datetime | None:
        """The first occurrence strictly after ``base`` (None: none within 400 years)."""
        tz = base.tzinfo
        t = base.replace(microsecond=0, tzinfo=None) + timedelta(seconds=1)
        limit_year = t.year + 400
        while t.year <= min(limit_year, 9999):
            if t.month not in self.months:
                later = [m for m in self.months if m > t.month]
                t = (datetime(t.year, later[0], 1) if later
                     else datetime(t.year + 1, self.months[0], 1) if t.year < 9999 else None)
                if t is None:
                    return None
                continue
            if not self._day_matches(t.year, t.month, t.day):
                days_in_month = calendar.monthrange(t.year, t.month)[1]
                day = next((d for d in range(t.day + 1, days_in_month + 1)
                            if self._day_matches(t.year, t.month, d)), None)
                if day is not None:
                    t = datetime(t.year, t.month, day)
                elif t.month == 12:
                    if t.year == 9999:
                        return None
                    t = datetime(t.year + 1, 1, 1)
                else:
                    t = datetime(t.year, t.month + 1, 1)
                continue
            found = self._time_of_day(t)
            if found is not None:
                return found.replace(tzinfo=tz)
            t = datetime(t.year, t.month, t.day) + timedelta(days=1)
        return None

    def _time_of_day(self, t: datetime) -> datetime | None:
        """The first matching time on ``t``'s date at or after ``t``'s time."""
        for hour in self.hours:
            if hour < t.hour:
                continue
            for minute in self.minutes:
                if hour == t.hour and minute < t.minute:
                    continue
                for second in self.seconds:
                    if hour == t.hour and minute == t.minute and second < t.second:
                        continue
                    return t.replace(hour=hour, minute=minute, second=second)
        return None

    def occurrences(self, base: datetime, count: int) -> list[datetime]:
        return successive(self.next_after, base, count)


def successive(next_after: Callable[[datetime], datetime | None], start: datetime,
               count: int) -> list[datetime]:
    """The next ``count`` occurrences after ``start`` (fewer when the schedule ends)."""
    out: list[datetime] = []
    moment: datetime | None = start
    for _ in range(count):
        moment = next_after(moment)
        if moment is None:
            break
        out.append(moment)
    return out
