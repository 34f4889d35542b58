"""Built-in Azure role definitions this program assigns, and how to name them in a scope.

The ids are the same in every subscription and cloud (Azure built-in roles reference).
"""

from __future__ import annotations

STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
"""Host storage (keys, leases, Durable's large messages) and the Flex deployment container."""
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
"""Given to the identity running `pulumi up` on the deployment container (package upload)."""
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
"""Durable Functions control and work-item queues."""
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
"""Durable Functions history and instances tables."""
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
"""Linux Consumption: the package identity reads the run-from-package blob, nothing else."""
DURABLE_TASK_DATA_CONTRIBUTOR = "0ad04412-c4d5-4796-b79c-f76d14c8d402"
"""durableBackend=dts: the app's identity runs orchestrations on the scheduler."""
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
"""Telemetry to Application Insights with local (key) authentication disabled."""


def role_definition_id(scope_id: str, role_guid: str) -> str:
    """The full role definition id for ``role_guid`` in the subscription of ``scope_id``.

    ``scope_id`` is any resource id (``/subscriptions/<sub>/resourceGroups/...``); taking the
    subscription from it avoids a client-config lookup.
    """
    parts = scope_id.split("/")
    if len(parts) < 3 or parts[1].lower() != "subscriptions" or not parts[2]:
        raise ValueError(f"not a subscription-scoped resource id: {scope_id!r}")
    return (
        f"/subscriptions/{parts[2]}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"
    )
