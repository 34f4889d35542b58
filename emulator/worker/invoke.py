"""The Python worker's side of an invocation: how the host calls the app's functions.

In Azure the Functions host sends each invocation to the Python worker, which converts the
binding data (the orchestration trigger JSON, the activity's JSON text), calls the user function
and converts its answer. These functions play the worker's part for the local host, with the
worker's own converters, so the app sees exactly the values it would see in Azure.
"""

from __future__ import annotations

import functools
import json
import traceback
from datetime import timedelta
from typing import Any

from ..core.replay import (
    NonDeterminismError,
    ReplayResult,
    UnsupportedActionError,
    replay,
    top_level_actions,
)
from ..protocol.entities import YIELDED_SIGNAL
from ..protocol.history import EventType, compact
from ..store.base import InstanceRecord
from .index import ActivityFunction
from .process.child.invoke import (
    InvocationContext,
    decode_activity_input,
    encode_activity_result,
    entity_context,
    entity_result,
)
from .timeouts import AbandoningExecutor, FunctionTimeout, call_with_timeout

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"


def activity_failure(name: str, exc: BaseException) -> tuple[str, str]:
    """Reason and Details of a TaskFailed event, in the formats the host writes (protocol 4.3).
    A timeout is the host's own exception, not the worker's: no type name, no RPC wrapper."""
    if isinstance(exc, FunctionTimeout):
        return f"Activity function '{name}' failed: {exc}", compact({
            "$type": "Microsoft.Azure.WebJobs.Host.FunctionTimeoutException, "
                     "Microsoft.Azure.WebJobs.Host",
            "ClassName": "Microsoft.Azure.WebJobs.Host.FunctionTimeoutException",
            "Message": str(exc), "Data": None, "InnerException": None})
    return failure_details(name, type(exc).__name__, str(exc),
                           "".join(traceback.format_exception(exc)).rstrip())


def failure_details(name: str, type_name: str, message: str, stack: str) -> tuple[str, str]:
    """Reason and Details of a TaskFailed event for an exception the worker reported (its type
    name, message and formatted stack): the RPC exception's format."""
    friendly = f" {type_name}: {message}"
    details = compact({
        "$type": "System.Exception, System.Private.CoreLib",
        "ClassName": "System.Exception",
        "Message": friendly,
        "Data": None,
        "InnerException": {
            "$type": "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException, "
                     "Microsoft.Azure.WebJobs.Script",
            "ClassName": "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException",
            "Message": f"Result: Failure\nException:{friendly}\nStack: {stack}",
            "RemoteStackTrace": stack,
        },
        "HelpURL": None,
        "StackTraceString": None,
        "HResult": -2146233088,
        "Source": None,
    })
    return f"Activity function '{name}' failed: {friendly}", details


def trigger_json(record: InstanceRecord, history: list[dict[str, Any]],
                 texts: list[str] | None = None) -> str:
    """The orchestration trigger's JSON string (protocol notes 1.1).

    ``texts``, when given, are the events already encoded (the engine keeps them), which spares
    re-encoding the whole history every episode.
    """
    input_json = next((e.get("Input") for e in history
                       if e["EventType"] == EventType.EXECUTION_STARTED), record.input)
    parent = record.parent["instance_id"] if record.parent else None
    placeholder = "\u0000history\u0000"
    body = json.dumps({
        "history": placeholder if texts is not None else history,
        "input": json.loads(input_json) if input_json is not None else None,
        "instanceId": record.instance_id,
        "isReplaying": False,
        "parentInstanceId": parent,
        "upperSchemaVersion": 1,
        "upperSchemaVersionNew": 2,
        "longRunningTimerIntervalDuration": "3.00:00:00",
        "maximumShortTimerDuration": "6.00:00:00",
        "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
    })
    if texts is None:
        return body
    return body.replace(json.dumps(placeholder), "[" + ",".join(texts) + "]", 1)


class OrchestratorRaised(Exception):
    """The SDK's handler raised before it produced an orchestrator state."""


