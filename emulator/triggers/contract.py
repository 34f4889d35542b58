"""The narrow contract between trigger sources and whoever runs functions (the worker seam).

A source never calls app code itself. It builds a ``TriggerCall`` - the trigger's value and the
trigger metadata exactly as the Functions host sends them to a language worker; plain data in
``protocol/triggers.py``, so the worker can take it - and awaits the ``Invoke`` callback, which
answers an ``Outcome``. The source then settles its side (deletes the queue message, completes
the blob receipt, records the schedule status) from that outcome alone.

``binding_data`` holds the values binding expressions may name in other bindings' paths
(``{name}`` from a blob path, ``{queueTrigger}``, ``{id}`` ...), as the host's binding data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from ..protocol.triggers import DataType, TriggerCall, TriggerType, TypedValue


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


__all__ = ["DataType", "InvocationListener", "Invoke", "Outcome", "TriggerCall", "TriggerType",
           "TypedValue"]

# What a source reports for the dashboard's "recent invocations" and the logs.
InvocationListener = Callable[[TriggerCall, Outcome], None]
