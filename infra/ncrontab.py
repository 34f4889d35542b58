"""The NCRONTAB expressions the Functions timer trigger accepts on the Consumption plans.

Six fields, ``{second} {minute} {hour} {day} {month} {day-of-week}`` (NCrontab with seconds, as
the timer extension parses them). Each field is a comma-separated list of ``*``, a value, a range
``a-b``, each optionally with a step ``/n``; months and days of the week also by their English
three-letter names (``Jan``, ``Mon``). The ``hh:mm:ss`` TimeSpan form of the timer trigger is
only for App Service plans, so it is refused here: both plans this program creates are
Consumption plans (Functions timer trigger reference, "NCRONTAB expressions" and "TimeSpan").

Used to reject a bad ``backupSchedule`` at ``pulumi up`` (the host would otherwise mark the
function in error at start-up, long after the deploy said it succeeded) and by the plan rules.
"""

from __future__ import annotations

import re

FIELDS = (
    ("second", 0, 59, ()),
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day", 1, 31, ()),
    ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                      "nov", "dec")),
    ("day-of-week", 0, 6, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)
_ITEM = re.compile(r"(?P<base>\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(?P<step>\d+))?")
_TIMESPAN = re.compile(r"\d{1,2}:\d{2}(:\d{2})?")


def schedule_problem(expression: str) -> str | None:
    """Why ``expression`` is not a six-field NCRONTAB schedule, or None when it is one."""
    fields = expression.split()
    if _TIMESPAN.fullmatch(expression.strip()):
        return (f"{expression!r} is a TimeSpan schedule, which only App Service plans run; "
                "use six NCRONTAB fields, e.g. '0 0 2 * * *' for 02:00 every day")
    if len(fields) != len(FIELDS):
        return (f"{expression!r} has {len(fields)} field(s); the timer trigger needs six: "
                "{second} {minute} {hour} {day} {month} {day-of-week}, e.g. '0 0 2 * * *'")
    for text, (name, low, high, names) in zip(fields, FIELDS, strict=True):
        for item in text.split(","):
            if problem := _item_problem(item, low, high, names):
                return f"{expression!r}: {name} field {text!r}: {problem}"
    return None


def _item_problem(item: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    match = _ITEM.fullmatch(item)
    if not match:
        return f"{item!r} is not '*', a value, a range a-b, or one of them with a step /n"
    if match.group("step") is not None and int(match.group("step")) == 0:
        return "a step must be at least 1"
    base = match.group("base")
    if base == "*":
        return None
    bounds = [_value(part, names) for part in base.split("-")]
    if any(value is None or not low <= value <= high for value in bounds):
        allowed = f"{low}-{high}" + (f" or {names[0].title()}-{names[-1].title()}" if names
                                     else "")
        return f"{base!r} is outside {allowed}"
    if len(bounds) == 2 and bounds[0] > bounds[1]:
        return f"the range {base!r} runs backwards"
    return None


def _value(text: str, names: tuple[str, ...]) -> int | None:
    if text.isdigit():
        return int(text)
    lowered = text.lower()
    if lowered in names:
        return names.index(lowered) + (1 if len(names) == 12 else 0)
    return None
