"""What each hosting plan accepts and needs in the site body, as one table.

The program builds ``siteConfig`` from :func:`site_config` and the tests check every body it
sends against :func:`site_violations`, both ways (a good body passes, each forbidden or
missing property fails).

Flex Consumption (FC1) rejects a set of ``siteConfig`` properties with ARM error 51021 ("The
following site configuration property (Site.SiteConfig.X) for Flex Consumption sites is
invalid"), enforced region by region: ``FtpsState``, ``Use32BitWorkerProcess``,
``NetFrameworkVersion``, ``FunctionsRuntimeScaleMonitoringEnabled`` (microsoft/
azure-pipelines-tasks#21032), ``NetFrameworkVersion`` again (pulumi/pulumi-azure-native#4168),
``FunctionAppScaleLimit`` (Azure/azure-functions-host#10643), ``LinuxFxVersion`` and the
others Azure/terraform-azurerm-avm-res-web-site PR #345 removes for FC1. The runtime and the
scale settings live in ``functionAppConfig`` instead. Microsoft's Flex quickstart templates
send only ``minTlsVersion`` (plus app settings; Azure/terraform-azurerm-avm-res-web-site#353
compares them), so on Flex this program sends exactly what
:data:`FLEX_SITE_CONFIG` allows: an allow-list, because enforcement grows region by region.

The SDK's ``web.SiteConfigArgs`` fills in ``netFrameworkVersion: v4.6``,
``localMySqlEnabled: false`` and ``http20Enabled: true`` when they are not given, so the
program passes ``siteConfig`` as a plain mapping, which the SDK sends as it is.

Linux Consumption (Y1) needs the runtime in ``linuxFxVersion`` and the worker runtime and
extension version as app settings (:mod:`infra.appsettings`).

The app's functions have rules of their own (:func:`function_violations`, checked against the
bindings the Python worker indexes and the settings the program sends):

* a ``%NAME%`` in a binding must name an app setting: the host resolves it while indexing and
  marks the function in error when it does not resolve ("'%NAME%' does not resolve to a value");
* a timer schedule is six NCRONTAB fields; the TimeSpan form runs only on App Service plans;
* a storage trigger's ``connection`` needs the connection string setting or its identity-based
  form (``<connection>__queueServiceUri`` for queues, ``__blobServiceUri`` for blobs, or
  ``__serviceUri``/``__accountName``), else the trigger's listener cannot start and the function
  never runs;
* Flex Consumption runs a blob trigger only with ``source: EventGrid`` (no polling source);
* a queue trigger's queue should exist: the program creates the ones the app reads.

:data:`TRIGGER_DATA_ROLES` says which data role the app's identity needs for each trigger type
on the host storage account.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from infra import roles
from infra.appsettings import CONSUMPTION, FLEX
from infra.ncrontab import schedule_problem

FLEX_SITE_CONFIG = frozenset({"appSettings", "minTlsVersion"})
"""The only ``siteConfig`` properties sent to a Flex site."""

FLEX_SITE_CONFIG_REJECTED = frozenset(
    {
        "alwaysOn",
        "ftpsState",
        "functionAppScaleLimit",
        "functionsRuntimeScaleMonitoringEnabled",
        "javaVersion",
        "linuxFxVersion",
        "localMySqlEnabled",
        "netFrameworkVersion",
        "nodeVersion",
        "phpVersion",
        "powerShellVersion",
        "preWarmedInstanceCount",
        "pythonVersion",
        "use32BitWorkerProcess",
        "windowsFxVersion",
    }
)
"""Properties public reports show Flex rejecting, or that only exist for the older plans.
The allow-list already keeps them out; the tests use this list to show it does."""

CONSUMPTION_SITE_CONFIG_REQUIRED = frozenset({"linuxFxVersion", "appSettings"})
CONSUMPTION_SETTINGS_REQUIRED = frozenset(
    {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION"}
)
FLEX_SITE_REQUIRED = frozenset({"functionAppConfig"})
"""Flex: runtime, scale and deployment storage are create-time ``functionAppConfig``."""


def site_config(plan: str, python_version: str, app_settings: list[Any]) -> dict[str, Any]:
    """The ``siteConfig`` mapping for ``plan`` (camelCase wire names, nothing implied)."""
    if plan == FLEX:
        return {"appSettings": app_settings, "minTlsVersion": "1.2"}
    if plan == CONSUMPTION:
        return {
            "appSettings": app_settings,
            "linuxFxVersion": f"Python|{python_version}",
            "minTlsVersion": "1.2",
            "scmMinTlsVersion": "1.2",
            "ftpsState": "Disabled",
            "http20Enabled": True,
        }
    raise ValueError(f"unknown hosting plan {plan!r}")


def site_violations(plan: str, site: Mapping[str, Any]) -> list[str]:
    """Why Azure would refuse (or misconfigure) the site body ``site`` on ``plan``; ``[]`` if
    nothing. ``site`` has wire names: ``siteConfig``, ``functionAppConfig``, ..."""
    config = site.get("siteConfig") or {}
    problems: list[str] = []
    if plan == FLEX:
        problems += [f"siteConfig.{key} is not accepted on Flex Consumption"
                     for key in sorted(set(config) - FLEX_SITE_CONFIG)]
        problems += [f"{key} is required on Flex Consumption"
                     for key in sorted(FLEX_SITE_REQUIRED - set(site))]
        runtime = (site.get("functionAppConfig") or {}).get("runtime") or {}
        if runtime.get("name") != "python":
            problems.append("functionAppConfig.runtime.name must be python")
    elif plan == CONSUMPTION:
        problems += [f"siteConfig.{key} is required on Linux Consumption"
                     for key in sorted(CONSUMPTION_SITE_CONFIG_REQUIRED - set(config))]
        if "functionAppConfig" in site:
            problems.append("functionAppConfig is Flex Consumption only")
        names = {pair.get("name") for pair in config.get("appSettings") or []}
        problems += [f"app setting {name} is required on Linux Consumption"
                     for name in sorted(CONSUMPTION_SETTINGS_REQUIRED - names)]
    else:
        problems.append(f"unknown hosting plan {plan!r}")
    return problems


# ---- the app's functions --------------------------------------------------------------------

TRIGGER_DATA_ROLES = {
    # Functions identity-based connections table: Reader + Message Processor for the trigger,
    # Sender for the -poison queue; Contributor holds all three.
    "queueTrigger": roles.STORAGE_QUEUE_DATA_CONTRIBUTOR,
    "blobTrigger": roles.STORAGE_BLOB_DATA_OWNER,
    # Schedule status (use_monitor) and the singleton lock: blobs in azure-webjobs-hosts.
    "timerTrigger": roles.STORAGE_BLOB_DATA_OWNER,
}
"""Data role on the host storage account each trigger type needs from the app's identity."""

