"""Entity critical sections (the 2.x SDK's ``lock_entities``) as pure decisions: which queued
requests may run, and what a lock request or a release does.

The extension's entity scheduler handles these itself, never passing them to the entity
function: a lock request locks the entity for its orchestration and travels on to the next
entity of its (sorted) lock set; the last entity answers the orchestration that the lock is
granted. While locked, only the holder's requests run; the others wait in the inbox, in arrival
order. A release from the holder unlocks the entity. ``runtime/entities.py`` keeps a ``Lock``
per entity, commits it with the entity's row (so that it survives a restart, as DTFx keeps
``lockedBy`` in the entity's scheduler state) and turns a ``LockStep`` into messages.

A holder that ends without releasing (terminated, or finished by the host without its code
running) leaves an orphaned lock: ``orphaned`` tells, and the host releases it, as the SDK's
own releases do when its orchestration completes, fails or is terminated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ..protocol.entities import Request

__all__ = ["Lock", "LockStep", "runnable", "apply", "orphaned"]


@dataclass
class Lock:
    holder: str | None = None  # the orchestration instance holding the entity
    section: str | None = None  # its critical section's id

    @property
    def held(self) -> bool:
        return self.holder is not None


@dataclass(frozen=True)
class LockStep:
    """What a control request leads to: at most one message to send."""

    forward: Request | None = None  # the lock request for the next entity of the lock set
    forward_to: str | None = None  # that entity ('@name@key')
    granted: bool = False  # the lock set is complete: answer the holder (request.parent)


def runnable(lock: Lock, inbox: list[tuple[int, Request]]) -> list[tuple[int, Request]]:
    """The requests that may run now, in arrival order: all of them when the entity is free;
    while it is locked, the holder's requests and releases (lock requests of others wait)."""
    if not lock.held:
        return list(inbox)
    return [(mid, r) for mid, r in inbox
            if r.release or (r.parent == lock.holder and not r.is_lock)]


def apply(lock: Lock, request: Request) -> LockStep:
    """Apply a lock request or a release (``request.is_control``) to ``lock`` in place."""
    if request.release:
        # The holder's release of this critical section; a late release of an earlier one
        # (the host released it, and the same instance locked again) is stray.
        if lock.holder == request.parent and request.id in (lock.section, None):
            lock.holder = lock.section = None
        return LockStep()  # a stray release: nothing to do
    lock.holder, lock.section = request.parent, request.id
    lock_set = request.lock_set or []
    if request.position + 1 < len(lock_set):
        forward = replace(request, position=request.position + 1)
        return LockStep(forward=forward, forward_to=lock_set[forward.position])
    return LockStep(granted=request.parent is not None)


def orphaned(lock: Lock, inbox: list[tuple[int, Request]],
             holder_live: Callable[[str], bool]) -> bool:
    """The entity is locked by an orchestration that can no longer release it: one that
    finished, was terminated or purged (``holder_live`` says whether an instance still runs)
    and whose release is not queued (the SDK sends it when its orchestration completes or
    fails)."""
    holder = lock.holder
    return holder is not None and not holder_live(holder) and not any(
        r.release and r.parent == holder for _, r in inbox)
