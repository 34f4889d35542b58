"""Entity critical sections (the 2.x SDK's ``lock_entities``) as pure decisions: which queued
requests may run, and what a lock request or a release does.

The extension's entity scheduler handles these itself, never passing them to the entity
function: a lock request locks the entity for its orchestration and travels on to the next
entity of its (sorted) lock set; the last entity answers the orchestration that the lock is
granted. While locked, only the holder's requests run; the others wait in the inbox, in arrival
order. A release from the holder unlocks the entity. ``runtime/entities.py`` keeps a ``Lock``
per entity and turns a ``LockStep`` into messages.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..protocol.entities import Request

__all__ = ["Lock", "LockStep", "runnable", "apply"]


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
        if lock.holder == request.parent:
            lock.holder = lock.section = None
        return LockStep()  # a stray release: nothing to do
    lock.holder, lock.section = request.parent, request.id
    lock_set = request.lock_set or []
    if request.position + 1 < len(lock_set):
        forward = replace(request, position=request.position + 1)
        return LockStep(forward=forward, forward_to=lock_set[forward.position])
    return LockStep(granted=request.parent is not None)
