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


class WorkerRestarted(WorkerExited):
    """The worker was killed because another of its calls passed its timeout (the Functions
    host restarts): this call did nothing wrong, and may run again on the replacement."""


class InvocationTimedOut(WorkerError):
    """The invocation passed its timeout; its worker is killed and replaced. ``stack`` is where
    it was stuck, as the worker reported it (empty if it could not answer)."""

    def __init__(self, function_name: str, seconds: float, stack: str = "") -> None:
        super().__init__(f"Functions.{function_name} ran past {seconds:g} s")
        self.function_name = function_name
        self.seconds = seconds
        self.stack = stack


class PoolClosed(WorkerError):
    """The pool was closed; no invocation can run."""


class FunctionFailed(WorkerError):
    """The app's function raised; the worker's report of the exception. ``failed`` makes one
    whose class bears the exception's own name, so that ``type(exc).__name__`` and ``str(exc)``
    read as they do for the exception in process (``ValueError``, ``boom``)."""

    def __init__(self, type_name: str, message: str, stack: str) -> None:
        super().__init__(message)
        self.type_name = type_name
        self.message = message
        self.stack = stack


_named: dict[str, type[FunctionFailed]] = {}


def failed(type_name: str, message: str, stack: str) -> FunctionFailed:
    if not type_name.isidentifier():
        return FunctionFailed(type_name, message, stack)
    cls = _named.get(type_name)
    if cls is None:
        cls = _named[type_name] = type(type_name, (FunctionFailed,), {
            "__module__": __name__, "__doc__": f"{type_name} raised in a worker process."})
    return cls(type_name, message, stack)
