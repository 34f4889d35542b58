"""A readable view of a history: a text timeline for people (`python -m emulator history`)."""

from __future__ import annotations

import json
from typing import Any

from ..protocol.history import EVENT_NAMES, EventType, RuntimeStatus, parse_ts

_SHORT = 70


def _short(text: Any) -> str:
    text = text if isinstance(text, str) else json.dumps(text)
    return text if len(text) <= _SHORT else text[:_SHORT - 3] + "..."


def _unwrap_input(event: dict[str, Any]) -> str | None:
    """TaskScheduled.Input is a JSON array holding the SDK's JSON text."""
    raw = event.get("Input")
    if event["EventType"] == EventType.TASK_SCHEDULED and raw:
        try:
            return json.loads(raw)[0]
        except (json.JSONDecodeError, IndexError, TypeError):
            return raw
    return raw


def format_timeline(record: dict[str, Any], history: list[dict[str, Any]]) -> str:
    """One line per event, times relative to the first, with names, ids, inputs and results."""
    lines = [f"{record.get('name')}  {record.get('instance_id')}  {record.get('status')}"]
    if record.get("custom_status"):
        lines[0] += f"  custom status: {_short(record['custom_status'])}"
    if not history:
        return lines[0] + "\n  (no history yet)"
    t0 = parse_ts(history[0]["Timestamp"])
    scheduled: dict[int, dict[str, Any]] = {}
    episodes = 0
    episode_start = t0
    for event in history:
        kind = EventType(event["EventType"])
        ts = parse_ts(event["Timestamp"])
        if kind == EventType.ORCHESTRATOR_STARTED:
            episode_start = ts
        # Messages carry the time they were created (a TimerFired: when its timer was set);
        # show each event no earlier than the episode that delivered it.
        offset = f"+{(max(ts, episode_start) - t0).total_seconds():9.3f}s"
        name = EVENT_NAMES[kind]
        detail = ""
        if kind == EventType.ORCHESTRATOR_STARTED:
            episodes += 1
            lines.append(f"  {offset}  -- episode {episodes} --")
            continue
        if kind == EventType.ORCHESTRATOR_COMPLETED:
            continue
        if kind == EventType.EXECUTION_STARTED:
            detail = f"{event.get('Name')}  input={_short(event.get('Input'))}"
        elif kind in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_CREATED):
            scheduled[event["EventId"]] = event
            name += f" #{event['EventId']}"
            detail = f"{event.get('Name')}  input={_short(_unwrap_input(event))}"
            if kind == EventType.SUB_ORCHESTRATION_CREATED:
                detail += f"  instance={event.get('InstanceId')}"
        elif kind in (EventType.TASK_COMPLETED, EventType.TASK_FAILED,
                      EventType.SUB_ORCHESTRATION_COMPLETED, EventType.SUB_ORCHESTRATION_FAILED):
            task_id = event.get("TaskScheduledId")
            source = scheduled.get(task_id, {})
            took = (ts - parse_ts(source["Timestamp"])).total_seconds() * 1000 if source else 0
            name += f" #{task_id}"
            outcome = (f"result={_short(event.get('Result'))}" if "Result" in event
                       else f"reason={_short(event.get('Reason'))}")
            detail = f"{source.get('Name', '?')}  ({took:.0f} ms)  {outcome}"
        elif kind == EventType.TIMER_CREATED:
            name += f" #{event['EventId']}"
            due = (parse_ts(event["FireAt"]) - ts).total_seconds()
            detail = f"fires at {event['FireAt']} (+{due:.3f}s)"
        elif kind == EventType.TIMER_FIRED:
            name += f" #{event.get('TimerId')}"
        elif kind == EventType.EVENT_SENT and not str(event.get("InstanceId")).startswith("@"):
            name += f" #{event['EventId']}"  # an event to another orchestration
            detail = (f"{event.get('InstanceId')}  event {event.get('Name')!r}  "
                      f"input={_short(event.get('Input'))}")
        elif kind == EventType.EVENT_SENT:
            name += f" #{event['EventId']}"
            detail = f"{event.get('InstanceId')}  {_entity_request(event.get('Input'))}"
        elif kind == EventType.EVENT_RAISED:
            detail = f"{event.get('Name')}  input={_short(event.get('Input'))}"
        elif kind in (EventType.EXECUTION_COMPLETED, EventType.CONTINUE_AS_NEW):
            status = RuntimeStatus.from_code(event["OrchestrationStatus"]).value
            detail = f"{status}  result={_short(event.get('Result'))}"
        elif kind == EventType.EXECUTION_TERMINATED:
            detail = f"reason={_short(event.get('Input'))}"
        elif kind in (EventType.EXECUTION_SUSPENDED, EventType.EXECUTION_RESUMED):
            detail = f"reason={_short(event.get('Reason'))}"
        elif kind == EventType.GENERIC:
            # Rewind: cleared events keep their row ("Rewound: <type>"); the revive message
            # carries the rewind's reason as Data.
            if event.get("Reason"):
                seq = event.get("EventId", -1)
                detail = event["Reason"] + (f" #{seq}" if seq >= 0 else "")
            else:
                detail = f"rewind  reason={_short(event.get('Data'))}"
        lines.append(f"  {offset}  {name:<40} {detail}".rstrip())
    total = (parse_ts(history[-1]["Timestamp"]) - t0).total_seconds()
    lines.append(f"  {len(history)} events, {episodes} episodes, {total:.3f} s")
    return "\n".join(lines)


def _entity_request(text: str | None) -> str:
    """An entity request (EventSent.Input) as 'call add input=...' / 'signal add ...'."""
    try:
        request = json.loads(text or "")
        kind = "signal" if request.get("signal") else f"call (response {request.get('id')})"
        return f"{kind} {request.get('op')!r}  input={_short(request.get('input'))}"
    except (json.JSONDecodeError, AttributeError):
        return f"input={_short(text)}"
