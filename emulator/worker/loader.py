"""Import a Functions app and index its functions the way the Python worker does.

The worker imports ``function_app.py`` from the app folder, finds the module-level ``FunctionApp``
(here usually ``df.DFApp``) and asks it ``get_functions()``. Each function carries its trigger
(``httpTrigger``, ``orchestrationTrigger``, ``activityTrigger``, ``entityTrigger``), its bindings
(``durableClient`` ...) and the user function, which for orchestrators is already the SDK's
``handle(context_json) -> state_json``. This module returns that index as plain data
(``index.py``) with the code behind it (``LoadedApp``).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import os
import re
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .index import (
    ActivityFunction,
    AppLoadError,
    EntityFunction,
    FunctionIndex,
    HttpFunction,
    OrchestratorFunction,
    TriggeredFunction,
)
from .sdk2.detect import app_generation
from .timeouts import function_timeout

log = logging.getLogger("emulator")

STORAGE_BINDINGS = frozenset({"blob", "queue", "table"})  # served beside any trigger
ALL_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"})


@dataclass
class LoadedApp(FunctionIndex):
    """The app imported in this process: its function index, its module and its functions'
    code (``code_of``), which only an in-process worker uses."""

    module: Any = None
    code: dict[str, Any] = field(default_factory=dict)  # function name (lower case) -> callable

    def code_of(self, function: Any) -> Any:
        """The callable behind an index entry (the SDK's handler for orchestrators/entities)."""
        return self.code[getattr(function, "function_name", function.name).lower()]


def read_host_json(app_dir: Path) -> dict[str, Any]:
    path = app_dir / "host.json"
    if not path.exists():
        return {"version": "2.0"}
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise AppLoadError(f"{path}: invalid JSON: {exc}") from exc


def read_local_settings(app_dir: Path) -> dict[str, str]:
    """``Values`` of local.settings.json (missing file: none), as ``func start`` reads them."""
    path = app_dir / "local.settings.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise AppLoadError(f"{path}: invalid JSON: {exc}") from exc
    values = data.get("Values") or {}
    if not isinstance(values, dict):
        raise AppLoadError(f"{path}: 'Values' must be an object")
    return {str(k): "" if v is None else str(v) for k, v in values.items()}


def apply_settings(values: dict[str, str], *, override: bool = False) -> dict[str, str | None]:
    """Put app settings into the environment; returns the previous values for ``restore``.

    Like Core Tools, variables already set in the environment win over local.settings.json
    unless ``override`` (explicit settings passed to the testing API) is set.
    """
    previous: dict[str, str | None] = {}
    for key, value in values.items():
        if not override and key in os.environ:
            continue
        previous[key] = os.environ.get(key)
        os.environ[key] = value
    return previous


def restore_settings(previous: dict[str, str | None]) -> None:
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


_import_lock = threading.Lock()
_module_cache: dict[Path, Any] = {}


def _import_app_module(app_dir: Path) -> Any:
    script = app_dir / "function_app.py"
    if not script.exists():
        raise AppLoadError(f"No function_app.py in {app_dir} (use --app to point at the app)")
    with _import_lock:
        if app_dir in _module_cache:
            return _module_cache[app_dir]
        # The worker runs in the app folder with it first on sys.path; the SDK also reads
        # host.json from the current directory when it is imported.
        if str(app_dir) not in sys.path:
            sys.path.insert(0, str(app_dir))
        name = "function_app" if "function_app" not in sys.modules else \
            f"function_app__{abs(hash(str(app_dir)))}"
        spec = importlib.util.spec_from_file_location(name, script)
        module = importlib.util.module_from_spec(spec)
        previous_cwd = os.getcwd()
        try:
            os.chdir(app_dir)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(name, None)
            raise AppLoadError(
                f"Importing {script} failed:\n{traceback.format_exc().rstrip()}") from exc
        finally:
            os.chdir(previous_cwd)
        _module_cache[app_dir] = module
        return module


def _find_function_app(module: Any, script: Path) -> Any:
    from azure.functions import FunctionRegister

    apps = [v for v in vars(module).values() if isinstance(v, FunctionRegister)]
    apps = list({id(a): a for a in apps}.values())
    if not apps:
        raise AppLoadError(f"{script} defines no FunctionApp (e.g. app = df.DFApp())")
    if len(apps) > 1:
        raise AppLoadError(f"{script} defines {len(apps)} FunctionApp objects; expected one")
    return apps[0]


_index_cache: dict[int, list[Any]] = {}


def _index(module: Any, app_dir: Path) -> list[Any]:
    """``get_functions()`` of the module's app, once per module (it must not be called twice:
    the library re-validates the names it already registered)."""
    with _import_lock:
        if id(module) not in _index_cache:
            function_app = _find_function_app(module, app_dir / "function_app.py")
            try:
                _index_cache[id(module)] = function_app.get_functions()
            except Exception as exc:  # the library validates bindings here (duplicate names)
                raise AppLoadError(f"Indexing the app's functions failed: {exc}") from exc
        return _index_cache[id(module)]


def route_pattern(route: str) -> re.Pattern[str]:
    """Compile an ASP.NET-style route template: ``{name}``, ``{id?}``, ``{id:int}``, ``{*rest}``.

    An optional parameter may be left out together with the slash before it. Matching is
    case-insensitive, like the Functions host.
    """
    out, pos = [], 0
    template = route.strip("/")
    for match in re.finditer(r"\{([^}]+)\}", template):
        literal = template[pos:match.start()]
        spec = match.group(1)
        catch_all = spec.startswith("*")
        spec = spec.lstrip("*")
        optional = spec.endswith("?")
        spec = spec.rstrip("?")
        name, _, constraint = spec.partition(":")
        if not name.isidentifier():
            raise AppLoadError(f"route {route!r}: parameter name {name!r} is not supported")
        body = ".+" if catch_all else {"int": r"-?\d+", "alpha": "[A-Za-z]+",
                                       "guid": r"[0-9a-fA-F-]{32,36}",
                                       "bool": "(?i:true|false)"}.get(constraint, "[^/]+")
        group = f"(?P<{name}>{body})"
        if optional and literal.endswith("/"):
            out.append(re.escape(literal[:-1]) + f"(?:/{group})?")
        else:
            out.append(re.escape(literal) + (group + "?" if optional else group))
        pos = match.end()
    out.append(re.escape(template[pos:]))
    return re.compile("^" + "".join(out) + "/?$", re.IGNORECASE)


def _params(fn: Any) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


def _is_async(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__wrapped__", None))


def load_app(app_dir: str | os.PathLike[str]) -> LoadedApp:
    """Import ``function_app.py`` from ``app_dir`` and index its functions."""
    app_dir = Path(app_dir).resolve()
    if not app_dir.is_dir():
        raise AppLoadError(f"App folder {app_dir} does not exist")
    host_json = read_host_json(app_dir)
    try:
        function_timeout(host_json)  # a bad value fails the start, before the app's import
    except ValueError as exc:
        raise AppLoadError(f"{app_dir / 'host.json'}: {exc}") from None
    module = _import_app_module(app_dir)
    functions = _index(module, app_dir)

    http: list[HttpFunction] = []
    orchestrators: dict[str, OrchestratorFunction] = {}
    activities: dict[str, ActivityFunction] = {}
    entities: dict[str, EntityFunction] = {}
    skipped: list[str] = []
    triggered: dict[str, TriggeredFunction] = {}
    seen_names: set[str] = set()
    code: dict[str, Any] = {}

    for function in functions:
        fname = function.get_function_name()
        if fname.lower() in seen_names:
            raise AppLoadError(f"Two functions are named {fname!r}; function names must be unique")
        seen_names.add(fname.lower())
        trigger = function.get_trigger()
        user_fn = function.get_user_function()
        code[fname.lower()] = user_fn
        bindings = function.get_bindings()
        ttype = trigger.type
        if ttype == "httpTrigger":
            http.append(_http_function(fname, trigger, user_fn, bindings))
        elif ttype == "orchestrationTrigger":
            name = getattr(trigger, "orchestration", None) or fname
            if name.lower() in orchestrators:
                raise AppLoadError(f"Two orchestrator functions are named {name!r}")
            orchestrators[name.lower()] = OrchestratorFunction(name, fname)
        elif ttype == "activityTrigger":
            name = getattr(trigger, "activity", None) or fname
            if name.lower() in activities:
                raise AppLoadError(f"Two activity functions are named {name!r}")
            params = _params(user_fn)
            client = next((b.name for b in bindings if b.type == "durableClient"), None)
            activities[name.lower()] = ActivityFunction(
                name, fname, _is_async(user_fn), trigger.name,
                "context" in params and trigger.name != "context", client)
        elif ttype == "entityTrigger":
            name = getattr(trigger, "entity_name", None) or fname
            if name.lower() in entities:
                raise AppLoadError(f"Two entity functions are named {name!r}")
            entities[name.lower()] = EntityFunction(name, fname)
        else:
            triggered[fname.lower()] = _triggered_function(fname, trigger, user_fn, bindings)

    check_routes(http)
    return LoadedApp(app_dir, http, orchestrators, activities, entities, host_json, skipped,
                     triggered, sdk=app_generation(functions), module=module, code=code)


def _binding_dict(binding: Any) -> dict[str, Any]:
    data = dict(binding.get_dict_repr())
    direction = data.get("direction", "in")
    data["direction"] = str(getattr(direction, "name", direction)).lower()
    return data


def _triggered_function(fname: str, trigger: Any, user_fn: Any,
                        bindings: list[Any]) -> TriggeredFunction:
    client_param = None
    others = []
    for binding in bindings:
        if binding.type == "durableClient":
            client_param = binding.name
        elif not (binding.name == trigger.name and binding.type == trigger.type):
            others.append(_binding_dict(binding))
    return TriggeredFunction(
        name=fname, trigger_type=trigger.type, trigger_param=trigger.name,
        trigger=_binding_dict(trigger), bindings=others, client_param=client_param,
        is_async=_is_async(user_fn),
        wants_context="context" in _params(user_fn) and trigger.name != "context")


def _http_function(fname: str, trigger: Any, user_fn: Any, bindings: list[Any]) -> HttpFunction:
    route = (getattr(trigger, "route", None) or fname).strip("/")
    methods = getattr(trigger, "methods", None)
    method_set = (frozenset(str(getattr(m, "value", m)).upper() for m in methods)
                  if methods else ALL_METHODS)
    auth = getattr(trigger, "auth_level", None)
    client_param = None
    others = []
    storage = []
    for binding in bindings:
        if binding.type == "durableClient":
            client_param = binding.name
        elif binding.type in ("httpTrigger", "http"):
            continue
        elif binding.type in STORAGE_BINDINGS:
            storage.append(_binding_dict(binding))
        else:
            others.append(f"{binding.name} ({binding.type})")
    params = _params(user_fn)
    return HttpFunction(
        name=fname, route=route, methods=method_set,
        auth_level=str(getattr(auth, "value", auth) or "function"),
        is_async=_is_async(user_fn), request_param=trigger.name, client_param=client_param,
        wants_context="context" in params and trigger.name != "context",
        pattern=route_pattern(route), other_inputs=others, bindings=storage,
    )


def check_routes(http: list[HttpFunction]) -> None:
    seen: dict[str, HttpFunction] = {}
    for fn in http:
        key = re.sub(r"\{[^}]*\}", "{}", fn.route.lower())
        other = seen.get(key)
        if other and other.methods & fn.methods:
            shared = ", ".join(sorted(other.methods & fn.methods))
            raise AppLoadError(
                f"Functions {other.name!r} and {fn.name!r} both serve route "
                f"'{fn.route}' for {shared}")
        seen[key] = fn
