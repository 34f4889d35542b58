"""The app's user-assigned managed identity and the roles it needs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, managedidentity

from infra import roles

STORAGE_ROLES = {
    "blob-owner": roles.STORAGE_BLOB_DATA_OWNER,
    "queue-contributor": roles.STORAGE_QUEUE_DATA_CONTRIBUTOR,
    "table-contributor": roles.STORAGE_TABLE_DATA_CONTRIBUTOR,
}
"""Role assignments on the storage account, by logical-name suffix."""


@dataclass(frozen=True)
class AppIdentityArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    name_prefix: str
    storage_account_id: pulumi.Input[str]
    insights_id: pulumi.Input[str]
    tags: dict[str, str]
    scheduler_id: pulumi.Input[str] | None = None
    """durableBackend=dts: the scheduler the app's identity works on."""
    package_container_id: pulumi.Input[str] | None = None
    """Linux Consumption: the container the package identity may read."""


class AppIdentity(pulumi.ComponentResource):
    """A user-assigned identity, created (with its roles) before the app.

    User-assigned rather than system-assigned: its principal exists before the site, so the
    roles are in place when the host first starts instead of racing it. Roles follow the
    Durable Functions identity guide (blob, queue, table data roles on the account; "Owner"
    style management roles are not enough), Monitoring Metrics Publisher for telemetry and,
    with the Durable Task Scheduler, Durable Task Data Contributor on the scheduler.

    Linux Consumption also gets a second identity, ``package_identity``, that can only read
    the deployment container: the platform fetches ``WEBSITE_RUN_FROM_PACKAGE`` with it, so
    the package fetch holds no more than Storage Blob Data Reader on that one container.
    """

    def __init__(
        self, name: str, args: AppIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dfpy:infra:AppIdentity", name, None, opts)
        self.identity = managedidentity.UserAssignedIdentity(
            f"id-{args.name_prefix}",
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role_assignments = [
            self._assign(f"{name}-{suffix}", role, args.storage_account_id)
            for suffix, role in STORAGE_ROLES.items()
        ]
        self.role_assignments.append(
            self._assign(
                f"{name}-metrics-publisher", roles.MONITORING_METRICS_PUBLISHER, args.insights_id
            )
        )
        if args.scheduler_id is not None:
            self.role_assignments.append(
                self._assign(
                    f"{name}-dts-data-contributor",
                    roles.DURABLE_TASK_DATA_CONTRIBUTOR,
                    args.scheduler_id,
                )
            )
        self.package_identity: managedidentity.UserAssignedIdentity | None = None
        if args.package_container_id is not None:
            self.package_identity = managedidentity.UserAssignedIdentity(
                f"id-{args.name_prefix}-pkg",
                resource_group_name=args.resource_group_name,
                location=args.location,
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.role_assignments.append(
                self._assign(
                    f"{name}-pkg-blob-reader",
                    roles.STORAGE_BLOB_DATA_READER,
                    args.package_container_id,
                    self.package_identity,
                )
            )
        self.register_outputs(
            {"client_id": self.identity.client_id, "principal_id": self.identity.principal_id}
        )

    def _assign(
        self,
        name: str,
        role: str,
        scope: pulumi.Input[str],
        identity: managedidentity.UserAssignedIdentity | None = None,
    ) -> authorization.RoleAssignment:
        return authorization.RoleAssignment(
            name,
            principal_id=(identity or self.identity).principal_id,
            # ServicePrincipal lets Azure skip the directory lookup that fails for a brand-new
            # identity ("PrincipalNotFound") while it replicates.
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=pulumi.Output.from_input(scope).apply(
                lambda scope_id: roles.role_definition_id(scope_id, role)
            ),
            scope=scope,
            opts=pulumi.ResourceOptions(parent=self),
        )
