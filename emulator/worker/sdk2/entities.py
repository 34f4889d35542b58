"""Entity batches for the 2.x SDK: our batch trigger JSON -> ``EntityBatchRequest``, and the
SDK's ``EntityBatchResult`` -> our batch result JSON.

The engine runs an entity batch through one call, trigger JSON in and result JSON out
(``entity_episode.run_batch``, the extension's 1.x out-of-process shapes). A 2.x entity function
takes a base64 ``EntityBatchRequest`` and answers a base64 ``EntityBatchResult``; these two
functions translate at that call, so the engine's batching, state keeping and responses stay
the same for both SDK generations. The mapping follows the extension's
``ProtobufUtils.ToEntityBatchRequest`` / ``ToEntityBatchResult``:

- operation inputs and results travel as JSON text (``OperationResultSuccess.result``); a failed
  operation's result becomes the JSON text of its message, marked as an error, as the 1.x shim
  answers it (callers get an ``exceptionType`` response), with its ``failureDetails`` (type,
  message, stack), which the caller's response carries as the extension's ``ResponseMessage``
  does, so the caller's SDK raises with the operation's own message;
- ``entityState`` unset means the entity does not exist (deleted);
- a batch-level ``failureDetails`` (the entity could not run) fails every operation;
- ``sendSignal`` actions become our signals; two things 1.x entities cannot do ride along as
  extra keys the engine may act on: a signal's ``scheduledTime`` (delayed signals) and
  ``startNewOrchestration`` actions (``orchestrations``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from ...protocol.entities import EntityId, EntityProtocolError
from ...protocol.history import format_ts
from .actions import failure_text
from .messages import datetime_of, pb, string_value, text_of

__all__ = ["batch_request", "batch_result_json"]


def batch_request(trigger_json: str, request_ids: list[str] | None = None
                  ) -> pb.EntityBatchRequest:
    """The ``EntityBatchRequest`` for our batch trigger JSON (``batch_trigger_json``)."""
    trigger = json.loads(trigger_json)
    entity = EntityId.of(trigger["self"]["name"], trigger["self"]["key"])
    batch = trigger.get("batch") or []
    ids = request_ids or [str(uuid.uuid4()) for _ in batch]
    return pb.EntityBatchRequest(
        instanceId=entity.scheduler_id,
        entityState=string_value(trigger.get("state") if trigger.get("exists") else None),
        operations=[pb.OperationRequest(operation=op.get("name") or "", requestId=request_id,
                                        input=string_value(op.get("input")))
                    for op, request_id in zip(batch, ids, strict=True)],
    )


def _duration_ms(success_or_failure: Any) -> float:
    if success_or_failure.HasField("startTimeUtc") and success_or_failure.HasField("endTimeUtc"):
        delta = datetime_of(success_or_failure.endTimeUtc) - \
            datetime_of(success_or_failure.startTimeUtc)
        return delta.total_seconds() * 1000
    return 0.0


def _result(result: pb.OperationResult) -> dict[str, Any]:
    if result.WhichOneof("resultType") == "failure":
        details = result.failure.failureDetails
        return {"isError": True, "result": json.dumps(failure_text(details)),
                "duration": _duration_ms(result.failure),
                "failureDetails": {
                    "ErrorType": details.errorType, "ErrorMessage": details.errorMessage,
                    "StackTrace": text_of(details, "stackTrace"),
                    "IsNonRetriable": details.isNonRetriable}}
    return {"isError": False, "result": text_of(result.success, "result"),
            "duration": _duration_ms(result.success)}


def _signal(action: pb.SendSignalAction) -> dict[str, Any]:
    target = EntityId.parse(action.instanceId)
    signal: dict[str, Any] = {"target": target.to_json(), "name": action.name,
                              "input": text_of(action, "input")}
    if action.HasField("scheduledTime"):
        signal["scheduledTime"] = format_ts(datetime_of(action.scheduledTime))
    return signal


def _orchestration(action: pb.StartNewOrchestrationAction) -> dict[str, Any]:
    start: dict[str, Any] = {"instanceId": action.instanceId or None, "name": action.name,
                             "version": text_of(action, "version"),
                             "input": text_of(action, "input")}
    if action.HasField("scheduledTime"):
        start["scheduledTime"] = format_ts(datetime_of(action.scheduledTime))
    return start


def batch_result_json(result: pb.EntityBatchResult, request: pb.EntityBatchRequest) -> str:
    """Our batch result JSON (``parse_batch_result``'s input) for the SDK's answer."""
    if result.HasField("failureDetails"):
        message = failure_text(result.failureDetails)
        state = text_of(request, "entityState")
        return json.dumps({
            "entityExists": state is not None, "entityState": state,
            "results": [{"isError": True, "result": json.dumps(message), "duration": 0}
                        for _ in request.operations],
            "signals": [], "batchFailure": message})
    signals, orchestrations = [], []
    try:
        for action in result.actions:
            kind = action.WhichOneof("operationActionType")
            if kind == "sendSignal":
                signals.append(_signal(action.sendSignal))
            elif kind == "startNewOrchestration":
                orchestrations.append(_orchestration(action.startNewOrchestration))
    except EntityProtocolError as exc:
        raise EntityProtocolError(f"The entity sent a signal to an invalid entity id: {exc}") \
            from exc
    state = text_of(result, "entityState")
    body: dict[str, Any] = {"entityExists": state is not None, "entityState": state,
                            "results": [_result(r) for r in result.results],
                            "signals": signals}
    if orchestrations:
        body["orchestrations"] = orchestrations
    return json.dumps(body)
