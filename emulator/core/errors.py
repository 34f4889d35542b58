"""Domain errors of the engine. Only the HTTP edge turns them into status codes and bodies
(``http/errors.py``); the engine and its parts raise these and nothing HTTP-shaped."""

from __future__ import annotations


class EngineError(Exception):
    """Base of everything the engine refuses or cannot do; the message is for the caller."""


class BadRequest(EngineError):
    """The request names something that cannot exist (an unknown orchestrator, a bad value)."""


class NotFound(EngineError):
    """No such instance."""


class Gone(EngineError):
    """The instance exists but is finished and cannot take this operation."""


class Conflict(EngineError):
    """The operation clashes with the instance's state (start over a running id, purge a
    running instance)."""


class InvalidOperation(EngineError):
    """The operation is not valid in the instance's state (suspend a suspended instance); the
    extension answers these with a 500."""


class Unsupported(EngineError):
    """A feature the local host does not implement."""


class StoreUnavailable(EngineError):
    """A commit failed: nothing of the operation happened, in the store or in memory."""

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


class StoreFull(StoreUnavailable):
    """A commit failed because the disk (or the database's size limit) is full."""
