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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.appsettings import CONSUMPTION, FLEX

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
