"""What the host says when history and the current orchestrator code disagree.

DTFx's non-determinism messages (``TaskOrchestrationContext.Handle*Event``), and the two
readings of entity events the replay needs (the request id an EventSent carries, whether a
response is an error).
"""

from __future__ import annotations

import json
from typing import Any

from ..protocol.enums import WorkKind


class NonDeterminismError(Exception):
    """History and the current orchestrator code disagree; the instance must fail."""


def renamed_message(event: dict[str, Any], kind: str, name: str | None) -> str:
    seq = event["EventId"]
    return (f"A previous execution of this orchestration scheduled a {kind} task with "
            f"sequence number {seq} named '{event.get('Name')}', but the current "
            f"orchestration replay instead scheduled a {kind} task named '{name}' "
            "with this sequence number. Was a change made to the orchestrator code after "
            "this instance had already started running?")


def sent_request_id(event: dict[str, Any]) -> str:
    try:
        return str(json.loads(event.get("Input") or "")["id"])
    except (json.JSONDecodeError, TypeError, KeyError) as exc:
        raise NonDeterminismError(f"EventSent #{event.get('EventId')} carries no entity request "
                                  f"id: {event.get('Input')!r}") from exc


def is_error_response(text: str | None) -> bool:
    try:
        return "exceptionType" in json.loads(text or "{}")
    except (json.JSONDecodeError, TypeError):
        return False


def missing_message(event: dict[str, Any], kind: str) -> str:
    seq = event["EventId"]
    if kind == WorkKind.ENTITY:
        return (f"A previous execution of this orchestration scheduled a send event task with "
                f"sequence ID {seq}, type 'EventSent' name '{event.get('Name')}', instance ID "
                f"'{event.get('InstanceId')}', but the current replay execution hasn't (yet?) "
                "scheduled this task. Was a change made to the orchestrator code after this "
                "instance had already started running?")
    if kind == WorkKind.TIMER:
        what = f"a timer task with sequence ID {seq}"
    elif kind == WorkKind.SUB_ORCHESTRATION:
        what = (f"a sub-orchestration task with sequence ID {seq} and name "
                f"'{event.get('Name')}' (version '', instance ID '{event.get('InstanceId')}')")
    else:
        what = (f"an activity task with sequence ID {seq} and name '{event.get('Name')}' "
                "(version '')")
    return (f"A previous execution of this orchestration scheduled {what}, but the current "
            "replay execution hasn't (yet?) scheduled this task. Was a change made to the "
            "orchestrator code after this instance had already started running?")
