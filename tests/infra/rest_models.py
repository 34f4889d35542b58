"""Validate resource bodies against the REST API models of the Azure management SDKs.

Each azure-native resource the program creates is mapped to (a) how its Pulumi inputs become
the ARM request body (path parameters dropped, top-level keys kept, the rest under
``properties``, which is how the provider builds the body) and (b) the SDK model class of the
api-version the provider calls. The body is then walked against the model: a property the
model does not have, a read-only property, or a value of the wrong JSON type is a violation.

Two generations of SDK models are read:

* msrest models (``_attribute_map`` with flattened ``properties.x`` keys, ``_validation``
  read-only flags): Authorization, ManagedIdentity, Application Insights, Monitor, Log
  Analytics.
* TypeSpec models (``model_base`` rest fields with visibility): Web, Storage, DurableTask.
"""

from __future__ import annotations

import datetime
import enum
import importlib
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BodyModel:
    """How one Pulumi resource type becomes a REST body, and the model that checks it."""

    models: str  # module holding the model classes
    model: str  # model class of the PUT body
    api_version: str  # the version the provider uses (from the SDK docstring)
    model_api_version: str  # the version the model module describes
    path: frozenset[str]  # inputs that are URL path parameters
    top: frozenset[str]  # inputs that stay at the top level of the body
    renames: Mapping[str, str]  # SDK property name -> REST name, where they differ
    operations: str = ""  # older SDKs: the operation group whose module names the version


def _model(models, model, api, path, top=(), model_api=None, renames=None,
           operations="") -> BodyModel:
    return BodyModel(models, model, api, model_api or api, frozenset(path), frozenset(top),
                     dict(renames or {}), operations)


TRACKED = ("location", "tags")
MODELS: dict[str, BodyModel] = {
    "azure-native:web:WebApp": _model(
        "azure.mgmt.web.models", "Site", "2025-05-01", ("resourceGroupName", "name"),
        (*TRACKED, "kind", "identity", "extendedLocation"),
    ),
    "azure-native:web:AppServicePlan": _model(
        "azure.mgmt.web.models", "AppServicePlan", "2025-05-01", ("resourceGroupName", "name"),
        (*TRACKED, "kind", "sku", "extendedLocation"),
    ),
    "azure-native:web:WebAppFtpAllowed": _model(
        "azure.mgmt.web.models", "CsmPublishingCredentialsPoliciesEntity", "2025-05-01",
        ("resourceGroupName", "name"), ("kind",),
    ),
    "azure-native:web:WebAppScmAllowed": _model(
        "azure.mgmt.web.models", "CsmPublishingCredentialsPoliciesEntity", "2025-05-01",
        ("resourceGroupName", "name"), ("kind",),
    ),
    "azure-native:storage:StorageAccount": _model(
        "azure.mgmt.storage.models", "StorageAccountCreateParameters", "2024-01-01",
        ("resourceGroupName", "accountName"), (*TRACKED, "kind", "sku", "identity",
                                               "extendedLocation"),
        # x-ms-client-name in the spec; the provider sends the REST name.
        renames={"enableHttpsTrafficOnly": "supportsHttpsTrafficOnly"},
    ),
    "azure-native:storage:BlobContainer": _model(
        "azure.mgmt.storage.models", "BlobContainer", "2024-01-01",
        ("resourceGroupName", "accountName", "containerName"),
    ),
    "azure-native:storage:Queue": _model(
        "azure.mgmt.storage.models", "StorageQueue", "2024-01-01",
        ("resourceGroupName", "accountName", "queueName"),
    ),
    "azure-native:authorization:RoleAssignment": _model(
        "azure.mgmt.authorization.v2022_04_01.models", "RoleAssignmentCreateParameters",
        "2022-04-01", ("scope", "roleAssignmentName"),
    ),
    "azure-native:managedidentity:UserAssignedIdentity": _model(
        "azure.mgmt.msi.v2023_01_31.models", "Identity", "2023-01-31",
        ("resourceGroupName", "resourceName"), TRACKED,
    ),
    "azure-native:applicationinsights:Component": _model(
        "azure.mgmt.applicationinsights.v2020_02_02.models", "ApplicationInsightsComponent",
        "2020-02-02", ("resourceGroupName", "resourceName"), (*TRACKED, "kind", "etag"),
        renames={  # this spec's REST names are PascalCase
            "applicationType": "Application_Type",
            "workspaceResourceId": "WorkspaceResourceId",
            "ingestionMode": "IngestionMode",
            "disableLocalAuth": "DisableLocalAuth",
            "retentionInDays": "RetentionInDays",
            "flowType": "Flow_Type",  # SDK default Bluefield
            "requestSource": "Request_Source",  # SDK default rest
        },
    ),
    "azure-native:operationalinsights:Workspace": _model(
        "azure.mgmt.loganalytics.models", "Workspace", "2023-09-01",
        ("resourceGroupName", "workspaceName"), (*TRACKED, "identity", "etag"),
        model_api="2021-06-01",  # the nearest version published on PyPI
        operations="workspaces",
    ),
    "azure-native:monitor:DiagnosticSetting": _model(
        "azure.mgmt.monitor.v2021_05_01_preview.models", "DiagnosticSettingsResource",
        "2021-05-01-preview", ("resourceUri", "name"),
    ),
    "azure-native:durabletask:Scheduler": _model(
        "azure.mgmt.durabletask.models", "Scheduler", "2026-02-01",
        ("resourceGroupName", "schedulerName"), (*TRACKED, "properties"),
    ),
    "azure-native:durabletask:TaskHub": _model(
        "azure.mgmt.durabletask.models", "TaskHub", "2026-02-01",
        ("resourceGroupName", "schedulerName", "taskHubName"), ("properties",),
    ),
}
UNCHECKED = {
    "azure-native:resources:ResourceGroup": "location and tags only; no 2024-03-01 model on PyPI",
}


