"""The Pulumi program under mocks, for both hosting plans: security settings, roles, plan,
runtime, app settings, deployment steps, outputs and config errors."""

from __future__ import annotations

import hashlib

import pytest

from infra import appsettings, roles
from infra.config import ConfigError

PLANS = ["flex", "consumption"]


def settings_of(run) -> dict[str, str]:
    app = run.one("web:WebApp")
    return {pair["name"]: pair["value"] for pair in app.inputs["siteConfig"]["appSettings"]}


def role_guid(assignment) -> str:
    return assignment.inputs["roleDefinitionId"].rsplit("/", 1)[1]


@pytest.mark.parametrize("plan", PLANS)
def test_storage_account_is_locked_down(run_stack, plan):
    account = run_stack({"hostingPlan": plan}).one("storage:StorageAccount").inputs
    assert account["kind"] == "StorageV2"
    assert account["enableHttpsTrafficOnly"] is True
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["allowBlobPublicAccess"] is False
    assert account["allowSharedKeyAccess"] is False
    assert account["defaultToOAuthAuthentication"] is True


def test_shared_key_access_can_be_turned_on(run_stack):
    account = run_stack({"allowSharedKeyAccess": "true"}).one("storage:StorageAccount").inputs
    assert account["allowSharedKeyAccess"] is True


@pytest.mark.parametrize("plan", PLANS)
def test_private_containers_for_packages_and_backups(run_stack, plan):
    containers = run_stack({"hostingPlan": plan}).of_type("storage:BlobContainer")
    assert {c.inputs["containerName"]: c.inputs["publicAccess"] for c in containers} == {
        "deployments": "None",
        "backups": "None",
    }


@pytest.mark.parametrize("plan", PLANS)
def test_app_identity_gets_data_roles_on_the_account_and_metrics_publisher(run_stack, fake, plan):
    run = run_stack({"hostingPlan": plan})
    account_id = run.one("storage:StorageAccount").id
    insights_id = run.one("applicationinsights:Component").id
    app_roles = [
        a
        for a in run.of_type("authorization:RoleAssignment")
        if a.name.startswith("identity-") and "-pkg-" not in a.name
    ]
    assert {(role_guid(a), a.inputs["scope"]) for a in app_roles} == {
        (roles.STORAGE_BLOB_DATA_OWNER, account_id),
        (roles.STORAGE_QUEUE_DATA_CONTRIBUTOR, account_id),
        (roles.STORAGE_TABLE_DATA_CONTRIBUTOR, account_id),
        (roles.MONITORING_METRICS_PUBLISHER, insights_id),
    }
    for assignment in app_roles:
        assert assignment.inputs["principalId"] == fake.uami_principal_id
        assert assignment.inputs["principalType"] == "ServicePrincipal"
        assert assignment.inputs["roleDefinitionId"].startswith(
            f"/subscriptions/{fake.subscription}/providers/Microsoft.Authorization/roleDefinitions/"
        )


@pytest.mark.parametrize("plan", PLANS)
def test_app_is_created_after_its_roles(run_stack, plan):
    run = run_stack({"hostingPlan": plan})
    app = run.one("web:WebApp")
    for assignment in run.of_type("authorization:RoleAssignment"):
        if assignment.name.startswith("identity-"):
            assert run.depends_on(app, assignment), assignment.name


def app_identity(run):
    identities = run.of_type("managedidentity:UserAssignedIdentity")
    return next(i for i in identities if not i.name.endswith("-pkg"))


@pytest.mark.parametrize("plan", PLANS)
def test_app_is_linux_https_only_tls12_with_user_assigned_identity(run_stack, plan):
    run = run_stack({"hostingPlan": plan})
    app = run.one("web:WebApp").inputs
    identities = [app_identity(run).id]
    if plan == "consumption":
        identities.append(run.one("managedidentity:UserAssignedIdentity", "-pkg").id)
        assert app["siteConfig"]["ftpsState"] == "Disabled"
        assert app["siteConfig"]["scmMinTlsVersion"] == "1.2"
    assert app["kind"] == "functionapp,linux"
    assert app["httpsOnly"] is True
    assert app["siteConfig"]["minTlsVersion"] == "1.2"
    assert app["identity"] == {"type": "UserAssigned", "userAssignedIdentities": identities}
    basic_auth = run.of_type("web:WebAppFtpAllowed") + run.of_type("web:WebAppScmAllowed")
    assert [b.inputs["allow"] for b in basic_auth] == [False, False]


