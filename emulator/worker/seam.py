"""The worker seam: the one door through which the runtime runs the app's code.

The runtime (``emulator/runtime/``) never calls an app function, an SDK handler or a converter
itself: it asks a ``Worker`` to

- run an orchestrator over an instance's history (``orchestrator(name)`` gives the call that the
  episode step makes, in the runtime's orchestrator thread);
- run an activity (``run_activity``), giving its result as JSON text; a worker may also start
  one without the caller awaiting it in a task (``start_activity``, optional: the in-process
  worker does so for a 2.x app's ``async def`` activities, which run on the app's own loop);
- run an entity batch (``entity(name)`` gives the call the entity step makes, in a thread);
- or, for a worker whose episodes and batches only wait for someone else to run them (the
  durabletask workers of ``workitems/``), give awaitable forms of those two calls
  (``AwaitingWorker``, optional): the runtime then awaits them on its loop, with no thread
  waiting; the other workers keep the threaded calls, whose thread a stuck orchestrator can be
  abandoned in past ``functionTimeout`` (``pool.py``);
- run an HTTP function (``run_http``) on a request given as plain data (``HttpCall``), answering
  plain data (``HttpReply``);
- run a triggered function (``run_triggered``: timer, queue, blob, ...) on a ``TriggerCall`` and
  its input bindings' values, answering its output bindings' values (typed values);

and it reads what the app holds from ``worker.app``, the function index (``index.py``: names,
trigger kinds, routes, bindings; plain data, no code). All values crossing the seam are JSON text
or plain data, so a worker may live in another process (framed JSON over pipes) or speak another
SDK wire protocol (the 2.x SDK's protobuf) without the runtime knowing: implement ``Worker`` and
give it to the host (``runtime.build_engine(..., worker=...)``). ``InProcessWorker`` is today's
worker: the app imported into the host's process, functions called on the loop (``async def``)
or in a thread pool (``def``).

Errors: ``run_activity``, ``run_http`` and ``run_triggered`` raise what the function raised
(``FunctionTimeout`` past ``functionTimeout``); the orchestrator call never raises (its failure
is a message in its result); the entity call raises when the whole batch fails.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

import azure.functions as func

from ..core.replay import ReplayResult
from ..protocol.triggers import TriggerCall, TypedValue
from ..store.base import InstanceRecord
from . import sdk2
from .app_loop import AppLoop, AppLoopCall
from .index import ActivityFunction, FunctionIndex, HttpFunction, TriggeredFunction
from .invoke import (
    InvocationContext,
    activity_arguments,
    activity_failure,
    call_function,
    encode_activity_result,
    invoke_activity,
    invoke_entity,
    invoke_orchestrator,
)
from .loader import LoadedApp
from .pool import AbandonablePool
from .sdk2 import SdkGeneration
from .triggered import annotations, binding_arguments, binding_outputs, invoke_triggered

# (record, history, encoded history events or None) -> (SDK state, replay result, failure)
OrchestratorCall = Callable[[InstanceRecord, list[dict[str, Any]], list[str] | None],
                            tuple[dict | None, ReplayResult | None, str | None]]
# the entity trigger JSON (a batch) -> the batch result JSON
EntityCall = Callable[[str], str]
# the same two calls, awaited (``AwaitingWorker``)
AwaitedOrchestratorCall = Callable[
    [InstanceRecord, list[dict[str, Any]], list[str] | None],
    Awaitable[tuple[dict | None, ReplayResult | None, str | None]]]
AwaitedEntityCall = Callable[[str], Awaitable[str]]
# The activity work item ``run_activity`` runs (the runtime sets it in the activity's task): a
# worker that needs the instance and task id (a durabletask ``ActivityRequest``) reads it here.
CURRENT_ACTIVITY: contextvars.ContextVar[Any] = contextvars.ContextVar("current_activity",
                                                                        default=None)


@dataclass(frozen=True)
class HttpCall:
    """An HTTP request for an app function, as plain data."""
    method: str
    url: str
    headers: dict[str, str]
    query: dict[str, str]
    route_params: dict[str, str]
    body: bytes
    client_binding: str | None = None  # the durable client binding's JSON, if it takes one
    inputs: dict[str, TypedValue | None] = field(default_factory=dict)  # storage inputs


@dataclass(frozen=True)
class HttpReply:
    """What an HTTP function answered, as plain data: a response, or (``is_json``) a value for
    the edge to write as JSON."""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    content_type: str | None = None  # when not in ``headers``
    value: Any = None
    is_json: bool = False
    outputs: dict[str, TypedValue | None] = field(default_factory=dict)  # storage outputs


class Worker(Protocol):
    """Runs the app's functions for the runtime; see the module docstring."""

    @property
    def app(self) -> FunctionIndex:
        """The app's function index (plain data)."""
        ...

    def orchestrator(self, name: str) -> OrchestratorCall:
        """The call that runs orchestrator ``name`` over a history; never raises (an orchestrator
        missing from the app fails the instance with a message)."""
        ...

    def entity(self, name: str) -> EntityCall | None:
        """The call that runs one batch of entity ``name``; None if the app has no such entity."""
        ...

    async def run_activity(self, activity: ActivityFunction, input_text: str | None,
                           timeout: timedelta | None) -> str | None:
        """Run an activity on its input (JSON text); its result as JSON text."""
        ...

    def activity_failure(self, name: str, exc: BaseException) -> tuple[str, str]:
        """Reason and Details of the TaskFailed event for an activity that raised ``exc``."""
        ...

    async def run_http(self, function: HttpFunction, call: HttpCall,
                       timeout: timedelta | None) -> HttpReply:
        """Run an HTTP function on a request."""
        ...

    async def run_triggered(self, function: TriggeredFunction, call: TriggerCall,
                            inputs: dict[str, TypedValue | None], client_binding: str | None,
                            timeout: timedelta | None) -> dict[str, TypedValue | None]:
        """Run a triggered function on its trigger call and input values; its outputs."""
        ...

    @property
    def replaced_threads(self) -> int:
        """Threads given up after functionTimeout (each replaced by a new one)."""
        ...

    def close(self) -> None:
        """Stop; calls still running are abandoned."""
        ...


