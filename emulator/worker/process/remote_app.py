"""The app's function index as the worker processes report it (``index.FunctionIndex``).

The host does not import the app: the worker processes do, and send a plain description of each
function (``child/index.py``). This module checks it as ``loader.load_app`` checks an app
imported in process - unique names, one function per route and method - and builds the same
``FunctionIndex`` the runtime reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..index import (
    ActivityFunction,
    AppLoadError,
    EntityFunction,
    FunctionIndex,
    HttpFunction,
    OrchestratorFunction,
)
from ..loader import ALL_METHODS, STORAGE_BINDINGS, check_routes, route_pattern
from ..sdk2.detect import SdkGeneration

_KINDS = {"orchestrationTrigger": "orchestrators", "activityTrigger": "activities",
          "entityTrigger": "entities"}


def remote_app(app_dir: Path, host_json: dict[str, Any],
               functions: list[dict[str, Any]]) -> FunctionIndex:
    """The index from the workers' descriptions; AppLoadError for what ``load_app`` refuses."""
    app = FunctionIndex(app_dir, [], {}, {}, {}, host_json, [])
    seen: set[str] = set()
    for described in functions:
        name = described["name"]
        if name.lower() in seen:
            raise AppLoadError(f"Two functions are named {name!r}; function names must be unique")
        seen.add(name.lower())
        kind = described["trigger"]
        if kind == "httpTrigger":
            app.http.append(_http(described))
            continue
        if kind not in _KINDS:
            continue  # other triggers: served in process (``in_process_reason``)
        durable = described.get("durable_name") or name
        table = getattr(app, _KINDS[kind])
        if durable.lower() in table:
            what = {"orchestrators": "orchestrator", "activities": "activity",
                    "entities": "entity"}[_KINDS[kind]]
            raise AppLoadError(f"Two {what} functions are named {durable!r}")
        if kind == "orchestrationTrigger":
            table[durable.lower()] = OrchestratorFunction(durable, name)
        elif kind == "entityTrigger":
            table[durable.lower()] = EntityFunction(durable, name)
        else:
            table[durable.lower()] = ActivityFunction(
                durable, name, described["is_async"], described["trigger_param"],
                described["wants_context"], described.get("client_param"))
    check_routes(app.http)
    if any(described.get("durable_requires_grpc") for described in functions):
        app.sdk = SdkGeneration.V2
    return app


def in_process_reason(functions: list[dict[str, Any]]) -> str | None:
    """Why the worker processes cannot serve this app (they run HTTP, orchestrator, activity
    and entity functions, of either durable SDK), or None."""
    triggered = sorted({d["trigger"] for d in functions if d["trigger"] != "httpTrigger"
                        and d["trigger"] not in _KINDS})
    if triggered:
        return f"has functions with other triggers ({', '.join(triggered)})"
    if any(b["type"] in STORAGE_BINDINGS for d in functions
           for b in d.get("other_bindings") or ()):
        return "has storage input or output bindings"
    v2 = any(described.get("durable_requires_grpc") for described in functions)
    if not v2 and any(d["trigger"] == "activityTrigger" and d.get("client_param")
                      for d in functions):
        # (a 2.x activity gets the binding - the host's gRPC endpoint - in the worker)
        return "has an activity with a durable client binding"
    return None


def _http(described: dict[str, Any]) -> HttpFunction:
    methods = described.get("methods")
    return HttpFunction(
        name=described["name"], route=described["route"],
        methods=frozenset(methods) if methods else ALL_METHODS,
        auth_level=described.get("auth_level") or "function",
        is_async=described["is_async"], request_param=described["trigger_param"],
        client_param=described.get("client_param"), wants_context=described["wants_context"],
        pattern=route_pattern(described["route"]),
        other_inputs=[f"{b['name']} ({b['type']})"
                      for b in described.get("other_bindings") or ()],
    )
