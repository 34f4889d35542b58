"""The function app's application settings, per hosting plan.

One place decides which settings exist, so the Pulumi component, the config validation and the
tests agree. The values may be Pulumi outputs; this module only arranges names.

Both plans connect the host to storage with the app's user-assigned identity
(``AzureWebJobsStorage__*``: service URIs + ``credential=managedidentity`` + ``clientId``; Durable
Functions needs ``clientId``, it does not accept a resource id), send telemetry to Application
Insights with Entra ID authentication, and tell the app where backups go. The same
``AzureWebJobsStorage__queueServiceUri`` serves the app's queue trigger (``booking-requests``,
connection ``AzureWebJobsStorage``). The scheduled backup's ``BACKUP_SCHEDULE`` and
``BACKUP_ROOT`` are sent only when the stack sets them (``backupSchedule``, ``backupRoot``): the
app registers its timer only when ``BACKUP_SCHEDULE`` has a value.

Flex Consumption takes the runtime and the package from ``functionAppConfig`` and rejects the
settings of the older plans (:data:`FLEX_FORBIDDEN`, from "Flex Consumption plan deprecations"
in the Functions app-settings reference). Linux Consumption needs them: worker runtime,
extension version and the package URL, fetched with the same identity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from infra.hostjson import DTS_CONNECTION_SETTING, TASKHUB_SETTING
from infra.taskhubs import HUB_NAME_OVERRIDE

FLEX = "flex"
CONSUMPTION = "consumption"
HOSTING_PLANS = (FLEX, CONSUMPTION)

FLEX_FORBIDDEN = frozenset(
    {
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_WORKER_RUNTIME_VERSION",
        "FUNCTIONS_EXTENSION_VERSION",
        "FUNCTIONS_MAX_HTTP_CONCURRENCY",
        "FUNCTIONS_WORKER_PROCESS_COUNT",
        "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        "WEBSITE_CONTENTSHARE",
        "WEBSITE_CONTENTOVERVNET",
        "WEBSITE_SKIP_CONTENTSHARE_VALIDATION",
        "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
        "WEBSITE_NODE_DEFAULT_VERSION",
        "WEBSITE_VNET_ROUTE_ALL",
        "WEBSITE_DNS_SERVER",
        "SCM_DO_BUILD_DURING_DEPLOYMENT",
        "ENABLE_ORYX_BUILD",
    }
)
"""Settings Flex Consumption rejects or ignores; their job moved into ``functionAppConfig``."""

MANAGED = frozenset(
    {
        "AzureWebJobsStorage",
        "AzureWebJobsStorage__blobServiceUri",
        "AzureWebJobsStorage__queueServiceUri",
        "AzureWebJobsStorage__tableServiceUri",
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "AzureWebJobsStorage__accountName",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        "APPINSIGHTS_INSTRUMENTATIONKEY",
        "AZURE_CLIENT_ID",
        "BACKUP_STORAGE_ACCOUNT_URL",
        "BACKUP_CONTAINER",
        "BACKUP_SCHEDULE",
        "BACKUP_ROOT",
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_EXTENSION_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID",
        DTS_CONNECTION_SETTING,
        TASKHUB_SETTING,
        HUB_NAME_OVERRIDE,
    }
)
"""Settings this program owns; the ``appSettings`` config key may not set them."""

T = TypeVar("T")


def app_settings(
    plan: str,
    *,
    blob_uri: T,
    queue_uri: T,
    table_uri: T,
    identity_client_id: T,
    identity_resource_id: T,
    insights_connection_string: T,
    insights_authentication: T,
    backup_account_url: T,
    backup_container: str,
    backup_schedule: str | None = None,
    backup_root: str | None = None,
    package_url: T | None = None,
    package_identity_id: T | None = None,
    dts_connection: T | None = None,
    task_hub: T | None = None,
    hub_name: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, T | str]:
    """The settings for ``plan``, in a stable order; ``extra`` (user settings) come last.

    ``package_url`` is the run-from-package blob URL and only used on Linux Consumption; the
    platform fetches it as ``package_identity_id`` (default: the app's identity).
    ``backup_schedule`` and ``backup_root`` turn the scheduled backup on (None: not sent).
    ``dts_connection`` and ``task_hub`` select the Durable Task Scheduler backend: the
    package's host.json names these two settings. ``hub_name`` is the Azure Storage backend's
    task hub (:mod:`infra.taskhubs`): it overrides the package host.json's ``hubName``.
    Raises ``ValueError`` if the result would contain a setting the plan forbids.
    """
    if plan not in HOSTING_PLANS:
        raise ValueError(f"unknown hosting plan {plan!r}")
    settings: dict[str, T | str] = {
        "AzureWebJobsStorage__blobServiceUri": blob_uri,
        "AzureWebJobsStorage__queueServiceUri": queue_uri,
        "AzureWebJobsStorage__tableServiceUri": table_uri,
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": identity_client_id,
        # DefaultAzureCredential in the activities picks the user-assigned identity from this.
        "AZURE_CLIENT_ID": identity_client_id,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": insights_connection_string,
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": insights_authentication,
        "BACKUP_STORAGE_ACCOUNT_URL": backup_account_url,
        "BACKUP_CONTAINER": backup_container,
    }
    if backup_schedule is not None:
        settings["BACKUP_SCHEDULE"] = backup_schedule
    if backup_root is not None:
        settings["BACKUP_ROOT"] = backup_root
    if plan == CONSUMPTION:
        settings["FUNCTIONS_WORKER_RUNTIME"] = "python"
        settings["FUNCTIONS_EXTENSION_VERSION"] = "~4"
        if package_url is not None:
            # Linux Consumption cannot use WEBSITE_RUN_FROM_PACKAGE=1: it needs the URL, and
            # with this setting it fetches it with the user-assigned identity, not a SAS.
            settings["WEBSITE_RUN_FROM_PACKAGE"] = package_url
            settings["WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID"] = (
                package_identity_id if package_identity_id is not None else identity_resource_id
            )
    if dts_connection is not None:
        settings[DTS_CONNECTION_SETTING] = dts_connection
        settings[TASKHUB_SETTING] = task_hub if task_hub is not None else "default"
    elif hub_name is not None:
        settings[HUB_NAME_OVERRIDE] = hub_name
    settings.update(extra or {})
    bad = sorted(forbidden_settings(plan) & settings.keys())
    if bad:
        raise ValueError(f"settings not allowed on the {plan} plan: {', '.join(bad)}")
    return settings


def forbidden_settings(plan: str) -> frozenset[str]:
    """Setting names that must not appear on ``plan``."""
    return FLEX_FORBIDDEN if plan == FLEX else frozenset()
