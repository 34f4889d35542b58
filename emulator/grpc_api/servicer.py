"""The durabletask ``TaskHubSidecarService`` client RPCs, served over the runtime's management
operations (the endpoint a 2.x durable client binding's ``rpcBaseUrl`` names).

Behaviour follows the Durable extension's ``TaskHubGrpcServer`` (Azure/azure-functions-durable-
extension): ``GetInstance`` answers ``exists=false`` for an unknown id, ``StartInstance`` maps an
existing active instance to ALREADY_EXISTS, raise/terminate/rewind/restart map an unknown
instance to NOT_FOUND and a wrong state to FAILED_PRECONDITION; ``ListInstanceIds`` is not
implemented there either (the SDK queries instead); a scheduler host serves it, as the
Durable Task Scheduler does. The worker-side RPCs (``GetWorkItems``,
``Complete*Task``, ``Abandon*``) are ``workitems.py``'s, served when the host gives a work-item
dispatcher (a scheduler host); in Functions the host delivers work through triggers. Each call
is for the task hub its ``taskhub`` header names (``hubs.py``); a Functions host has one hub
and takes any name.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf import empty_pb2

from ..core.errors import (
    BadRequest,
    Conflict,
    EngineError,
    Gone,
    InvalidOperation,
    NotFound,
    Unsupported,
)
from ..worker.sdk2.messages import pb, pb_grpc, text_of
from ..worker.sdk2.proto_history import add_proto_event
from ..worker.workitems import TaskHubs
from .hubs import HubRouting, HubService
from .render import entity_metadata, optional_time, orchestration_state, status_name
from .workitems import WorkItemRpcs

__all__ = ["SidecarServicer", "HISTORY_CHUNK_EVENTS"]

log = logging.getLogger("emulator")

HISTORY_CHUNK_EVENTS = 500  # events per StreamInstanceHistory chunk
_ERROR_CODES: list[tuple[type[EngineError], grpc.StatusCode]] = [
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (Gone, grpc.StatusCode.FAILED_PRECONDITION),
    (InvalidOperation, grpc.StatusCode.FAILED_PRECONDITION),
    (Conflict, grpc.StatusCode.FAILED_PRECONDITION),
    (BadRequest, grpc.StatusCode.INVALID_ARGUMENT),
    (Unsupported, grpc.StatusCode.UNIMPLEMENTED),
]


def _code(exc: EngineError) -> grpc.StatusCode:
    for kind, code in _ERROR_CODES:
        if isinstance(exc, kind):
            return code
    return grpc.StatusCode.UNKNOWN


async def _call(context: grpc.aio.ServicerContext, operation: Callable[..., Any], *args: Any,
                overrides: dict[type[EngineError], grpc.StatusCode] | None = None,
                **kwargs: Any) -> Any:
    """Run one operation; a domain error aborts the call with its gRPC status."""
    try:
        return operation(*args, **kwargs)
    except EngineError as exc:
        code = next((c for kind, c in (overrides or {}).items() if isinstance(exc, kind)),
                    _code(exc))
        await context.abort(code, str(exc))


async def _statuses(context: grpc.aio.ServicerContext, numbers: Any) -> list[str] | None:
    """A request's runtime-status filter as RuntimeStatus names (None: no filter); an unknown
    number ends the call INVALID_ARGUMENT."""
    try:
        return [status_name(number) for number in numbers] or None
    except ValueError as exc:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        raise  # abort raises; this line is for the type checker


class SidecarServicer(WorkItemRpcs, HubRouting, pb_grpc.TaskHubSidecarServiceServicer):
    """The sidecar service over each hub's ``ManagementOperations``; the worker half over its
    work items when it has them. Every call first picks its hub (``hubs.py``)."""

    def __init__(self, hubs: TaskHubs[HubService]) -> None:
        self.hubs = hubs

    async def Hello(self, request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:
        await self._hub(context)  # a worker or client of an unknown hub learns it at once
        return empty_pb2.Empty()

    # -- orchestrations ------------------------------------------------------------------
    async def StartInstance(self, request: pb.CreateInstanceRequest,
                            context: Any) -> pb.CreateInstanceResponse:
        ops = await self._ops(context)
        instance_id = await _call(
            context, ops.start, request.name, text_of(request, "input"),
            request.instanceId or None, version=text_of(request, "version"),
            start_at=optional_time(request, "scheduledStartTimestamp"),
            overrides={Conflict: grpc.StatusCode.ALREADY_EXISTS,
                       BadRequest: grpc.StatusCode.INVALID_ARGUMENT})
        return pb.CreateInstanceResponse(instanceId=instance_id)

    async def GetInstance(self, request: pb.GetInstanceRequest,
                          context: Any) -> pb.GetInstanceResponse:
        ops = await self._ops(context)
        return self._instance_response(ops.get(request.instanceId), request)

    async def WaitForInstanceStart(self, request: pb.GetInstanceRequest,
                                   context: Any) -> pb.GetInstanceResponse:
        ops = await self._ops(context)
        view = await ops.wait_started(request.instanceId)
        return self._instance_response(view, request)

    async def WaitForInstanceCompletion(self, request: pb.GetInstanceRequest,
                                        context: Any) -> pb.GetInstanceResponse:
        ops = await self._ops(context)
        view = await ops.wait_completed(request.instanceId)
        return self._instance_response(view, request)

    @staticmethod
    def _instance_response(view: Any, request: pb.GetInstanceRequest) -> pb.GetInstanceResponse:
        if view is None:
            return pb.GetInstanceResponse(exists=False)
        return pb.GetInstanceResponse(
            exists=True,
            orchestrationState=orchestration_state(view, request.getInputsAndOutputs))

    async def RaiseEvent(self, request: pb.RaiseEventRequest,
                         context: Any) -> pb.RaiseEventResponse:
        ops = await self._ops(context)
        await _call(context, ops.raise_event, request.instanceId, request.name,
                    text_of(request, "input"))
        return pb.RaiseEventResponse()

    async def TerminateInstance(self, request: pb.TerminateRequest,
                                context: Any) -> pb.TerminateResponse:
        ops = await self._ops(context)
        await _call(context, ops.terminate, request.instanceId, text_of(request, "output"),
                    recursive=request.recursive)
        return pb.TerminateResponse()

    async def SuspendInstance(self, request: pb.SuspendRequest,
                              context: Any) -> pb.SuspendResponse:
        ops = await self._ops(context)
        await _call(context, ops.suspend, request.instanceId, text_of(request, "reason"))
        return pb.SuspendResponse()

    async def ResumeInstance(self, request: pb.ResumeRequest,
                             context: Any) -> pb.ResumeResponse:
        ops = await self._ops(context)
        await _call(context, ops.resume, request.instanceId, text_of(request, "reason"))
        return pb.ResumeResponse()

    async def RewindInstance(self, request: pb.RewindInstanceRequest,
                             context: Any) -> pb.RewindInstanceResponse:
        ops = await self._ops(context)
        await _call(context, ops.rewind, request.instanceId, text_of(request, "reason"))
        return pb.RewindInstanceResponse()

    async def RestartInstance(self, request: pb.RestartInstanceRequest,
                              context: Any) -> pb.RestartInstanceResponse:
        ops = await self._ops(context)
        instance_id = await _call(context, ops.restart, request.instanceId,
                                  request.restartWithNewInstanceId,
                                  overrides={BadRequest: grpc.StatusCode.NOT_FOUND})
        return pb.RestartInstanceResponse(instanceId=instance_id)

    async def QueryInstances(self, request: pb.QueryInstancesRequest,
                             context: Any) -> pb.QueryInstancesResponse:
        ops = await self._ops(context)
        query = request.query
        statuses = await _statuses(context, query.runtimeStatus)
        page = await _call(
            context, ops.query, created_from=optional_time(query, "createdTimeFrom"),
            created_to=optional_time(query, "createdTimeTo"), statuses=statuses,
            prefix=text_of(query, "instanceIdPrefix"),
            page_size=query.maxInstanceCount or 100,
            continuation=text_of(query, "continuationToken"))
        response = pb.QueryInstancesResponse(orchestrationState=[
            orchestration_state(view, query.fetchInputsAndOutputs) for view in page.instances])
        if page.continuation:
            response.continuationToken.value = page.continuation
        return response

    async def ListInstanceIds(self, request: pb.ListInstanceIdsRequest,
                              context: Any) -> pb.ListInstanceIdsResponse:
        ops = await self._ops(context)
        statuses = await _statuses(context, request.runtimeStatus)
        page = await _call(
            context, ops.list_finished_ids, statuses=statuses,
            completed_from=optional_time(request, "completedTimeFrom"),
            completed_to=optional_time(request, "completedTimeTo"),
            page_size=request.pageSize, continuation=text_of(request, "lastInstanceKey"))
        response = pb.ListInstanceIdsResponse(instanceIds=page.instance_ids)
        if page.continuation:
            response.lastInstanceKey.value = page.continuation
        return response

    async def PurgeInstances(self, request: pb.PurgeInstancesRequest,
                             context: Any) -> pb.PurgeInstancesResponse:
        ops = await self._ops(context)
        kind = request.WhichOneof("request")
        if kind == "instanceId":
            count = await _call(context, ops.purge, request.instanceId,
                                recursive=request.recursive)
        elif kind == "purgeInstanceFilter":
            purge = request.purgeInstanceFilter
            count = await _call(context, ops.purge_where,
                                optional_time(purge, "createdTimeFrom"),
                                optional_time(purge, "createdTimeTo"),
                                await _statuses(context, purge.runtimeStatus))
        else:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"Unknown purge request type '{kind}'.")
        response = pb.PurgeInstancesResponse(deletedInstanceCount=count)
        response.isComplete.value = True
        return response

    async def StreamInstanceHistory(self, request: pb.StreamInstanceHistoryRequest,
                                    context: Any) -> AsyncIterator[pb.HistoryChunk]:
        ops = await self._ops(context)
        events = ops.history(request.instanceId)
        if events is None:
            await context.abort(grpc.StatusCode.NOT_FOUND,
                                f"No instance with ID '{request.instanceId}' found.")
        for start in range(0, max(len(events), 1), HISTORY_CHUNK_EVENTS):
            chunk = pb.HistoryChunk()
            for event in events[start:start + HISTORY_CHUNK_EVENTS]:
                add_proto_event(chunk.events, event)
            yield chunk
            await asyncio.sleep(0)

    # -- entities ------------------------------------------------------------------------
    async def SignalEntity(self, request: pb.SignalEntityRequest,
                           context: Any) -> pb.SignalEntityResponse:
        ops = await self._ops(context)
        await _call(context, ops.signal_entity, request.instanceId, request.name,
                    text_of(request, "input"), request_id=request.requestId or None,
                    start_at=optional_time(request, "scheduledTime"))
        return pb.SignalEntityResponse()

    async def GetEntity(self, request: pb.GetEntityRequest,
                        context: Any) -> pb.GetEntityResponse:
        ops = await self._ops(context)
        view = await _call(context, ops.get_entity, request.instanceId,
                           request.includeState)
        if view is None:
            return pb.GetEntityResponse(exists=False)
        return pb.GetEntityResponse(exists=True, entity=entity_metadata(view))

    async def QueryEntities(self, request: pb.QueryEntitiesRequest,
                            context: Any) -> pb.QueryEntitiesResponse:
        ops = await self._ops(context)
        query = request.query
        page = await _call(
            context, ops.query_entities, prefix=text_of(query, "instanceIdStartsWith"),
            modified_from=optional_time(query, "lastModifiedFrom"),
            modified_to=optional_time(query, "lastModifiedTo"),
            include_state=query.includeState, include_transient=query.includeTransient,
            page_size=query.pageSize.value if query.HasField("pageSize") else None,
            continuation=text_of(query, "continuationToken"))
        response = pb.QueryEntitiesResponse(
            entities=[entity_metadata(view) for view in page.entities])
        if page.continuation:
            response.continuationToken.value = page.continuation
        return response

    async def CleanEntityStorage(self, request: pb.CleanEntityStorageRequest,
                                 context: Any) -> pb.CleanEntityStorageResponse:
        ops = await self._ops(context)
        removed, released = await _call(context, ops.clean_entity_storage,
                                         request.removeEmptyEntities,
                                         request.releaseOrphanedLocks)
        return pb.CleanEntityStorageResponse(emptyEntitiesRemoved=removed,
                                             orphanedLocksReleased=released)
