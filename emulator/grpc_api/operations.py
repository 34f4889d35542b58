"""What the gRPC edge needs from the runtime: a narrow set of management operations, as a
Protocol, and the plain views it reads back.

The edge knows nothing of the engine's objects: it calls these operations with the payload
text the client sent and renders the views as protobuf. Errors are the engine's domain errors
(``NotFound``, ``Gone``, ``Conflict``, ``InvalidOperation``, ``BadRequest``); the edge alone maps
them to gRPC status codes, as the HTTP edge alone maps them to HTTP ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

__all__ = ["FailureView", "InstanceView", "EntityView", "InstancePage", "EntityPage",
           "IdPage", "ManagementOperations"]


@dataclass(frozen=True)
class FailureView:
    error_type: str
    message: str
    stack_trace: str | None = None


@dataclass(frozen=True)
class InstanceView:
    """An orchestration instance's status, payloads as stored JSON text."""

    instance_id: str
    name: str
    status: str  # RuntimeStatus value: Running, Completed, ...
    created: datetime
    last_updated: datetime
    input: str | None = None
    output: str | None = None
    custom_status: str | None = None
    failure: FailureView | None = None
    version: str | None = None
    parent_instance_id: str | None = None
    execution_id: str | None = None


@dataclass(frozen=True)
class EntityView:
    instance_id: str  # @name@key
    last_modified: datetime
    state: str | None = None  # JSON text; None when not asked for or the entity has none
    backlog: int = 0
    locked_by: str | None = None


@dataclass(frozen=True)
class InstancePage:
    instances: Sequence[InstanceView]
    continuation: str | None = None


@dataclass(frozen=True)
class IdPage:
    instance_ids: Sequence[str]
    continuation: str | None = None


@dataclass(frozen=True)
class EntityPage:
    entities: Sequence[EntityView]
    continuation: str | None = None


class ManagementOperations(Protocol):
    """The runtime's operations facade, as the gRPC edge uses it."""

    def start(self, name: str, input_text: str | None, instance_id: str | None, *,
              version: str | None = None, start_at: datetime | None = None) -> str:
        """Schedule a new instance; its id. Conflict if an active one has that id."""

    def get(self, instance_id: str) -> InstanceView | None: ...

    async def wait_started(self, instance_id: str) -> InstanceView | None:
        """The instance once it has left Pending (None if it does not exist)."""

    async def wait_completed(self, instance_id: str) -> InstanceView | None:
        """The instance once it has reached a terminal status (None if it does not exist)."""

    def raise_event(self, instance_id: str, name: str, input_text: str | None) -> None: ...

    def terminate(self, instance_id: str, output_text: str | None,
                  recursive: bool = False) -> None:
        """``recursive``: its running sub-orchestrations too, where the backend does that."""

    def suspend(self, instance_id: str, reason: str | None) -> None: ...

    def resume(self, instance_id: str, reason: str | None) -> None: ...

    def rewind(self, instance_id: str, reason: str | None) -> None: ...

    def restart(self, instance_id: str, new_instance_id: bool) -> str: ...

    def purge(self, instance_id: str, recursive: bool = False) -> int:
        """Purge one finished instance (``recursive``: and its finished sub-orchestrations,
        where the backend does that); how many were purged (0 if none)."""

    def purge_where(self, created_from: datetime | None, created_to: datetime | None,
                    statuses: Sequence[str] | None) -> int: ...

    def query(self, *, created_from: datetime | None, created_to: datetime | None,
              statuses: Sequence[str] | None, prefix: str | None, page_size: int,
              continuation: str | None) -> InstancePage: ...

    def list_finished_ids(self, *, statuses: Sequence[str] | None,
                          completed_from: datetime | None, completed_to: datetime | None,
                          page_size: int, continuation: str | None) -> IdPage:
        """The ids of finished instances by completion time (``ListInstanceIds``);
        ``Unsupported`` where the backend has no such listing."""

    def history(self, instance_id: str) -> list[dict[str, Any]] | None:
        """The current execution's stored history events; None if the instance is unknown."""

    def signal_entity(self, instance_id: str, operation: str, input_text: str | None, *,
                      request_id: str | None = None, start_at: datetime | None = None) -> None:
        ...

    def get_entity(self, instance_id: str, include_state: bool) -> EntityView | None: ...

    def query_entities(self, *, prefix: str | None, modified_from: datetime | None,
                       modified_to: datetime | None, include_state: bool,
                       include_transient: bool, page_size: int | None,
                       continuation: str | None) -> EntityPage: ...

    def clean_entity_storage(self, remove_empty: bool,
                             release_orphaned_locks: bool) -> tuple[int, int]:
        """(empty entities removed, orphaned locks released)."""
