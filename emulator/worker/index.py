"""The app's function index as plain data: what the loader (in this process or in a worker
process) finds in the app - each function's name, trigger kind, route, methods and bindings - and
host.json. No callables: the runtime and the HTTP edge read only this; the code behind it stays
with the worker (``loader.LoadedApp``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from .sdk2.detect import SdkGeneration
from .timeouts import function_timeout


class AppLoadError(Exception):
    """The app cannot be served; the message says why, for a one-line start-up error."""


@dataclass
class HttpFunction:
    name: str
    route: str
    methods: frozenset[str]
    auth_level: str
    is_async: bool
    request_param: str
    client_param: str | None
    wants_context: bool
    pattern: re.Pattern[str]
    other_inputs: list[str] = field(default_factory=list)  # bindings given None
    bindings: list[dict[str, Any]] = field(default_factory=list)  # storage bindings, as declared


@dataclass
class OrchestratorFunction:
    name: str
    function_name: str


@dataclass
class EntityFunction:
    name: str
    function_name: str


@dataclass
class ActivityFunction:
    name: str
    function_name: str
    is_async: bool
    input_param: str
    wants_context: bool
    client_param: str | None = None  # a durable client binding (2.x SDK: history export)


@dataclass
class TriggeredFunction:
    """A function with another trigger (timer, queue, blob, Service Bus, ...): its trigger and
    bindings as the app's index declares them (``get_dict_repr()``, direction as ``in`` /
    ``out`` / ``inout``); the durable client binding is ``client_param``, not in ``bindings``."""

    name: str
    trigger_type: str
    trigger_param: str
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]
    client_param: str | None
    is_async: bool
    wants_context: bool


@dataclass
class FunctionIndex:
    """The app's functions as plain data: names, trigger kinds, routes, bindings and host.json.
    What a worker reports when it loads the app; the runtime and the HTTP edge read it."""

    app_dir: Path
    http: list[HttpFunction]
    orchestrators: dict[str, OrchestratorFunction]
    activities: dict[str, ActivityFunction]
    entities: dict[str, EntityFunction]
    host_json: dict[str, Any]
    skipped: list[str] = field(default_factory=list)
    triggered: dict[str, TriggeredFunction] = field(default_factory=dict)  # by lower-case name
    sdk: SdkGeneration = SdkGeneration.V1  # the durable SDK the app is written for

    def orchestrator(self, name: str) -> OrchestratorFunction | None:
        """Function names are case-insensitive in the Functions host."""
        return self.orchestrators.get(name.lower())

    def activity(self, name: str) -> ActivityFunction | None:
        return self.activities.get(name.lower())

    def entity(self, name: str) -> EntityFunction | None:
        return self.entities.get(name.lower())

    @property
    def function_timeout(self) -> timedelta | None:
        """``functionTimeout`` from host.json (30 minutes when absent; None: unlimited)."""
        return function_timeout(self.host_json)

    @property
    def hub_name(self) -> str:
        """``extensions.durableTask.hubName``, with ``%SETTING%`` references resolved from the
        app settings as the Functions host resolves them (AppLoadError when one is missing)."""
        durable = (self.host_json.get("extensions") or {}).get("durableTask") or {}
        return resolve_setting_refs(str(durable.get("hubName") or "TestHubName"), "hubName")

    @property
    def route_prefix(self) -> str:
        http = (self.host_json.get("extensions") or {}).get("http") or {}
        return str(http.get("routePrefix", "api")).strip("/")


def resolve_setting_refs(value: str, key: str) -> str:
    """Replace each ``%NAME%`` in a host.json value with the app setting ``NAME``."""
    def setting(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise AppLoadError(f"host.json: {key} refers to app setting '%{name}%', "
                               f"which is not set (local.settings.json Values or --setting)")
        return os.environ[name]

    return re.sub(r"%([^%]+)%", setting, value)


