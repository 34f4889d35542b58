"""Stand-ins for the 2.x SDK's registered handlers, built on durabletask's own executor (the
engine of ``azure-functions-durable`` 2.x, which itself needs Python 3.13): a handler takes the
base64 protobuf request and answers the base64 protobuf response, as the SDK's does."""

from __future__ import annotations

import base64
from types import SimpleNamespace
from typing import Any

from durabletask.worker import TaskHubGrpcWorker

from emulator.worker.sdk2.messages import pb


def _decoded(kind: type, text: str) -> Any:
    message = kind()
    message.ParseFromString(base64.b64decode(text))
    return message


def _encoded(message: Any) -> str:
    return base64.b64encode(message.SerializeToString()).decode("ascii")


def orchestrator_handler(*orchestrators: Any):
    """``handle(context=<base64 OrchestratorRequest>) -> <base64 OrchestratorResponse>``."""
    worker = TaskHubGrpcWorker()
    for orchestrator in orchestrators:
        worker.add_orchestrator(orchestrator)

    def handle(context: str) -> str:
        answers: list[Any] = []
        stub = SimpleNamespace(CompleteOrchestratorTask=answers.append)
        worker._execute_orchestrator(_decoded(pb.OrchestratorRequest, context), stub, None)
        return _encoded(answers[0])

    return handle


def entity_handler(entity: Any, name: str):
    """``handle(context=<base64 EntityBatchRequest>) -> <base64 EntityBatchResult>``."""
    worker = TaskHubGrpcWorker()
    worker.add_entity(entity, name=name)

    def handle(context: str) -> str:
        answers: list[Any] = []
        stub = SimpleNamespace(CompleteEntityTask=answers.append)
        worker._execute_entity_batch(_decoded(pb.EntityBatchRequest, context), stub, None)
        return _encoded(answers[0])

    return handle
