"""The local host's vocabulary as typed enums: runtime statuses, history event types, the SDK's
action types and the kinds of work an episode schedules.

``RuntimeStatus`` is a ``StrEnum`` (its value is the name the HTTP API, the store and the SDK
read, so it compares equal to ``"Running"``), and ``code`` is DurableTask.Core's number for it
(``OrchestrationStatus``, written into ``ExecutionCompleted`` events).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class RuntimeStatus(StrEnum):
    Running = "Running"
    Completed = "Completed"
    ContinuedAsNew = "ContinuedAsNew"
    Failed = "Failed"
    Canceled = "Canceled"
    Terminated = "Terminated"
    Pending = "Pending"
    Suspended = "Suspended"

    @property
    def code(self) -> int:
        return _CODES[self]

    @classmethod
    def from_code(cls, code: int) -> RuntimeStatus:
        return _BY_CODE[code]

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


_CODES = {status: number for number, status in enumerate(RuntimeStatus)}
_BY_CODE = {number: status for status, number in _CODES.items()}

TERMINAL = frozenset({RuntimeStatus.Completed, RuntimeStatus.Failed, RuntimeStatus.Terminated,
                      RuntimeStatus.Canceled})
ACTIVE = frozenset({RuntimeStatus.Running, RuntimeStatus.Pending, RuntimeStatus.ContinuedAsNew,
                    RuntimeStatus.Suspended})
SUSPENDABLE = frozenset({RuntimeStatus.Running, RuntimeStatus.Pending,
                         RuntimeStatus.ContinuedAsNew})


class EventType(IntEnum):
    """DurableTask.Core's ``EventType`` numbers (history events carry the integer)."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_CREATED = 7
    SUB_ORCHESTRATION_COMPLETED = 8
    SUB_ORCHESTRATION_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    GENERIC = 17
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


CONTROL_EVENTS = frozenset({EventType.EXECUTION_TERMINATED, EventType.EXECUTION_SUSPENDED,
                            EventType.EXECUTION_RESUMED})


class ActionType(IntEnum):
    """The SDK's ``ActionType`` numbers (``models/actions/ActionType.py``)."""

    CALL_ACTIVITY = 0
    CALL_ACTIVITY_WITH_RETRY = 1
    CALL_SUB_ORCHESTRATOR = 2
    CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
    CONTINUE_AS_NEW = 4
    CREATE_TIMER = 5
    WAIT_FOR_EXTERNAL_EVENT = 6
    CALL_ENTITY = 7
    CALL_HTTP = 8
    SIGNAL_ENTITY = 9
    SCHEDULED_SIGNAL_ENTITY = 10
    WHEN_ANY = 11
    WHEN_ALL = 12


class WorkKind(StrEnum):
    """What an episode schedules (``replay.NewWork.kind``)."""

    ACTIVITY = "activity"
    TIMER = "timer"
    SUB_ORCHESTRATION = "sub-orchestration"
    ENTITY = "entity"  # a call or signal to a durable entity
    EVENT = "event"  # an event sent to another orchestration (2.x SDK ``send_event``)
