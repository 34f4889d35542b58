"""The Durable Task Scheduler backend (``durableBackend=dts``) on both plans: scheduler and
task hub, the app's role on it, the connection settings, host.json, outputs and config."""

from __future__ import annotations

import json
import zipfile

import pytest

from infra import hostjson, roles
from infra.config import ConfigError

PLANS = ["flex", "consumption"]
REPO_HOST_JSON = {
    "version": "2.0",
    "logging": {"logLevel": {"default": "Information"}},
    "extensionBundle": {
        "id": "Microsoft.Azure.Functions.ExtensionBundle",
        "version": "[4.*, 5.0.0)",
    },
    "extensions": {
        "durableTask": {"hubName": "DurableExamplesHub", "maxConcurrentActivityFunctions": 1000}
    },
}


def settings_of(run) -> dict[str, str]:
    app = run.one("web:WebApp")
    return {pair["name"]: pair["value"] for pair in app.inputs["siteConfig"]["appSettings"]}


@pytest.mark.parametrize("plan", PLANS)
def test_dts_creates_a_consumption_scheduler_open_to_the_internet_and_a_hub(run_stack, plan):
    run = run_stack({"hostingPlan": plan, "durableBackend": "dts"})
    scheduler = run.one("durabletask:Scheduler")
    assert scheduler.inputs["properties"] == {
        "ipAllowlist": ["0.0.0.0/0"],
        "sku": {"name": "Consumption"},
    }
    hub = run.one("durabletask:TaskHub")
    assert hub.inputs["schedulerName"] == scheduler.outputs["name"]
    assert hub.inputs["taskHubName"] == f"dfpy{plan.capitalize()}Hub"  # the plan's own hub


def test_dedicated_sku_carries_its_capacity_and_the_allow_list(run_stack):
    run = run_stack(
        {
            "durableBackend": "dts",
            "dtsSku": "Dedicated",
            "dtsCapacity": "3",
            "dtsIpAllowList": '["203.0.113.0/24", "2001:db8::/32"]',
        }
    )
    assert run.one("durabletask:Scheduler").inputs["properties"] == {
        "ipAllowlist": ["203.0.113.0/24", "2001:db8::/32"],
        "sku": {"name": "Dedicated", "capacity": 3},
    }


@pytest.mark.parametrize("plan", PLANS)
def test_app_connects_with_its_identity_and_gets_the_data_role(run_stack, fake, plan):
    run = run_stack({"hostingPlan": plan, "durableBackend": "dts"})
    scheduler = run.one("durabletask:Scheduler")
    settings = settings_of(run)
    endpoint = scheduler.outputs["properties"]["endpoint"]
    assert settings["DURABLE_TASK_SCHEDULER_CONNECTION_STRING"] == (
        f"Endpoint={endpoint};Authentication=ManagedIdentity;ClientID={fake.uami_client_id}"
    )
    assert settings["TASKHUB_NAME"] == run.one("durabletask:TaskHub").outputs["name"]
    (assignment,) = [
        a for a in run.of_type("RoleAssignment") if a.inputs["scope"] == scheduler.id
    ]
    assert assignment.inputs["roleDefinitionId"].endswith(roles.DURABLE_TASK_DATA_CONTRIBUTOR)
    assert assignment.inputs["principalId"] == fake.uami_principal_id
    assert run.depends_on(run.one("web:WebApp"), assignment)  # role exists at first start
    # The host still uses its storage account (keys, leases, the app's backups).
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"


def test_dts_outputs_the_endpoint_and_the_dashboard(run_stack):
    run = run_stack({"durableBackend": "dts"})
    assert run.outputs["durable_backend"] == "dts"
    assert run.outputs["scheduler_endpoint"].endswith(".durabletask.io")
    assert run.outputs["scheduler_dashboard_url"].startswith("https://dashboard.durabletask.io/")
    assert run.outputs["task_hub_name"] == "dfpyFlexHub"
    assert run.outputs["scheduler_id"] == run.one("durabletask:Scheduler").id


def test_azure_storage_backend_creates_no_scheduler(run_stack):
    run = run_stack({})
    assert run.of_type("durabletask:Scheduler") == []
    assert "DURABLE_TASK_SCHEDULER_CONNECTION_STRING" not in settings_of(run)
    assert "scheduler_endpoint" not in run.outputs