def orchestrator_state(fn: Any, trigger: str) -> dict[str, Any]:
    """Call the SDK's orchestrator handler with the trigger JSON; its state (actions, output,
    error). The SDK reports an orchestrator's own exception inside the exception text, after
    ``$OutOfProcData$``; anything else raises ``OrchestratorRaised``."""
    try:
        return json.loads(fn(trigger))
    except Exception as exc:
        text = str(exc)
        if OUT_OF_PROC_MARKER not in text:
            raise OrchestratorRaised(text) from exc
        return json.loads(text.split(OUT_OF_PROC_MARKER, 1)[1].split("\nStack:", 1)[0])


def invoke_orchestrator(fn: Any, record: InstanceRecord, history: list[dict[str, Any]],
                         texts: list[str] | None = None,
                         ) -> tuple[dict | None, ReplayResult | None, str | None]:
    """Call the SDK's handler and replay its actions (runs in the orchestrator thread pool).

    Returns (state, replay result, failure message); a failure message means the instance fails
    now: the orchestrator could not run at all, was non-deterministic, or used an unsupported
    feature.
    """
    name = record.name
    if fn is None:
        return None, None, (f"Orchestrator function '{name}' failed: the function no longer "
                            "exists in the app")
    try:
        state = orchestrator_state(fn, trigger_json(record, history, texts))
    except OrchestratorRaised as exc:
        return None, None, f"Orchestrator function '{name}' failed: {exc}"
    try:
        replayed = replay(history, top_level_actions(state), record.execution_id)
    except NonDeterminismError as exc:
        return state, None, f"Non-Deterministic workflow detected: {exc}"
    except UnsupportedActionError as exc:
        return state, None, f"Orchestrator function '{name}' failed: {exc}"
    if replayed.waits_on_nothing(state):
        return state, None, f"Orchestrator function '{name}' failed: {YIELDED_SIGNAL}"
    return state, replayed, None


def invoke_entity(fn: Any, trigger: str) -> str:
    """Call an entity function with its batch (the worker wraps the trigger JSON in an
    ``EntityContext``; the SDK's handler answers the batch result JSON). Runs in a pool thread;
    exceptions propagate (the whole batch then fails)."""
    return entity_result(fn(entity_context(trigger)))


async def invoke_activity(activity: ActivityFunction, fn: Any, input_text: str | None,
                          pool: AbandoningExecutor, timeout: timedelta | None,
                          client_binding: str | None = None) -> str | None:
    """Decode the input as the worker does, call the activity (async on the loop, sync in the
    pool) for at most ``timeout`` and return its result as JSON text; exceptions (and
    ``FunctionTimeout``) propagate to the caller. ``client_binding``: the durable client
    binding's JSON, for an activity that takes one."""
    kwargs = activity_arguments(activity, input_text, client_binding)
    returned = await call_function(activity.function_name, fn, kwargs,
                                   activity.is_async, pool, timeout)
    return encode_activity_result(returned)


def activity_arguments(activity: ActivityFunction, input_text: str | None,
                       client_binding: str | None = None) -> dict[str, Any]:
    """The keyword arguments of an activity call: its input decoded as the worker does, its
    context and its durable client binding if it takes them."""
    kwargs = {activity.input_param: decode_activity_input(input_text)}
    if activity.wants_context:
        kwargs["context"] = InvocationContext(activity.function_name)
    if activity.client_param:
        kwargs[activity.client_param] = client_binding
    return kwargs


async def call_function(name: str, fn: Any, kwargs: dict[str, Any], is_async: bool,
                        pool: AbandoningExecutor, timeout: timedelta | None) -> Any:
    """Call one of the app's functions as the worker does: a coroutine function on the loop, a
    plain function in the worker's thread pool; at most ``timeout`` (``FunctionTimeout``).
    Exceptions propagate to the caller."""
    if is_async:
        if timeout is None:  # what call_with_timeout does then, without its frame
            return await fn(**kwargs)
        return await call_with_timeout(name, timeout, fn(**kwargs))
    return await call_with_timeout(name, timeout, pool=pool, fn=functools.partial(fn, **kwargs))