def test_flex_plan_and_function_app_config(run_stack):
    run = run_stack(
        {"hostingPlan": "flex", "instanceMemoryMB": "4096", "maximumInstanceCount": "40"}
    )
    plan = run.one("web:AppServicePlan").inputs
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["reserved"] is True
    app = run.one("web:WebApp").inputs
    identity_id = app_identity(run).id
    account = run.one("storage:StorageAccount").outputs["name"]
    config = app["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    assert config["scaleAndConcurrency"] == {"instanceMemoryMB": 4096, "maximumInstanceCount": 40}
    assert config["deployment"]["storage"] == {
        "type": "blobContainer",
        "value": f"https://{account}.blob.core.windows.net/deployments",
        "authentication": {
            "type": "UserAssignedIdentity",
            "userAssignedIdentityResourceId": identity_id,
        },
    }
    assert "linuxFxVersion" not in app["siteConfig"]


def test_consumption_plan_and_runtime(run_stack):
    run = run_stack({"hostingPlan": "consumption", "pythonVersion": "3.12"})
    plan = run.one("web:AppServicePlan").inputs
    assert (plan["sku"]["name"], plan["sku"]["tier"], plan["reserved"]) == ("Y1", "Dynamic", True)
    app = run.one("web:WebApp").inputs
    assert app["siteConfig"]["linuxFxVersion"] == "Python|3.12"
    assert "functionAppConfig" not in app


@pytest.mark.parametrize("plan", PLANS)
def test_host_storage_is_identity_based(run_stack, fake, plan):
    run = run_stack({"hostingPlan": plan})
    settings = settings_of(run)
    account = run.one("storage:StorageAccount").outputs["name"]
    for service in ("blob", "queue", "table"):
        assert (
            settings[f"AzureWebJobsStorage__{service}ServiceUri"]
            == f"https://{account}.{service}.core.windows.net/"
        )
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == fake.uami_client_id
    assert settings["AZURE_CLIENT_ID"] == fake.uami_client_id
    assert "AzureWebJobsStorage" not in settings  # a connection string would take precedence
    assert not any("AccountKey=" in value for value in settings.values())
    assert settings["APPLICATIONINSIGHTS_CONNECTION_STRING"] == fake.insights_connection
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        f"ClientId={fake.uami_client_id};Authorization=AAD"
    )
    assert settings["BACKUP_STORAGE_ACCOUNT_URL"] == f"https://{account}.blob.core.windows.net/"
    assert settings["BACKUP_CONTAINER"] == "backups"


def test_flex_app_has_no_setting_flex_forbids(run_stack):
    settings = settings_of(run_stack({"hostingPlan": "flex"}))
    assert not appsettings.FLEX_FORBIDDEN & settings.keys()
    assert not [name for name in settings if ":" in name]