@pytest.mark.parametrize(
    "config, key, message",
    [
        ({"durableBackend": "netherite"}, "durableBackend", "allowed values: azureStorage, dts"),
        ({"durableBackend": "dts", "dtsIpAllowList": "[]"}, "dtsIpAllowList", "denies all"),
        ({"durableBackend": "dts", "dtsIpAllowList": '["everyone"]'}, "dtsIpAllowList", "CIDR"),
        ({"durableBackend": "dts", "dtsSku": "Free"}, "dtsSku", "Consumption, Dedicated"),
        ({"durableBackend": "dts", "dtsCapacity": "0"}, "dtsCapacity", "1-10"),
    ],
)
def test_bad_dts_config_names_the_key(run_stack, config, key, message):
    with pytest.raises(ConfigError) as error:
        run_stack(config)
    assert message in error.value.problems[key]


def test_a_package_built_for_the_other_backend_is_refused(run_stack, tmp_path):
    package = tmp_path / "app.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("host.json", json.dumps(hostjson.host_json_for(REPO_HOST_JSON, "dts")))
    with pytest.raises(ConfigError) as error:
        run_stack({"packagePath": str(package)})
    assert "--durable-backend azureStorage" in error.value.problems["durableBackend"]
    run = run_stack({"packagePath": str(package), "durableBackend": "dts"})
    assert run.one("durabletask:Scheduler")


# ---- host.json per backend ----------------------------------------------------------------


def test_dts_host_json_uses_the_azure_managed_provider_and_keeps_the_rest():
    host = hostjson.host_json_for(REPO_HOST_JSON, "dts")
    durable = host["extensions"]["durableTask"]
    assert durable["storageProvider"] == {
        "type": "azureManaged",
        "connectionStringName": "DURABLE_TASK_SCHEDULER_CONNECTION_STRING",
    }
    assert durable["hubName"] == "%TASKHUB_NAME%"
    assert durable["maxConcurrentActivityFunctions"] == 1000
    assert host["extensionBundle"]["version"] == "[4.30.0, 5.0.0)"
    assert host["logging"] == REPO_HOST_JSON["logging"]
    assert hostjson.backend_of(host) == "dts"
    assert REPO_HOST_JSON["extensions"]["durableTask"]["hubName"] == "DurableExamplesHub"


def test_azure_storage_host_json_is_the_repository_file_and_undoes_dts():
    assert hostjson.host_json_for(REPO_HOST_JSON, "azureStorage") == REPO_HOST_JSON
    back = hostjson.host_json_for(hostjson.host_json_for(REPO_HOST_JSON, "dts"), "azureStorage")
    assert "storageProvider" not in back["extensions"]["durableTask"]
    assert hostjson.backend_of(back) == "azureStorage"


@pytest.mark.parametrize(
    "given, expected",
    [
        ("[4.*, 5.0.0)", "[4.30.0, 5.0.0)"),
        ("[4.29.0, 5.0.0)", "[4.30.0, 5.0.0)"),
        # 4.30.0 already lists Microsoft.Azure.WebJobs.Extensions.DurableTask.AzureManaged in
        # its extensions.json (Azure/azure-functions-extension-bundles, tag 4.30.0, #621):
        # a range that starts there is kept, not raised.
        ("[4.30.0, 5.0.0)", "[4.30.0, 5.0.0)"),
        ("[4.31.0, 5.0.0)", "[4.31.0, 5.0.0)"),
        ("[4.40.1, 5.0.0)", "[4.40.1, 5.0.0)"),
    ],
)
def test_bundle_range_is_raised_only_when_too_low(given, expected):
    source = {**REPO_HOST_JSON, "extensionBundle": {"id": "x", "version": given}}
    assert hostjson.host_json_for(source, "dts")["extensionBundle"]["version"] == expected


def test_bundle_range_that_is_not_a_range_is_reported():
    with pytest.raises(hostjson.HostJsonError, match="not a range"):
        hostjson.host_json_for({"extensionBundle": {"version": "latest"}}, "dts")
