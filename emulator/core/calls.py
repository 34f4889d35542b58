"""Pure steps that call the worker, written once for a caller that waits in a thread and for one
that awaits on an event loop.

An orchestration episode (``episode.episode_steps``) and an entity batch
(``entity_episode.batch_steps``) need the app's answer in the middle of their work. Each is a
generator: it yields the worker call's arguments (a tuple), is sent the call's answer, or is
thrown the exception the call raised (handled where the step calls out, as if the call had
raised there), and returns its result (``StopIteration.value``). ``drive`` runs one with a
synchronous call, the caller's thread waiting for it (``episode.step``, ``run_batch``); the
runtime drives one with an awaited call (``runtime/awaited.py``) when the worker waits without a
thread. Nothing here waits: the generator is the step, the driver is the waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, TypeVar

__all__ = ["Steps", "drive"]

Result = TypeVar("Result")
# yields the call's arguments, is sent its answer, returns the step's result
Steps = Generator[tuple[Any, ...], Any, Result]


def drive(steps: Steps[Result], call: Callable[..., Any]) -> Result:
    """Run ``steps`` to its result with ``call``, in this thread (``call`` may block)."""
    try:
        arguments = next(steps)
        while True:
            try:
                answer = call(*arguments)
            except Exception as exc:
                arguments = steps.throw(exc)
            else:
                arguments = steps.send(answer)
    except StopIteration as done:
        return done.value
