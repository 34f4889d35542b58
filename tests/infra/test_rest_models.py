"""Every resource body the program sends, after SDK defaults, validated against the REST API
model of the api-version the azure-native provider calls (tests/infra/rest_models.py): an
unknown property, a read-only one or a wrongly typed value fails, for both plans and both
Durable backends. Mutation checks show the validator catches each kind of mistake."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest
import rest_models

PLANS = ["flex", "consumption"]
BACKENDS = ["azureStorage", "dts"]
NEAREST_MODEL_ONLY = {"azure-native:operationalinsights:Workspace"}
"""No model of the provider's exact version is published on PyPI; checked against the nearest."""


def pulumi_class(typ: str):
    _, module, name = typ.split(":")
    return getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)


def provider_api_version(typ: str) -> str:
    source = inspect.getsource(inspect.getmodule(pulumi_class(typ)))
    (version,) = set(re.findall(r"Uses Azure REST API version ([0-9a-z-]+)", source))
    return version


def model_api_version(spec: rest_models.BodyModel) -> str:
    if match := re.search(r"\.v(\d{4})_(\d{2})_(\d{2})(_preview)?\.", spec.models + "."):
        return "-".join(match.group(1, 2, 3)) + ("-preview" if match.group(4) else "")
    package = Path(importlib.import_module(spec.models.rsplit(".", 1)[0]).__file__).parent
    texts = [(package / "_configuration.py").read_text()]
    if spec.operations:  # older packages pin the version per operation group
        texts = [(package / "operations" / f"_{spec.operations}_operations.py").read_text()]
    for text in texts:
        if found := re.search(r'api_version[^\n]*?"(20\d\d-\d\d-\d\d(?:-preview)?)"', text):
            return found.group(1)
    raise AssertionError(f"no api-version found in {package}")


@pytest.mark.parametrize("typ", sorted(rest_models.MODELS))
def test_each_model_is_of_the_api_version_the_provider_calls(typ):
    spec = rest_models.MODELS[typ]
    assert provider_api_version(typ) == spec.api_version
    assert model_api_version(spec) == spec.model_api_version
    if typ not in NEAREST_MODEL_ONLY:
        assert spec.model_api_version == spec.api_version


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("plan", PLANS)
def test_every_body_matches_its_rest_model(run_stack, plan, backend):
    run = run_stack({"hostingPlan": plan, "durableBackend": backend})
    checked = 0
    for created in run.created:
        if not created.typ.startswith("azure-native:"):
            continue
        if created.typ in rest_models.UNCHECKED:
            continue
        assert created.typ in rest_models.MODELS, f"no REST model for {created.typ}"
        assert rest_models.violations(created.typ, created.inputs) == [], created.name
        checked += 1
    assert checked >= 15


def test_the_web_app_body_nests_site_config_under_properties(run_stack):
    app = run_stack({"hostingPlan": "flex"}).one("web:WebApp")
    body = rest_models.rest_body(app.typ, app.inputs)
    assert set(body) == {"location", "tags", "kind", "identity", "properties"}
    assert {"serverFarmId", "siteConfig", "functionAppConfig", "httpsOnly"} <= set(
        body["properties"]
    )


# ---- mutation checks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "typ, inputs, expected",
    [
        (
            "azure-native:web:WebApp",
            {"siteConfig": {"minTlsVersion": "1.2", "minTLSVersion": "1.2"}},
            "properties.siteConfig.minTLSVersion: not a property of SiteConfig",
        ),
        (
            "azure-native:web:WebApp",
            {"functionAppConfig": {"scaleAndConcurrency": {"instanceMemoryMB": "2048"}}},
            "instanceMemoryMB: '2048' is not a int",
        ),
        (
            "azure-native:web:WebApp",
            {"defaultHostName": "x.azurewebsites.net"},
            "properties.defaultHostName: read-only in SiteProperties",
        ),
        (
            "azure-native:storage:StorageAccount",
            {"allowSharedKeyAccess": "false"},
            "properties.allowSharedKeyAccess: 'false' is not a bool",
        ),
        (
            "azure-native:authorization:RoleAssignment",
            {"principalId": "p", "roleDefinitionId": "r", "principalKind": "ServicePrincipal"},
            "properties.principalKind: not a property of RoleAssignmentCreateParameters",
        ),
        (
            "azure-native:durabletask:Scheduler",
            {"properties": {"sku": {"name": "Consumption"}, "ipAllowList": []}},
            "properties.ipAllowList: not a property of SchedulerProperties",
        ),
        (
            "azure-native:monitor:DiagnosticSetting",
            {"workspaceId": "w", "logs": [{"category": "FunctionAppLogs", "enable": True}]},
            "properties.logs[0].enable: not a property of LogSettings",
        ),
    ],
)
def test_the_validator_catches_each_kind_of_mistake(typ, inputs, expected):
    found = rest_models.violations(typ, inputs)
    assert any(expected in problem for problem in found), found
