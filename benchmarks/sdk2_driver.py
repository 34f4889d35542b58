"""The minimal in-process driver of the 2.x SDK: the baseline the 2.x figures are divided by.

``sdk_driver.py``'s idea for ``azure-functions-durable`` 2.x (Python 3.13+): it runs an
orchestration of ``benchmarks/sdk2_app`` with durabletask's own orchestration executor
(``durabletask.worker._OrchestrationExecutor``, the one the SDK's Functions handler runs,
registered through the SDK's v1 compatibility wrapper as the handler does) fed protobuf history
events built in memory, and runs the activities it schedules by calling the app's registered
activity function as the Functions worker does (JSON in, ``await``, JSON out, all at once). Each
episode replays the whole history as ``old_events`` with the new ``TaskCompleted`` events as
``new_events`` - until the executor returns a ``completeOrchestration`` action. No host, no
gRPC, no base64 protobuf request/response encoding, no store, no logging: the 2.x SDK's own
replay cost plus the activities' time, the floor a host of the 2.x SDK stands on.

``"through": "handler"`` runs the same episodes through the SDK's orchestrator handler instead
(``azure.durable_functions.Orchestrator.handle``, what a Functions worker calls): each episode's
history as the base64 ``OrchestratorRequest`` the host sends, and the base64
``OrchestratorResponse`` parsed back. Still no host: what the wire protocol alone adds to the
executor, which no host of the 2.x SDK can avoid.

``"through": "handoffs"`` also crosses threads as the local host does, with its own machinery
and nothing else of it: each episode's handler call runs in an orchestrator pool thread
(``emulator.worker.pool.AbandonablePool.run``, awaited from the driver's loop, as the host
isolates orchestrator code for ``functionTimeout``), and each activity on an app loop of its own
(``emulator.worker.app_loop.AppLoop``, as the host runs a 2.x app's ``async def`` functions):
two round trips between threads per step of a chain. No store, engine, HTTP or gRPC: the floor of
the host's design over the protocol's.

    python -m benchmarks.sdk2_driver     # (the 2.x interpreter) one JSON request per line:
    {"orchestrator": "fan_out", "input": {"count": 1000, "seconds": 0}}
    {"orchestrator": "chain", "input": 50, "through": "handler"}
    {"orchestrator": "chain", "input": 50, "through": "handoffs"}
    # and answers one JSON line: {"seconds": ..., "episodes": ..., "output": ...}
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import inspect
import json
import logging
import sys
import time
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

APP = Path(__file__).parent / "sdk2_app" / "function_app.py"
QUIET = logging.getLogger("benchmarks.sdk2_driver")
QUIET.setLevel(logging.WARNING)


class Through(StrEnum):
    """What runs an episode: durabletask's executor, or the SDK's handler around it."""

    EXECUTOR = "executor"
    HANDLER = "handler"
    HANDOFFS = "handoffs"  # the handler in a pool thread, the activities on an app loop


class HostThreads:
    """The local host's two hand-offs (made on first use): its orchestrator pool and an app
    loop."""

    def __init__(self) -> None:
        from emulator.worker.app_loop import AppLoop
        from emulator.worker.pool import AbandonablePool

        self.pool = AbandonablePool(2, "orchestrator")  # the host's default size
        self.app_loop = AppLoop()


class Sdk2App:
    """The app's orchestrators (in durabletask's registry) and activities, by name."""

    def __init__(self, path: Path = APP) -> None:
        from azure.durable_functions import Orchestrator
        from azure.durable_functions.internal.compat.orchestration_context import (
            wrap_orchestrator,
        )
        from azure.durable_functions.internal.serialization import (
            DEFAULT_FUNCTIONS_DATA_CONVERTER,
        )
        from durabletask.worker import _OrchestrationExecutor, _Registry

        spec = importlib.util.spec_from_file_location("benchmark_sdk2_app", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.registry = _Registry()
        self.executor_type = _OrchestrationExecutor
        self.converter = DEFAULT_FUNCTIONS_DATA_CONVERTER
        self.activities: dict[str, tuple[Any, str]] = {}  # name -> (function, input param)
        self.handlers: dict[str, Any] = {}  # orchestrator name -> the SDK's handler (base64)
        self._threads: HostThreads | None = None
        for function in module.app.get_functions():
            kind, handler = function.get_trigger(), function.get_user_function()
            if kind.type == "orchestrationTrigger":
                self.registry.add_named_orchestrator(
                    function.get_function_name(), wrap_orchestrator(handler.orchestrator_function))
                self.handlers[function.get_function_name()] = Orchestrator(
                    handler.orchestrator_function).handle
            elif kind.type == "activityTrigger":
                self.activities[function.get_function_name()] = (handler, kind.name)

    async def activity(self, name: str, encoded_input: str | None) -> str:
        """One activity call as the Functions worker makes it: JSON text in and out."""
        fn, param = self.activities[name]
        value = fn(**{param: None if encoded_input is None else json.loads(encoded_input)})
        if inspect.isawaitable(value):
            value = await value
        return json.dumps(value)

    @property
    def threads(self) -> HostThreads:
        if self._threads is None:
            self._threads = HostThreads()
        return self._threads

    async def episode(self, name: str, old: list[Any], new: list[Any],
                      through: Through) -> Any:
        """One episode's actions, run as ``through`` says."""
        if through is Through.HANDOFFS:
            return await self.threads.pool.run(None, self.handled, name, old, new)
        if through is Through.HANDLER:
            return self.handled(name, old, new)
        executor = self.executor_type(self.registry, QUIET, self.converter)
        return executor.execute("x", old, new).actions

    def activity_call(self, through: Through) -> Any:
        """``activity``, or (``HANDOFFS``) the same on the app loop, awaited from this one."""
        return self.threads.app_loop.wrap(self.activity) if through is Through.HANDOFFS \
            else self.activity

    def handled(self, name: str, old: list[Any], new: list[Any]) -> Any:
        """One episode through the SDK's handler: the request and response as a host sends
        and reads them (base64 protobuf); the response's actions."""
        from durabletask.internal import orchestrator_service_pb2 as pb

        request = pb.OrchestratorRequest(instanceId="x", pastEvents=old, newEvents=new)
        answer = self.handlers[name](base64.b64encode(request.SerializeToString()).decode())
        return pb.OrchestratorResponse.FromString(base64.b64decode(answer)).actions


