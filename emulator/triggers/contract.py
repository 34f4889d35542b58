"""The narrow contract between trigger sources and whoever runs functions (the host's worker seam).

A source never calls app code itself. It builds a ``TriggerCall`` - the trigger's value and the
trigger metadata exactly as the Functions host sends them to a language worker - and awaits the
``Invoke`` callback, which answers an ``Outcome``. The source then settles its side (deletes the
queue message, completes the blob receipt, records the schedule status) from that outcome alone.

``binding_data`` holds the values binding expressions may name in other bindings' paths
(``{name}`` from a blob path, ``{queueTrigger}``, ``{id}`` ...), as the host's binding data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol


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


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    error: str | None = None

    @classmethod
    def ok(cls) -> Outcome:
        return cls(True)

    @classmethod
    def failed(cls, error: str) -> Outcome:
        return cls(False, error)


class Invoke(Protocol):
    """Run the function for one trigger call; never raises (a failure is an ``Outcome``)."""

    def __call__(self, call: TriggerCall) -> Awaitable[Outcome]: ...


# What a source reports for the dashboard's "recent invocations" and the logs.
InvocationListener = Callable[[TriggerCall, Outcome], None]
