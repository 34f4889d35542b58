"""Strict JSON for everything the local host parses or echoes.

``loads`` is ``json.loads`` with limits: an optional size limit (the HTTP edge has already
capped request bodies at the Functions host's limit), a nesting limit (64, Json.NET's default
``MaxDepth`` since 13.0, which the Functions host applies to the same payloads), strict numbers
(``NaN`` and ``Infinity`` are refused, and so are numbers too large for a double, such as
``1e400``, which Python would turn into ``inf`` and echo as ``Infinity``) and integers of at most
4300 digits (Python's own conversion limit). Every failure is a ``JsonInputError`` with a
``JsonProblem`` saying which rule was broken, for the edge to answer 400 or 413.

``dumps`` writes compact strict JSON; values that strict JSON cannot hold (non-finite floats that
user code returned) are written as ``null``, as JavaScript's ``JSON.stringify`` does, so nothing
the host serves is invalid JSON.
"""

from __future__ import annotations

import json
import math
import re
from enum import Enum
from typing import Any

MAX_DEPTH = 64


class JsonProblem(Enum):
    SYNTAX = "not valid JSON"
    ENCODING = "not UTF-8 text"
    TOO_LARGE = "too large"
    TOO_DEEP = "nested too deeply"
    NOT_STRICT = "not strict JSON"
    OUT_OF_RANGE = "a number out of range"


class JsonInputError(ValueError):
    def __init__(self, problem: JsonProblem, detail: str) -> None:
        super().__init__(f"{problem.value}: {detail}" if detail else problem.value)
        self.problem = problem


_KEEP_BRACKETS_AND_QUOTES = bytes(b for b in range(256) if b not in b'[]{}"')
_STRING = re.compile(rb'"[^"]*"')


def deeper_than(data: str | bytes, limit: int) -> bool:
    """Whether JSON ``data`` nests arrays and objects more than ``limit`` levels deep.

    Works on bytes with C-speed passes (about as fast as parsing): drop escaped backslashes and
    quotes, keep only brackets and quotes, drop string literals (brackets inside them do not
    count), then peel one innermost level of ``[]`` pairs per pass. Unbalanced input is left to
    the parser to refuse.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = _STRING.sub(b"", raw.translate(None, _KEEP_BRACKETS_AND_QUOTES))
    brackets = brackets.replace(b"{", b"[").replace(b"}", b"]")
    for _ in range(limit):
        if not brackets:
            return False
        shorter = brackets.replace(b"[]", b"")
        if shorter == brackets:
            return False  # unbalanced: a syntax error (or too deep for the parser's stack)
        brackets = shorter
    return bool(brackets)


def _refuse_constant(name: str) -> Any:
    raise JsonInputError(JsonProblem.NOT_STRICT, f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonInputError(JsonProblem.OUT_OF_RANGE, f"{text[:40]} does not fit a double")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def loads(data: str | bytes | bytearray, *, max_bytes: int | None = None,
          max_depth: int = MAX_DEPTH) -> Any:
    """Parse strict JSON within the limits; ``JsonInputError`` otherwise. Bytes are parsed
    without an extra copy of them; ``max_bytes`` None: no size limit."""
    if max_bytes is not None:
        size = len(data) if isinstance(data, bytes | bytearray) else \
            len(data.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            raise JsonInputError(JsonProblem.TOO_LARGE, f"{size} bytes; the limit is {max_bytes}")
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonInputError(JsonProblem.ENCODING, str(exc)) from None
    else:
        text = data
    text = text.removeprefix("\ufeff")
    if text.count("[") + text.count("{") > max_depth and deeper_than(data, max_depth):
        raise JsonInputError(JsonProblem.TOO_DEEP, f"more than {max_depth} levels")
    try:
        return _DECODER.decode(text)
    except JsonInputError:
        raise
    except json.JSONDecodeError as exc:
        raise JsonInputError(JsonProblem.SYNTAX, str(exc)) from None
    except RecursionError:  # unbalanced brackets fooled the depth count; still too deep
        raise JsonInputError(JsonProblem.TOO_DEEP, f"more than {max_depth} levels") from None
    except ValueError as exc:  # an integer beyond Python's digit limit
        raise JsonInputError(JsonProblem.OUT_OF_RANGE, str(exc)) from None


def dumps(value: Any) -> str:
    """Compact strict JSON; non-finite floats become ``null``."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), separators=(",", ":"), allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def normalise(text: str) -> str:
    """JSON text that may hold ``NaN``/``Infinity`` (Python's ``json.dumps`` writes them) as
    strict JSON text: unchanged when it already is, else re-encoded with ``null`` for them."""
    try:
        json.loads(text, parse_constant=_refuse_constant)
    except JsonInputError:
        return dumps(json.loads(text))
    except ValueError:
        return text  # not JSON at all (a plain failure message): leave it
    return text
