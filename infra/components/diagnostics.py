"""Platform logs and metrics of the storage account and the function app, sent to the Log
Analytics workspace (one ``Microsoft.Insights/diagnosticSettings`` per resource)."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import monitor

STORAGE_SERVICES = ("blobServices", "queueServices", "tableServices")
STORAGE_LOGS = ("StorageRead", "StorageWrite", "StorageDelete")
APP_LOGS = ("FunctionAppLogs",)


class Diagnostics(pulumi.ComponentResource):
    """Storage: read/write/delete logs and transaction metrics of the blob, queue and table
    services (where Durable Functions keeps its hub, so throttling and authorization failures
    show up). App: ``FunctionAppLogs`` (host and worker logs, import errors included) and
    all metrics. Queries go to the ``StorageBlobLogs``/``StorageQueueLogs``/
    ``StorageTableLogs`` and ``FunctionAppLogs`` tables.
    """

    def __init__(
        self,
        name: str,
        *,
        workspace_id: pulumi.Input[str],
        storage_account_id: pulumi.Input[str],
        app_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("dfpy:infra:Diagnostics", name, None, opts)
        self.settings = [
            self._setting(
                f"{name}-{service.removesuffix('Services')}",
                pulumi.Output.concat(storage_account_id, f"/{service}/default"),
                workspace_id,
                STORAGE_LOGS,
                "Transaction",
            )
            for service in STORAGE_SERVICES
        ]
        self.settings.append(
            self._setting(f"{name}-app", app_id, workspace_id, APP_LOGS, "AllMetrics")
        )
        self.register_outputs({})

    def _setting(
        self,
        name: str,
        resource_uri: pulumi.Input[str],
        workspace_id: pulumi.Input[str],
        logs: tuple[str, ...],
        metrics: str,
    ) -> monitor.DiagnosticSetting:
        return monitor.DiagnosticSetting(
            name,
            name="to-log-analytics",
            resource_uri=resource_uri,
            workspace_id=workspace_id,
            logs=[{"category": category, "enabled": True} for category in logs],
            metrics=[{"category": metrics, "enabled": True}],
            opts=pulumi.ResourceOptions(parent=self),
        )
