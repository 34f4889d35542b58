"""``RemoteWorker``: the worker seam (``worker/seam.py``) over durabletask workers connected to
the host's gRPC endpoint (``TaskHubGrpcWorker``), as the Durable Task Scheduler serves them.

An orchestrator episode, an activity or an entity batch becomes a work item of the dispatcher
(``dispatcher.py``) and waits for the worker's completion. The translation is the 2.x SDK's
(``worker/sdk2``): the episode's ``OrchestratorRequest`` from our history, the worker's
``OrchestratorResponse`` read as a decision; the batch's ``EntityBatchRequest`` and the
``EntityBatchResult``. Only the transport differs from a 2.x Functions app: a work item on a
stream instead of a trigger value in an invocation.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json
from datetime import timedelta
from typing import Any

from .. import sdk2
from ..index import ActivityFunction, HttpFunction, TriggeredFunction
from ..sdk2.messages import pb, string_value, text_of
from ..seam import CURRENT_ACTIVITY, EntityCall, HttpCall, HttpReply, OrchestratorCall
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

    # -- calls made in the runtime's threads: block until a worker completes the item --------
    def _blocking_call(self, kind: ItemKind, name: str, version: str | None,
                       field: str, request_type: type, response_type: type) -> sdk2.Call:
        def call(value: str) -> str:
            request = request_type.FromString(base64.b64decode(value))
            answer: concurrent.futures.Future = concurrent.futures.Future()

            def build(token: str) -> pb.WorkItem:
                return pb.WorkItem(completionToken=token, **{field: request})

            self.dispatcher.submit(Pending(kind, name, version, build, answer.set_result))
            response = answer.result()
            response.completionToken = ""
            return base64.b64encode(response.SerializeToString()).decode("ascii")
        return call

    def orchestrator(self, name: str) -> OrchestratorCall:
        def invoke(record: Any, history: list[dict[str, Any]], texts: Any = None) -> Any:
            call = self._blocking_call(ItemKind.ORCHESTRATION, record.name, record.version,
                                       "orchestratorRequest", pb.OrchestratorRequest,
                                       pb.OrchestratorResponse)
            return sdk2.invoke_orchestrator(call, record, history, texts)
        return invoke

    def entity(self, name: str) -> EntityCall | None:
        call = self._blocking_call(ItemKind.ENTITY, name.lower(), None, "entityRequest",
                                   pb.EntityBatchRequest, pb.EntityBatchResult)
        return sdk2.entity_invoker(call)

    # -- activities: awaited on the loop --------------------------------------------------
    async def run_activity(self, activity: ActivityFunction, input_text: str | None,
                           timeout: timedelta | None) -> str | None:
        item = CURRENT_ACTIVITY.get()
        instance = pb.OrchestrationInstance(
            instanceId=item.instance_id if item else "",
            executionId=string_value(item.execution_id if item else None))
        request = pb.ActivityRequest(name=activity.name, input=string_value(input_text),
                                     orchestrationInstance=instance,
                                     taskId=item.task_id if item else 0)
        answer: asyncio.Future = asyncio.get_running_loop().create_future()

        def settle(response: Any) -> None:
            if not answer.done():
                answer.set_result(response)

        pending = Pending(ItemKind.ACTIVITY, activity.name, None,
                          lambda token: pb.WorkItem(completionToken=token,
                                                    activityRequest=request), settle)
        self.dispatcher.submit(pending)
        try:
            response = await answer
        except asyncio.CancelledError:
            self.dispatcher.withdraw(pending)
            raise
        if response.HasField("failureDetails"):
            raise ActivityFailure(response.failureDetails)
        return text_of(response, "result")

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

