"""The per-plan rule table (infra/planrules.py) tested both ways, applied to every site body
the program sends (as it goes to the engine, SDK defaults included), and mutation checks:
a Flex-forbidden property or a missing role makes these checks fail."""

from __future__ import annotations

import pytest
from pulumi_azure_native import web

from infra import planrules, roles
from infra.components import identity as identity_component

PLANS = ["flex", "consumption"]
BACKENDS = ["azureStorage", "dts"]
DATA_ROLES = {
    "azureStorage": {
        roles.STORAGE_BLOB_DATA_OWNER: "storage:StorageAccount",
        roles.STORAGE_QUEUE_DATA_CONTRIBUTOR: "storage:StorageAccount",
        roles.STORAGE_TABLE_DATA_CONTRIBUTOR: "storage:StorageAccount",
        roles.MONITORING_METRICS_PUBLISHER: "applicationinsights:Component",
    },
}
DATA_ROLES["dts"] = {
    **DATA_ROLES["azureStorage"],
    roles.DURABLE_TASK_DATA_CONTRIBUTOR: "durabletask:Scheduler",
}
"""What the app's identity needs, per backend: (role -> type of the scope resource). The host
keeps using its storage account with the scheduler (keys, leases, the backup container)."""


def good_body(plan: str) -> dict:
    config = planrules.site_config(plan, "3.11", [
        {"name": "FUNCTIONS_WORKER_RUNTIME", "value": "python"},
        {"name": "FUNCTIONS_EXTENSION_VERSION", "value": "~4"},
    ] if plan == "consumption" else [])
    body: dict = {"siteConfig": config}
    if plan == "flex":
        body["functionAppConfig"] = {"runtime": {"name": "python", "version": "3.11"}}
    return body


def missing_roles(run, backend: str) -> list[str]:
    """Required (role, scope) pairs of the app identity that the stack does not assign."""
    granted = {
        (a.inputs["roleDefinitionId"].rsplit("/", 1)[1], a.inputs["scope"])
        for a in run.of_type("authorization:RoleAssignment")
        if a.name.startswith("identity-") and "-pkg-" not in a.name
    }
    return [
        f"{role} on {scope_type}"
        for role, scope_type in DATA_ROLES[backend].items()
        if (role, run.one(scope_type).id) not in granted
    ]


# ---- the table, both ways -----------------------------------------------------------------


@pytest.mark.parametrize("plan", PLANS)
def test_the_bodies_the_table_builds_pass_its_own_rules(plan):
    assert planrules.site_violations(plan, good_body(plan)) == []


@pytest.mark.parametrize("key", sorted(planrules.FLEX_SITE_CONFIG_REJECTED))
def test_each_property_flex_rejects_is_caught(key):
    body = good_body("flex")
    body["siteConfig"][key] = "x"
    assert planrules.site_violations("flex", body) == [
        f"siteConfig.{key} is not accepted on Flex Consumption"
    ]


def test_flex_allow_list_also_catches_properties_nobody_listed_yet():
    body = good_body("flex")
    body["siteConfig"]["someFutureProperty"] = True
    assert planrules.site_violations("flex", body)


def test_flex_needs_function_app_config_with_the_python_runtime():
    body = good_body("flex")
    del body["functionAppConfig"]
    assert planrules.site_violations("flex", body) == [
        "functionAppConfig is required on Flex Consumption",
        "functionAppConfig.runtime.name must be python",
    ]


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda b: b["siteConfig"].pop("linuxFxVersion"), "siteConfig.linuxFxVersion is required"),
        (lambda b: b.update(functionAppConfig={}), "functionAppConfig is Flex Consumption only"),
        (lambda b: b["siteConfig"]["appSettings"].pop(0), "FUNCTIONS_WORKER_RUNTIME is required"),
    ],
)
def test_what_linux_consumption_needs_is_caught(mutate, expected):
    body = good_body("consumption")
    mutate(body)
    (problem,) = planrules.site_violations("consumption", body)
    assert expected in problem


# ---- every body the program sends ---------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("plan", PLANS)
def test_the_program_sends_only_what_each_plan_accepts(run_stack, plan, backend):
    app = run_stack({"hostingPlan": plan, "durableBackend": backend}).one("web:WebApp").inputs
    assert planrules.site_violations(plan, app) == []
    if plan == "flex":
        assert set(app["siteConfig"]) == planrules.FLEX_SITE_CONFIG


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("plan", PLANS)
def test_the_app_identity_has_every_role_its_backend_needs(run_stack, plan, backend):
    assert missing_roles(run_stack({"hostingPlan": plan, "durableBackend": backend}), backend) == []


# ---- mutation checks: the checks above fail on a broken program ---------------------------


def test_sdk_site_config_args_would_send_defaults_flex_rejects(run_stack, monkeypatch):
    """pulumi/pulumi-azure-native#4168: `web.SiteConfigArgs` adds netFrameworkVersion v4.6
    (and localMySqlEnabled, http20Enabled). Building siteConfig with it must be caught."""
    def with_sdk_args(plan, python_version, app_settings):
        return web.SiteConfigArgs(app_settings=app_settings, min_tls_version="1.2")

    monkeypatch.setattr(planrules, "site_config", with_sdk_args)
    app = run_stack({"hostingPlan": "flex"}).one("web:WebApp").inputs
    assert app["siteConfig"]["netFrameworkVersion"] == "v4.6"  # on the wire, never written
    assert "siteConfig.netFrameworkVersion is not accepted on Flex Consumption" in (
        planrules.site_violations("flex", app)
    )


def test_a_flex_forbidden_property_added_to_the_program_is_caught(run_stack, monkeypatch):
    original = planrules.site_config

    def with_ftps(plan, python_version, app_settings):
        return {**original(plan, python_version, app_settings), "ftpsState": "Disabled"}

    monkeypatch.setattr(planrules, "site_config", with_ftps)
    app = run_stack({"hostingPlan": "flex"}).one("web:WebApp").inputs
    assert planrules.site_violations("flex", app) == [
        "siteConfig.ftpsState is not accepted on Flex Consumption"
    ]


def test_a_dropped_role_is_caught(run_stack, monkeypatch):
    reduced = dict(identity_component.STORAGE_ROLES)
    del reduced["queue-contributor"]
    monkeypatch.setattr(identity_component, "STORAGE_ROLES", reduced)
    assert missing_roles(run_stack({}), "azureStorage") == [
        f"{roles.STORAGE_QUEUE_DATA_CONTRIBUTOR} on storage:StorageAccount"
    ]


def test_a_dropped_scheduler_role_is_caught(run_stack, monkeypatch):
    monkeypatch.setattr(roles, "DURABLE_TASK_DATA_CONTRIBUTOR", roles.STORAGE_BLOB_DATA_READER)
    assert missing_roles(run_stack({"durableBackend": "dts"}), "dts") == [
        "0ad04412-c4d5-4796-b79c-f76d14c8d402 on durabletask:Scheduler"
    ]
