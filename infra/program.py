"""The Pulumi program: read the config, create the components, return the stack outputs.

``infra/__main__.py`` calls :func:`run` and exports the result; the tests call it under Pulumi
mocks. Order of creation follows what each part needs at its first start: storage and
monitoring (and, with ``durableBackend=dts``, the scheduler), then the identities and their
roles, then (Linux Consumption) the package blob, the plan and app, the diagnostic settings,
and finally the code deployment with its check that the host is live.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pulumi
from pulumi_azure_native import resources

from infra.components.deployment import CodeDeployment, Package, PackageUpload
from infra.components.diagnostics import Diagnostics
from infra.components.durabletask import DurableTaskArgs, DurableTaskScheduler
from infra.components.functionapp import FunctionApp, FunctionAppArgs
from infra.components.identity import AppIdentity, AppIdentityArgs
from infra.components.monitoring import Monitoring, MonitoringArgs
from infra.components.storage import Storage, StorageArgs
from infra.config import InfraConfig, load_config

PROJECT_DIR = Path(__file__).resolve().parent
STARTER_ROUTE = "/api/orchestrators/{name}"
F1_ROUTE = "/api/fanout"
EXPECTED_FUNCTIONS = ("start_orchestration", "fanout", "delay", "booking_request")
"""The functions behind the URLs this program outputs and the queue it creates: the deploy fails
unless the host lists them (the starter, F1 and F2, the booking-requests starter in api/)."""


def read_config() -> InfraConfig:
    """The validated stack config (raises :class:`infra.config.ConfigError`)."""
    return load_config(
        pulumi.Config().get,
        default_location=pulumi.Config("azure-native").get("location"),
        base_dir=PROJECT_DIR,
    )


def run(cfg: InfraConfig | None = None) -> dict[str, pulumi.Input[object]]:
    """Create every resource of the stack; return the outputs to export."""
    cfg = cfg or read_config()
    for warning in cfg.warnings:
        pulumi.log.warn(warning)
    tags = {"managed-by": "pulumi", **cfg.tags}
    cfg = replace(cfg, tags=tags)

    group = resources.ResourceGroup(f"rg-{cfg.name_prefix}", location=cfg.location, tags=tags)
    storage = Storage(
        "storage",
        StorageArgs(group.name, cfg.location, cfg.name_prefix, cfg.allow_shared_key_access, tags),
    )
    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(group.name, cfg.location, cfg.name_prefix, cfg.log_retention_days, tags),
    )
    dts = None
    if cfg.uses_dts:
        dts = DurableTaskScheduler(
            "durabletask",
            DurableTaskArgs(
                group.name,
                cfg.location,
                cfg.name_prefix,
                cfg.dts_sku,
                cfg.dts_capacity,
                cfg.dts_ip_allow_list,
                tags,
                cfg.task_hub,
            ),
        )
    identity = AppIdentity(
        "identity",
        AppIdentityArgs(
            group.name,
            cfg.location,
            cfg.name_prefix,
            storage.account.id,
            monitoring.insights.id,
            tags,
            scheduler_id=dts.scheduler.id if dts else None,
            package_container_id=None if cfg.is_flex else storage.deployment_container.id,
        ),
    )

    package = _package(cfg)
    upload = None
    if package and not cfg.is_flex:
        upload = PackageUpload("package", package, storage)
    function_app = FunctionApp(
        "app",
        FunctionAppArgs(
            config=cfg,
            resource_group_name=group.name,
            storage=storage,
            identity=identity,
            monitoring=monitoring,
            package_url=upload.blob_url if upload else None,
            dts=dts,
            depends_on=[*identity.role_assignments, storage.deployment_container]
            + ([upload.upload] if upload else []),
        ),
    )
    app = function_app.app
    Diagnostics(
        "diagnostics",
        workspace_id=monitoring.workspace.id,
        storage_account_id=storage.account.id,
        app_id=app.id,
    )
    outputs: dict[str, pulumi.Input[object]] = {
        "resource_group_name": group.name,
        "function_app_name": app.name,
        "hosting_plan": cfg.hosting_plan,
        "durable_backend": cfg.durable_backend,
        "task_hub_name": dts.task_hub_name if dts else cfg.task_hub,
        "plan_name": function_app.plan.name,
        "plan_sku": function_app.plan.sku.apply(lambda sku: sku.name if sku else None),
        "storage_account_name": storage.account.name,
        "base_url": function_app.base_url,
        "starter_url_template": pulumi.Output.concat(function_app.base_url, STARTER_ROUTE),
        "f1_url": pulumi.Output.concat(function_app.base_url, F1_ROUTE),
        "function_key_command": pulumi.Output.concat(
            "az functionapp keys list --resource-group ",
            group.name,
            " --name ",
            app.name,
            " --query functionKeys.default --output tsv",
        ),
    }
    if dts:
        outputs["scheduler_id"] = dts.scheduler.id
        outputs["scheduler_endpoint"] = dts.endpoint
        outputs["scheduler_dashboard_url"] = dts.dashboard_url
    if package:
        deployment = CodeDeployment(
            "code", flex=cfg.is_flex, package=package, app=app, expected=EXPECTED_FUNCTIONS
        )
        outputs["deployed_package_sha256"] = deployment.deployed_sha256
        outputs["live_functions"] = deployment.functions
    return outputs


def _package(cfg: InfraConfig) -> Package | None:
    if not cfg.deploy_code or cfg.package_path is None:
        return None
    digest = hashlib.sha256(cfg.package_path.read_bytes()).hexdigest()
    return Package(cfg.package_path, digest)
