"""The minimal in-process driver of the SDK: the baseline the durable figures are divided by.

It runs an orchestration of the benchmark app with the least code that still makes the SDK do
its whole job: build the orchestration trigger JSON, call the SDK's orchestrator handler, read
the activities it asks for, run them (``await`` the app's own async activity, all at once), append
their ``TaskScheduled`` / ``TaskCompleted`` events and call the handler again with every result
in one episode - until the SDK says it is done. No HTTP, no store, no host-side replay check, no
limits, no logging: what is left is the SDK's own cost (it parses and replays the whole history
every episode) plus the activities' own time, which is the floor the local host stands on.

The SDK takes the same fast paths as in the local host
(``emulator.worker.process.child.sdk_speedups``) and the process the same garbage-collector
settings (``emulator.host.server.tune_gc``), so the ratio compares like with like.

    python -m benchmarks.sdk_driver      # reads one JSON request per line on stdin:
    {"orchestrator": "fan_out", "input": {"count": 1000, "seconds": 0}}
    # and answers one JSON line: {"seconds": ..., "episodes": ..., "output": ...}

It runs as its own process (like the host) so that neither shares an interpreter with the load
client, and so that its peak memory (``VmHWM``) can be read the same way as the host's.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from emulator.host.server import tune_gc
from emulator.worker.process.child import sdk_speedups

APP = Path(__file__).parent / "app" / "function_app.py"


def load_functions(path: Path = APP) -> tuple[dict[str, Any], dict[str, Any]]:
    """(orchestrator handlers, activity functions) of the app, by name, via the SDK's own
    function index."""
    spec = importlib.util.spec_from_file_location("benchmark_app", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    orchestrators, activities = {}, {}
    for function in module.app.get_functions():
        kind = function.get_trigger().type
        target = orchestrators if kind == "orchestrationTrigger" else activities
        target[function.get_function_name()] = function.get_user_function()
    return orchestrators, activities


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _event(kind: int, moment: datetime, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    return {"EventType": kind, "EventId": event_id, "IsPlayed": False, "Timestamp": _ts(moment),
            **fields}


def _leaves(actions: list[Any]) -> list[dict[str, Any]]:
    """The activity calls in the SDK's (nested) action list, in sequence order."""
    found = []
    for action in actions:
        if isinstance(action, list):
            found += _leaves(action)
        elif action.get("compoundActions"):
            found += _leaves(action["compoundActions"])
        else:
            found.append(action)
    return found


async def drive(handler: Any, activities: dict[str, Any], input_value: Any) -> dict[str, Any]:
    """Run one orchestration to completion; its output, episodes and wall time."""
    started = time.perf_counter()
    clock = datetime.now(UTC)
    input_json = json.dumps(input_value)
    history = [_event(12, clock), _event(0, clock, Name="bench", Version="", Input=input_json,
                                        OrchestrationInstance={"InstanceId": "x"})]
    scheduled, episodes = 0, 0
    while True:
        episodes += 1
        context = {"history": history, "input": input_json, "instanceId": "x",
                   "isReplaying": False, "parentInstanceId": None, "upperSchemaVersion": 1,
                   "upperSchemaVersionNew": 2}
        state = json.loads(handler(json.dumps(context)))
        if state.get("isDone"):
            return {"seconds": time.perf_counter() - started, "episodes": episodes,
                    "output": state.get("output")}
        calls = _leaves(state["actions"])[scheduled:]
        if not calls:
            raise RuntimeError(f"the orchestrator waits for nothing: {state}")
        clock += timedelta(microseconds=1)
        for seq, call in enumerate(calls, scheduled):
            history.append(_event(4, clock, seq, Name=call["functionName"],
                                  Version="", Input=json.dumps([call.get("input")])))
        results = await asyncio.gather(*(activities[c["functionName"]](json.loads(c["input"]))
                                         for c in calls))
        clock = datetime.now(UTC)
        history.append(_event(12, clock))
        for seq, result in enumerate(results, scheduled):
            history.append(_event(5, clock, TaskScheduledId=seq, Result=json.dumps(result)))
        scheduled += len(calls)


async def serve(lines: Any, out: Any) -> None:
    orchestrators, activities = load_functions()
    tune_gc()
    for line in lines:
        if not line.strip():
            continue
        request = json.loads(line)
        answer = await drive(orchestrators[request["orchestrator"]], activities,
                             request.get("input"))
        out.write(json.dumps(answer) + "\n")
        out.flush()


def main() -> int:
    sdk_speedups.install()
    asyncio.run(serve(sys.stdin, sys.stdout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
