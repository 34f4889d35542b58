"""Durabletask workers as the worker seam: the host's orchestrator episodes, activities and
entity batches become work items streamed to the workers connected over gRPC
(``TaskHubGrpcWorker``: ``GetWorkItems``) and settled by their ``Complete*Task`` calls, as the
Durable Task Scheduler runs them. A host with no Functions app (``python -m emulator
scheduler``) runs on this worker.
"""

from .dispatcher import Filters, ItemKind, Pending, Stream, WorkItemDispatcher, filters_of
from .index import OpenIndex, open_index
from .remote import ActivityFailure, NoApp, RemoteWorker

__all__ = ["WorkItemDispatcher", "ItemKind", "Filters", "Pending", "Stream", "filters_of",
           "OpenIndex", "open_index", "RemoteWorker", "ActivityFailure", "NoApp"]
