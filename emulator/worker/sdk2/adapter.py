"""The 2.x SDK behind the engine's two worker calls: an orchestrator episode and an entity batch.

``invoke_orchestrator`` has the contract of the 1.x path (``worker.invoke_orchestrator``):
(state, replay result, failure message), so the episode step completes, fails, continues as new
or schedules work the same way for both SDK generations. ``entity_invoker`` gives the engine's
entity batch its ``trigger JSON -> result JSON`` call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ...core.replay import ReplayResult
from ...protocol.entities import EntityProtocolError
from .actions import UnsupportedAction, decide
from .entities import batch_request, batch_result_json
from .history_cache import ProtoHistoryCache
from .invoke import Call, HandlerError, run_entity_batch, run_orchestrator
from .proto_history import UnknownEventError, serialized_orchestrator_request

__all__ = ["Outcome", "invoke_orchestrator", "entity_invoker", "OrchestrationRow",
           "history_cache"]

# The requests (protobuf histories) of the instances that run episodes here (this process).
history_cache = ProtoHistoryCache()

Outcome = tuple[dict | None, ReplayResult | None, str | None]


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
    name = record.name
    if call is None:
        return None, None, (f"Orchestrator function '{name}' failed: the function no longer "
                            "exists in the app")
    try:
        request = serialized_orchestrator_request(record.instance_id, record.execution_id,
                                                  history, cache=history_cache, texts=texts)
        response = run_orchestrator(call, request)
        decision = decide(response, history)
    except (HandlerError, UnknownEventError, UnsupportedAction) as exc:
        history_cache.forget(record.instance_id)
        return None, None, f"Orchestrator function '{name}' failed: {exc}"
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
