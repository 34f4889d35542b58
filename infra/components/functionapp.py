"""The hosting plan and the function app, for Flex Consumption or Linux Consumption."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import managedidentity, web

from infra import appsettings, planrules
from infra.components.durabletask import DurableTaskScheduler
from infra.components.identity import AppIdentity
from infra.components.monitoring import Monitoring
from infra.components.storage import BACKUP_CONTAINER, Storage
from infra.config import InfraConfig

PLAN_SKUS = {
    appsettings.FLEX: web.SkuDescriptionArgs(name="FC1", tier="FlexConsumption"),
    appsettings.CONSUMPTION: web.SkuDescriptionArgs(
        name="Y1", tier="Dynamic", size="Y1", family="Y", capacity=0
    ),
}


@dataclass(frozen=True)
class FunctionAppArgs:
    config: InfraConfig
    resource_group_name: pulumi.Input[str]
    storage: Storage
    identity: AppIdentity
    monitoring: Monitoring
    package_url: pulumi.Input[str] | None = None
    """Linux Consumption only: the run-from-package blob URL."""
    dts: DurableTaskScheduler | None = None
    """durableBackend=dts: the scheduler and task hub the app connects to."""
    depends_on: Sequence[pulumi.Resource] = ()


def resource_suffix(cfg: InfraConfig) -> str:
    """Part of the plan's and the app's logical names, so that switching ``hostingPlan``
    creates a new plan and app (and then deletes the old ones) instead of updating them in
    place, which Azure refuses: a plan's SKU cannot move between Dynamic and
    FlexConsumption, and ``functionAppConfig`` can only be set when a site is created."""
    return f"{cfg.name_prefix}-{cfg.hosting_plan}"


class FunctionApp(pulumi.ComponentResource):
    """A Linux function app (kind ``functionapp,linux``) on its own plan.

    Both plans: HTTPS only, TLS 1.2 minimum, basic-auth publishing credentials off
    (deployment uses Entra ID tokens), the user-assigned identity attached, settings from
    :mod:`infra.appsettings`, ``siteConfig`` from :mod:`infra.planrules` (a plain mapping: the
    SDK's ``SiteConfigArgs`` would add defaults Flex rejects).

    Flex Consumption (FC1): runtime, scale limits and the deployment container (read with the
    app's identity) live in ``functionAppConfig``; ``siteConfig`` holds only the app settings
    and the TLS minimum. Linux Consumption (Y1, legacy): the runtime is ``linuxFxVersion``,
    FTP(S) is off, and code runs from the package URL, fetched with the package identity.
    """

    def __init__(
        self, name: str, args: FunctionAppArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dfpy:infra:FunctionApp", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        suffix = resource_suffix(cfg)
        self.plan = web.AppServicePlan(
            f"plan-{suffix}",
            resource_group_name=args.resource_group_name,
            location=cfg.location,
            kind="functionapp",
            reserved=True,  # Linux
            sku=PLAN_SKUS[cfg.hosting_plan],
            tags=cfg.tags,
            opts=child,
        )
        identity = args.identity.identity
        package_identity = args.identity.package_identity
        settings = appsettings.app_settings(
            cfg.hosting_plan,
            blob_uri=args.storage.blob_endpoint,
            queue_uri=args.storage.queue_endpoint,
            table_uri=args.storage.table_endpoint,
            identity_client_id=identity.client_id,
            identity_resource_id=identity.id,
            insights_connection_string=args.monitoring.connection_string,
            insights_authentication=pulumi.Output.concat(
                "ClientId=", identity.client_id, ";Authorization=AAD"
            ),
            backup_account_url=args.storage.blob_endpoint,
            backup_container=BACKUP_CONTAINER,
            backup_schedule=cfg.backup_schedule,
            backup_root=cfg.backup_root,
            package_url=args.package_url,
            package_identity_id=package_identity.id if package_identity else None,
            dts_connection=_dts_connection(args.dts, identity) if args.dts else None,
            task_hub=args.dts.task_hub_name if args.dts else None,
            # Each plan's app has its own hub (infra/taskhubs.py): during a plan switch the old
            # app must not pick up the new app's work from the same storage account.
            hub_name=None if args.dts else cfg.task_hub,
            extra=cfg.app_settings,
        )
        identities = [identity.id] + ([package_identity.id] if package_identity else [])
        self.app = web.WebApp(
            f"func-{suffix}",
            resource_group_name=args.resource_group_name,
            location=cfg.location,
            kind="functionapp,linux",
            reserved=True,
            server_farm_id=self.plan.id,
            https_only=True,
            client_affinity_enabled=False,
            identity=web.ManagedServiceIdentityArgs(
                type=web.ManagedServiceIdentityType.USER_ASSIGNED,
                user_assigned_identities=identities,
            ),
            key_vault_reference_identity=identity.id,
            site_config=planrules.site_config(
                cfg.hosting_plan,
                cfg.python_version,
                [{"name": key, "value": value} for key, value in settings.items()],
            ),
            function_app_config=_flex_config(cfg, args.storage, identity) if cfg.is_flex else None,
            tags=cfg.tags,
            # The host reads storage at its first start: its roles must exist by then.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        # Basic-auth (publishing profile) access to FTP and the SCM site is off; one deploy and
        # the trigger sync authenticate with Entra ID.
        for kind, resource in (("ftp", web.WebAppFtpAllowed), ("scm", web.WebAppScmAllowed)):
            resource(
                f"func-{suffix}-{kind}-basic-auth",
                resource_group_name=args.resource_group_name,
                name=self.app.name,
                allow=False,
                opts=child,
            )
        self.base_url = pulumi.Output.concat("https://", self.app.default_host_name)
        self.register_outputs({"app_name": self.app.name, "base_url": self.base_url})


def _dts_connection(
    dts: DurableTaskScheduler, identity: managedidentity.UserAssignedIdentity
) -> pulumi.Output[str]:
    """Managed-identity connection string for the scheduler's data plane."""
    return pulumi.Output.concat(
        "Endpoint=", dts.endpoint, ";Authentication=ManagedIdentity;ClientID=", identity.client_id
    )


def _flex_config(
    cfg: InfraConfig, storage: Storage, identity: managedidentity.UserAssignedIdentity
) -> web.FunctionAppConfigArgs:
    return web.FunctionAppConfigArgs(
        deployment=web.FunctionsDeploymentArgs(
            storage=web.FunctionsDeploymentStorageArgs(
                type=web.FunctionsDeploymentStorageType.BLOB_CONTAINER,
                value=storage.deployment_container_url,
                authentication=web.FunctionsDeploymentStorageAuthenticationArgs(
                    type=web.AuthenticationType.USER_ASSIGNED_IDENTITY,
                    user_assigned_identity_resource_id=identity.id,
                ),
            )
        ),
        runtime=web.FunctionsRuntimeArgs(name=web.RuntimeName.PYTHON, version=cfg.python_version),
        scale_and_concurrency=web.FunctionsScaleAndConcurrencyArgs(
            instance_memory_mb=cfg.instance_memory_mb,
            maximum_instance_count=cfg.maximum_instance_count,
        ),
    )
