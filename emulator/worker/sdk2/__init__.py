"""The 2.x durable SDK protocol behind the worker seam (``worker/seam.py``): our history and
entity batches as the protobuf requests a 2.x orchestrator or entity function takes
(durabletask's generated messages), its responses as the decisions our episode step already
reads, and which SDK an app is written for. Pure translation and invocation; no event loop of
the host, no store.
"""

from .actions import Decision, UnsupportedAction, decide
from .adapter import (
    await_orchestrator,
    awaited_entity_invoker,
    entity_invoker,
    invoke_orchestrator,
)
from .detect import SdkGeneration, app_generation, binding_generation
from .entities import batch_request, batch_result_json
from .invoke import Call, HandlerError, in_process, run_entity_batch, run_orchestrator
from .proto_history import orchestrator_request, to_proto_event

__all__ = [
    # which SDK an app uses
    "SdkGeneration", "app_generation", "binding_generation",
    # orchestrations: history -> OrchestratorRequest, OrchestratorResponse -> decision
    "orchestrator_request", "to_proto_event", "decide", "Decision", "UnsupportedAction",
    "invoke_orchestrator", "run_orchestrator", "await_orchestrator",
    # entities: batch JSON <-> EntityBatchRequest / EntityBatchResult
    "batch_request", "batch_result_json", "entity_invoker", "run_entity_batch",
    "awaited_entity_invoker",
    # calling the app's function: in this process, or through a worker's Call
    "Call", "in_process", "HandlerError",
]
