"""Request bodies as strict JSON, for every HTTP function of the app that takes one.

``json.loads`` accepts what strict JSON parsers refuse (``NaN``, ``Infinity``, numbers beyond a
double, which Python turns into ``inf``) and raises ``RecursionError`` - not ``ValueError`` - for
absurd nesting, which an HTTP function would answer with a 500. ``parse_body`` turns every one of
these into ``InvalidBody``, so the function answers 400 with a JSON message.
"""

from __future__ import annotations

import json
import math
from typing import Any


class InvalidBody(ValueError):
    """The body is not strict JSON; the message says why."""


def _refuse(constant: str) -> Any:
    raise InvalidBody(f"{constant} is not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidBody(f"{text[:40]} does not fit a double")
    return value


def parse_body(raw: bytes) -> Any:
    """The body as JSON (None when it is empty or only white space); ``InvalidBody`` otherwise
    (not UTF-8, not JSON, not strict JSON, or nested too deeply for the parser)."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_constant=_refuse, parse_float=_finite)
    except InvalidBody:
        raise
    except RecursionError:
        raise InvalidBody("nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, an over-long integer
        raise InvalidBody(str(error)) from None
