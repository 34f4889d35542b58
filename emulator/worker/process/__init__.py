"""Out-of-process workers: the app's code in processes of the app's own interpreter.

The host keeps the engine, the state and the HTTP front; worker processes (``child/``, stdlib
and the app's packages only) index the app and run its invocations, as the Functions Python
worker does. This package is the host's side: choosing the interpreter, starting the processes,
the frames between them, spreading calls, timeouts, restarts.
"""

from .errors import (
    FunctionFailed,
    InvocationTimedOut,
    PoolClosed,
    WorkerError,
    WorkerExited,
    WorkerRestarted,
    WorkerStartError,
)
from .interpreter import choose_python, interpreter_arguments
from .pool import PROCESS_COUNT, THREAD_COUNT, PoolSettings, WorkerPool
from .process import Reply, WorkerProcess

__all__ = [
    # the pool and its settings
    "WorkerPool", "PoolSettings", "PROCESS_COUNT", "THREAD_COUNT",
    "choose_python", "interpreter_arguments",
    # one process and its answers
    "WorkerProcess", "Reply",
    # errors
    "WorkerError", "WorkerStartError", "WorkerExited", "WorkerRestarted", "InvocationTimedOut",
    "PoolClosed",
    "FunctionFailed",
]
