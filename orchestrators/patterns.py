"""Reusable orchestration patterns: retries with exponential backoff, and "wait for all".

Both helpers are generator sub-routines for orchestrators: call them with ``yield from`` so the
tasks they yield reach the Durable runtime, e.g.::

    flight = yield from call_with_backoff(context, BOOK_FLIGHT, payload, FLIGHT_POLICY)

Why not ``context.call_activity_with_retry``? The SDK's ``RetryOptions`` (1.x) only has a first
interval and a maximum number of attempts: every retry waits the same time, and every failure is
retried, including ones that will never succeed. Here the waits are durable timers, so they
survive restarts, cost nothing while they run, and skip in tests with time skipping.

Everything here is deterministic: delays come from the policy, time from
``context.current_utc_datetime``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

# Activity failures reach the orchestrator as a plain ``Exception`` whose message is
# "Activity function '<name>' failed:  <ExceptionType>: <message> \n <details>". The exception
# type name is therefore the only reliable signal of *why* an activity failed.
_ERROR_TYPE = re.compile(r"failed:\s+([A-Za-z_][A-Za-z0-9_.]*):")


@dataclass(frozen=True)
class BackoffPolicy:
    """How often and how patiently to retry one step.

    Attempt n (1-based) that fails is followed by a wait of
    ``min(first_interval * coefficient ** (n - 1), max_interval)``; after ``max_attempts`` failures
    the step fails for good. ``permanent_errors`` names exception types (as raised by the activity)
    that are never retried: retrying "no route" or "sold out" only wastes time.
    """

    first_interval: timedelta
    coefficient: float = 2.0
    max_interval: timedelta = timedelta(minutes=5)
    max_attempts: int = 3
    permanent_errors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.first_interval <= timedelta(0):
            raise ValueError("first_interval must be positive")
        if self.coefficient < 1:
            raise ValueError("coefficient must be >= 1")
        if self.max_interval < self.first_interval:
            raise ValueError("max_interval must be >= first_interval")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")


def backoff_delays(policy: BackoffPolicy) -> list[timedelta]:
    """The waits between attempts: ``max_attempts - 1`` delays, the k-th after the k-th failure."""
    delays = []
    for k in range(policy.max_attempts - 1):
        seconds = policy.first_interval.total_seconds() * policy.coefficient**k
        delays.append(min(timedelta(seconds=seconds), policy.max_interval))
    return delays


def error_type(error: BaseException) -> str | None:
    """The exception type name the activity raised, parsed from the runtime's failure message.

    Returns None when the message does not have the runtime's shape (e.g. an error raised by the
    orchestrator itself).
    """
    match = _ERROR_TYPE.search(str(error))
    return match.group(1).rsplit(".", 1)[-1] if match else None


def error_message(error: BaseException) -> str:
    """A one-line description of an activity failure, without the runtime's prefix and details."""
    text = str(error).split(" \n ", 1)[0].strip()
    match = _ERROR_TYPE.search(text)
    return text[match.start(1):] if match else text


class StepFailed(Exception):
    """A step failed for good: retries are exhausted, or the error is permanent.

    ``permanent`` tells which; ``error_type`` is the activity's exception type name (or None);
    ``attempts`` counts the calls made. Raised inside the orchestrator, never crosses the wire.
    """

    def __init__(self, activity: str, attempts: int, error: BaseException, permanent: bool):
        self.activity = activity
        self.step: str | None = None  # the caller's name for the step, if it sets one
        self.attempts = attempts
        self.permanent = permanent
        self.error_type = error_type(error)
        self.reason = error_message(error)
        kind = "permanent error" if permanent else f"gave up after {attempts} attempts"
        super().__init__(f"{activity}: {kind}: {self.reason}")


def call_with_backoff(
    context: Any,
    activity: str,
    payload: dict[str, Any],
    policy: BackoffPolicy,
    on_attempt: Callable[[int], None] | None = None,
) -> Generator[Any, Any, Any]:
    """Call ``activity`` until it succeeds, waiting on durable timers between attempts.

    The activity receives ``payload`` plus ``attempt`` (1-based), which it can use for logging and
    for idempotency keys. ``on_attempt(n)`` runs before each attempt (e.g. to update the custom
    status). Returns the activity's result; raises :class:`StepFailed` when the policy gives up or
    the activity raised one of ``policy.permanent_errors``.
    """
    delays = backoff_delays(policy)
    attempt = 0
    while True:
        attempt += 1
        if on_attempt is not None:
            on_attempt(attempt)
        try:
            return (yield context.call_activity(activity, {**payload, "attempt": attempt}))
        except Exception as error:  # the SDK raises a plain Exception for activity failures
            if error_type(error) in policy.permanent_errors:
                raise StepFailed(activity, attempt, error, permanent=True) from None
            if attempt >= policy.max_attempts:
                raise StepFailed(activity, attempt, error, permanent=False) from None
        yield context.create_timer(context.current_utc_datetime + delays[attempt - 1])


@dataclass(frozen=True)
class Settled:
    """The outcome of one task awaited by :func:`all_settled`: a value or the error it raised."""

    ok: bool
    value: Any = None
    error: BaseException | None = None


def all_settled(context: Any, tasks: Sequence[Any]) -> Generator[Any, Any, list[Settled]]:
    """Wait for every task, whether it succeeds or fails, and return their outcomes in order.

    ``context.task_all`` fails as soon as one task fails and leaves the others unobserved. A
    fan-in that reports partial failures (the expense report, the site summary) needs every
    outcome, so this waits again on whatever is still running until nothing is. The tasks must not
    have been yielded before. Waiting again on already-scheduled tasks schedules no new work.
    """
    tasks = list(tasks)
    if not tasks:
        return []
    try:
        results = yield context.task_all(tasks)
        return [Settled(ok=True, value=value) for value in results]
    except Exception:
        pass
    while running := [task for task in tasks if not _is_done(task)]:
        try:
            yield context.task_all(running)
        except Exception:
            continue
    return [_settled(task) for task in tasks]


def _is_done(task: Any) -> bool:
    """SDK 1.x tasks say ``is_completed``; 2.x (durabletask) tasks ``is_complete``."""
    done = getattr(task, "is_completed", None)
    return task.is_complete if done is None else done


def _settled(task: Any) -> Settled:
    if hasattr(task, "is_failed"):  # SDK 2.x (durabletask): the outcome behind accessors
        if task.is_failed:
            return Settled(ok=False, error=task.get_exception())
        return Settled(ok=True, value=task.get_result())
    if isinstance(task.result, Exception):  # SDK 1.x: an exception is the task's result
        return Settled(ok=False, error=task.result)
    return Settled(ok=True, value=task.result)
