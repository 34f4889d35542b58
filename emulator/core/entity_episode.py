"""One entity episode as a pure step: state + queued requests -> new state, responses, signals.

The extension runs an out-of-process entity in batches: every request waiting for the entity (up
to ``maxEntityOperationBatchSize``), in arrival order, goes to the worker in one trigger call;
the worker answers with the final existence and state and one result per operation. The
extension then keeps that state as it is - it does not roll back a failed operation of an
out-of-process entity (``TaskEntityShim.ExecuteOutOfProcBatch``; the rollback option applies to
.NET entities only) - and sends every caller its result, an error marked with
``exceptionType``. A failed operation's error goes to its caller only; the other operations of
the batch keep their effects.

``run_batch`` does that with the worker call passed in, so it is testable without an engine;
``batch_steps`` is the same step for a caller that awaits the call (``calls.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ..protocol import history as h
from ..protocol.entities import (
    BatchResult,
    EntityId,
    EntityProtocolError,
    OperationResult,
    OrchestrationStart,
    Request,
    batch_trigger_json,
    parse_batch_result,
    response_input,
)
from .calls import Steps, drive


@dataclass
class EntityState:
    """What the store keeps of an entity between batches."""

    exists: bool = False
    state: str | None = None  # the SDK's JSON text of the state
    last_operation: str | None = None  # ISO time of the last batch


@dataclass
class Response:
    """An EventRaised for the orchestration that called an operation."""

    instance_id: str
    execution_id: str | None
    event: dict


@dataclass
class Signal:
    """A request the entity sent to another entity (``at``: when, for a scheduled one)."""

    target: EntityId
    request: Request
    at: datetime | None = None


@dataclass
class BatchOutcome:
    state: EntityState
    results: list[OperationResult]
    responses: list[Response] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    orchestrations: list[OrchestrationStart] = field(default_factory=list)
    failure: str | None = None  # the whole batch failed (every operation got this error)


def run_batch(entity: EntityId, state: EntityState, requests: list[Request],
              invoke: Callable[[str], str], now: datetime, *,
              new_request_id: Callable[[], str]) -> BatchOutcome:
    """Run ``requests`` (non-empty, in order) through ``invoke`` (trigger JSON -> result JSON).

    ``invoke`` raising, or answering something that is not a batch result, fails every
    operation of the batch with that message and leaves the state unchanged.
    """
    return drive(batch_steps(entity, state, requests, now, new_request_id=new_request_id),
                 invoke)


def batch_steps(entity: EntityId, state: EntityState, requests: list[Request], now: datetime,
                *, new_request_id: Callable[[], str]) -> Steps[BatchOutcome]:
    """``run_batch`` for a caller that makes the call itself (``calls.py``): yields the trigger
    JSON once and is sent the result JSON, or thrown what the call raised."""
    trigger = batch_trigger_json(entity, state.exists, state.state, requests)
    try:
        result = parse_batch_result((yield (trigger,)), len(requests))
    except EntityProtocolError as exc:
        return failed_batch(entity, state, requests, now, str(exc))
    except Exception as exc:  # the entity function itself could not run
        return failed_batch(entity, state, requests, now, f"{type(exc).__name__}: {exc}")
    new_state = EntityState(result.exists, result.state if result.exists else None,
                            h.format_ts(now))
    return _outcome(entity, new_state, requests, result, now, new_request_id)


def failed_batch(entity: EntityId, state: EntityState, requests: list[Request], now: datetime,
                 message: str, *, raw: bool = False) -> BatchOutcome:
    """Every operation fails with ``message`` and the state stays as it was. ``raw`` sends the
    message as it is, not as JSON text: what the extension does when a batch times out (the
    Functions host's "Timeout value of ..." text, which the SDK recognises)."""
    error = OperationResult(message if raw else json.dumps(message), is_error=True)
    result = BatchResult(state.exists, state.state, [error] * len(requests))
    outcome = _outcome(entity, EntityState(state.exists, state.state, h.format_ts(now)),
                       requests, result, now, lambda: "")
    outcome.failure = message
    return outcome


def _outcome(entity: EntityId, new_state: EntityState, requests: list[Request],
             result: BatchResult, now: datetime,
             new_request_id: Callable[[], str]) -> BatchOutcome:
    outcome = BatchOutcome(new_state, result.results, orchestrations=result.orchestrations)
    for request, op_result in zip(requests, result.results, strict=True):
        if request.signal or request.parent is None:
            continue
        event = h.event_raised(now, request.id, response_input(op_result))
        outcome.responses.append(Response(request.parent, request.parent_execution, event))
    for signal in result.signals:
        request = Request(id=new_request_id(), operation=signal.operation, input=signal.input,
                          signal=True, parent=entity.scheduler_id)
        at = h.parse_ts(signal.at) if signal.at else None
        outcome.signals.append(Signal(signal.target, request, at))
    return outcome
