"""The Durable extension's entity protocol for out-of-process workers, as plain data.

Everything here is JSON in, JSON out, with no I/O - the shapes the extension (``TaskEntityShim``,
``EntityTriggerAttributeBindingProvider``, ``RequestMessage``/``ResponseMessage``, ``EntityId``)
exchanges with the Python SDK 1.7 (``entity.py``, ``DurableEntityContext``, the orchestrator's
``call_entity`` replay). ``emulator/ENTITIES.md`` lists the findings this module relies on.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any

from . import jsonsafe
from .history import compact

REQUEST_EVENT = "op"  # EventSent / EventRaised name of every operation request to an entity
RELEASE_EVENT = "release"  # EventSent name of the end of a critical section
LOCK_GRANTED = "Lock Acquisition Completed"  # the result of the response granting a lock
ERROR_TYPE = "Error"  # ResponseMessage.exceptionType the extension writes for a failed operation
DEFAULT_BATCH_SIZE = 5000  # maxEntityOperationBatchSize outside the consumption plan


YIELDED_SIGNAL = (
    "The orchestrator waits for a task that nothing will complete: every action it returned "
    "has completed. Yielding the task of context.signal_entity does this (a signal is one-way: "
    "call signal_entity without yield; use call_entity to wait for a result); the real host "
    "would leave the instance Running forever.")


class EntityProtocolError(Exception):
    """An entity id, request or batch result that does not follow the protocol."""


def _bad_key_char(char: str) -> bool:
    return char in "/\\?#" or unicodedata.category(char) == "Cc"


@dataclass(frozen=True, order=True)
class EntityId:
    """``EntityId``: the name is lower-cased (as the extension does), the key kept as given."""

    name: str
    key: str

    @classmethod
    def of(cls, name: str | None, key: str | None) -> EntityId:
        if not name:
            raise EntityProtocolError(
                "Invalid entity id: entity name must not be a null or empty string.")
        if key is None:
            raise EntityProtocolError("Invalid entity id: entity key must not be null.")
        return cls(name.lower(), key)

    @classmethod
    def parse(cls, scheduler_id: str) -> EntityId:
        """``@name@key`` -> EntityId; the key may itself contain ``@``."""
        if not scheduler_id.startswith("@") or scheduler_id.find("@", 1) < 0:
            raise EntityProtocolError(f"{scheduler_id!r} is not an entity instance id "
                                      "(expected '@<name>@<key>').")
        position = scheduler_id.find("@", 1)
        return cls.of(scheduler_id[1:position], scheduler_id[position + 1:])

    @property
    def scheduler_id(self) -> str:
        return f"@{self.name}@{self.key}"

    def check_key(self) -> None:
        """The client's check before it signals (``DurableClient.SignalEntityAsyncInternal``)."""
        if any(_bad_key_char(char) for char in self.key):
            raise EntityProtocolError(
                "Entity keys must not contain /, \\, #, ?, or control characters.")

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "key": self.key}

    def __str__(self) -> str:
        return self.scheduler_id


def is_entity_instance(instance_id: str | None) -> bool:
    return bool(instance_id) and instance_id.startswith("@")


@dataclass
class Request:
    """``RequestMessage`` (op, signal, input, id, parent, parentExecution)."""

    id: str
    operation: str
    input: str | None = None  # RequestMessage.Input: JSON text of the serialised payload
    signal: bool = False
    parent: str | None = None  # the calling orchestration; None for client signals
    parent_execution: str | None = None
    # Critical sections (2.x SDK ``lock_entities``): a lock request names every entity to lock
    # (``lock_set``, '@name@key' ids, sorted) and which one it is for; a release ends it.
    lock_set: list[str] | None = None
    position: int = 0
    release: bool = False

    @property
    def is_lock(self) -> bool:
        return self.lock_set is not None

    @property
    def is_control(self) -> bool:
        """Handled by the host, not by the entity function: a lock request or a release."""
        return self.lock_set is not None or self.release

    @classmethod
    def from_orchestrator(cls, request_id: str, operation: str, action_input: str | None,
                          signal: bool, instance_id: str, execution_id: str) -> Request:
        """The request an orchestrator's CallEntity / SignalEntity action sends."""
        return cls(id=request_id, operation=operation, input=input_from_action(action_input),
                   signal=signal, parent=instance_id, parent_execution=execution_id)

    def to_json(self) -> str:
        """Compact JSON with the extension's DefaultValueHandling.Ignore fields left out."""
        body: dict[str, Any] = {"op": self.operation}
        if self.signal:
            body["signal"] = True
        if self.input is not None:
            body["input"] = self.input
        body["id"] = self.id
        if self.parent is not None:
            body["parent"] = self.parent
        if self.parent_execution is not None:
            body["parentExecution"] = self.parent_execution
        if self.lock_set is not None:
            body["op"] = None
            body["lockset"] = [EntityId.parse(e).to_json() for e in self.lock_set]
            body["pos"] = self.position
        if self.release:
            body["release"] = True
        return compact(body)

    @classmethod
    def from_json(cls, text: str | None) -> Request:
        try:
            body = json.loads(text or "")
            lock_set = body.get("lockset")
            if lock_set is not None:
                lock_set = [e if isinstance(e, str) else EntityId.of(e["name"], e["key"])
                            .scheduler_id for e in lock_set]
            return cls(id=str(body["id"]), operation=body.get("op") or "",
                       input=body.get("input"), signal=bool(body.get("signal")),
                       parent=body.get("parent"), parent_execution=body.get("parentExecution"),
                       lock_set=lock_set, position=int(body.get("pos") or 0),
                       release=bool(body.get("release")))
        except (json.JSONDecodeError, TypeError, KeyError, AttributeError, ValueError) as exc:
            raise EntityProtocolError(f"Malformed entity request message {text!r}: {exc}") \
                from exc


