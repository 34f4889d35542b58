"""An in-memory ``ManagementOperations`` for the gRPC edge's tests: it records calls, keeps
instances and entities as plain views, and raises the engine's domain errors as the runtime
does. Completion is driven by the test (``finish``), waiters wake on it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from emulator.core.errors import BadRequest, Conflict, Gone, InvalidOperation, NotFound
from emulator.grpc_api import EntityPage, EntityView, FailureView, InstancePage, InstanceView

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TERMINAL = {"Completed", "Failed", "Terminated", "Canceled"}


class FakeOperations:
    def __init__(self) -> None:
        self.instances: dict[str, InstanceView] = {}
        self.entities: dict[str, EntityView] = {}
        self.histories: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[tuple] = []
        self.changed: asyncio.Condition | None = None  # made on the server's loop
        self.loop: asyncio.AbstractEventLoop | None = None

    # -- test drivers ----------------------------------------------------------------------
    def put(self, view: InstanceView) -> None:
        self.instances[view.instance_id] = view
        if self.loop is not None:
            self.loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._notify()))

    def finish(self, instance_id: str, status: str, output: str | None = None,
               failure: FailureView | None = None) -> None:
        self.put(replace(self.instances[instance_id], status=status, output=output,
                         failure=failure))

    async def _notify(self) -> None:
        async with self._condition():
            self._condition().notify_all()

    def _condition(self) -> asyncio.Condition:
        if self.changed is None:
            self.changed = asyncio.Condition()
            self.loop = asyncio.get_running_loop()
        return self.changed

    # -- ManagementOperations --------------------------------------------------------------
    def start(self, name, input_text, instance_id, *, version=None, start_at=None):
        self.calls.append(("start", name, input_text, instance_id, version, start_at))
        if not name:
            raise BadRequest("The orchestrator name must not be empty.")
        instance_id = instance_id or f"generated-{len(self.instances)}"
        existing = self.instances.get(instance_id)
        if existing is not None and existing.status not in TERMINAL:
            raise Conflict(f"An instance with ID '{instance_id}' already exists.")
        self.put(InstanceView(instance_id, name, "Pending", T0, T0, input=input_text,
                              version=version))
        return instance_id

    def get(self, instance_id):
        return self.instances.get(instance_id)

    async def wait_started(self, instance_id):
        return await self._wait(instance_id, lambda v: v.status != "Pending")

    async def wait_completed(self, instance_id):
        return await self._wait(instance_id, lambda v: v.status in TERMINAL)

    async def _wait(self, instance_id, done):
        condition = self._condition()
        async with condition:
            while True:
                view = self.instances.get(instance_id)
                if view is None or done(view):
                    return view
                await condition.wait()

    def _active(self, instance_id):
        view = self.instances.get(instance_id)
        if view is None:
            raise NotFound(f"No instance with ID '{instance_id}' found.")
        if view.status in TERMINAL:
            raise Gone(f"The instance '{instance_id}' is {view.status}.")
        return view

    def raise_event(self, instance_id, name, input_text):
        self._active(instance_id)
        self.calls.append(("raise_event", instance_id, name, input_text))

    def terminate(self, instance_id, output_text, recursive=False):
        self._active(instance_id)
        self.calls.append(("terminate", instance_id, output_text))
        self.finish(instance_id, "Terminated", output_text)

    def suspend(self, instance_id, reason):
        view = self._active(instance_id)
        if view.status == "Suspended":
            raise InvalidOperation("Cannot suspend an orchestration in the Suspended state.")
        self.put(replace(view, status="Suspended"))
        self.calls.append(("suspend", instance_id, reason))

    def resume(self, instance_id, reason):
        view = self._active(instance_id)
        self.put(replace(view, status="Running"))
        self.calls.append(("resume", instance_id, reason))

    def rewind(self, instance_id, reason):
        view = self.instances.get(instance_id)
        if view is None:
            raise NotFound(f"No instance with ID '{instance_id}' found.")
        if view.status != "Failed":
            raise Conflict("The rewind operation is only supported on failed orchestration "
                           "instances.")
        self.put(replace(view, status="Running", failure=None))
        self.calls.append(("rewind", instance_id, reason))

    def restart(self, instance_id, new_instance_id):
        view = self.instances.get(instance_id)
        if view is None:
            raise BadRequest("InstanceId does not match a valid orchestration instance.")
        target = f"{instance_id}-again" if new_instance_id else instance_id
        self.put(InstanceView(target, view.name, "Pending", T0, T0, input=view.input))
        return target

    def purge(self, instance_id, recursive=False):
        view = self.instances.get(instance_id)
        if view is None or view.status not in TERMINAL:
            return 0
        del self.instances[instance_id]
        return 1

    def purge_where(self, created_from, created_to, statuses):
        self.calls.append(("purge_where", created_from, created_to, statuses))
        doomed = [v.instance_id for v in self.instances.values() if v.status in TERMINAL
                  and (not statuses or v.status in statuses)]
        for instance_id in doomed:
            del self.instances[instance_id]
        return len(doomed)

    def query(self, *, created_from, created_to, statuses, prefix, page_size, continuation):
        self.calls.append(("query", statuses, prefix, page_size, continuation))
        found = sorted((v for v in self.instances.values()
                        if (not statuses or v.status in statuses)
                        and (not prefix or v.instance_id.startswith(prefix))),
                       key=lambda v: v.instance_id)
        start = int(continuation or 0)
        page = found[start:start + page_size]
        more = start + page_size < len(found)
        return InstancePage(page, str(start + page_size) if more else None)

    def history(self, instance_id):
        return self.histories.get(instance_id)

    def signal_entity(self, instance_id, operation, input_text, *, request_id=None,
                      start_at=None):
        if not instance_id.startswith("@"):
            raise BadRequest(f"'{instance_id}' is not an entity id.")
        self.calls.append(("signal_entity", instance_id, operation, input_text, start_at))

    def get_entity(self, instance_id, include_state):
        view = self.entities.get(instance_id)
        if view is None:
            return None
        return view if include_state else replace(view, state=None)

    def query_entities(self, *, prefix, modified_from, modified_to, include_state,
                       include_transient, page_size, continuation):
        found = [v if include_state else replace(v, state=None)
                 for v in sorted(self.entities.values(), key=lambda v: v.instance_id)
                 if not prefix or v.instance_id.startswith(prefix)]
        return EntityPage(found, None)

    def clean_entity_storage(self, remove_empty, release_orphaned_locks):
        empty = [k for k, v in self.entities.items() if v.state is None]
        if remove_empty:
            for key in empty:
                del self.entities[key]
        return (len(empty) if remove_empty else 0), 0