def rest_body(typ: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The ARM PUT body azure-native builds from ``inputs`` (wire names) for ``typ``."""
    spec = MODELS[typ]
    body: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for key, value in inputs.items():
        if key in spec.path or key.startswith("__"):
            continue
        key = spec.renames.get(key, key)
        (body if key in spec.top else properties)[key] = value
    if properties:
        body.setdefault("properties", {}).update(properties)
    identity = body.get("identity")
    if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
        # azure-native v3 takes a list of identity ids; the REST body is a map id -> {}.
        body["identity"] = {**identity, "userAssignedIdentities": {
            i: {} for i in identity["userAssignedIdentities"]}}
    return body


def violations(typ: str, inputs: Mapping[str, Any]) -> list[str]:
    """Every way the body for ``inputs`` disagrees with the REST model of ``typ``."""
    spec = MODELS[typ]
    module = importlib.import_module(spec.models)
    problems: list[str] = []
    _check(rest_body(typ, inputs), getattr(module, spec.model), module, "", problems)
    return problems


# ---- walking a body against a model ------------------------------------------------------


def _check(value: Any, kind: Any, module: Any, path: str, problems: list[str]) -> None:
    kind = _unwrap(kind, value, module)
    if kind is Any or kind is object or kind is None:
        return
    if isinstance(kind, str):  # msrest type string
        _check_msrest_type(value, kind, module, path, problems)
        return
    origin = typing.get_origin(kind)
    if origin in (list, typing.List):  # noqa: UP006
        if not isinstance(value, list):
            problems.append(f"{path or '<body>'}: expected a list, got {value!r}")
            return
        (item,) = typing.get_args(kind)
        for i, element in enumerate(value):
            _check(element, item, module, f"{path}[{i}]", problems)
        return
    if origin in (dict, typing.Dict):  # noqa: UP006
        if not isinstance(value, dict):
            problems.append(f"{path or '<body>'}: expected an object, got {value!r}")
            return
        _, item = typing.get_args(kind)
        for key, element in value.items():
            _check(element, item, module, f"{path}.{key}", problems)
        return
    if isinstance(kind, type) and hasattr(kind, "_attribute_map"):
        _check_msrest_model(value, kind, module, path, problems)
        return
    if isinstance(kind, type) and _is_typespec_model(kind):
        _check_typespec_model(value, kind, module, path, problems)
        return
    _check_scalar(value, kind, path, problems)


def _unwrap(kind: Any, value: Any, module: Any) -> Any:
    if typing.get_origin(kind) is typing.Union or type(kind).__name__ == "UnionType":
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        if isinstance(value, dict):
            models = [a for a in options if isinstance(a, type) and _is_model(a)]
            if models:
                return models[0]
        if isinstance(value, str) and any(a is str or _is_enum(a) for a in options):
            return str
        return options[0] if len(options) == 1 else Any
    if typing.get_origin(kind) is typing.Literal:
        return str
    return kind


def _is_enum(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, enum.Enum)


def _is_typespec_model(kind: type) -> bool:
    return any(b.__name__ == "Model" and "model_base" in b.__module__ for b in kind.__mro__)


def _is_model(kind: type) -> bool:
    return hasattr(kind, "_attribute_map") or _is_typespec_model(kind)


def _check_scalar(value: Any, kind: Any, path: str, problems: list[str]) -> None:
    if _is_enum(kind) or kind is str:
        ok = isinstance(value, str)
    elif kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        # Pulumi carries numbers as doubles; the provider writes 30.0 as the JSON number 30.
        ok = not isinstance(value, bool) and (
            isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        )
    elif kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind in (datetime.datetime, datetime.date, datetime.timedelta):
        ok = isinstance(value, str)
    else:
        ok = True
    if not ok:
        problems.append(f"{path}: {value!r} is not a {getattr(kind, '__name__', kind)}")


def _check_typespec_model(value: Any, kind: type, module: Any, path: str,
                          problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append(f"{path or '<body>'}: expected an object, got {value!r}")
        return
    kind({})  # the SDK fills in its field table on first construction
    fields = {f._rest_name_input: (attr, f) for attr, f in kind._attr_to_rest_field.items()}
    hints = typing.get_type_hints(kind, localns={"_models": importlib.import_module(
        kind.__module__.rsplit(".", 1)[0])})
    for key, element in value.items():
        where = f"{path}.{key}" if path else key
        if key not in fields:
            problems.append(f"{where}: not a property of {kind.__name__}")
            continue
        attr, field = fields[key]
        visibility = field._visibility or []
        if visibility and not {"create", "update"} & set(visibility):
            problems.append(f"{where}: read-only in {kind.__name__}")
            continue
        _check(element, hints.get(attr, Any), module, where, problems)


def _check_msrest_model(value: Any, kind: type, module: Any, path: str,
                        problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append(f"{path or '<body>'}: expected an object, got {value!r}")
        return
    tree: dict[str, Any] = {}
    readonly = {a for a, rules in getattr(kind, "_validation", {}).items() if rules.get("readonly")}
    for attr, info in kind._attribute_map.items():
        parts = [p.replace("\\.", ".") for p in _split_key(info["key"])]
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = ("READONLY" if attr in readonly else info["type"])
    _walk_msrest_tree(value, tree, kind, module, path, problems)


def _split_key(key: str) -> list[str]:
    parts, current, i = [], "", 0
    while i < len(key):
        if key.startswith("\\.", i):
            current += "\\."
            i += 2
        elif key[i] == ".":
            parts.append(current)
            current = ""
            i += 1
        else:
            current += key[i]
            i += 1
    return [*parts, current]


def _walk_msrest_tree(value: Any, tree: dict[str, Any], kind: type, module: Any, path: str,
                      problems: list[str]) -> None:
    for key, element in value.items():
        where = f"{path}.{key}" if path else key
        if key not in tree:
            problems.append(f"{where}: not a property of {kind.__name__}")
        elif tree[key] == "READONLY":
            problems.append(f"{where}: read-only in {kind.__name__}")
        elif isinstance(tree[key], dict):
            if isinstance(element, dict):
                _walk_msrest_tree(element, tree[key], kind, module, where, problems)
            else:
                problems.append(f"{where}: expected an object, got {element!r}")
        else:
            _check_msrest_type(element, tree[key], module, where, problems)


_MSREST_SCALARS = {"str": str, "bool": bool, "int": int, "long": int, "float": float,
                   "iso-8601": datetime.datetime, "rfc-1123": datetime.datetime,
                   "duration": datetime.timedelta, "date": datetime.date, "object": Any}


def _check_msrest_type(value: Any, kind: str, module: Any, path: str,
                       problems: list[str]) -> None:
    if kind.startswith("[") and kind.endswith("]"):
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {value!r}")
            return
        for i, element in enumerate(value):
            _check_msrest_type(element, kind[1:-1], module, f"{path}[{i}]", problems)
    elif kind.startswith("{") and kind.endswith("}"):
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object, got {value!r}")
            return
        for key, element in value.items():
            _check_msrest_type(element, kind[1:-1], module, f"{path}.{key}", problems)
    elif kind in _MSREST_SCALARS:
        _check_scalar(value, _MSREST_SCALARS[kind], path, problems)
    elif hasattr(module, kind):
        target = getattr(module, kind)
        if _is_enum(target):
            _check_scalar(value, str, path, problems)
        else:
            _check_msrest_model(value, target, module, path, problems)