async def drive(app: Sdk2App, name: str, input_value: Any,
                through: Through = Through.EXECUTOR) -> dict[str, Any]:
    """Run one orchestration to completion; its output, episodes and wall time."""
    from durabletask.internal import helpers
    from durabletask.internal import orchestrator_service_pb2 as pb

    activity = app.activity_call(through)
    started = time.perf_counter()
    old: list[Any] = []
    new = [helpers.new_orchestrator_started_event(datetime.now(UTC)),
           helpers.new_execution_started_event(name, "x", json.dumps(input_value))]
    episodes = 0
    while True:
        episodes += 1
        actions = await app.episode(name, old, new, through)
        old += new
        done = [a for a in actions if a.HasField("completeOrchestration")]
        if done:
            complete = done[0].completeOrchestration
            if complete.orchestrationStatus != pb.ORCHESTRATION_STATUS_COMPLETED:
                raise RuntimeError(f"{name} did not complete: {complete}")
            return {"seconds": time.perf_counter() - started, "episodes": episodes,
                    "output": json.loads(complete.result.value)}
        calls = [a for a in actions if a.HasField("scheduleTask")]
        if not calls:
            raise RuntimeError(f"the orchestrator waits for nothing: {actions}")
        old += [helpers.new_task_scheduled_event(a.id, a.scheduleTask.name,
                                                 a.scheduleTask.input.value) for a in calls]
        results = await asyncio.gather(*(activity(name=a.scheduleTask.name,
                                                  encoded_input=a.scheduleTask.input.value or None)
                                         for a in calls))
        new = [helpers.new_orchestrator_started_event(datetime.now(UTC))]
        new += [helpers.new_task_completed_event(a.id, result)
                for a, result in zip(calls, results, strict=True)]


async def serve(lines: Any, out: Any) -> None:
    from emulator.host.server import tune_gc

    app = Sdk2App()
    tune_gc()
    for line in lines:
        if not line.strip():
            continue
        request = json.loads(line)
        answer = await drive(app, request["orchestrator"], request.get("input"),
                             Through(request.get("through", Through.EXECUTOR)))
        out.write(json.dumps(answer) + "\n")
        out.flush()


def main() -> int:
    asyncio.run(serve(sys.stdin, sys.stdout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
