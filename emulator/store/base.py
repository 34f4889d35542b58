"""The storage contract of the local host.

The engine keeps its working state in memory and writes every change through a ``Store`` in
batches: one ``commit`` per orchestrator episode (history appended, messages consumed and
produced, activity work items created and retired, instance rows updated) and one per management
call. A backend must apply a batch atomically - all of it or none of it - so that a process killed
at any moment restarts from a consistent state: ``load`` then returns exactly what the committed
batches built. Activity results are not stored on their own: until the episode that consumes a
result commits, its work item stays stored, and a restarted host simply runs the activity again
(activities are at-least-once, as in Azure).

Records are plain data. History events arrive already encoded (JSON text: the engine encodes each
event once and reuses the text) and ``load`` returns them decoded. Backends never interpret them.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

SECRET_BYTES = 32


class StoreError(Exception):
    """The state cannot be used as asked. ``str()`` is one line meant for the user."""


class StateFileError(StoreError):
    """The state cannot be opened: not ours, damaged, too new, read-only, or in use. Nothing
    was changed; the host must not start on it."""


class StateInUse(StateFileError):
    """Another live host owns the state; ``pid`` is its process id when it could be read."""

    def __init__(self, message: str, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


class CommitFailure(Enum):
    """Why a commit failed, for the HTTP edge to choose its answer (507 for FULL, else 503)."""

    FULL = "the disk holding the state is full"
    READ_ONLY = "the state file has become read-only"
    IO = "the state file could not be written (I/O error)"
    BUSY = "the state file is locked by another process"
    DAMAGED = "the state file is damaged"


class CommitError(StoreError):
    """A commit failed and applied nothing of its batch; what was committed before stays
    readable. The store can be used again once the cause is gone (space freed, ...)."""

    def __init__(self, failure: CommitFailure, detail: str = "") -> None:
        super().__init__(f"{failure.value}{f' ({detail})' if detail else ''}; "
                         "nothing of this change was stored")
        self.failure = failure


@dataclass
class InstanceRecord:
    """An orchestration instance's row: everything but its history."""

    instance_id: str
    name: str
    execution_id: str
    status: str  # Pending, Running, Completed, Failed, Terminated, ContinuedAsNew, Suspended
    input: str | None  # ExecutionStarted.Input: JSON text
    created: str  # ISO-8601 UTC
    last_updated: str
    output: str | None = None  # ExecutionCompleted.Result (JSON text or a plain message)
    custom_status: str | None = None  # JSON text
    parent: dict[str, Any] | None = None  # instance_id, execution_id, task_id, name, version
    version: str | None = None  # orchestration version (ExecutionStarted.Version)


@dataclass
class MessageRecord:
    """A message waiting for an instance: the history event it will append, and when."""

    id: int
    instance_id: str
    event: dict[str, Any]
    visible_at: str | None = None  # timers: the ISO time they fire
    execution_id: str | None = None  # completions: the execution that scheduled the work


@dataclass
class EntityRecord:
    """A durable entity's row: what its last committed batch left (requests for it are
    ``MessageRecord`` rows addressed to its ``@name@key`` id, like any other message)."""

    entity_id: str  # '@name@key'
    exists: bool
    state: str | None  # the SDK's JSON text of the state
    last_operation: str  # ISO-8601 UTC of the last batch
    # A critical section holding the entity (2.x SDK ``lock_entities``; DTFx's
    # ``SchedulerState.LockedBy``): the orchestration instance and its critical section's id.
    # Committed with the batch that locked or released it; rows of older files have neither.
    locked_by: str | None = None
    lock_section: str | None = None


@dataclass(frozen=True)
class WorkItem:
    """An activity to run; retired by the episode that consumes its result. Immutable."""

    id: int
    instance_id: str
    execution_id: str
    task_id: int
    name: str
    input: str | None


@dataclass
class Batch:
    """Changes applied atomically by ``Store.commit``."""

    put_instances: list[InstanceRecord] = field(default_factory=list)
    delete_instances: list[str] = field(default_factory=list)  # with history, messages, work
    reset_history: list[str] = field(default_factory=list)  # applied before appends
    append_history: list[tuple[str, int, list[str]]] = field(default_factory=list)  # JSON
    put_messages: list[MessageRecord] = field(default_factory=list)
    delete_messages: list[int] = field(default_factory=list)
    put_work: list[WorkItem] = field(default_factory=list)
    delete_work: list[int] = field(default_factory=list)
    put_entities: list[EntityRecord] = field(default_factory=list)
    delete_entities: list[str] = field(default_factory=list)  # with the messages queued for them

    def __bool__(self) -> bool:
        return any((self.put_instances, self.delete_instances, self.reset_history,
                    self.append_history, self.put_messages, self.delete_messages,
                    self.put_work, self.delete_work, self.put_entities, self.delete_entities))


@dataclass
class Snapshot:
    """Everything a store holds, as ``load`` returns it."""

    instances: dict[str, InstanceRecord]
    histories: dict[str, list[dict[str, Any]]]  # instance id -> events, in order
    messages: list[MessageRecord]  # in id order
    work: list[WorkItem]  # in id order
    entities: dict[str, EntityRecord] = field(default_factory=dict)


class Store(ABC):
    """Contract: ``commit`` is atomic and durable once it returns (as far as the backend is
    durable at all); ``load`` reflects every committed batch and nothing else. Batches are applied
    in this order: deletes of instances and entities, history resets, appends, puts, deletes of
    messages and work items. Appends carry the index of their first event, which equals the
    history's length.
    """

    @abstractmethod
    def load(self) -> Snapshot:
        """Return the committed state."""

    @abstractmethod
    def commit(self, batch: Batch) -> None:
        """Apply ``batch`` atomically; raise ``CommitError`` (nothing applied) when the
        backend cannot write it."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the store must not be used afterwards."""

    def secret(self) -> bytes:
        """A random key that lives as long as the stored state does: what signs continuation
        tokens, so that a token stays valid exactly as long as the state it pages through.
        Here: one per store object (a state kept in memory dies with it); a persistent backend
        keeps its key with the state."""
        key = getattr(self, "_secret", None)
        if key is None:
            key = self._secret = os.urandom(SECRET_BYTES)
        return key

    @property
    def description(self) -> str:
        return type(self).__name__
