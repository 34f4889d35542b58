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

``rewind_history`` is that rewrite, pure; ``runtime/rewind.py`` applies it to a failed instance
and its failed sub-orchestrations in one commit. The Durable Task Scheduler also rewinds a parent
whose failed sub-orchestration was purged: given as ``gone``, that child's
``SubOrchestrationInstanceCreated`` is cleared too, so the next replay creates it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..protocol.enums import EventType, RuntimeStatus
from ..protocol.history import EVENT_NAMES, format_ts

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


def rewind_history(history: list[dict[str, Any]],
                   gone: frozenset[str] = frozenset()) -> RewoundHistory:
    """Rewrite ``history`` (one execution, stored form) as the Azure Storage backend does;
    failed sub-orchestrations in ``gone`` (purged) are scheduled again instead."""
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
            or (kind == EventType.SUB_ORCHESTRATION_CREATED and event["EventId"] in failed_subs
                and event.get("InstanceId") in gone)
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
