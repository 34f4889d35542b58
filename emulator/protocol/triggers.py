"""A triggered invocation as plain data: what a trigger source hands the worker (stdlib only).

``TriggerCall`` is the trigger's value and the trigger metadata exactly as the Functions host
sends them to a language worker (each a ``TypedValue``: the worker protocol's typed data), plus
``binding_data``, the values binding expressions may name in other bindings' paths (``{name}``
from a blob path, ``{queueTrigger}``, ...). Plain data, so it can cross a process boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class TriggerType(Enum):
    TIMER = "timerTrigger"
    QUEUE = "queueTrigger"
    BLOB = "blobTrigger"

    def __str__(self) -> str:
        return self.value


class DataType(Enum):
    """The worker protocol's typed data kinds used here (``meta.Datum.type``)."""

    STRING = "string"
    BYTES = "bytes"
    JSON = "json"


@dataclass(frozen=True)
class TypedValue:
    type: DataType
    value: str | bytes


@dataclass(frozen=True)
class TriggerCall:
    function_name: str
    trigger: TriggerType | str  # a str: another trigger type, run only on demand (admin call)
    value: TypedValue
    metadata: dict[str, TypedValue] = field(default_factory=dict)
    binding_data: dict[str, Any] = field(default_factory=dict)
    reason: str = ""  # e.g. "IsPastDue", "RunOnStartup", "New queue message detected ..."
