"""Management operations: start, raise event, terminate, suspend, resume, restart, purge, rewind
and the instance queries behind the management API.

Each mutating operation checks the instance's state, builds a ``Change`` and commits it through
the engine: the store first, memory after, so a failed write (``StoreUnavailable``) leaves the
host as it was. Errors are domain errors (``errors.py``); the HTTP edge maps them to status
codes. A new operation (rewind, entity signals) is a method here or a function in its own module
over the same engine methods: ``commit``, ``new_id``, ``plan_forget``, ``orchestrations``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..core.changes import Change
from ..core.errors import BadRequest, Conflict, Gone, InvalidOperation, NotFound
from ..core.instance import Inbound, Instance
from ..protocol import history as h
from ..protocol.enums import ACTIVE, SUSPENDABLE, TERMINAL, EventType, RuntimeStatus
from ..protocol.history import parse_ts
from ..protocol.ids import instance_id_problem
from ..store import MessageRecord
from .orchestrations import already_exists
from .rewind import plan_rewind

if TYPE_CHECKING:
    from .ports import ManagementPort

log = logging.getLogger("emulator")


class Management:
    def __init__(self, engine: ManagementPort) -> None:
        self.engine = engine

    # -- reads -------------------------------------------------------------------------------
    def get(self, instance_id: str) -> Instance:
        inst = self.engine.instances.get(instance_id)
        if inst is None:
            raise NotFound(f"No instance with ID '{instance_id}' found.")
        return inst

    def get_active(self, instance_id: str) -> Instance:
        """The instance, if it can still take operations: NotFound unknown, Gone finished."""
        inst = self.get(instance_id)
        if inst.is_terminal:
            raise Gone(f"The orchestration instance '{instance_id}' is in the {inst.status} "
                       "state and cannot accept this operation.")
        return inst

    def find(self, *, created_from: datetime | None = None, created_to: datetime | None = None,
             statuses: Iterable[RuntimeStatus] | None = None,
             prefix: str | None = None) -> list[Instance]:
        """Instances matching every given filter, oldest first."""
        wanted = set(statuses) if statuses else None
        found = []
        for inst in self.engine.instances.values():
            record = inst.record
            if created_from or created_to:
                created = parse_ts(record.created)
                if (created_from and created < created_from) or \
                        (created_to and created > created_to):
                    continue
            if wanted and record.status not in wanted:
                continue
            if prefix and not record.instance_id.startswith(prefix):
                continue
            found.append(inst)
        found.sort(key=lambda i: (i.record.created, i.record.instance_id))
        return found

    # -- operations --------------------------------------------------------------------------
    def start(self, name: str, input_json: str | None, instance_id: str | None = None, *,
              version: str | None = None, start_at: datetime | None = None) -> str:
        """Start an instance of orchestration ``version`` (None: host.json's defaultVersion);
        ``start_at``: a scheduled start (Pending until then)."""
        engine = self.engine
        function = engine.app.orchestrator(name)
        if function is None:
            raise BadRequest(engine.orchestrations.unknown(name))
        instance_id = instance_id or uuid.uuid4().hex
        problem = instance_id_problem(instance_id)
        if problem is not None:
            raise BadRequest(problem)
        existing = engine.instances.get(instance_id)
        change = Change()
        if existing is not None:
            if existing.status in ACTIVE:
                raise Conflict(already_exists(existing.status))
            engine.plan_forget(existing, change)
        version = engine.versioning.version_for_new_instance(version)
        engine.orchestrations.plan_create(change, function.name, instance_id, input_json,
                                          version=version, start_at=start_at)
        engine.commit(change)
        log.info("[%s %s] scheduled%s", function.name, instance_id,
                 f" (version {version})" if version else "")
        return instance_id

    def raise_event(self, instance_id: str, name: str, input_json: str | None) -> None:
        inst = self.get_active(instance_id)
        self._enqueue(inst, h.event_raised(self.engine.clock.now(), name, input_json))
        log.info("[%s %s] event '%s' raised", inst.record.name, instance_id, name)

    def terminate(self, instance_id: str, reason: str | None) -> None:
        inst = self.get_active(instance_id)
        self._enqueue(inst, h.execution_terminated(self.engine.clock.now(), reason))

    def suspend(self, instance_id: str, reason: str | None) -> None:
        inst = self.get_active(instance_id)
        if inst.status not in SUSPENDABLE:
            raise InvalidOperation(
                f"Cannot suspend an orchestration in the {inst.status} state.")
        self._enqueue(inst, h.execution_suspended(self.engine.clock.now(), reason))

    def resume(self, instance_id: str, reason: str | None) -> None:
        inst = self.get_active(instance_id)
        pending_suspend = any(m.event["EventType"] == EventType.EXECUTION_SUSPENDED
                              for m in inst.inbox)
        if inst.status != RuntimeStatus.Suspended and not pending_suspend:
            raise InvalidOperation(
                f"Cannot resume an orchestration in the {inst.status} state.")
        self._enqueue(inst, h.execution_resumed(self.engine.clock.now(), reason))

    def restart(self, instance_id: str, new_instance_id: bool) -> str:
        inst = self.engine.instances.get(instance_id)
        if inst is None:
            raise BadRequest("InstanceId does not match a valid orchestration instance.")
        target = uuid.uuid4().hex if new_instance_id else instance_id
        return self.start(inst.record.name, inst.record.input, target)

    def purge(self, instance_ids: Iterable[str]) -> int:
        """Purge the finished ones among ``instance_ids``; how many were purged."""
        engine = self.engine
        change = Change()
        count = 0
        for instance_id in dict.fromkeys(instance_ids):
            inst = engine.instances.get(instance_id)
            if inst is None or inst.status not in TERMINAL:
                continue
            engine.plan_forget(inst, change)
            count += 1
        engine.commit(change)
        return count

    def purge_one(self, instance_id: str) -> int:
        inst = self.get(instance_id)
        if not inst.is_terminal:
            raise Conflict(f"The instance '{instance_id}' is {inst.status}; only completed, "
                           "failed, terminated or canceled instances can be purged.")
        return self.purge([instance_id])

    def rewind(self, instance_id: str, reason: str | None = None, *,
               rerun_purged: bool = False) -> None:
        inst = self.get(instance_id)
        if inst.status in (RuntimeStatus.Canceled, RuntimeStatus.Terminated,
                           RuntimeStatus.Completed):
            raise Gone(f"The instance '{instance_id}' is {inst.status}.")
        if inst.status != RuntimeStatus.Failed:
            # The extension's InvalidOperationException (a 500 there): a conflict with the
            # instance's state.
            raise Conflict("The rewind operation is only supported on failed orchestration "
                           "instances.")
        rewound = plan_rewind(self.engine, inst, reason, rerun_purged=rerun_purged)
        log.info("[%s %s] rewound (%s)%s", inst.record.name, instance_id, reason or "no reason",
                 f" with {len(rewound) - 1} sub-orchestration(s)" if len(rewound) > 1 else "")

    def _enqueue(self, inst: Instance, event: dict[str, Any]) -> None:
        engine = self.engine
        message = MessageRecord(engine.new_id(), inst.id, event)
        change = Change()
        change.batch.put_messages.append(message)

        def deliver() -> None:
            inst.inbox.append(Inbound(event, None, message.id))
            engine.mark_ready(inst)
        change.then(deliver)
        engine.commit(change)
