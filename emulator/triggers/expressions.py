"""Binding expressions: blob path patterns and ``{...}`` / ``%...%`` templates in binding paths.

A blob trigger's ``path`` is ``container/pattern``: the container is literal, the pattern may hold
``{name}`` parameters (a parameter matches any text, ``/`` included; ``{{`` / ``}}`` are literal
braces), and the names it captures become binding data for the function's other bindings, as
the host's ``BlobPath`` / ``BindingTemplateSource`` do. A template such as ``out/{name}.txt``,
``{queueTrigger}``, ``{rand-guid}`` or ``{DateTime}`` is filled from binding data; ``%NAME%``
is the app setting. A name the data lacks is an ``ExpressionError`` naming it.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


class ExpressionError(ValueError):
    pass


def resolve_app_settings(text: str, settings: Mapping[str, str] | None = None) -> str:
    source = os.environ if settings is None else settings

    def one(match: re.Match[str]) -> str:
        if match.group(1) not in source:
            raise ExpressionError(f"'{text}' refers to app setting '%{match.group(1)}%', "
                                  f"which is not set")
        return source[match.group(1)]

    return re.sub(r"%([^%]+)%", one, text)


def _lookup(data: Mapping[str, Any], key: str) -> Any:
    """Binding data names are case-insensitive; ``a.b`` reads into a JSON object."""
    lowered = {k.lower(): v for k, v in data.items()}
    head, *rest = key.split(".")
    if head.lower() not in lowered:
        raise KeyError(key)
    value = lowered[head.lower()]
    for part in rest:
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(key)
        value = value[part]
    return value


def fill(template: str, data: Mapping[str, Any], *, now: datetime | None = None,
         settings: Mapping[str, str] | None = None) -> str:
    """Fill a binding template from binding data (``{rand-guid}``, ``{DateTime}`` built in)."""
    text = resolve_app_settings(template, settings)

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        key = match.group(1).strip()
        lowered = key.lower()
        if lowered == "rand-guid":
            return str(uuid.uuid4())
        if lowered in ("datetime", "sys.utcnow"):
            return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H-%M-%SZ")
        try:
            return str(_lookup(data, key))
        except KeyError:
            raise ExpressionError(f"No value for named parameter '{key}' in '{template}'") \
                from None

    return _TOKEN.sub(one, text)


@dataclass(frozen=True)
class BlobPathPattern:
    container: str
    pattern: str
    regex: re.Pattern[str]
    names: tuple[str, ...]

    @classmethod
    def parse(cls, path: str, settings: Mapping[str, str] | None = None) -> BlobPathPattern:
        resolved = resolve_app_settings(path, settings).strip("/")
        container, sep, pattern = resolved.partition("/")
        if not container or "{" in container:
            raise ExpressionError(f"blob path '{path}': the container name must be literal "
                                  f"(container/pattern)")
        if not sep or not pattern:
            pattern = "{name}" if not pattern else pattern
        parts, names, pos = [], [], 0
        for match in _TOKEN.finditer(pattern):
            parts.append(re.escape(pattern[pos:match.start()]))
            token = match.group(0)
            if token in ("{{", "}}"):
                parts.append(re.escape(token[0]))
            else:
                name = match.group(1).strip()
                if not name.isidentifier():
                    raise ExpressionError(f"blob path '{path}': '{{{name}}}' is not a "
                                          f"parameter name")
                if name in names:
                    raise ExpressionError(f"blob path '{path}': '{{{name}}}' appears twice")
                names.append(name)
                parts.append(f"(?P<{name}>.+?)")
            pos = match.end()
        parts.append(re.escape(pattern[pos:]))
        return cls(container, pattern, re.compile("^" + "".join(parts) + "$", re.DOTALL),
                   tuple(names))

    def match(self, blob_name: str) -> dict[str, str] | None:
        found = self.regex.match(blob_name)
        return found.groupdict() if found else None

    def literal_prefix(self) -> str:
        """The pattern's text before its first parameter (a listing prefix)."""
        first = _TOKEN.search(self.pattern)
        return self.pattern[:first.start()] if first else self.pattern
