"""Views of the runtime -> the sidecar service's protobuf messages, and request fields -> the
values the operations take. Mirrors the extension's ``TaskHubGrpcServer`` /
``ProtobufUtils`` (``CreateGetInstanceResponse``, ``CreateQueryInstancesResponse``,
``ConvertEntityMetadata``)."""

from __future__ import annotations

from datetime import datetime

from ..worker.sdk2.messages import datetime_of, pb, string_value, timestamp
from .operations import EntityView, FailureView, InstanceView

__all__ = ["STATUS_NUMBERS", "status_name", "orchestration_state", "entity_metadata",
           "failure_details", "optional_time"]

# RuntimeStatus names <-> DTFx OrchestrationStatus numbers (the protobuf enum's values).
STATUS_NUMBERS = {
    "Running": pb.ORCHESTRATION_STATUS_RUNNING,
    "Completed": pb.ORCHESTRATION_STATUS_COMPLETED,
    "ContinuedAsNew": pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW,
    "Failed": pb.ORCHESTRATION_STATUS_FAILED,
    "Canceled": pb.ORCHESTRATION_STATUS_CANCELED,
    "Terminated": pb.ORCHESTRATION_STATUS_TERMINATED,
    "Pending": pb.ORCHESTRATION_STATUS_PENDING,
    "Suspended": pb.ORCHESTRATION_STATUS_SUSPENDED,
}
_NAMES = {number: name for name, number in STATUS_NUMBERS.items()}


def status_name(number: int) -> str:
    """The RuntimeStatus name of a protobuf status number (ValueError if unknown)."""
    try:
        return _NAMES[number]
    except KeyError:
        raise ValueError(f"Unknown orchestration status {number}.") from None


def optional_time(message: object, field: str) -> datetime | None:
    return datetime_of(getattr(message, field)) if message.HasField(field) else None  # type: ignore[attr-defined]


def failure_details(failure: FailureView | None) -> pb.TaskFailureDetails | None:
    if failure is None:
        return None
    return pb.TaskFailureDetails(errorType=failure.error_type, errorMessage=failure.message,
                                 stackTrace=string_value(failure.stack_trace))


def orchestration_state(view: InstanceView, with_payloads: bool) -> pb.OrchestrationState:
    """``OrchestrationState`` as ``CreateGetInstanceResponse`` fills it: payloads and failure
    details only when the client asked for inputs and outputs."""
    state = pb.OrchestrationState(
        instanceId=view.instance_id, name=view.name,
        version=string_value(view.version),
        orchestrationStatus=STATUS_NUMBERS[str(view.status)],
        createdTimestamp=timestamp(view.created), lastUpdatedTimestamp=timestamp(view.last_updated),
        parentInstanceId=string_value(view.parent_instance_id),
        executionId=string_value(view.execution_id),
    )
    if with_payloads:
        if view.input is not None:
            state.input.value = view.input
        if view.output is not None:
            state.output.value = view.output
        if view.custom_status is not None:
            state.customStatus.value = view.custom_status
        details = failure_details(view.failure)
        if details is not None:
            state.failureDetails.CopyFrom(details)
    return state


def entity_metadata(view: EntityView) -> pb.EntityMetadata:
    return pb.EntityMetadata(instanceId=view.instance_id,
                             lastModifiedTime=timestamp(view.last_modified),
                             backlogQueueSize=view.backlog,
                             lockedBy=string_value(view.locked_by),
                             serializedState=string_value(view.state))
