"""The Durable Task Scheduler backend: a scheduler and its task hub (``durableBackend=dts``).

The scheduler is the stack's; the task hub is the hosting plan's (:mod:`infra.taskhubs`), so a
plan switch's new app never shares a hub with the old app it replaces."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import durabletask


@dataclass(frozen=True)
class DurableTaskArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    name_prefix: str
    sku: str
    capacity: int
    ip_allow_list: tuple[str, ...]
    tags: dict[str, str]
    task_hub_name: str
    """The plan's hub (:func:`infra.taskhubs.task_hub_name`)."""


class DurableTaskScheduler(pulumi.ComponentResource):
    """A Consumption (pay per action, nothing at rest) or Dedicated (capacity units, billed
    per hour) scheduler with the hosting plan's task hub.

    Its data plane is reached over the internet from the addresses in ``ipAllowlist`` (an
    empty list denies everyone, the app included; the config refuses it) and authenticated
    with Entra ID: the app's identity gets Durable Task Data Contributor on the scheduler
    (:class:`infra.components.identity.AppIdentity`).
    """

    def __init__(
        self, name: str, args: DurableTaskArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dfpy:infra:DurableTaskScheduler", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        sku: dict[str, object] = {"name": args.sku}
        if args.sku == "Dedicated":
            sku["capacity"] = args.capacity
        self.scheduler = durabletask.Scheduler(
            f"dts-{args.name_prefix}",
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties={"ipAllowlist": list(args.ip_allow_list), "sku": sku},
            tags=args.tags,
            opts=child,
        )
        self.task_hub = durabletask.TaskHub(
            f"dts-{args.name_prefix}-hub-{args.task_hub_name}",
            resource_group_name=args.resource_group_name,
            scheduler_name=self.scheduler.name,
            task_hub_name=args.task_hub_name,
            opts=child,
        )
        self.endpoint = self.scheduler.properties.apply(lambda p: p.endpoint)
        self.dashboard_url = self.task_hub.properties.apply(lambda p: p.dashboard_url)
        self.task_hub_name = self.task_hub.name
        self.register_outputs({"endpoint": self.endpoint, "dashboard_url": self.dashboard_url})
