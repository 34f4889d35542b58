"""NCRONTAB as the timer extension reads it (six fields, NCrontab's field rules)."""

from datetime import datetime, timedelta

import pytest

from emulator.triggers.ncrontab import Crontab, CrontabError, Field, parse_field


def nxt(expr: str, base: datetime) -> datetime | None:
    return Crontab.parse(expr).next_after(base)


BASE = datetime(2026, 12, 6, 17, 29, 22)  # a Sunday


@pytest.mark.parametrize("expr,expected", [
    ("0 */5 * * * *", datetime(2026, 12, 6, 17, 30, 0)),
    ("0 0 * * * *", datetime(2026, 12, 6, 18, 0, 0)),
    ("*/15 * * * * *", datetime(2026, 12, 6, 17, 29, 30)),
    ("0 30 9 * * *", datetime(2026, 12, 7, 9, 30, 0)),
    ("0 30 9 * * 1-5", datetime(2026, 12, 7, 9, 30, 0)),          # Monday
    ("0 30 9 * * 6", datetime(2026, 12, 12, 9, 30, 0)),           # Saturday
    ("0 0 0 1 1 *", datetime(2027, 1, 1)),
    ("0 0 9-17 * * *", datetime(2026, 12, 7, 9, 0, 0)),
    ("5/20 * * * * *", datetime(2026, 12, 6, 17, 29, 25)),        # 5, 25, 45
    ("0 0 0 29 2 *", datetime(2028, 2, 29)),                      # next leap day
    ("0 0 12 * Jan Mon", datetime(2027, 1, 4, 12, 0)),
    ("0 0 12 * * sunday", datetime(2026, 12, 13, 12, 0)),         # not today: 12:00 passed
    ("22 29 17 * * *", datetime(2026, 12, 7, 17, 29, 22)),        # strictly after the base
])
def test_next_occurrence(expr, expected):
    assert nxt(expr, BASE) == expected


def test_day_of_month_and_day_of_week_both_must_match():
    # Friday the 13th only (NCrontab checks the weekday after the date; Vixie cron would
    # fire on every 13th and every Friday).
    cron = Crontab.parse("0 0 0 13 * 5")
    hits = cron.occurrences(datetime(2026, 1, 1), 3)
    assert hits == [datetime(2026, 2, 13), datetime(2026, 3, 13), datetime(2026, 11, 13)]
    assert all(h.weekday() == 4 for h in hits)


def test_names_are_case_insensitive_prefixes_first_match_wins():
    assert parse_field(Field.MONTH, "Ju") == {6}          # June before July
    assert parse_field(Field.MONTH, "july") == {7}
    assert parse_field(Field.DAY_OF_WEEK, "T") == {2}     # Tuesday before Thursday
    assert parse_field(Field.DAY_OF_WEEK, "Mon-Wed") == {1, 2, 3}
    with pytest.raises(CrontabError, match="not a known Month name"):
        parse_field(Field.MONTH, "Janu4ry")
    with pytest.raises(CrontabError, match="must be a number"):
        parse_field(Field.HOUR, "noon")


def test_ranges_steps_lists():
    assert parse_field(Field.HOUR, "17-9") == set(range(9, 18))   # reversed ranges swap
    assert parse_field(Field.MINUTE, "*/0") == set(range(60))     # a step below 1 is 1
    assert parse_field(Field.MINUTE, "10-30/10") == {10, 20, 30}
    assert parse_field(Field.SECOND, "1,2,40-42") == {1, 2, 40, 41, 42}
    assert parse_field(Field.DAY, "*/10") == {1, 11, 21, 31}


@pytest.mark.parametrize("expr,message", [
    ("0 */5 * * *", "must contain 6 components"),                 # five fields
    ("0 0 */5 * * * *", "must contain 6 components"),
    ("0 0 0 * * 7", r"higher than the maximum for the \[DayOfWeek\]"),
    ("60 * * * * *", r"higher than the maximum for the \[Second\]"),
    ("0 0 0 0 * *", r"lower than the minimum for the \[Day\]"),
    ("0 0 0 ? * *", "must be a number"),
    ("0 0 0 L * *", "must be a number"),
    ("0 0 0 * * 5#3", "not a number"),
    ("0 0 0 * * 1,", "empty"),
    ("*/ * * * * *", "step"),
])
def test_invalid(expr, message):
    with pytest.raises(CrontabError, match=message):
        Crontab.parse(expr)


def test_never_is_none():
    assert nxt("0 0 0 30 2 *", BASE) is None


def test_every_second_walks_whole_seconds():
    cron = Crontab.parse("* * * * * *")
    base = datetime(2026, 12, 31, 23, 59, 59, 500000)
    assert cron.next_after(base) == datetime(2027, 1, 1)
    times = cron.occurrences(base, 3)
    assert [t - times[0] for t in times] == [timedelta(0), timedelta(seconds=1),
                                               timedelta(seconds=2)]


def test_month_rollover_respects_short_months():
    # The 31st exists only in some months: NCrontab's day rollover skips the short ones.
    assert Crontab.parse("0 0 0 31 * *").occurrences(datetime(2026, 1, 31), 3) == [
        datetime(2026, 3, 31), datetime(2026, 5, 31), datetime(2026, 7, 31)]
