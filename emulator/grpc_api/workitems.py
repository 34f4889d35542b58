"""The worker half of durabletask's ``TaskHubSidecarService``: ``GetWorkItems`` streams work
items to a connected ``TaskHubGrpcWorker``, ``Complete*Task`` settle them and
``AbandonTask*WorkItem`` give them back, over the work-item dispatcher
(``worker/workitems``). Served by a host with no Functions app (``python -m emulator
scheduler``), as the Durable Task Scheduler serves them; a Functions host delivers work through
triggers and leaves these unimplemented.

A worker of one task hub (its ``taskhub`` header) gets that hub's items only.

An ``OrchestratorResponse`` may come in chunks (``isPartial``, ``chunkIndex``): the .NET
worker splits one whose actions pass its gRPC message limit, and the sidecar joins them, as
the in-process test host of durabletask-dotnet does (``TaskHubGrpcServer``): the actions of
all chunks in order, the first chunk's ``numEventsProcessed`` and trace context, the last
one's custom status. Chunks are taken in order from 0; one sent again is taken once; one
whose predecessors are missing gets ``INVALID_ARGUMENT`` and the chunks taken are kept.

A stream sends a ``healthPing`` when it has been quiet for ``PING_SECONDS`` (the worker takes
a long silence for a lost connection). A stream that ends (the worker stopped or lost its
connection) gives back what it held: the dispatcher delivers it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc

from ..worker.sdk2.messages import pb
from ..worker.workitems import ItemKind, PartOutcome, WorkItemDispatcher, filters_of
from .hubs import HubRouting, taskhub_header

__all__ = ["WorkItemRpcs", "PING_SECONDS"]

log = logging.getLogger("emulator")

PING_SECONDS = 30.0


class WorkItemRpcs(HubRouting):
    """The worker-side RPCs, over the work items of the call's hub; a hub without them (a
    Functions app's): not served (UNIMPLEMENTED)."""

    async def _dispatcher(self, context: Any) -> WorkItemDispatcher:
        work_items = (await self._hub(context)).work_items
        if work_items is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED,
                                "This host runs a Functions app: work is delivered through "
                                "triggers, not a work-item stream (start `python -m emulator "
                                "scheduler` for durabletask workers).")
        return work_items

    async def GetWorkItems(self, request: pb.GetWorkItemsRequest,
                           context: Any) -> AsyncIterator[pb.WorkItem]:
        dispatcher = await self._dispatcher(context)
        stream = dispatcher.connect(filters_of(request))
        log.info("a durabletask worker connected to task hub %s (%d connected)",
                 self.hubs.canonical(taskhub_header(context)), dispatcher.connected)
        try:
            while True:
                try:
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a
                    # cancellation (the worker went away) that arrives as an item does.
                    async with asyncio.timeout(PING_SECONDS):
                        item = await stream.outbox.get()
                except TimeoutError:
                    yield pb.WorkItem(healthPing=pb.HealthPing())
                    continue
                if item is None:  # the host stops
                    return
                yield item
        finally:
            dispatcher.disconnect(stream)
            log.info("a durabletask worker disconnected (%d connected to its hub)",
                     dispatcher.connected)

    async def _settle(self, context: Any, kind: ItemKind, token: str, message: Any) -> None:
        dispatcher = await self._dispatcher(context)
        if not dispatcher.complete(token, kind, message):
            log.debug("ignored a %s completion with token %r: not held (answered already, "
                      "or delivered again after its worker disconnected)", kind, token)

    async def CompleteOrchestratorTask(self, request: pb.OrchestratorResponse,
                                       context: Any) -> pb.CompleteTaskResponse:
        dispatcher = await self._dispatcher(context)
        token = request.completionToken
        index = request.chunkIndex.value if request.HasField("chunkIndex") else None
        outcome = dispatcher.complete_part(token, ItemKind.ORCHESTRATION, index, request,
                                           last=not request.isPartial, join=joined_response)
        if outcome is PartOutcome.EARLY:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Chunk {index} of the orchestrator response for completion token {token!r} "
                f"came before chunk {dispatcher.expected_part(token)}: chunks are taken in "
                "order from 0 (the chunks already taken are kept).")
        if outcome in (PartOutcome.NOT_HELD, PartOutcome.REPEATED):
            log.debug("ignored an orchestrator response (chunk %s) with token %r: %s",
                      index, token, outcome)
        return pb.CompleteTaskResponse()

    async def CompleteActivityTask(self, request: pb.ActivityResponse,
                                   context: Any) -> pb.CompleteTaskResponse:
        await self._settle(context, ItemKind.ACTIVITY, request.completionToken, request)
        return pb.CompleteTaskResponse()

    async def CompleteEntityTask(self, request: pb.EntityBatchResult,
                                 context: Any) -> pb.CompleteTaskResponse:
        await self._settle(context, ItemKind.ENTITY, request.completionToken, request)
        return pb.CompleteTaskResponse()

    async def _abandon(self, context: Any, kind: ItemKind, token: str) -> None:
        dispatcher = await self._dispatcher(context)
        if dispatcher.abandon(token, kind):
            log.info("a worker abandoned a %s work item; delivering it again", kind)

    async def AbandonTaskOrchestratorWorkItem(
            self, request: pb.AbandonOrchestrationTaskRequest,
            context: Any) -> pb.AbandonOrchestrationTaskResponse:
        await self._abandon(context, ItemKind.ORCHESTRATION, request.completionToken)
        return pb.AbandonOrchestrationTaskResponse()

    async def AbandonTaskActivityWorkItem(self, request: pb.AbandonActivityTaskRequest,
                                          context: Any) -> pb.AbandonActivityTaskResponse:
        await self._abandon(context, ItemKind.ACTIVITY, request.completionToken)
        return pb.AbandonActivityTaskResponse()

    async def AbandonTaskEntityWorkItem(self, request: pb.AbandonEntityTaskRequest,
                                        context: Any) -> pb.AbandonEntityTaskResponse:
        await self._abandon(context, ItemKind.ENTITY, request.completionToken)
        return pb.AbandonEntityTaskResponse()


def joined_response(chunks: list[pb.OrchestratorResponse]) -> pb.OrchestratorResponse:
    """One response from the chunks of one (a whole response is one chunk)."""
    if len(chunks) == 1:
        return chunks[0]
    joined = pb.OrchestratorResponse()
    joined.CopyFrom(chunks[0])
    for chunk in chunks[1:]:
        joined.actions.extend(chunk.actions)
    last = chunks[-1]
    if last.HasField("customStatus"):
        joined.customStatus.CopyFrom(last.customStatus)
    joined.isPartial = False
    joined.ClearField("chunkIndex")
    return joined
