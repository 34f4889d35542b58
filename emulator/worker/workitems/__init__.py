"""Durabletask workers as the worker seam: the host's orchestrator episodes, activities and
entity batches become work items streamed to the workers connected over gRPC
(``TaskHubGrpcWorker``: ``GetWorkItems``) and settled by their ``Complete*Task`` calls, as the
Durable Task Scheduler runs them. A host with no Functions app (``python -m emulator
scheduler``) runs on this worker.
"""

from .dispatcher import (
    Filters,
    ItemKind,
    PartOutcome,
    Pending,
    Stream,
    WorkItemDispatcher,
    filters_of,
)
from .hubs import DEFAULT_HUB, HubNameError, TaskHubs, UnknownTaskHub, parse_hub_names
from .index import OpenIndex, open_index
from .remote import ActivityFailure, NoApp, RemoteWorker

__all__ = ["WorkItemDispatcher", "ItemKind", "Filters", "PartOutcome", "Pending", "Stream",
           "filters_of",
           "OpenIndex", "open_index", "RemoteWorker", "ActivityFailure", "NoApp",
           # the task hubs of a scheduler host
           "TaskHubs", "UnknownTaskHub", "HubNameError", "parse_hub_names", "DEFAULT_HUB"]
