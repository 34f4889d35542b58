"""The replay check: does today's orchestrator code still resume a recorded history?

Runs the app's orchestrator function over the history (as an episode would, without a host) and
replays its actions against the recorded events.
"""

from __future__ import annotations

from typing import Any

from ..core.replay import NonDeterminismError, UnsupportedActionError, replay, top_level_actions
from ..protocol.enums import EventType
from ..store.base import InstanceRecord
from .invoke import OrchestratorRaised, orchestrator_state, trigger_json


def check_replay(fn: Any, record: dict[str, Any], history: list[dict[str, Any]]) -> tuple[
        bool, str]:
    """Re-run the current orchestrator code over a recorded history.

    Returns (deterministic, report). The report names the first step whose recorded action the
    current code no longer takes, or says how many recorded steps the code reproduced.
    """
    inst = InstanceRecord(**{k: record.get(k) for k in InstanceRecord.__dataclass_fields__})
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
