"""The storage account: host storage for the Functions runtime and Durable Functions, the
deployment container, the backup container the app writes to, and the queue its booking
starter reads (with the poison queue the host moves failed messages to)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import storage

DEPLOYMENT_CONTAINER = "deployments"
BACKUP_CONTAINER = "backups"
BOOKING_QUEUE = "booking-requests"
"""The app's queue trigger (api/events.py, connection ``AzureWebJobsStorage``)."""
APP_QUEUES = (BOOKING_QUEUE, f"{BOOKING_QUEUE}-poison")
"""Created here so they exist before the first message; the host would create the poison queue
on its first poison message, but then ``pulumi destroy`` would not know it."""


@dataclass(frozen=True)
class StorageArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    name_prefix: str
    allow_shared_key_access: bool
    tags: dict[str, str]


class Storage(pulumi.ComponentResource):
    """StorageV2 account locked down to identity access, plus two private containers and the
    app's queues.

    HTTPS only, TLS 1.2, no anonymous blob access, no cross-tenant replication; with shared
    keys off, every client (the host, the app, the deployment step, the portal) uses Entra ID.
    """

    def __init__(
        self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dfpy:infra:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Logical name only: azure-native appends a random suffix, and storage account names
        # must be globally unique, 3-24 lowercase letters and digits.
        self.account = storage.StorageAccount(
            f"st{args.name_prefix}",
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=storage.SkuName.STANDARD_LRS),
            access_tier=storage.AccessTier.HOT,
            enable_https_traffic_only=True,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            allow_blob_public_access=False,
            allow_cross_tenant_replication=False,
            allow_shared_key_access=args.allow_shared_key_access,
            default_to_o_auth_authentication=not args.allow_shared_key_access,
            tags=args.tags,
            opts=child,
        )
        self.deployment_container = self._container(DEPLOYMENT_CONTAINER, args)
        self.backup_container = self._container(BACKUP_CONTAINER, args)
        self.queues = {
            queue: storage.Queue(
                queue,
                resource_group_name=args.resource_group_name,
                account_name=self.account.name,
                queue_name=queue,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for queue in APP_QUEUES
        }
        endpoints = self.account.primary_endpoints
        self.blob_endpoint = endpoints.blob
        self.queue_endpoint = endpoints.queue
        self.table_endpoint = endpoints.table
        self.deployment_container_url = pulumi.Output.concat(
            self.blob_endpoint, self.deployment_container.name
        )
        self.register_outputs(
            {
                "account_name": self.account.name,
                "blob_endpoint": self.blob_endpoint,
                "deployment_container_url": self.deployment_container_url,
            }
        )

    def _container(self, container: str, args: StorageArgs) -> storage.BlobContainer:
        return storage.BlobContainer(
            container,
            resource_group_name=args.resource_group_name,
            account_name=self.account.name,
            container_name=container,
            public_access=storage.PublicAccess.NONE,
            opts=pulumi.ResourceOptions(parent=self),
        )
