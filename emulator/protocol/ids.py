"""Instance ids: the rules of the real backend, in one place for the HTTP edge and the engine.

The extension's ``DurableClient.StartNewAsync`` refuses ids that start with ``@`` (entity ids),
contain ``/``, ``\\``, ``?``, ``#`` or a control character (.NET ``char.IsControl``: U+0000-U+001F
and U+007F-U+009F, which Azure Table keys refuse too), or are longer than 256 characters (.NET
counts UTF-16 code units, so a character outside the BMP counts twice). The local host also
refuses ``.`` and ``..``, which URL paths cannot carry (clients and proxies normalise them away,
so such an instance could never be addressed), and lone surrogates, which no store can encode.
"""

from __future__ import annotations

import re

MAX_INSTANCE_ID_LENGTH = 256

_FORBIDDEN = re.compile(r"[/\\?#\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class InvalidInstanceId(ValueError):
    """``str()`` says which rule the id breaks, in the extension's words where it has some."""


def instance_id_problem(instance_id: str) -> str | None:
    """Why ``instance_id`` is not a valid instance id, or None when it is."""
    if not isinstance(instance_id, str) or not instance_id:
        return "Orchestration instance ids must not be empty."
    if instance_id.startswith("@"):
        return "Orchestration instance ids must not start with @."
    if _FORBIDDEN.search(instance_id):
        return "Orchestration instance ids must not contain /, \\, #, ?, or control characters."
    if _SURROGATE.search(instance_id):
        return "Orchestration instance ids must be valid Unicode text."
    if instance_id in (".", ".."):
        return "Orchestration instance ids must not be '.' or '..'."
    if _utf16_length(instance_id) > MAX_INSTANCE_ID_LENGTH:
        return f"Instance ID lengths must not exceed {MAX_INSTANCE_ID_LENGTH} characters."
    return None


def validate_instance_id(instance_id: str) -> str:
    """``instance_id`` itself when valid; ``InvalidInstanceId`` otherwise."""
    problem = instance_id_problem(instance_id)
    if problem is not None:
        raise InvalidInstanceId(problem)
    return instance_id


def _utf16_length(text: str) -> int:
    if len(text) > MAX_INSTANCE_ID_LENGTH or len(text) * 2 <= MAX_INSTANCE_ID_LENGTH:
        return len(text)  # too long anyway, or short enough even if every character counts 2
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)
