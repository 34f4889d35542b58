"""JSON bodies of the durable HTTP API: status payloads, history views, check-status URLs.

Shapes follow the extension's ``StatusResponsePayload``, ``HttpManagementPayload`` and
``DurableClient.GetDurableOrchestrationStatusAsync`` (durable-protocol.md sections 5.1, 6.2, 6.3).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from ..protocol.history import EVENT_NAMES, EventType, RuntimeStatus, parse_ts

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
RPC_PATH = "/durabletask"


def parse_token(text: str | None) -> Any:
    """``ParseToJToken``: JSON when it parses, else the raw string (failure messages)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return text


def status_time(iso: str) -> str:
    return parse_ts(iso).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_payload(record: Any, history: list[dict[str, Any]] | None = None, *,
                   show_input: bool = True, show_history: bool = False,
                   show_history_output: bool = False) -> dict[str, Any]:
    payload = {"name": record.name, "instanceId": record.instance_id}
    version = getattr(record, "version", None)
    if version:
        # The extension (3.x, 2026) adds the version after the id, and omits it when unknown.
        payload["version"] = version
    payload.update({
        "runtimeStatus": record.status,
        "input": parse_token(record.input) if show_input else None,
        "customStatus": parse_token(record.custom_status),
        "output": parse_token(record.output),
        "createdTime": status_time(record.created),
        "lastUpdatedTime": status_time(record.last_updated),
    })
    if show_history and record.status != RuntimeStatus.Pending and history is not None:
        payload["historyEvents"] = history_view(history, show_input=show_input,
                                                show_output=show_history_output)
    return payload


_SCHEDULING = (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_CREATED)
_RESULTS = (EventType.TASK_COMPLETED, EventType.TASK_FAILED,
            EventType.SUB_ORCHESTRATION_COMPLETED, EventType.SUB_ORCHESTRATION_FAILED)


def history_view(history: list[dict[str, Any]], *, show_input: bool = True,
                 show_output: bool = False) -> list[dict[str, Any]]:
    """The ``historyEvents`` list of a status response (rules in protocol notes 6.3)."""
    scheduled: dict[int, dict[str, Any]] = {}
    out: list[dict[str, Any] | None] = []
    position: dict[int, int] = {}
    for event in history:
        kind = event["EventType"]
        if kind in (EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED):
            continue
        view = {k: v for k, v in event.items() if k not in ("EventId", "IsPlayed")}
        view["EventType"] = EVENT_NAMES.get(EventType(kind), str(kind))
        if kind == EventType.EXECUTION_STARTED:
            view["FunctionName"] = view.pop("Name", None)
            for key in ("OrchestrationInstance", "ParentInstance", "Version", "Tags"):
                view.pop(key, None)
        elif kind in _SCHEDULING:
            view.pop("Version", None)
            scheduled[event["EventId"]] = event
            position[event["EventId"]] = len(out)
        elif kind in _RESULTS:
            task_id = view.pop("TaskScheduledId", None)
            source = scheduled.get(task_id)
            if source is not None:
                view["ScheduledTime"] = source["Timestamp"]
                view["FunctionName"] = source.get("Name")
                if show_input:
                    view["Input"] = source.get("Input")
                out[position.pop(task_id)] = None  # the scheduling event is folded in
            if kind in (EventType.TASK_COMPLETED, EventType.SUB_ORCHESTRATION_COMPLETED):
                if show_output:
                    view["Result"] = parse_token(view.get("Result"))
                else:
                    view.pop("Result", None)
        elif kind == EventType.EXECUTION_COMPLETED:
            view["OrchestrationStatus"] = RuntimeStatus.from_code(view["OrchestrationStatus"]).value
            if show_output:
                view["Result"] = parse_token(view.get("Result"))
            else:
                view.pop("Result", None)
        elif kind == EventType.TIMER_FIRED:
            view.pop("TimerId", None)
        if not show_input:
            view.pop("Input", None)
        out.append(view)
    return [v for v in out if v is not None]


def management_urls(origin: str, instance_id: str, hub: str, connection: str = "Storage",
                    *, placeholder: bool = False, code: str = "") -> dict[str, str]:
    """Instance URLs; ``placeholder`` keeps ``INSTANCEID`` for the client binding."""
    base = f"{origin.rstrip('/')}{WEBHOOK_PATH}/instances/"
    iid = "INSTANCEID" if placeholder else quote(instance_id, safe="")
    tail = f"taskHub={quote(hub)}&connection={quote(connection)}" + (f"&code={code}" if code
                                                                      else "")
    return {
        "id": "INSTANCEID" if placeholder else instance_id,
        "statusQueryGetUri": f"{base}{iid}?{tail}",
        "sendEventPostUri": f"{base}{iid}/raiseEvent/{{eventName}}?{tail}",
        "terminatePostUri": f"{base}{iid}/terminate?reason={{text}}&{tail}",
        "rewindPostUri": f"{base}{iid}/rewind?reason={{text}}&{tail}",
        "purgeHistoryDeleteUri": f"{base}{iid}?{tail}",
        "restartPostUri": f"{base}{iid}/restart?{tail}",
        "suspendPostUri": f"{base}{iid}/suspend?reason={{text}}&{tail}",
        "resumePostUri": f"{base}{iid}/resume?reason={{text}}&{tail}",
    }


def check_status_payload(origin: str, instance_id: str, hub: str) -> dict[str, str]:
    """``CreateCheckStatusResponse`` body: the management URLs without ``rewindPostUri``."""
    urls = management_urls(origin, instance_id, hub)
    urls.pop("rewindPostUri")
    return urls


def client_binding(origin: str, hub: str) -> dict[str, Any]:
    """The durable client binding JSON handed to functions with a durableClient input (5.1)."""
    base = f"{origin.rstrip('/')}{WEBHOOK_PATH}"
    return {
        "taskHubName": hub,
        "connectionName": "Storage",
        "creationUrls": {
            "createNewInstancePostUri":
                f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?",
            "createAndWaitOnNewInstancePostUri":
                f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?timeout="
                "{timeoutInSeconds}&pollingInterval={intervalInSeconds}",
        },
        "managementUrls": management_urls(origin, "", hub, placeholder=True),
        "baseUrl": base,
        "requiredQueryStringParameters": "",
        "rpcBaseUrl": f"{origin.rstrip('/')}{RPC_PATH}/",
        "httpBaseUrl": None,
    }
