"""The 2.x SDK behind the engine's two worker calls: an orchestrator episode and an entity batch.

``invoke_orchestrator`` has the contract of the 1.x path (``worker.invoke_orchestrator``):
(state, replay result, failure message), so the episode step completes, fails, continues as new
or schedules work the same way for both SDK generations. ``entity_invoker`` gives the engine's
entity batch its ``trigger JSON -> result JSON`` call. ``await_orchestrator`` and
``awaited_entity_invoker`` are the same two for a call that is awaited (the worker seam's
``AwaitingWorker``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from ...core.replay import ReplayResult
from ...protocol.entities import EntityProtocolError
from .actions import UnsupportedAction, decide
from .entities import batch_request, batch_result_json
from .history_cache import ProtoHistoryCache
from .invoke import Call, HandlerError, run_entity_batch, run_orchestrator
from .messages import pb
from .proto_history import UnknownEventError, serialized_orchestrator_request

__all__ = ["Outcome", "invoke_orchestrator", "await_orchestrator", "entity_invoker",
           "awaited_entity_invoker", "AwaitedCall", "OrchestrationRow", "history_cache"]

# The requests (protobuf histories) of the instances that run episodes here (this process).
history_cache = ProtoHistoryCache()

Outcome = tuple[dict | None, ReplayResult | None, str | None]
# the serialized OrchestratorRequest -> the OrchestratorResponse, awaited
AwaitedCall = Callable[[bytes], Awaitable[pb.OrchestratorResponse]]


class OrchestrationRow(Protocol):
    """What an episode needs to know of the instance (``store.InstanceRecord`` has it)."""

    instance_id: str
    execution_id: str
    name: str


def invoke_orchestrator(call: Call | None, record: OrchestrationRow,
                        history: Sequence[dict[str, Any]], texts: Any = None) -> Outcome:
    """Run one episode of a 2.x orchestrator through ``call`` (None: the function is gone):
    ``history`` is the execution's events, this episode's last (from its
    ``OrchestratorStarted``). A failure message means the instance fails now: the function is
    gone, raised outside the SDK, or asked for what the host cannot do. ``texts`` (the events'
    stored JSON, which the 1.x path sends as they are) tell which events ``history_cache``
    converted already; the protobuf of the others is built here."""
    if call is None:
        return None, None, (f"Orchestrator function '{record.name}' failed: the function no "
                            "longer exists in the app")
    try:
        request = _request(record, history, texts)
        return _outcome(record, run_orchestrator(call, request), history)
    except _FAILURES as exc:
        return _failed(record, exc)


async def await_orchestrator(call: AwaitedCall, record: OrchestrationRow,
                             history: Sequence[dict[str, Any]], texts: Any = None) -> Outcome:
    """``invoke_orchestrator`` through a call that is awaited: the serialized
    ``OrchestratorRequest`` in, the ``OrchestratorResponse`` out (no base64: nothing runs a
    function here). Building the request and reading the response run on the caller's loop:
    for a 1000-event history, with the episode step around them, about 1 ms an episode once
    ``history_cache`` holds the instance's request (every episode after its first in this
    process, while the instance is among the cache's 256 most recent), 6 to 7 ms otherwise
    (the whole request converted); measured on the loop on a shared 2-core machine. That is
    the cost of a small HTTP request, and a thread would not run it in parallel (the
    interpreter lock) but would add a thread round trip to every episode."""
    try:
        request = _request(record, history, texts)
        return _outcome(record, await call(request), history)
    except _FAILURES as exc:
        return _failed(record, exc)


_FAILURES = (HandlerError, UnknownEventError, UnsupportedAction)


def _request(record: OrchestrationRow, history: Sequence[dict[str, Any]], texts: Any) -> bytes:
    return serialized_orchestrator_request(record.instance_id, record.execution_id, history,
                                           cache=history_cache, texts=texts)


def _outcome(record: OrchestrationRow, response: pb.OrchestratorResponse,
             history: Sequence[dict[str, Any]]) -> Outcome:
    decision = decide(response, history)
    state = decision.state
    if state.get("isDone") or decision.failure_details is not None:  # the execution ended
        history_cache.forget(record.instance_id)
    if decision.failure_details is not None:
        # The SDK caught the orchestrator's exception (or its non-determinism) and completed
        # the execution as failed: the episode writes "Orchestrator function 'X' failed: ...".
        state["failureDetails"] = {
            "ErrorType": decision.failure_details.errorType,
            "ErrorMessage": decision.failure_details.errorMessage,
            "StackTrace": (decision.failure_details.stackTrace.value
                           if decision.failure_details.HasField("stackTrace") else None),
        }
    return state, decision.replayed, None


def _failed(record: OrchestrationRow, exc: Exception) -> Outcome:
    history_cache.forget(record.instance_id)
    return None, None, f"Orchestrator function '{record.name}' failed: {exc}"


def entity_invoker(call: Call) -> Callable[[str], str]:
    """``trigger JSON -> result JSON`` for the engine's entity batch, through the 2.x SDK."""

    def invoke(trigger_json: str) -> str:
        request = batch_request(trigger_json)
        try:
            result = run_entity_batch(call, request)
        except HandlerError as exc:
            raise EntityProtocolError(str(exc)) from exc
        return batch_result_json(result, request)

    return invoke


def awaited_entity_invoker(
        call: Callable[[pb.EntityBatchRequest], Awaitable[pb.EntityBatchResult]]
) -> Callable[[str], Awaitable[str]]:
    """``entity_invoker`` through a call that is awaited: the ``EntityBatchRequest`` in, the
    ``EntityBatchResult`` out; the translation runs on the caller's loop (a batch's request
    and result are its operations and the state: smaller than an episode's history)."""

    async def invoke(trigger_json: str) -> str:
        request = batch_request(trigger_json)
        return batch_result_json(await call(request), request)

    return invoke
