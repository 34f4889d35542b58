"""``ManagementOperations`` over the runtime's operations facade (``runtime.operations``): the
gRPC edge's calls become the facade's management operations, and instances / entities become
the edge's plain views.

Payloads pass through as the JSON text the 2.x client sent (the gRPC path of the extension
stores them so); waits park on the runtime's waiters (no polling) and count as a waiting client
for while-waiting time skipping, as the HTTP edge's long polls do.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..core.errors import BadRequest, Unsupported
from ..protocol.entities import EntityId, EntityProtocolError, is_entity_instance
from ..protocol.enums import EventType, RuntimeStatus
from ..protocol.history import format_ts, parse_ts
from ..runtime.operations import Operations
from .operations import EntityPage, EntityView, FailureView, IdPage, InstancePage, InstanceView

__all__ = ["FacadeOperations", "instance_view"]

WAIT_SECONDS = 365 * 24 * 3600.0  # a gRPC wait ends with its deadline or the client's cancel
ID_PAGE_SIZE = 100  # ListInstanceIds' page when the request gives none (the SDKs' default)


def _failure(record: Any, history: Sequence[dict[str, Any]]) -> FailureView | None:
    if record.status != RuntimeStatus.Failed:
        return None
    for event in reversed(history):
        if event["EventType"] == EventType.EXECUTION_COMPLETED:
            details = event.get("FailureDetails")
            if details:
                return FailureView(details.get("ErrorType") or "",
                                   details.get("ErrorMessage") or "",
                                   details.get("StackTrace"))
            break
    return FailureView("OrchestrationFailure", record.output or "")


def instance_view(inst: Any) -> InstanceView:
    record = inst.record
    return InstanceView(
        instance_id=record.instance_id, name=record.name, status=str(record.status),
        created=parse_ts(record.created), last_updated=parse_ts(record.last_updated),
        input=record.input, output=record.output, custom_status=record.custom_status,
        failure=_failure(record, inst.history), version=record.version,
        parent_instance_id=(record.parent or {}).get("instance_id"),
        execution_id=record.execution_id)


def _entity_view(found: Any, include_state: bool) -> EntityView:
    return EntityView(found.entity_id, found.last_modified,
                      state=found.state if include_state else None, backlog=found.backlog,
                      locked_by=found.locked_by)


def _page(items: list[Any], size: int | None, continuation: str | None) -> tuple[list, str | None]:
    try:
        start = int(continuation or 0)
    except ValueError:
        raise BadRequest(f"Invalid continuation token {continuation!r}.") from None
    if not size or size <= 0:
        return items[start:], None
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def _cursor(token: str) -> tuple[datetime, str]:
    """The key a ``ListInstanceIds`` continuation token names (``BadRequest`` if none)."""
    stamp, separator, instance_id = token.partition("|")
    if separator:
        try:
            return parse_ts(stamp), instance_id
        except ValueError:
            pass
    raise BadRequest(f"Invalid continuation token {token!r}: not one that ListInstanceIds "
                     "returned.")


class FacadeOperations:
    """The runtime's operations as the gRPC edge sees them."""

    def __init__(self, operations: Operations, *, scheduler: bool = False) -> None:
        self.ops = operations
        self.scheduler = scheduler  # the Durable Task Scheduler's semantics (rewind)

    # -- orchestrations ------------------------------------------------------------------
    def start(self, name: str, input_text: str | None, instance_id: str | None, *,
              version: str | None = None, start_at: datetime | None = None) -> str:
        return self.ops.start_instance(name, input_text, instance_id, version=version,
                                       start_at=start_at)

    def get(self, instance_id: str) -> InstanceView | None:
        inst = self.ops.instance(instance_id)
        return None if inst is None else instance_view(inst)

    async def _wait(self, instance_id: str, done: Any) -> InstanceView | None:
        with self.ops.client_waiting():
            inst = await self.ops.wait_for(instance_id, done, WAIT_SECONDS)
        return None if inst is None else instance_view(inst)

    async def wait_started(self, instance_id: str) -> InstanceView | None:
        """As the extension's ``WaitForInstanceStart``: also waits for the instance to exist."""
        return await self._wait(
            instance_id, lambda i: i is not None and i.status != RuntimeStatus.Pending)

    async def wait_completed(self, instance_id: str) -> InstanceView | None:
        """As ``WaitForOrchestrationAsync``: an unknown instance answers at once (None)."""
        return await self._wait(instance_id, lambda i: i is None or i.is_terminal)

    def raise_event(self, instance_id: str, name: str, input_text: str | None) -> None:
        self.ops.raise_event(instance_id, name, input_text)

    def terminate(self, instance_id: str, output_text: str | None,
                  recursive: bool = False) -> None:
        """A Functions host refuses to terminate a finished instance (FAILED_PRECONDITION, as
        the extension's client does) and ignores ``recursive``, as the extension does. The
        Scheduler drops the request, as DTFx drops a termination that reaches a finished
        instance and durabletask's own test backend does (the history-export client
        terminates its finished job orchestrations so), and with ``recursive`` (the
        durabletask clients' default) terminates the running sub-orchestrations too, down the
        tree."""
        if not self.scheduler:
            self.ops.terminate(instance_id, output_text)
            return
        inst = self.ops.instance(instance_id)
        if inst is not None and inst.is_terminal:
            return
        self.ops.terminate(instance_id, output_text)
        if not recursive:
            return
        children = self._children()
        running = [child for child in children.get(instance_id, ()) if not child.is_terminal]
        while running:
            child = running.pop()
            self.ops.terminate(child.id, output_text)
            running += [c for c in children.get(child.id, ()) if not c.is_terminal]

    def suspend(self, instance_id: str, reason: str | None) -> None:
        self.ops.suspend(instance_id, reason)

    def resume(self, instance_id: str, reason: str | None) -> None:
        self.ops.resume(instance_id, reason)

    def rewind(self, instance_id: str, reason: str | None) -> None:
        self.ops.rewind(instance_id, reason, rerun_purged=self.scheduler)

    def restart(self, instance_id: str, new_instance_id: bool) -> str:
        return self.ops.restart(instance_id, new_instance_id)

    def purge(self, instance_id: str, recursive: bool = False) -> int:
        """``recursive`` (the Scheduler only, as ``terminate``): the finished
        sub-orchestrations down the tree are purged with the instance."""
        if not (self.scheduler and recursive):
            return self.ops.purge([instance_id])
        inst = self.ops.instance(instance_id)
        if inst is None or not inst.is_terminal:
            return 0  # the children of a running instance stay with it
        children = self._children()
        tree, level = [instance_id], [instance_id]
        while level:
            level = [child.id for parent in level for child in children.get(parent, ())]
            tree += level
        return self.ops.purge(tree)

    def _children(self) -> dict[str, list[Any]]:
        """Each stored instance's sub-orchestrations, by parent id (one pass over the store's
        instances, for a walk down a tree)."""
        children: dict[str, list[Any]] = {}
        for inst in self.ops.instances():
            parent = (inst.record.parent or {}).get("instance_id")
            if parent is not None:
                children.setdefault(parent, []).append(inst)
        return children

    def purge_where(self, created_from: datetime | None, created_to: datetime | None,
                    statuses: Sequence[str] | None) -> int:
        found = self.ops.find(
            created_from=created_from, created_to=created_to,
            statuses=[RuntimeStatus(s) for s in statuses] if statuses else None)
        return self.ops.purge([inst.id for inst in found])

    def query(self, *, created_from: datetime | None, created_to: datetime | None,
              statuses: Sequence[str] | None, prefix: str | None, page_size: int,
              continuation: str | None) -> InstancePage:
        found = self.ops.find(
            created_from=created_from, created_to=created_to,
            statuses=[RuntimeStatus(s) for s in statuses] if statuses else None, prefix=prefix)
        found = [inst for inst in found if not is_entity_instance(inst.id)]
        page, token = _page(found, page_size, continuation)
        return InstancePage([instance_view(inst) for inst in page], token)

    def list_finished_ids(self, *, statuses: Sequence[str] | None,
                          completed_from: datetime | None, completed_to: datetime | None,
                          page_size: int, continuation: str | None) -> IdPage:
        """The Scheduler's ``ListInstanceIds``: finished instances (a running one has no
        completion time) whose completion falls in [from, to], both bounds inclusive as the
        clients document them, in (completion time, id) order. The continuation token is the
        last id's key, ``<completion time>|<instance id>``, so a page after it starts past it
        even when instances finish or are purged between the calls. A Functions host does
        not serve it (nor does the Durable extension: the 2.x SDK queries instead)."""
        if not self.scheduler:
            raise Unsupported("ListInstanceIds is served by the Durable Task Scheduler, not by "
                              "a Functions host (the Durable extension does not implement it): "
                              "query the instances instead.")
        wanted = {RuntimeStatus(s) for s in statuses} if statuses else None
        keys = sorted(
            (parse_ts(inst.record.last_updated), inst.id) for inst in self.ops.find()
            if inst.is_terminal and not is_entity_instance(inst.id)
            and (wanted is None or inst.record.status in wanted))
        keys = [key for key in keys if (completed_from is None or key[0] >= completed_from)
                and (completed_to is None or key[0] <= completed_to)]
        start = bisect.bisect_right(keys, _cursor(continuation)) if continuation else 0
        page = keys[start:start + (page_size if page_size > 0 else ID_PAGE_SIZE)]
        more = start + len(page) < len(keys)
        token = f"{format_ts(page[-1][0])}|{page[-1][1]}" if page and more else None
        return IdPage([instance_id for _, instance_id in page], token)

    def history(self, instance_id: str) -> list[dict[str, Any]] | None:
        inst = self.ops.instance(instance_id)
        return None if inst is None else list(inst.history)

    # -- entities ------------------------------------------------------------------------
    @staticmethod
    def _entity(instance_id: str) -> EntityId:
        try:
            return EntityId.parse(instance_id)
        except EntityProtocolError as exc:
            raise BadRequest(str(exc)) from exc

    def signal_entity(self, instance_id: str, operation: str, input_text: str | None, *,
                      request_id: str | None = None, start_at: datetime | None = None) -> None:
        at = start_at if start_at is not None and start_at > self.ops.now() else None
        self.ops.signal_entity(self._entity(instance_id), operation, input_text, at)

    def get_entity(self, instance_id: str, include_state: bool) -> EntityView | None:
        # The extension's GetEntity asks its backend with includeStateless: false.
        found = self.ops.entity_metadata(self._entity(instance_id), include_transient=False)
        return None if found is None else _entity_view(found, include_state)

    def query_entities(self, *, prefix: str | None, modified_from: datetime | None,
                       modified_to: datetime | None, include_state: bool,
                       include_transient: bool, page_size: int | None,
                       continuation: str | None) -> EntityPage:
        found = self.ops.entity_metadata_list(include_transient, modified_from, modified_to)
        if prefix:
            found = [f for f in found if f.entity_id.startswith(prefix)]
        page, token = _page(found, page_size, continuation)
        return EntityPage([_entity_view(f, include_state) for f in page], token)

    def clean_entity_storage(self, remove_empty: bool,
                             release_orphaned_locks: bool) -> tuple[int, int]:
        counts = self.ops.clean_entities(remove_empty, release_orphaned_locks)
        return (counts["NumberOfEmptyEntitiesRemoved"],
                counts["NumberOfOrphanedLocksRemoved"])
