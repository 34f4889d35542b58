"""Query-string values for the HTTP edge: timestamps, bounded numbers, flags.

Every parser takes the raw text and the parameter's name and either returns a value that is safe
to use - finite, within its bounds, timestamps aware and in UTC - or raises ``InvalidParameter``
naming the parameter, before anything has been created or changed.

Timestamps follow what the extension's ``DateTime.TryParse`` does on an Azure host (whose local
time is UTC): an offset is converted to UTC, and a time without one is taken as UTC. A ``+`` sent
unencoded in a query string arrives as a space (``...T10:00:00 05:00``); that is refused with a
hint rather than guessed, because a guess could widen what a purge deletes.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

WAIT_LIMIT_SECONDS = 86_400.0  # start-and-wait `timeout` and `pollingInterval`: one day
CLOCK_ADVANCE_LIMIT_SECONDS = 100 * 365.25 * 86_400  # a time-skipping clock moves <= 100 years
INT32_MAX = 2**31 - 1  # `top`: .NET int.TryParse

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_UNENCODED_PLUS = re.compile(r"\d\d:\d\d(?::\d\d(?:\.\d+)?)? [01]\d:?[0-5]\d$")


class InvalidParameter(ValueError):
    """``name`` is the query parameter; ``str()`` is a sentence for the 400 answer."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def parse_number(text: str, name: str, *, minimum: float, maximum: float) -> float:
    """A finite decimal number in [minimum, maximum] (``NaN``, ``inf``, ``1_0`` refused)."""
    value = None
    if _NUMBER.fullmatch(text.strip()):
        value = float(text)
    if value is None or not math.isfinite(value):
        raise InvalidParameter(name, f"Query parameter '{name}' must be a finite number, "
                                     f"not {_shown(text)}.")
    if not minimum <= value <= maximum:
        raise InvalidParameter(name, f"Query parameter '{name}' must be between "
                                     f"{_plain(minimum)} and {_plain(maximum)}, "
                                     f"not {_shown(text)}.")
    return value


def parse_int(text: str, name: str, *, minimum: int, maximum: int = INT32_MAX) -> int:
    """A decimal integer in [minimum, maximum]."""
    stripped = text.strip()
    if not re.fullmatch(r"[+-]?\d{1,20}", stripped):
        raise InvalidParameter(name, f"Query parameter '{name}' must be an integer, "
                                     f"not {_shown(text)}.")
    value = int(stripped)
    if not minimum <= value <= maximum:
        raise InvalidParameter(name, f"Query parameter '{name}' must be between {minimum} and "
                                     f"{maximum}, not {_shown(text)}.")
    return value


def parse_seconds(text: str, name: str, *, maximum: float = WAIT_LIMIT_SECONDS) -> timedelta:
    """A duration in seconds, 0 to ``maximum``."""
    return timedelta(seconds=parse_number(text, name, minimum=0.0, maximum=maximum))


def parse_flag(text: str, name: str) -> bool:
    """``true`` or ``false`` in any case, as .NET ``bool.TryParse``."""
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise InvalidParameter(name, f"Query parameter '{name}' must be true or false, "
                                     f"not {_shown(text)}.")
    return lowered == "true"


def parse_timestamp(text: str, name: str) -> datetime:
    """An ISO-8601 date or date-time as an aware UTC datetime (offsets converted)."""
    stripped = text.strip()
    if _UNENCODED_PLUS.search(stripped):
        raise InvalidParameter(name, f"Query parameter '{name}' has a space before its UTC "
                                     f"offset ({_shown(text)}): a '+' must be sent as %2B in a "
                                     "query string.")
    body = stripped[:-1] + "+00:00" if stripped[-1:] in ("Z", "z") else stripped
    try:
        value = datetime.fromisoformat(body)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidParameter(name, f"Query parameter '{name}' is not a valid date/time: "
                                     f"{_shown(text)}.") from None


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _plain(value: float) -> str:
    return f"{value:g}" if value != int(value) or abs(value) >= 1e15 else str(int(value))
