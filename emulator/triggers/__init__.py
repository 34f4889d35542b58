"""Trigger sources beyond HTTP (timer, queue, blob) and the non-durable storage bindings.

Sits beside ``runtime/``: the sources build ``TriggerCall`` values and await an ``Invoke``
callback (the host's worker seam) for each; they never call app code themselves. Pure parts
(NCRONTAB, schedules and the past-due rules, options, expressions, the trigger plan) take
their clock and settings as parameters.
"""

from .bindings import BindingError, BindingKind, BindingSpec, StorageBindings
from .blob_source import EVENT_GRID_NOTE, BlobListener
from .connections import (
    StorageAccount,
    StorageAccounts,
    StorageConnectionError,
    resolve_connection,
)
from .contract import (
    DataType,
    InvocationListener,
    Invoke,
    Outcome,
    TriggerCall,
    TriggerType,
    TypedValue,
)
from .expressions import BlobPathPattern, ExpressionError, fill
from .index import FOREIGN_TRIGGERS, TriggerPlan, TriggerPlanError, plan_triggers
from .ncrontab import Crontab, CrontabError
from .options import BlobsOptions, MessageEncoding, OptionsError, QueuesOptions
from .queue_source import QueueListener, QueueWatcher, encode_message
from .schedule import ScheduleError, ScheduleStatus, TimerSchedule, check_past_due
from .status_store import JsonFileStatusStore, MemoryStatusStore, StatusStore
from .timer_source import TimerSource, TimerSpec

__all__ = [
    # the contract with the host
    "Invoke", "TriggerCall", "TriggerType", "TypedValue", "DataType", "Outcome",
    "InvocationListener",
    # planning from the app's index
    "plan_triggers", "TriggerPlan", "TriggerPlanError", "FOREIGN_TRIGGERS",
    # timers
    "TimerSource", "TimerSpec", "TimerSchedule", "ScheduleStatus", "ScheduleError",
    "check_past_due", "Crontab", "CrontabError", "StatusStore", "JsonFileStatusStore",
    "MemoryStatusStore",
    # queues and blobs
    "QueueListener", "QueueWatcher", "QueuesOptions", "MessageEncoding", "encode_message",
    "BlobListener", "BlobsOptions", "EVENT_GRID_NOTE", "OptionsError",
    # bindings and connections
    "StorageBindings", "BindingSpec", "BindingKind", "BindingError", "StorageAccount",
    "StorageAccounts", "StorageConnectionError", "resolve_connection", "BlobPathPattern",
    "ExpressionError", "fill",
]