STORAGE_SERVICE_OF = {"queueTrigger": "queue", "queue": "queue", "blobTrigger": "blob",
                      "blob": "blob"}
"""Bindings that connect to Azure Storage, and the service whose URI an identity needs."""
DEFAULT_STORAGE_CONNECTION = "AzureWebJobsStorage"
_SETTING_REF = re.compile(r"%([^%]+)%")


def function_violations(
    plan: str,
    functions: Mapping[str, Iterable[Mapping[str, Any]]],
    settings: Mapping[str, Any],
    queues: Collection[str] | None = None,
) -> list[str]:
    """Why the host on ``plan`` would not run the app's functions as written, ``[]`` if nothing.

    ``functions`` maps each function name to its bindings (``function.json`` form, as the worker
    indexes them); ``settings`` are the app settings the site gets; ``queues``, when given, the
    queues that exist.
    """
    problems: list[str] = []
    for name, bindings in sorted(functions.items()):
        for binding in bindings:
            problems += [f"{name}: {problem}"
                         for problem in _binding_problems(plan, binding, settings, queues)]
    return problems


def needed_data_roles(functions: Mapping[str, Iterable[Mapping[str, Any]]]) -> set[str]:
    """The data roles (on the host storage account) the app's triggers need."""
    return {TRIGGER_DATA_ROLES[b["type"]] for bindings in functions.values() for b in bindings
            if b.get("type") in TRIGGER_DATA_ROLES}


def _binding_problems(plan: str, binding: Mapping[str, Any], settings: Mapping[str, Any],
                      queues: Collection[str] | None) -> list[str]:
    kind = binding.get("type")
    missing = sorted({ref for value in binding.values() if isinstance(value, str)
                      for ref in _SETTING_REF.findall(value) if ref not in settings})
    problems = [f"{kind} refers to app setting %{ref}%, which the site does not have (the host "
                "marks the function in error)" for ref in missing]
    if missing:
        return problems
    resolved = {key: _SETTING_REF.sub(lambda m: str(settings[m.group(1)]), value)
                if isinstance(value, str) else value for key, value in binding.items()}
    if kind == "timerTrigger" and (problem := schedule_problem(str(resolved.get("schedule")))):
        problems.append(f"timerTrigger schedule {problem}")
    if kind == "blobTrigger" and plan == FLEX and \
            str(resolved.get("source") or "").lower() != "eventgrid":
        problems.append("blobTrigger needs source EventGrid on Flex Consumption (the polling "
                        "source is not supported there)")
    if kind in STORAGE_SERVICE_OF:
        connection = str(resolved.get("connection") or DEFAULT_STORAGE_CONNECTION)
        service = STORAGE_SERVICE_OF[kind]
        forms = (connection, f"{connection}__{service}ServiceUri", f"{connection}__serviceUri",
                 f"{connection}__accountName")
        if not any(settings.get(form) for form in forms):
            problems.append(f"{kind} connection {connection!r} has no setting: set {connection} "
                            f"(connection string) or {connection}__{service}ServiceUri "
                            "(identity)")
    if kind == "queueTrigger" and queues is not None and resolved.get("queueName") not in queues:
        problems.append(f"queueTrigger reads queue {resolved.get('queueName')!r}, which is not "
                        "created")
    return problems
