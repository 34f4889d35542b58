"""Driving a pure step whose worker call is awaited (``core/calls.py``), for a worker whose
episodes and batches wait without a thread (``worker.seam.AwaitingWorker``).

The step's CPU work runs on the loop, between the awaits; the wait for the worker holds no
thread. Cancelling the awaiting task cancels the call (the worker gives its work up) and drops
the step: nothing of it was committed (commit first), so the instance or entity is left as the
store has it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ..core.calls import Steps

__all__ = ["drive_awaited"]

Result = TypeVar("Result")


async def drive_awaited(steps: Steps[Result], call: Callable[..., Awaitable[Any]]) -> Result:
    """``calls.drive`` with ``call`` awaited on this loop."""
    try:
        arguments = next(steps)
        while True:
            try:
                answer = await call(*arguments)
            except Exception as exc:  # not a cancellation: that ends the step here
                arguments = steps.throw(exc)
            else:
                arguments = steps.send(answer)
    except StopIteration as done:
        return done.value
