"""Read-only views of a running engine that the management API does not give.

This is the only dashboard module that reads the engine's working state, through the operations
facade (``runtime/operations.py``), and it reads as little of it as it can: the loaded app, the
limits, the clock, the instances (``core.instance.Instance``: record, history, inbox, counters),
the counters, the pending activity work items and the armed timer messages. Every function
returns plain JSON-ready data, runs on the loop thread (aiohttp handlers do) and changes nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from ...protocol.enums import EventType
from ...protocol.history import EVENT_NAMES
from ...runtime.operations import Operations
from ...worker.workitems import WorkItemDispatcher
from ..payloads import status_payload
from .hub_functions import hub_functions

LIST_CAP = 200  # rows per host table; the totals are always exact


def functions(ops: Operations, base_url: str) -> list[dict[str, Any]]:
    """The app's functions as ``func start`` lists them, HTTP ones with their URLs."""
    app = ops.app
    prefix = f"/{app.route_prefix}" if app.route_prefix else ""
    rows = [{"name": fn.name, "trigger": "httpTrigger", "methods": sorted(fn.methods),
             "route": fn.route, "url": f"{base_url}{prefix}/{fn.route}",
             "authLevel": fn.auth_level} for fn in app.http]
    rows += [{"name": fn.name, "trigger": "orchestrationTrigger"}
             for fn in app.orchestrators.values()]
    rows += [{"name": fn.name, "trigger": "activityTrigger", "async": fn.is_async}
             for fn in app.activities.values()]
    rows += [{"name": fn.name, "trigger": "entityTrigger"} for fn in app.entities.values()]
    rows += [{"name": name, "trigger": "other (not served)"} for name in app.skipped]
    rows += [{"name": fn.name, "trigger": fn.trigger_type} for fn in app.triggered.values()]
    return rows


def orchestrator_names(ops: Operations) -> list[str]:
    return sorted(fn.name for fn in ops.app.orchestrators.values())


def limits(ops: Operations) -> dict[str, Any]:
    lim = ops.limits
    counters = ops.counters()
    return {"hubName": ops.hub_name,
            "maxConcurrentActivityFunctions": lim.max_activities,
            "maxConcurrentOrchestratorFunctions": lim.max_orchestrators,
            "threadPoolSize": lim.threads,
            "store": ops.store_description,
            **{k: counters[k] for k in ("episodes", "activitiesRun", "instances", "entities")},
            "versioning": _versioning(ops)}


def _versioning(ops: Operations) -> dict[str, Any] | None:
    settings = getattr(ops, "versioning", None)
    if settings is None:
        return None
    return {"defaultVersion": settings.default_version,
            "versionMatchStrategy": settings.match_strategy.value,
            "versionFailureStrategy": settings.failure_strategy.value}


def clock(ops: Operations) -> dict[str, Any]:
    state = ops.clock_state()
    return {"now": state.now.isoformat(), "timeSkipping": state.skipping,
            "mode": state.mode.value, "held": state.held, "offsetSeconds": state.offset_seconds}


def _capped(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"total": len(rows), "items": rows[:LIST_CAP]}


def work(ops: Operations) -> dict[str, Any]:
    """Running activities, running episodes, pending messages and timers."""
    waiting: set[int] = set()
    episodes, inboxes = [], []
    for inst in ops.instances():
        if inst.running:
            episodes.append({"instanceId": inst.id, "name": inst.record.name,
                             "episodes": inst.episodes})
        if inst.inbox:
            kinds = Counter(EVENT_NAMES[EventType(m.event["EventType"])] for m in inst.inbox)
            waiting.update(m.work_id for m in inst.inbox if m.work_id is not None)
            inboxes.append({"instanceId": inst.id, "name": inst.record.name,
                            "count": len(inst.inbox), "kinds": dict(kinds),
                            "held": inst.held_since is not None})
    activities = [{"instanceId": item.instance_id, "name": item.name, "taskId": item.task_id,
                   "state": "result waiting" if item.id in waiting else "running"}
                  for item in ops.pending_activities()]
    timers = sorted(({"instanceId": m.instance_id, "timerId": m.event.get("TimerId"),
                      "fireAt": m.visible_at} for m in ops.pending_timers()),
                    key=lambda t: t["fireAt"])
    return {"activities": _capped(activities), "episodes": _capped(episodes),
            "messages": _capped(inboxes), "timers": _capped(timers)}


def host(ops: Operations, base_url: str,
         work_items: WorkItemDispatcher | None = None) -> dict[str, Any]:
    """Everything the host page shows; ``work_items``: a scheduler hub's (no app), whose
    function list is the names its workers declared and the names seen (``hub_functions``)."""
    info = {"functions": functions(ops, base_url), "orchestrators": orchestrator_names(ops),
            "limits": limits(ops), "clock": clock(ops), "work": work(ops)}
    if work_items is not None:
        names = hub_functions(ops, work_items)
        info.update(functions=names["functions"], functionsNote=names["note"],
                    anyName=names["anyName"],
                    orchestrators=sorted({row["name"] for row in names["functions"]
                                          if row["trigger"] == "orchestrationTrigger"}))
    return info


def list_instances(ops: Operations, *, name: str | None = None, statuses: set[str] | None = None,
                   prefix: str | None = None, created_from: datetime | None = None,
                   created_to: datetime | None = None, offset: int = 0,
                   top: int = 50) -> dict[str, Any]:
    """One page of instances, newest first, with the total and the count of each status.

    The counts cover every filter but the status one, so the page can show what each status
    chip would find.
    """
    matched, counts = [], Counter()
    want = name.lower() if name else None
    # oldest first
    found = ops.find(created_from=created_from, created_to=created_to, prefix=prefix)
    for inst in reversed(found):
        record = inst.record
        if want and record.name.lower() != want:
            continue
        counts[record.status] += 1
        if statuses and record.status not in statuses:
            continue
        matched.append(record)
    page = [status_payload(r, show_input=False) for r in matched[offset:offset + top]]
    return {"total": len(matched), "offset": offset, "top": top, "counts": dict(counts),
            "instances": page}


def instance(ops: Operations,
             instance_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The stored record (as a dict) and the raw history of an instance, or None."""
    inst = ops.instance(instance_id)
    if inst is None:
        return None
    record = inst.record
    return ({"instanceId": record.instance_id, "name": record.name, "status": record.status,
             "created": record.created, "lastUpdated": record.last_updated,
             "parent": record.parent, "executionId": record.execution_id,
             "version": getattr(record, "version", None)}, inst.history)

