"""Rewind: how a Failed instance's history is rewritten so that it resumes from its failures.

The Python SDK's ``rewind`` goes through the extension's ``RewindAsync`` (only Failed instances:
``InvalidOperationException`` otherwise) to the backend. This follows the Azure Storage backend,
the default one (DTFx ``AzureTableTrackingStore.RewindHistoryAsync`` and
``AzureStorageOrchestrationService.RewindTaskOrchestrationAsync``), within the current execution:

- ``ExecutionCompleted`` (Failed), every ``TaskFailed`` and every
  ``SubOrchestrationInstanceFailed`` become ``GenericEvent`` rows marked ``Rewound: <type>``:
  replay ignores them, the row keeps its place and ``EventId``.
- The ``TaskScheduled`` of each failed activity becomes a ``GenericEvent`` too, so the next replay
  sees the activity as never scheduled and schedules it again, with the same sequence id.
- The ``SubOrchestrationInstanceCreated`` of each failed sub-orchestration stays (the child is
  rewound in place, recursively, and reports its new result to the parent later).
- Each rewound instance goes back to Pending. The deepest failed instance of each branch (one
  with no failed sub-orchestration) gets a ``GenericEvent`` message whose ``Data`` is the rewind
  reason: delivering it runs an episode, which re-schedules the failed work. Parents wake up when
  their children's results arrive.

``rewind_history`` is that rewrite, pure; ``plan_rewind`` applies it to a failed instance and
its failed sub-orchestrations in one commit (checking the whole tree first, so a rewind that
cannot be done changes nothing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..core.changes import Change
from ..core.errors import Conflict
from ..core.instance import Inbound, Instance
from ..protocol.enums import EventType, RuntimeStatus
from ..protocol.history import EVENT_NAMES, format_ts
from ..store import MessageRecord

if TYPE_CHECKING:
    from .ports import InstancesPort

REWOUND_PREFIX = "Rewound: "
_FAILURES = (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED)


@dataclass
class RewoundHistory:
    """The rewritten history of one instance and what the rewind must do next."""

    history: list[dict[str, Any]]
    failed_children: list[str] = field(default_factory=list)  # sub-orchestrations to rewind
    rewound_events: int = 0  # events turned into GenericEvent

    @property
    def is_leaf(self) -> bool:
        """No failed sub-orchestration: this instance gets the message that revives it."""
        return not self.failed_children


def rewound_marker(event: dict[str, Any]) -> dict[str, Any]:
    """A ``GenericEvent`` that takes the place (and ``EventId``) of a cleared event."""
    name = EVENT_NAMES.get(EventType(event["EventType"]), str(event["EventType"]))
    return {"EventType": int(EventType.GENERIC), "EventId": event["EventId"],
            "IsPlayed": event.get("IsPlayed", False), "Timestamp": event["Timestamp"],
            "Data": None, "Reason": REWOUND_PREFIX + name}


def revive_event(ts: datetime, reason: str | None) -> dict[str, Any]:
    """The message that wakes a rewound instance: ``GenericEvent(-1, reason)``."""
    return {"EventType": int(EventType.GENERIC), "EventId": -1, "IsPlayed": False,
            "Timestamp": format_ts(ts), "Data": reason}


def rewind_history(history: list[dict[str, Any]]) -> RewoundHistory:
    """Rewrite ``history`` (one execution, stored form) as the Azure Storage backend does."""
    failed_tasks: set[int] = set()
    failed_subs: set[int] = set()
    for event in history:
        kind = event["EventType"]
        if kind == EventType.TASK_FAILED:
            failed_tasks.add(event["TaskScheduledId"])
        elif kind == EventType.SUB_ORCHESTRATION_FAILED:
            failed_subs.add(event["TaskScheduledId"])
    result = RewoundHistory(history=[])
    for event in history:
        kind = event["EventType"]
        clear = (
            kind in _FAILURES
            or (kind == EventType.EXECUTION_COMPLETED
                and event.get("OrchestrationStatus") == RuntimeStatus.Failed.code)
            or (kind == EventType.TASK_SCHEDULED and event["EventId"] in failed_tasks)
        )
        if clear:
            result.history.append(rewound_marker(event))
            result.rewound_events += 1
            continue
        if kind == EventType.SUB_ORCHESTRATION_CREATED and event["EventId"] in failed_subs:
            if event.get("InstanceId") not in result.failed_children:
                result.failed_children.append(event["InstanceId"])
        result.history.append(event)
    return result


def plan_rewind(engine: InstancesPort, inst: Instance, reason: str | None) -> list[Instance]:
    """Rewind Failed ``inst`` and, recursively, its failed sub-orchestrations; the instances
    rewound. ``Conflict`` (and nothing changed) when a failed child is gone or not Failed."""
    plans: list[tuple[Instance, RewoundHistory]] = []
    todo, seen = [inst], set()
    while todo:
        current = todo.pop()
        if current.id in seen:
            continue
        seen.add(current.id)
        rewound = rewind_history(current.history)
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
