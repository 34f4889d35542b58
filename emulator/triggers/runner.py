"""Running a triggered function for a ``TriggerCall``: the ``Invoke`` the sources await.

``TriggeredRunner`` is built by the host with the app's triggered functions (the worker's index
entries), ``run`` - the worker seam's ``run_triggered``, which builds the arguments with the
Python worker's converters and calls the app's code - and the storage bindings. For each call it
reads the input bindings, runs the function through the seam, and - only when it succeeded, as
the host flushes output bindings after the function - writes the outputs. It logs the host's
``Executing`` / ``Executed`` lines, keeps the recent invocations for the dashboard, and never
raises: a failure is an ``Outcome``.

``manual_call`` builds the call for ``POST /admin/functions/{name}`` with ``{"input": ...}``, as
Core Tools does: a queue message with that text, a timer tick, the blob at that path, or, for
another trigger type, the input as that trigger's payload.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ..worker.index import TriggeredFunction
from .bindings import BindingSpec, StorageBindings
from .contract import DataType, Outcome, TriggerCall, TriggerType, TypedValue

log = logging.getLogger("emulator")

# the worker seam's run_triggered(function, call, inputs, client_binding) -> outputs
RunTriggered = Callable[[TriggeredFunction, TriggerCall, dict[str, TypedValue | None],
                         str | None], Awaitable[dict[str, TypedValue | None]]]


class UnknownFunction(LookupError):
    pass


class TriggeredRunner:
    def __init__(self, functions: list[TriggeredFunction], run: RunTriggered,
                 bindings: StorageBindings, *, client_binding: Callable[[], str] | None = None,
                 keep: int = 50) -> None:
        self.functions = {f.name.lower(): f for f in functions}
        self.specs = {f.name.lower(): [BindingSpec.from_dict(b) for b in f.bindings]
                      for f in functions}
        self.run = run
        self.bindings = bindings
        self.client_binding = client_binding
        self.recent: deque[dict[str, Any]] = deque(maxlen=keep)

    def function(self, name: str) -> TriggeredFunction:
        found = self.functions.get(name.lower())
        if found is None:
            raise UnknownFunction(name)
        return found

    async def __call__(self, call: TriggerCall) -> Outcome:
        function = self.functions.get(call.function_name.lower())
        if function is None:
            return Outcome.failed(f"no triggered function named '{call.function_name}'")
        invocation = str(uuid.uuid4())
        log.info("Executing 'Functions.%s' (Reason='%s', Id=%s)", function.name,
                 call.reason or str(call.trigger), invocation)
        started_at, started = datetime.now(UTC), time.perf_counter()
        outcome = await self._run(function, call)
        millis = (time.perf_counter() - started) * 1000
        if outcome.succeeded:
            log.info("Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%.0fms)",
                     function.name, invocation, millis)
        else:
            log.error("Executed 'Functions.%s' (Failed, Id=%s, Duration=%.0fms): %s",
                      function.name, invocation, millis, outcome.error)
        self.recent.append({"function": function.name, "trigger": str(call.trigger),
                            "id": invocation, "reason": call.reason,
                            "started": started_at.isoformat(), "durationMs": round(millis, 1),
                            "succeeded": outcome.succeeded, "error": outcome.error})
        return outcome

    async def _run(self, function: TriggeredFunction, call: TriggerCall) -> Outcome:
        specs = self.specs[function.name.lower()]
        try:
            inputs = {spec.name: await self.bindings.read(spec, call.binding_data)
                      for spec in specs if spec.direction != "out"}
            client = self.client_binding() if function.client_param and \
                self.client_binding is not None else None
        except Exception as exc:
            return Outcome.failed(f"reading an input binding failed: {type(exc).__name__}: "
                                  f"{exc}")
        try:
            outputs = await self.run(function, call, inputs, client)
        except Exception as exc:
            return Outcome.failed(f"{type(exc).__name__}: {exc}")
        try:
            for spec in specs:
                if spec.direction == "out":
                    await self.bindings.write(spec, call.binding_data, outputs.get(spec.name))
        except Exception as exc:
            return Outcome.failed(f"writing an output binding failed: {type(exc).__name__}: "
                                  f"{exc}")
        return Outcome.ok()

    # -- POST /admin/functions/{name} ----------------------------------------------------------

    async def manual_call(self, name: str, given: Any) -> TriggerCall:
        """The call Core Tools' admin endpoint makes for ``{"input": given}``."""
        function = self.function(name)
        text = given if isinstance(given, str) else "" if given is None else json.dumps(given)
        kind = function.trigger_type
        now = datetime.now(UTC)
        reason = "This function was programmatically called via the host APIs."
        if kind == TriggerType.TIMER.value:
            info = timer_info_json_manual()
            return TriggerCall(function.name, TriggerType.TIMER,
                               TypedValue(DataType.JSON, json.dumps(info)), {}, {}, reason)
        if kind == TriggerType.QUEUE.value:
            return queue_call(function.name, text, now, reason)
        if kind == TriggerType.BLOB.value:
            return await self._blob_call(function, text, reason)
        return TriggerCall(function.name, kind, TypedValue(DataType.STRING, text),
                           foreign_metadata(kind, now), {}, reason)

    async def _blob_call(self, function: TriggeredFunction, path: str,
                         reason: str) -> TriggerCall:
        spec = BindingSpec.from_dict({"name": function.trigger_param, "type": "blob",
                                      "direction": "in", "path": path.strip("/"),
                                      "connection": function.trigger.get("connection")})
        if "/" not in path.strip("/"):
            raise LookupError(f"'{path}' is not a blob path (container/blob)")
        value = await self.bindings.read(spec, {})
        if value is None:
            raise LookupError(f"blob '{path}' does not exist")
        container, _, blob = path.strip("/").partition("/")
        metadata = {"BlobTrigger": TypedValue(DataType.STRING, f"{container}/{blob}"),
                    "Properties": TypedValue(DataType.JSON, json.dumps(
                        {"Length": len(value.value)}))}
        return TriggerCall(function.name, TriggerType.BLOB, value, metadata,
                           {"blobTrigger": f"{container}/{blob}", "name": blob}, reason)