@runtime_checkable
class AwaitingWorker(Protocol):
    """A worker whose orchestrator episodes and entity batches wait without a thread: their
    calls are coroutines the runtime awaits on its loop (``awaiting``), instead of the
    ``orchestrator`` / ``entity`` calls it runs in its orchestrator pool. For a worker that
    hands the work to someone else and waits for the answer (a work item for a connected
    durabletask worker), so that any number of them may wait at once.

    The contracts are those of the threaded calls (the orchestrator call never raises; the
    entity call raises when the whole batch fails), plus: cancelling the await gives the call
    up (nothing of it may reach the runtime later), and the runtime bounds it by no deadline
    (``functionTimeout`` abandons a stuck thread; here the one that runs the call bounds it).
    Their CPU work (building a request, reading the answer) runs on the runtime's loop."""

    def awaited_orchestrator(self, name: str) -> AwaitedOrchestratorCall:
        """``orchestrator(name)``, awaited."""
        ...

    def awaited_entity(self, name: str) -> AwaitedEntityCall | None:
        """``entity(name)``, awaited; None if there is no such entity."""
        ...


def awaiting(worker: Worker) -> AwaitingWorker | None:
    """``worker`` if its episodes and batches are awaited (``AwaitingWorker``), else None."""
    return worker if isinstance(worker, AwaitingWorker) else None


