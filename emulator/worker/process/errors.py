"""What can go wrong between the host and a worker process, as domain errors.

``FunctionFailed`` is the app's own exception (its type name, message and stack, as the worker
reports them). The others are the host's: the worker could not start or index the app, the
worker exited under an invocation (the Functions host's ``WorkerProcessExitException`` text), or
an invocation ran past ``functionTimeout`` and its worker was restarted.
"""

from __future__ import annotations


class WorkerError(Exception):
    """Base of the host-side errors of the out-of-process workers."""


class WorkerStartError(WorkerError):
    """A worker could not start or could not index the app; the message says why."""


class WorkerExited(WorkerError):
    """The worker process ended while the invocation was in flight (a crash, a kill)."""

    def __init__(self, executable: str, exit_code: int, stderr_tail: str = "") -> None:
        message = f"{executable} exited with code {exit_code} (0x{exit_code & 0xFFFFFFFF:X})"
        super().__init__(message + (f"\n {stderr_tail}" if stderr_tail else ""))
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail


class InvocationTimedOut(WorkerError):
    """The invocation passed its timeout; its worker is killed and replaced."""

    def __init__(self, function_name: str, seconds: float) -> None:
        super().__init__(f"Functions.{function_name} ran past {seconds:g} s")
        self.function_name = function_name
        self.seconds = seconds


class PoolClosed(WorkerError):
    """The pool was closed; no invocation can run."""


class FunctionFailed(WorkerError):
    """The app's function raised; the worker's report of the exception."""

    def __init__(self, type_name: str, message: str, stack: str) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message
        self.stack = stack
