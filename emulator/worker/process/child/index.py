"""Import the app and describe its functions, as the Python worker indexes a v2 app.

The worker imports ``function_app.py`` from the app folder (the folder first on ``sys.path``,
also the working directory), finds the module-level ``FunctionApp`` (usually ``df.DFApp``) and
asks it ``get_functions()``. The host gets a plain description of each function - its name,
trigger kind, the name the durable extension knows it by, route, methods, binding parameter
names, whether it is a coroutine - and the worker keeps the callables by function name.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class AppIndexError(Exception):
    """The app cannot be indexed; the message says why (with the import's traceback)."""


@dataclass
class Indexed:
    """The app's functions: the description for the host, the callables for the worker."""

    functions: list[dict[str, Any]] = field(default_factory=list)
    callables: dict[str, Any] = field(default_factory=dict)  # by function name, lower case


def import_app(app_dir: Path) -> Any:
    script = app_dir / "function_app.py"
    if not script.exists():
        raise AppIndexError(f"No function_app.py in {app_dir} (use --app to point at the app)")
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    os.chdir(app_dir)  # the SDK reads host.json from the working directory
    spec = importlib.util.spec_from_file_location("function_app", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop("function_app", None)
        raise AppIndexError(f"Importing {script} failed:\n{traceback.format_exc().rstrip()}") \
            from exc
    return module


def find_function_app(module: Any, script: Path) -> Any:
    from azure.functions import FunctionRegister

    apps = list({id(v): v for v in vars(module).values()
                 if isinstance(v, FunctionRegister)}.values())
    if not apps:
        raise AppIndexError(f"{script} defines no FunctionApp (e.g. app = df.DFApp())")
    if len(apps) > 1:
        raise AppIndexError(f"{script} defines {len(apps)} FunctionApp objects; expected one")
    return apps[0]


def index_app(app_dir: Path) -> Indexed:
    module = import_app(app_dir)
    function_app = find_function_app(module, app_dir / "function_app.py")
    try:
        functions = function_app.get_functions()
    except Exception as exc:  # the library validates bindings here (duplicate names)
        raise AppIndexError(f"Indexing the app's functions failed: {exc}") from exc
    indexed = Indexed()
    for function in functions:
        description, fn = describe(function)
        indexed.functions.append(description)
        indexed.callables[description["name"].lower()] = fn
    return indexed


def is_async(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__wrapped__", None))


def parameters(fn: Any) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


def describe(function: Any) -> tuple[dict[str, Any], Any]:
    """One function's description (JSON-ready) and its user callable."""
    name = function.get_function_name()
    trigger = function.get_trigger()
    fn = function.get_user_function()
    kind = trigger.type
    description: dict[str, Any] = {
        "name": name, "trigger": kind, "is_async": is_async(fn),
        "trigger_param": trigger.name,
        "wants_context": "context" in parameters(fn) and trigger.name != "context",
    }
    if kind == "orchestrationTrigger":
        description["durable_name"] = getattr(trigger, "orchestration", None) or name
    elif kind == "activityTrigger":
        description["durable_name"] = getattr(trigger, "activity", None) or name
    elif kind == "entityTrigger":
        description["durable_name"] = getattr(trigger, "entity_name", None) or name
    elif kind == "httpTrigger":
        methods = getattr(trigger, "methods", None)
        auth = getattr(trigger, "auth_level", None)
        description.update(
            route=(getattr(trigger, "route", None) or name).strip("/"),
            methods=sorted(str(_plain(m)).upper() for m in methods) if methods else None,
            auth_level=str(_plain(auth) or "function"),
        )
    client, others = None, []
    for binding in function.get_bindings():
        if binding.type == "durableClient":
            client = binding.name
        elif binding.name != trigger.name and binding.type not in ("http", "httpTrigger"):
            others.append({"name": binding.name, "type": binding.type,
                           "direction": str(_plain(getattr(binding, "direction", "")))})
    description["client_param"] = client
    description["other_bindings"] = others
    # the 2.x durable SDK marks its triggers and bindings (protobuf and gRPC instead of JSON)
    description["durable_requires_grpc"] = any(
        getattr(b, "durable_requires_grpc", False)
        for b in [trigger, *function.get_bindings()])
    return description, fn
