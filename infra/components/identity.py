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


class AppIdentity(pulumi.ComponentResource):
    """A user-assigned identity, created (with its roles) before the app.

    User-assigned rather than system-assigned: its principal exists before the site, so the
    roles are in place when the host first starts instead of racing it. Roles follow the
    Durable Functions identity guide (blob, queue, table data roles on the account; "Owner"
    style management roles are not enough) plus Monitoring Metrics Publisher for telemetry.
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
        self.register_outputs(
            {"client_id": self.identity.client_id, "principal_id": self.identity.principal_id}
        )

    def _assign(
        self, name: str, role: str, scope: pulumi.Input[str]
    ) -> authorization.RoleAssignment:
        return authorization.RoleAssignment(
            name,
            principal_id=self.identity.principal_id,
            # ServicePrincipal lets Azure skip the directory lookup that fails for a brand-new
            # identity ("PrincipalNotFound") while it replicates.
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=pulumi.Output.from_input(scope).apply(
                lambda scope_id: roles.role_definition_id(scope_id, role)
            ),
            scope=scope,
            opts=pulumi.ResourceOptions(parent=self),
        )