def test_consumption_runs_from_the_uploaded_blob_with_the_package_identity(run_stack, package_zip):
    run = run_stack({"hostingPlan": "consumption"})
    settings = settings_of(run)
    account = run.one("storage:StorageAccount").outputs["name"]
    sha = hashlib.sha256(package_zip.read_bytes()).hexdigest()
    blob_url = f"https://{account}.blob.core.windows.net/deployments/app-{sha[:16]}.zip"
    assert settings["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert settings["FUNCTIONS_EXTENSION_VERSION"] == "~4"
    assert settings["WEBSITE_RUN_FROM_PACKAGE"] == blob_url
    assert (
        settings["WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID"]
        == run.one("managedidentity:UserAssignedIdentity", "-pkg").id
    )
    # Identity-only app: no Azure Files content share (that would need account keys).
    assert not {"WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTSHARE"} & set(settings)

    upload, sync = (
        next(d for d in run.of_type("dynamic/deploy:PackageDeployment") if d.name == name)
        for name in ("package-blob", "code-sync-triggers")
    )
    assert upload.inputs["operation"] == "blob-upload"
    assert upload.inputs["blob_url"] == blob_url
    assert upload.inputs["package_sha256"] == sha
    assert run.depends_on(run.one("web:WebApp"), upload)  # the blob exists before the app uses it
    assert sync.inputs["operation"] == "sync-triggers"
    assert sync.inputs["app_id"] == run.one("web:WebApp").id
    assert run.depends_on(sync, run.one("web:WebApp"))


def test_consumption_package_fetch_may_only_read_the_deployment_container(run_stack, fake):
    """Least privilege for WEBSITE_RUN_FROM_PACKAGE: its own identity, Storage Blob Data Reader
    on the deployment container, no other role anywhere."""
    run = run_stack({"hostingPlan": "consumption"})
    package_identity = run.one("managedidentity:UserAssignedIdentity", "-pkg")
    container = next(
        c
        for c in run.of_type("storage:BlobContainer")
        if c.inputs["containerName"] == "deployments"
    )
    granted = [
        (role_guid(a), a.inputs["scope"])
        for a in run.of_type("authorization:RoleAssignment")
        if a.inputs["principalId"] == fake.package_principal_id
    ]
    assert granted == [(roles.STORAGE_BLOB_DATA_READER, container.id)]
    assert package_identity.outputs["principalId"] == fake.package_principal_id
    reader = next(a for a in run.of_type("RoleAssignment") if a.name.endswith("pkg-blob-reader"))
    assert run.depends_on(run.one("web:WebApp"), reader)


def test_flex_has_no_package_identity(run_stack):
    run = run_stack({"hostingPlan": "flex"})
    assert [i.name for i in run.of_type("UserAssignedIdentity")] == ["id-dfpy"]


def test_consumption_deployer_may_write_the_deployment_container_only(run_stack, fake):
    run = run_stack({"hostingPlan": "consumption"})
    deployer = next(a for a in run.of_type("RoleAssignment") if "deployer" in a.name)
    container = next(
        c
        for c in run.of_type("storage:BlobContainer")
        if c.inputs["containerName"] == "deployments"
    )
    assert role_guid(deployer) == roles.STORAGE_BLOB_DATA_CONTRIBUTOR
    assert deployer.inputs["scope"] == container.id
    assert deployer.inputs["principalId"] == fake.deployer_object_id
    upload = next(d for d in run.of_type("PackageDeployment") if d.name == "package-blob")
    assert run.depends_on(upload, deployer)


def test_flex_deploys_once_through_the_scm_site(run_stack, package_zip):
    run = run_stack({"hostingPlan": "flex"})
    (step,) = run.of_type("dynamic/deploy:PackageDeployment")
    app = run.one("web:WebApp")
    assert step.inputs["operation"] == "flex-publish"
    assert step.inputs["scm_url"] == f"https://{app.outputs['name']}.scm.azurewebsites.net"
    assert step.inputs["package_sha256"] == hashlib.sha256(package_zip.read_bytes()).hexdigest()
    assert step.inputs["package_path"] == str(package_zip)
    assert step.inputs["app_id"] == app.id  # the host check after the publish
    assert step.inputs["expected_functions"] == ["start_orchestration", "fanout", "delay",
                                                 "booking_request"]
    assert run.depends_on(step, app)
    assert not [a for a in run.of_type("RoleAssignment") if "deployer" in a.name]


@pytest.mark.parametrize("plan", PLANS)
def test_deploy_code_false_creates_infrastructure_only(run_stack, plan):
    run = run_stack({"hostingPlan": plan, "deployCode": "false", "packagePath": "/nonexistent"})
    assert run.of_type("PackageDeployment") == []
    assert "WEBSITE_RUN_FROM_PACKAGE" not in settings_of(run)
    assert "deployed_package_sha256" not in run.outputs


@pytest.mark.parametrize("plan, sku", [("flex", "FC1"), ("consumption", "Y1")])
def test_outputs(run_stack, package_zip, plan, sku):
    run = run_stack({"hostingPlan": plan})
    app_name = run.one("web:WebApp").outputs["name"]
    group = run.one("resources:ResourceGroup").outputs["name"]
    base = f"https://{app_name}.azurewebsites.net"
    assert run.outputs == {
        "resource_group_name": group,
        "function_app_name": app_name,
        "hosting_plan": plan,
        "durable_backend": "azureStorage",
        "task_hub_name": f"dfpy{plan.capitalize()}Hub",  # the plan's own hub
        "plan_name": run.one("web:AppServicePlan").outputs["name"],
        "plan_sku": sku,
        "storage_account_name": run.one("storage:StorageAccount").outputs["name"],
        "base_url": base,
        "starter_url_template": f"{base}/api/orchestrators/{{name}}",
        "f1_url": f"{base}/api/fanout",
        "function_key_command": (
            f"az functionapp keys list --resource-group {group} --name {app_name} "
            "--query functionKeys.default --output tsv"
        ),
        "deployed_package_sha256": hashlib.sha256(package_zip.read_bytes()).hexdigest(),
        "live_functions": ["hello"],  # what the host check answered (mocked here)
    }


def test_extra_settings_and_tags_are_applied(run_stack):
    run = run_stack({"appSettings": '{"FEATURE_X": "on"}', "tags": '{"owner": "team"}'})
    assert settings_of(run)["FEATURE_X"] == "on"
    for typ in ("resources:ResourceGroup", "storage:StorageAccount", "web:WebApp"):
        assert run.one(typ).inputs["tags"] == {"managed-by": "pulumi", "owner": "team"}


def test_location_comes_from_the_provider_when_not_set(run_stack):
    run = run_stack({}, location="northeurope")
    assert {c.inputs["location"] for c in run.created if "location" in c.inputs} == {"northeurope"}


@pytest.mark.parametrize(
    "config, key, allowed",
    [
        ({"hostingPlan": "premium"}, "hostingPlan", "flex, consumption"),
        ({"instanceMemoryMB": "1024"}, "instanceMemoryMB", "512, 2048, 4096"),
        ({"hostingPlan": "consumption", "pythonVersion": "3.13"}, "pythonVersion", "3.11"),
    ],
)
def test_invalid_config_stops_the_program_naming_the_key(run_stack, config, key, allowed):
    with pytest.raises(ConfigError) as error:
        run_stack(config)
    assert key in error.value.problems
    assert f"allowed values: {allowed}" in error.value.problems[key]
    assert f"{key}: " in str(error.value)