def timer_info_json_manual() -> dict[str, object]:
    return {"Schedule": {"AdjustForDST": True}, "ScheduleStatus": None, "IsPastDue": False}


def queue_call(function_name: str, text: str, now: datetime, reason: str) -> TriggerCall:
    message_id = str(uuid.uuid4())
    metadata = {"Id": TypedValue(DataType.STRING, message_id),
                "DequeueCount": TypedValue(DataType.JSON, "1"),
                "PopReceipt": TypedValue(DataType.STRING, ""),
                "InsertionTime": TypedValue(DataType.STRING, now.isoformat()),
                "ExpirationTime": TypedValue(DataType.STRING,
                                             (now + timedelta(days=7)).isoformat()),
                "NextVisibleTime": TypedValue(DataType.STRING, now.isoformat())}
    binding: dict[str, Any] = {"queueTrigger": text, "id": message_id, "dequeueCount": 1}
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        binding = {**parsed, **binding}
    return TriggerCall(function_name, TriggerType.QUEUE, TypedValue(DataType.STRING, text),
                       metadata, binding, reason)


def foreign_metadata(kind: str, now: datetime) -> dict[str, TypedValue]:
    """The least metadata the worker's converter of that trigger type reads."""
    if kind == "serviceBusTrigger":
        return {"UserProperties": TypedValue(DataType.JSON, "{}"),
                "MessageId": TypedValue(DataType.STRING, str(uuid.uuid4())),
                "DeliveryCount": TypedValue(DataType.JSON, "1"),
                "EnqueuedTimeUtc": TypedValue(DataType.STRING, now.isoformat())}
    if kind == "eventHubTrigger":
        return {"SystemProperties": TypedValue(DataType.JSON, "{}")}
    return {}

