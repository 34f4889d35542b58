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
from ..loader import ALL_METHODS, check_routes, route_pattern
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
            app.skipped.append(f"{name} ({kind})")
            continue
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
                described["wants_context"])
    check_routes(app.http)
    if any(described.get("durable_requires_grpc") for described in functions):
        app.sdk = SdkGeneration.V2
    return app


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
