"""Which task hub an HTTP request is for: its ``taskHub`` query parameter, as in the Durable
Functions HTTP API (the status URLs carry it), looked up in the host's ``TaskHubs``
(``worker/workitems/hubs.py``). No parameter: the default hub, so the URLs of a host with one
hub stay as they were. A hub the host does not serve answers 404 with a JSON message naming
the hubs it serves.

A Functions host has one hub that answers to any name (its status URLs name the app's hub); a
scheduler host serves the hubs of ``--task-hubs``, each with its own runtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ..runtime.operations import Operations
from ..worker.workitems import TaskHubs, UnknownTaskHub, WorkItemDispatcher
from .errors import error_response
from .paging import ContinuationTokens

__all__ = ["HUB_PARAMETER", "HUBS", "HttpHub", "hub", "hub_middleware", "operations_of"]

HUB_PARAMETER = "taskHub"


@dataclass(frozen=True)
class HttpHub:
    """One task hub as the HTTP edge serves it."""

    operations: Operations
    tokens: ContinuationTokens  # instance list pages
    entity_tokens: ContinuationTokens  # entity list pages
    work_items: WorkItemDispatcher | None = None  # a scheduler hub's: its workers' filters

    @classmethod
    def of(cls, ops: Operations, work_items: WorkItemDispatcher | None = None) -> HttpHub:
        return cls(ops, ContinuationTokens(ops.secret(), "instances"),
                   ContinuationTokens(ops.secret(), "entities"), work_items)


HUBS = web.AppKey("hubs", TaskHubs)


@web.middleware
async def hub_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """A request for a hub the host does not serve ends here (404)."""
    try:
        hub(request)
    except UnknownTaskHub as exc:
        return error_response(404, str(exc))
    return await handler(request)


def hub(request: web.Request) -> HttpHub:
    """The request's task hub (a dictionary look-up; ``hub_middleware`` checked it)."""
    return request.app[HUBS].select(request.query.get(HUB_PARAMETER))


def operations_of(request: web.Request) -> Operations:
    """The runtime of the request's task hub, through its facade."""
    return hub(request).operations
