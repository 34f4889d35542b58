"""Commit first, then change memory: a ``Change`` is a store batch plus the in-memory updates
that may happen only once that batch is durable.

Every mutating path of the engine (management operations, episodes, retired activity results)
builds a ``Change`` without touching memory, then ``commit`` writes the batch and, only if that
succeeded, runs the updates in order. A failed write raises ``StoreUnavailable`` (or
``StoreFull`` for a full disk) and leaves memory exactly as it was.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from ..store.base import Batch, CommitError, CommitFailure, Store
from .errors import StoreFull, StoreUnavailable

log = logging.getLogger("emulator")

_FULL_ERRNO = {errno.ENOSPC, errno.EDQUOT}


@dataclass
class Change:
    batch: Batch = field(default_factory=Batch)
    after: list[Callable[[], None]] = field(default_factory=list)

    def then(self, update: Callable[[], None]) -> None:
        """Run ``update`` once the batch has committed."""
        self.after.append(update)


def commit(store: Store, change: Change) -> None:
    """Write the batch (if any), then apply the memory updates; see the module docstring."""
    if change.batch:
        write(store, change.batch)
    for update in change.after:
        update()


def write(store: Store, batch: Batch) -> None:
    """``store.commit`` with its failures turned into ``StoreUnavailable`` / ``StoreFull``."""
    try:
        store.commit(batch)
    except StoreUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - any failed write is the same to the caller
        raise _store_error(exc) from exc


def _store_error(exc: BaseException) -> StoreUnavailable:
    if isinstance(exc, CommitError):  # the store says why (store/base.py)
        if exc.failure is CommitFailure.FULL:
            return StoreFull(f"The state store is full; nothing was changed ({exc}).", exc)
        return StoreUnavailable(f"The state store could not commit; nothing was changed "
                                f"({exc}).", exc)
    # A backend's own error that it did not map (store/sqlite.py maps SQLite's): only a full
    # disk is told apart.
    full = isinstance(exc, OSError) and exc.errno in _FULL_ERRNO
    detail = f"{type(exc).__name__}: {exc}"
    if full:
        return StoreFull(f"The state store is full; nothing was changed ({detail}).", exc)
    return StoreUnavailable(f"The state store could not commit; nothing was changed ({detail}).",
                            exc)
