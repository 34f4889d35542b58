"""``ProcessWorker``: the worker seam (``seam.Worker``) over worker processes.

What crosses the seam is already JSON text or plain data, and crosses the pipe as it is: the
orchestration trigger JSON out and the SDK's state JSON back, an entity batch and its result, an
activity's input and result, an HTTP request and response. The host keeps the replay of the
SDK's actions (``invoke.invoke_orchestrator``), so an episode is one round trip.

Failures end as the Functions host ends them:
- the app's exception: an activity fails with the worker's type, message and stack (the RPC
  exception's format), an HTTP function answers 500, a batch fails, an orchestrator's own
  exception fails its instance (the SDK's state rides in the message, as in process);
- ``functionTimeout``: ``FunctionTimeout`` (the host's message) and the worker is restarted;
- the worker process exits: an activity or HTTP call in flight fails with the host's
  ``<python> exited with code N (0xN)``; an orchestration episode or entity batch is run again
  on the replacement (the extension abandons and retries the work item), at most
  ``EPISODE_ATTEMPTS`` times in a row before it fails with that message.
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from ...protocol.history import compact
from .. import sdk2
from ..index import ActivityFunction, AppLoadError, FunctionIndex, HttpFunction
from ..invoke import activity_failure, failure_details, invoke_orchestrator
from ..loader import read_host_json
from ..sdk2 import SdkGeneration
from ..seam import EntityCall, HttpCall, HttpReply, OrchestratorCall
from ..timeouts import FunctionTimeout, function_timeout
from .errors import (
    FunctionFailed,
    InvocationTimedOut,
    WorkerError,
    WorkerExited,
    WorkerRestarted,
    WorkerStartError,
)
from .pool import PoolSettings, WorkerPool
from .remote_app import in_process_reason, remote_app

log = logging.getLogger("emulator")

EPISODE_ATTEMPTS = 5
EXIT_TYPE = "Microsoft.Azure.WebJobs.Script.Workers.WorkerProcessExitException"


class RemoteError(Exception):
    """An exception of the app as the worker reported it (``str`` is the worker's message)."""


def _seconds(timeout: timedelta | None) -> float | None:
    return None if timeout is None else timeout.total_seconds()


class ProcessWorker:
    """The app in ``FUNCTIONS_WORKER_PROCESS_COUNT`` processes of its own interpreter."""

    def __init__(self, pool: WorkerPool, app: FunctionIndex,
                 orchestrator_timeout: float | None) -> None:
        self.pool = pool
        self._app = app
        self.orchestrator_timeout = orchestrator_timeout
        self.in_process_reason = in_process_reason(pool.functions)
        # a 2.x app: orchestrators and entities take and answer base64 protobuf, which the host
        # builds and reads (``sdk2``); the workers pass the text through
        self._v2 = getattr(app, "sdk", SdkGeneration.V1) == SdkGeneration.V2
        # The durable client binding's JSON for 2.x activities that take one (the host sets it
        # once its endpoints listen).
        self.client_binding: str | None = None

    @classmethod
    async def start(cls, settings: PoolSettings,
                    orchestrator_timeout: float | None = None) -> ProcessWorker:
        """Start the workers and index the app (AppLoadError saying why it cannot)."""
        host_json = read_host_json(Path(settings.app_dir))
        pool = WorkerPool(settings)
        try:
            functions = await pool.start()
        except WorkerStartError as exc:
            raise AppLoadError(str(exc)) from exc
        try:
            app = remote_app(Path(settings.app_dir), host_json, functions)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, app, orchestrator_timeout)

    @property
    def app(self) -> FunctionIndex:
        return self._app

    # -- orchestrators and entities: sync calls from the runtime's threads -------------------

    def _again_on_exit(self, kind: str, function: str, text: str,
                       timeout: float | None) -> str:
        """One call; run again on the replacement when the worker exits under it."""
        for attempt in range(1, EPISODE_ATTEMPTS + 1):
            try:
                reply = self.pool.invoke_blocking(kind, function, None, text.encode(), timeout)
                return reply.text or ""
            except FunctionFailed as exc:
                raise RemoteError(exc.message) from None
            except InvocationTimedOut as exc:
                message = (f"it did not return within {exc.seconds:g} s (host.json "
                           "functionTimeout); its worker process was restarted")
                raise RemoteError(f"{message}. Stuck at:\n{exc.stack.rstrip()}" if exc.stack
                                  else message) from None
            except WorkerExited as exc:
                if attempt == EPISODE_ATTEMPTS:
                    raise RemoteError(f"{exc} ({attempt} times in a row)") from None
                log.warning("Functions.%s: %s; the worker is replaced and the %s runs again "
                            "(attempt %d)", function, exc,
                            "episode" if kind == "orchestrator" else "batch", attempt + 1)
        raise AssertionError("unreachable")

    def orchestrator(self, name: str) -> OrchestratorCall:
        function = self._app.orchestrator(name)
        invoke = sdk2.invoke_orchestrator if self._v2 else invoke_orchestrator
        if function is None:
            return functools.partial(invoke, None)
        handler = functools.partial(self._again_on_exit, "orchestrator",
                                    function.function_name, timeout=self.orchestrator_timeout)
        return functools.partial(invoke, handler)

    def entity(self, name: str) -> EntityCall | None:
        function = self._app.entity(name)
        if function is None:
            return None
        handler = functools.partial(self._again_on_exit, "entity", function.function_name,
                                    timeout=_seconds(function_timeout(self._app.host_json)))
        return sdk2.entity_invoker(handler) if self._v2 else handler

    # -- activities and HTTP functions: on the loop ------------------------------------------

    async def run_activity(self, activity: ActivityFunction, input_text: str | None,
                           timeout: timedelta | None) -> str | None:
        if input_text is None and self._v2:
            input_text = "null"  # a 2.x activity scheduled without input (1.x always sends one)
        body = None if input_text is None else input_text.encode()
        fields = {"client": self.client_binding} if activity.client_param else None
        while True:
            try:
                reply = await self.pool.invoke("activity", activity.function_name, fields, body,
                                               _seconds(timeout))
            except InvocationTimedOut:
                raise FunctionTimeout(timeout, activity.function_name) from None
            except WorkerRestarted as exc:
                # Another call's timeout restarted the worker: as when the Functions host
                # restarts, the work item is delivered again and the activity runs again.
                log.warning("Functions.%s: %s; it runs again on the restarted worker",
                            activity.function_name, exc)
                continue
            return reply.text

    def activity_failure(self, name: str, exc: BaseException) -> tuple[str, str]:
        if isinstance(exc, FunctionFailed):
            return failure_details(name, exc.type_name, exc.message, exc.stack.rstrip())
        if isinstance(exc, WorkerExited):
            return f"Activity function '{name}' failed: {exc}", compact({
                "$type": f"{EXIT_TYPE}, Microsoft.Azure.WebJobs.Script",
                "ClassName": EXIT_TYPE, "Message": str(exc), "Data": None,
                "InnerException": None})
        return activity_failure(name, exc)

    async def run_http(self, function: HttpFunction, call: HttpCall,
                       timeout: timedelta | None) -> HttpReply:
        fields: dict[str, Any] = {
            "method": call.method, "url": call.url, "headers": call.headers,
            "params": call.query, "route_params": call.route_params,
            "client": call.client_binding,
            "other_inputs": [other.split(" ")[0] for other in function.other_inputs]}
        try:
            reply = await self.pool.invoke("http", function.name, fields, call.body,
                                           _seconds(timeout))
        except InvocationTimedOut:
            raise FunctionTimeout(timeout, function.name) from None
        except FunctionFailed as exc:
            exc.add_note(f"In the worker process:\n{exc.stack.rstrip()}")
            raise
        if reply.fields.get("json"):
            return HttpReply(value=json.loads(reply.body), is_json=True)
        return HttpReply(reply.fields.get("status", 200), reply.fields.get("headers") or {},
                         reply.body)

    async def run_triggered(self, function: Any, call: Any, inputs: Any,
                            client_binding: str | None, timeout: timedelta | None) -> Any:
        """Never called: an app with timer, queue or blob triggers is served in process
        (``in_process_reason``)."""
        raise WorkerError(f"Functions.{function.name}: worker processes do not run functions "
                          "with other triggers; the host serves such apps in process")

    def describe(self) -> str:
        settings = self.pool.settings
        first = next((w for w in self.pool.workers if w is not None), None)
        version = f" (Python {first.python_version})" if first else ""
        return (f"{settings.processes} worker process(es) of {settings.python}{version}, "
                f"{settings.threads} thread(s) each")

    @property
    def replaced_threads(self) -> int:
        return self.pool.restarts

    def close(self) -> None:
        self.pool.close_now()

    async def wait_closed(self) -> None:
        """After ``close``: wait for the processes to end (killed after a grace period) and
        release their pipes, before the event loop closes."""
        await self.pool.close()