def input_from_action(action_input: str | None) -> str | None:
    """RequestMessage.Input for an orchestrator's call/signal: the SDK's JSON text arrives as a
    .NET string, which ``RequestMessage.SetInput`` serialises again (a JSON string literal)."""
    return None if action_input is None else json.dumps(action_input)


def input_from_http(body: bytes, media_type: str) -> str | None:
    """RequestMessage.Input for ``POST entities/{name}/{key}`` (``HttpApiHandler``): no body ->
    none; application/json -> the compact token; anything else -> the raw text as a string."""
    if not body:
        return None
    if media_type.lower() == "application/json":
        try:
            return jsonsafe.dumps(jsonsafe.loads(body))
        except jsonsafe.JsonInputError as exc:
            raise EntityProtocolError(f"Could not parse JSON content: {exc}") from exc
    try:
        return json.dumps(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise EntityProtocolError(f"The request body is not UTF-8 text: {exc}") from exc


def request_id(execution_id: str, seq: int) -> str:
    """A request id that replays identically (the extension derives it from the instance, the
    orchestrator's clock and a counter; any deterministic GUID does)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{execution_id}:{seq}"))


def batch_trigger_json(entity: EntityId, exists: bool, state: str | None,
                       requests: list[Request]) -> str:
    """The entity trigger's JSON string (``EntityContextToString``)."""
    return json.dumps({
        "self": entity.to_json(),
        "exists": exists,
        "state": state,
        "batch": [{"name": r.operation, "input": r.input, "isSignal": r.signal}
                  for r in requests],
    })


@dataclass
class OperationResult:
    result: str | None  # JSON text of the return value, or of the error message
    is_error: bool = False
    duration_ms: float = 0.0
    # A failed operation's DTFx FailureDetails (ErrorType, ErrorMessage, StackTrace), when the
    # SDK gave them (the 2.x SDK): its caller's response carries them as the extension's does.
    failure_details: dict[str, Any] | None = None


@dataclass
class OutgoingSignal:
    target: EntityId
    operation: str
    input: str | None
    at: str | None = None  # ISO time of a scheduled signal (2.x SDK entities)


@dataclass
class OrchestrationStart:
    """A new orchestration an entity starts (2.x SDK entities: ``schedule_new_orchestration``)."""

    name: str
    instance_id: str | None = None
    input: str | None = None  # JSON text
    version: str | None = None


@dataclass
class BatchResult:
    """The worker's answer (``OutOfProcResult``): final existence and state, one result per
    operation, signals the entity sent."""

    exists: bool
    state: str | None
    results: list[OperationResult]
    signals: list[OutgoingSignal] = field(default_factory=list)
    orchestrations: list[OrchestrationStart] = field(default_factory=list)


def parse_batch_result(text: str, batch_size: int) -> BatchResult:
    try:
        body = json.loads(text)
        results = [OperationResult(r.get("result"), bool(r.get("isError")),
                                   float(r.get("duration") or 0), r.get("failureDetails"))
                   for r in body["results"]]
        signals = [OutgoingSignal(EntityId.of(s["target"]["name"], s["target"]["key"]),
                                  s["name"], s.get("input"), s.get("scheduledTime"))
                   for s in body.get("signals") or []]
        orchestrations = [OrchestrationStart(o["name"], o.get("instanceId"), o.get("input"),
                                             o.get("version"))
                          for o in body.get("orchestrations") or []]
        exists = bool(body["entityExists"])
        state = body.get("entityState") if exists else None
    except (json.JSONDecodeError, TypeError, KeyError, AttributeError, ValueError) as exc:
        raise EntityProtocolError(
            f"Out of proc entities must return a valid JSON schema: {exc}") from exc
    if len(results) != batch_size:
        raise EntityProtocolError(f"The entity returned {len(results)} results for a batch of "
                                  f"{batch_size} operations.")
    return BatchResult(exists, state, results, signals, orchestrations)


def response_input(result: OperationResult) -> str:
    """EventRaised.Input of the response to a call (``ResponseMessage``)."""
    body: dict[str, Any] = {"result": result.result}
    if result.is_error:
        body["exceptionType"] = ERROR_TYPE
        if result.failure_details:
            body["failureDetails"] = result.failure_details
    return compact(body)
