"""The replay check: does today's orchestrator code still resume a recorded history?

Runs the app's orchestrator function over the history (as an episode would, without a host) and
replays its actions against the recorded events.
"""

from __future__ import annotations

from typing import Any

from ..core.replay import NonDeterminismError, UnsupportedActionError, replay, top_level_actions
from ..protocol.enums import EventType
from ..store.base import InstanceRecord
from . import sdk2
from .invoke import OrchestratorRaised, orchestrator_state, trigger_json


def check_replay(fn: Any, record: dict[str, Any], history: list[dict[str, Any]], *,
                 sdk: sdk2.SdkGeneration = sdk2.SdkGeneration.V1) -> tuple[bool, str]:
    """Re-run the current orchestrator code over a recorded history.

    Returns (deterministic, report). The report names the first step whose recorded action the
    current code no longer takes, or says how many recorded steps the code reproduced.
    """
    inst = InstanceRecord(**{k: record.get(k) for k in InstanceRecord.__dataclass_fields__})
    if sdk == sdk2.SdkGeneration.V2:
        return _check_v2(fn, inst, history)
    try:
        state = orchestrator_state(fn, trigger_json(inst, history))
    except OrchestratorRaised as exc:
        return False, f"the orchestrator raised before producing actions: {exc}"
    try:
        result = replay(history, top_level_actions(state), inst.execution_id or "replay")
    except NonDeterminismError as exc:
        return False, f"NON-DETERMINISTIC: {exc}"
    except UnsupportedActionError as exc:
        return False, str(exc)
    recorded = sum(1 for e in history if e["EventType"] in (
        EventType.TASK_SCHEDULED, EventType.TIMER_CREATED, EventType.SUB_ORCHESTRATION_CREATED))
    report = f"deterministic: the current code reproduces all {recorded} recorded steps"
    ended = any(e["EventType"] == EventType.EXECUTION_COMPLETED for e in history)
    if result.new_work:
        first = result.new_work[0]
        report += (f"; it would now also schedule {len(result.new_work)} new step(s), first "
                   f"#{first.seq} {first.kind} {first.name or ''}".rstrip())
        if ended:
            return False, (f"NON-DETERMINISTIC: the recorded execution completed, but the current "
                           f"code schedules #{first.seq} {first.kind} {first.name or ''}".rstrip())
    if state.get("error"):
        report += f"; the orchestrator now raises: {state['error']}"
    return True, report


def _recorded_steps(history: list[dict[str, Any]]) -> int:
    return sum(1 for e in history if e["EventType"] in (
        EventType.TASK_SCHEDULED, EventType.TIMER_CREATED, EventType.SUB_ORCHESTRATION_CREATED))


def _check_v2(fn: Any, inst: InstanceRecord, history: list[dict[str, Any]]) -> tuple[bool, str]:
    """The 2.x SDK replays history itself (durabletask's non-determinism checks): a failure it
    reports as non-determinism is one; new actions after a completed execution are too."""
    state, replayed, failure = sdk2.invoke_orchestrator(sdk2.in_process(fn), inst, history)
    if failure is not None:
        return False, failure
    details = state.get("failureDetails") or {}
    if "NonDeterminism" in (details.get("ErrorType") or ""):
        return False, f"NON-DETERMINISTIC: {details.get('ErrorMessage')}"
    report = (f"deterministic: the current code reproduces all {_recorded_steps(history)} "
              "recorded steps")
    ended = any(e["EventType"] == EventType.EXECUTION_COMPLETED for e in history)
    if replayed.new_work:
        first = replayed.new_work[0]
        what = f"#{first.seq} {first.kind} {first.name or ''}".rstrip()
        if ended:
            return False, ("NON-DETERMINISTIC: the recorded execution completed, but the current "
                           f"code schedules {what}")
        report += f"; it would now also schedule {len(replayed.new_work)} new step(s), first {what}"
    if state.get("error"):
        report += f"; the orchestrator now raises: {state['error']}"
    return True, report