class StartedActivity(AppLoopCall):
    """An activity started by ``InProcessWorker.start_activity`` (the app loop's call itself,
    no wrapper): ``answer`` is done (a future of the caller's loop) when it ended, and
    ``when_answered`` says so; ``stop()`` cancels it (and nothing is answered then)."""

    __slots__ = ()

    def when_answered(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once ``answer`` is done, as it is settled (not for a stop)."""
        self.on_answer = callback

    def result_text(self) -> str | None:
        """Its result as JSON text (as ``run_activity`` gives it); raises what it raised."""
        return encode_activity_result(self.answer.result())

    def stop(self) -> None:
        try:
            super().stop()
        except RuntimeError:
            pass  # the app loop is closed: nothing runs there any more


class InProcessWorker:
    """The app imported into this process; ``def`` functions run in a pool of ``threads``."""

    def __init__(self, app: LoadedApp, threads: int) -> None:
        self._app = app
        # Synchronous functions; a call past functionTimeout gives its thread up (replaced).
        self.pool = AbandonablePool(max(1, threads), "functions")
        # The durable client binding's JSON for activities that take one (the host sets it
        # once its endpoints listen).
        self.client_binding: str | None = None
        # A 2.x app's async functions (all of them) run on a loop of their own, as in the
        # Python worker: its durable client may block that loop on a synchronous call to the
        # host's gRPC endpoint, which runs on the host's loop (app_loop.py says more).
        self._v2 = getattr(app, "sdk", SdkGeneration.V1) == SdkGeneration.V2
        self._app_loop: AppLoop | None = AppLoop() if self._v2 else None

    @property
    def app(self) -> LoadedApp:
        return self._app

    @property
    def app_event_loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop of a 2.x app's ``async def`` functions (None: they run on the caller's)."""
        return self._app_loop.loop if self._app_loop is not None else None

    def orchestrator(self, name: str) -> OrchestratorCall:
        function = self._app.orchestrator(name)
        code = self._app.code_of(function) if function else None
        if self._v2:  # protobuf in, protobuf out (sdk2/)
            return functools.partial(sdk2.invoke_orchestrator,
                                     sdk2.in_process(code) if code else None)
        return functools.partial(invoke_orchestrator, code)

    def entity(self, name: str) -> EntityCall | None:
        function = self._app.entity(name)
        if function is None:
            return None
        if self._v2:
            return sdk2.entity_invoker(sdk2.in_process(self._app.code_of(function)))
        return functools.partial(invoke_entity, self._app.code_of(function))

    async def run_activity(self, activity: ActivityFunction, input_text: str | None,
                           timeout: timedelta | None) -> str | None:
        if input_text is None and self._v2:
            input_text = "null"  # a 2.x activity scheduled without input (1.x always sends one)
        code = self._app.code_of(activity)
        if self._app_loop is not None and activity.is_async:
            code = self._app_loop.wrap(code)
        return await invoke_activity(activity, code, input_text, self.pool, timeout,
                                     self.client_binding)

    def start_activity(self, activity: ActivityFunction,
                       input_text: str | None) -> StartedActivity | None:
        """Start an ``async def`` activity of a 2.x app on the app's loop, with no task of the
        caller's own (a fan-out of 1000 activities made 1000 tasks, each only waiting for the
        app loop's answer); None when the activity runs otherwise (``run_activity``). Raises
        what decoding its input or calling it raises. The caller bounds it (``functionTimeout``)
        and reads the result text from ``result_text()`` once answered. ``CURRENT_ACTIVITY``
        is not set for it (it is for ``run_activity``; this worker does not read it)."""
        if self._app_loop is None or not activity.is_async:
            return None
        if input_text is None:
            input_text = "null"  # as run_activity
        kwargs = activity_arguments(activity, input_text, self.client_binding)
        return self._app_loop.start(self._app.code_of(activity), kwargs, StartedActivity)

    def activity_failure(self, name: str, exc: BaseException) -> tuple[str, str]:
        return activity_failure(name, exc)

    async def run_http(self, function: HttpFunction, call: HttpCall,
                       timeout: timedelta | None) -> HttpReply:
        request = func.HttpRequest(method=call.method, url=call.url, headers=call.headers,
                                   params=call.query, route_params=call.route_params,
                                   body=call.body)
        kwargs: dict[str, Any] = {function.request_param: request}
        if function.client_param:
            kwargs[function.client_param] = call.client_binding
        if function.wants_context:
            kwargs["context"] = InvocationContext(function.name)
        for other in function.other_inputs:
            kwargs[other.split(" ")[0]] = None
        code = self._app.code_of(function)
        if self._app_loop is not None and function.is_async:
            code = self._app_loop.wrap(code)
        outs: dict[str, Any] = {}
        if function.bindings:
            extra, outs = binding_arguments(function.bindings, call.inputs,
                                            annotations(self._app.code_of(function)))
            kwargs.update(extra)
        result = await call_function(function.name, code, kwargs, function.is_async, self.pool,
                                     timeout)
        reply = http_reply(result)
        if function.bindings:
            http_out = [b for b in function.bindings if b["name"] != "$return"]
            reply = dataclasses.replace(reply, outputs=binding_outputs(http_out, outs, None))
        return reply

    async def run_triggered(self, function: TriggeredFunction, call: TriggerCall,
                            inputs: dict[str, TypedValue | None], client_binding: str | None,
                            timeout: timedelta | None) -> dict[str, TypedValue | None]:
        code = self._app.code_of(function)
        wrapped = self._app_loop.wrap(code) if self._app_loop is not None and \
            function.is_async else code
        return await invoke_triggered(function, wrapped, call, inputs, client_binding,
                                      InvocationContext(function.name), self.pool, timeout,
                                      hints_of=code)

    @property
    def replaced_threads(self) -> int:
        return self.pool.replaced

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self._app_loop is not None:
            self._app_loop.close()


def http_reply(result: Any) -> HttpReply:
    """An HTTP function's return value as the Python worker answers it: an ``HttpResponse`` as
    is, None as 204, str/bytes as text/plain, anything else as JSON."""
    if isinstance(result, func.HttpResponse):
        headers = {k: v for k, v in result.headers.items()}
        if not any(k.lower() == "content-type" for k in headers):
            mimetype = result.mimetype or "text/plain"
            headers["Content-Type"] = f"{mimetype}; charset={result.charset or 'utf-8'}"
        return HttpReply(result.status_code, headers, result.get_body())
    if result is None:
        return HttpReply(204)
    if isinstance(result, bytes | str):
        return HttpReply(200, body=result if isinstance(result, bytes) else result.encode(),
                         content_type="text/plain")
    return HttpReply(value=result, is_json=True)


__all__ = ["AppLoop", "AwaitedEntityCall", "AwaitedOrchestratorCall", "AwaitingWorker",
           "CURRENT_ACTIVITY", "EntityCall", "HttpCall", "HttpReply", "InProcessWorker",
           "OrchestratorCall", "Worker", "awaiting", "http_reply"]
