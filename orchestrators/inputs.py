"""Input checking shared by the orchestrators' validators.

Each orchestrator has a pure ``parse_*`` function that turns its raw JSON input into a normalized
dict (defaults filled in) or raises :class:`InputError` naming the offending field. The HTTP
starter calls it to answer 400 at the door; the orchestrator calls it again on its own input,
because instances can also be started through the management API, bypassing the starter.
"""

from __future__ import annotations

from typing import Any


class InputError(ValueError):
    """An input field is missing or invalid; ``field`` is a path such as ``trips[1].origin``."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


def require_object(value: Any, field: str = "") -> dict[str, Any]:
    """``value`` itself, if it is a JSON object."""
    if not isinstance(value, dict):
        raise InputError(field, "must be a JSON object")
    return value


def reject_unknown(data: dict[str, Any], allowed: set[str], prefix: str = "") -> None:
    """Refuse keys outside ``allowed``: a typo such as ``conect_ms`` should not pass silently."""
    unknown = sorted(set(data) - allowed)
    if unknown:
        allowed_list = ", ".join(sorted(allowed))
        raise InputError(f"{prefix}{unknown[0]}", f"unknown field (allowed: {allowed_list})")


def text(data: dict[str, Any], key: str, prefix: str = "", max_length: int = 200) -> str:
    """A required, non-blank string field, stripped."""
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InputError(prefix + key, "is required and must be a non-empty string")
    if len(value) > max_length:
        raise InputError(prefix + key, f"must be at most {max_length} characters")
    return value.strip()


def integer(
    data: dict[str, Any], key: str, default: int, low: int, high: int, prefix: str = ""
) -> int:
    """An optional integer field within ``[low, high]``; bools are not integers here."""
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(prefix + key, "must be an integer")
    if not low <= value <= high:
        raise InputError(prefix + key, f"must be between {low} and {high}")
    return value


def number(
    data: dict[str, Any], key: str, default: float, low: float, high: float, prefix: str = ""
) -> float:
    """An optional number field within ``[low, high]``."""
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(prefix + key, "must be a number")
    if not low <= value <= high:
        raise InputError(prefix + key, f"must be between {low:g} and {high:g}")
    return value


def flag(data: dict[str, Any], key: str, default: bool = False, prefix: str = "") -> bool:
    """An optional boolean field."""
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise InputError(prefix + key, "must be true or false")
    return value
