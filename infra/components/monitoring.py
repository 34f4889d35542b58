"""Log Analytics and a workspace-based Application Insights component."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import applicationinsights, operationalinsights


@dataclass(frozen=True)
class MonitoringArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    name_prefix: str
    retention_days: int
    tags: dict[str, str]


class Monitoring(pulumi.ComponentResource):
    """Telemetry sink for the app.

    Local (instrumentation-key) authentication is disabled: the app sends telemetry with its
    managed identity, which needs Monitoring Metrics Publisher on the component (granted by
    :class:`infra.components.identity.AppIdentity`).
    """

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dfpy:infra:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.workspace = operationalinsights.Workspace(
            f"log-{args.name_prefix}",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=operationalinsights.WorkspaceSkuArgs(
                name=operationalinsights.WorkspaceSkuNameEnum.PER_GB2018
            ),
            retention_in_days=args.retention_days,
            tags=args.tags,
            opts=child,
        )
        self.insights = applicationinsights.Component(
            f"appi-{args.name_prefix}",
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="web",
            application_type=applicationinsights.ApplicationType.WEB,
            workspace_resource_id=self.workspace.id,
            ingestion_mode=applicationinsights.IngestionMode.LOG_ANALYTICS,
            disable_local_auth=True,
            tags=args.tags,
            opts=child,
        )
        self.connection_string = self.insights.connection_string
        self.register_outputs({"insights_id": self.insights.id})
