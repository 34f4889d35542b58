"""Rewind a failed instance tree in one commit: the history rewrite (``core/rewind.py``) applied
to a Failed instance and, recursively, its failed sub-orchestrations, checking the whole tree
first, so a rewind that cannot be done changes nothing. Typed against ``ports.InstancesPort``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from ..core.changes import Change
from ..core.errors import Conflict
from ..core.instance import Inbound, Instance
from ..core.rewind import RewoundHistory, revive_event, rewind_history
from ..protocol.enums import RuntimeStatus
from ..protocol.history import format_ts
from ..store.base import MessageRecord

if TYPE_CHECKING:
    from .ports import InstancesPort


def plan_rewind(engine: InstancesPort, inst: Instance, reason: str | None, *,
                rerun_purged: bool = False) -> list[Instance]:
    """Rewind Failed ``inst`` and, recursively, its failed sub-orchestrations; the instances
    rewound. ``Conflict`` (and nothing changed) when a failed child is gone (unless
    ``rerun_purged``, the Scheduler's way: the parent creates it again) or not Failed."""
    plans: list[tuple[Instance, RewoundHistory]] = []
    todo, seen = [inst], set()
    while todo:
        current = todo.pop()
        if current.id in seen:
            continue
        seen.add(current.id)
        rewound = rewind_history(current.history)
        gone = frozenset(c for c in rewound.failed_children if c not in engine.instances)
        if gone and rerun_purged:
            rewound = rewind_history(current.history, gone)
        plans.append((current, rewound))
        for child_id in rewound.failed_children:
            child = engine.instances.get(child_id)
            if child is None:
                raise Conflict(f"Cannot rewind '{inst.id}': its failed sub-orchestration "
                               f"'{child_id}' no longer exists.")
            if child.status != RuntimeStatus.Failed:
                raise Conflict(f"Cannot rewind '{inst.id}': its sub-orchestration '{child_id}' "
                               f"is {child.status}; only failed sub-orchestrations can be "
                               "rewound.")
            todo.append(child)
    now = engine.clock.now()
    change = Change()
    for current, rewound in plans:
        _plan_one(engine, change, current, rewound, now, reason)
    engine.commit(change)
    return [current for current, _ in plans]


def _plan_one(engine: InstancesPort, change: Change, inst: Instance, rewound: RewoundHistory,
              now: datetime, reason: str | None) -> None:
    batch = change.batch
    texts = [json.dumps(event) for event in rewound.history]
    record = replace(inst.record, status=RuntimeStatus.Pending, output=None,
                     last_updated=format_ts(now))
    batch.reset_history.append(inst.id)
    batch.append_history.append((inst.id, 0, texts))
    batch.put_instances.append(record)
    message = None
    if rewound.is_leaf:
        message = MessageRecord(engine.new_id(), inst.id, revive_event(now, reason), None,
                                record.execution_id)
        batch.put_messages.append(message)

    def apply() -> None:
        inst.record = record
        inst.history = rewound.history
        inst.history_json = texts
        if message is not None:
            inst.inbox.append(Inbound(message.event, message.execution_id, message.id))
            engine.mark_ready(inst)
        engine.emit(inst)
    change.then(apply)
