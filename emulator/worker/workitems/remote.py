"""``RemoteWorker``: the worker seam (``worker/seam.py``) over durabletask workers connected to
the host's gRPC endpoint (``TaskHubGrpcWorker``), as the Durable Task Scheduler serves them.

An orchestrator episode, an activity or an entity batch becomes a work item of the dispatcher
(``dispatcher.py``) and waits for the worker's completion, awaited on the host's loop: episodes
and batches too (``seam.AwaitingWorker``), so any number of them may wait for a worker to
connect, or for one whose filters take them, with no thread each. The translation is the 2.x
SDK's (``worker/sdk2``): the episode's ``OrchestratorRequest`` from our history, the worker's
``OrchestratorResponse`` read as a decision; the batch's ``EntityBatchRequest`` and the
``EntityBatchResult``. Only the transport differs from a 2.x Functions app: a work item on a
stream instead of a trigger value in an invocation.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from .. import sdk2
from ..index import ActivityFunction, HttpFunction, TriggeredFunction
from ..sdk2.messages import pb, string_value, text_of
from ..seam import (
    CURRENT_ACTIVITY,
    AwaitedEntityCall,
    AwaitedOrchestratorCall,
    EntityCall,
    HttpCall,
    HttpReply,
    OrchestratorCall,
)
from .dispatcher import ItemKind, Pending, WorkItemDispatcher
from .index import OpenIndex

__all__ = ["RemoteWorker", "ActivityFailure", "NoApp"]


class ActivityFailure(Exception):
    """An activity failed in the worker: its ``TaskFailureDetails``."""

    def __init__(self, details: pb.TaskFailureDetails) -> None:
        super().__init__(details.errorMessage)
        self.details = details


class NoApp(Exception):
    """A scheduler host has no HTTP or triggered functions."""


class RemoteWorker:
    """The seam over connected durabletask workers; ``dispatcher`` serves the gRPC edge."""

    def __init__(self, index: OpenIndex, dispatcher: WorkItemDispatcher) -> None:
        self._index = index
        self.dispatcher = dispatcher

    @property
    def app(self) -> OpenIndex:
        return self._index

    # -- episodes and batches: awaited on the loop (seam.AwaitingWorker) -----------------
    def awaited_orchestrator(self, name: str) -> AwaitedOrchestratorCall:
        async def invoke(record: Any, history: list[dict[str, Any]], texts: Any = None) -> Any:
            async def call(request: bytes) -> pb.OrchestratorResponse:
                return await self._completion(
                    ItemKind.ORCHESTRATION, record.name, record.version,
                    orchestratorRequest=pb.OrchestratorRequest.FromString(request))
            return await sdk2.await_orchestrator(call, record, history, texts)
        return invoke

    def awaited_entity(self, name: str) -> AwaitedEntityCall | None:
        async def call(request: pb.EntityBatchRequest) -> pb.EntityBatchResult:
            return await self._completion(ItemKind.ENTITY, name.lower(), None,
                                          entityRequest=request)
        return sdk2.awaited_entity_invoker(call)

    # -- the same from a thread (the threaded seam; the runtime awaits the calls above) ------
    def orchestrator(self, name: str) -> OrchestratorCall:
        awaited = self.awaited_orchestrator(name)
        return lambda record, history, texts=None: self._from_thread(
            awaited(record, history, texts))

    def entity(self, name: str) -> EntityCall | None:
        awaited = self.awaited_entity(name)
        return lambda trigger: self._from_thread(awaited(trigger))

    def _from_thread(self, call: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(call, self.dispatcher.loop).result()

    # -- activities -----------------------------------------------------------------------
    async def run_activity(self, activity: ActivityFunction, input_text: str | None,
                           timeout: timedelta | None) -> str | None:
        item = CURRENT_ACTIVITY.get()
        instance = pb.OrchestrationInstance(
            instanceId=item.instance_id if item else "",
            executionId=string_value(item.execution_id if item else None))
        request = pb.ActivityRequest(name=activity.name, input=string_value(input_text),
                                     orchestrationInstance=instance,
                                     taskId=item.task_id if item else 0)
        response = await self._completion(ItemKind.ACTIVITY, activity.name, None,
                                          activityRequest=request)
        if response.HasField("failureDetails"):
            raise ActivityFailure(response.failureDetails)
        return text_of(response, "result")

    async def _completion(self, kind: ItemKind, name: str, version: str | None,
                          **request: Any) -> Any:
        """Submit a work item (``request``: its one request field) and wait for a worker's
        completion message. Cancelled, the item is withdrawn from the dispatcher: not
        delivered any more, and a worker's later answer for it is ignored."""
        answer: asyncio.Future = asyncio.get_running_loop().create_future()

        def settle(response: Any) -> None:
            if not answer.done():
                answer.set_result(response)

        pending = Pending(kind, name, version,
                          lambda token: pb.WorkItem(completionToken=token, **request), settle)
        self.dispatcher.submit(pending)
        try:
            return await answer
        except asyncio.CancelledError:
            self.dispatcher.withdraw(pending)
            raise

    def activity_failure(self, name: str, exc: BaseException) -> tuple[str, str]:
        """Reason and Details of the TaskFailed event: the worker's failure (its type in the
        Details' ``ClassName``, which the 2.x history translation reads back)."""
        if isinstance(exc, ActivityFailure):
            details = exc.details
            stack = details.stackTrace.value if details.HasField("stackTrace") else None
            return details.errorMessage, json.dumps({
                "ClassName": details.errorType, "Message": details.errorMessage,
                "StackTraceString": stack})
        return f"{type(exc).__name__}: {exc}", json.dumps(
            {"ClassName": type(exc).__name__, "Message": str(exc)})

    # -- no app: no HTTP or triggered functions ------------------------------------------
    async def run_http(self, function: HttpFunction, call: HttpCall,
                       timeout: timedelta | None) -> HttpReply:
        raise NoApp("A scheduler host serves no HTTP functions.")

    async def run_triggered(self, function: TriggeredFunction, call: Any, inputs: Any,
                            client_binding: str | None, timeout: timedelta | None) -> Any:
        raise NoApp("A scheduler host serves no triggered functions.")

    @property
    def replaced_threads(self) -> int:
        return 0

    def describe(self) -> str:
        return "durabletask workers connected over gRPC"

    def close(self) -> None:
        self.dispatcher.close()

    async def wait_closed(self) -> None:
        return None

