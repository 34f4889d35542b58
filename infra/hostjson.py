"""The ``host.json`` that ships in the package, per Durable Functions backend.

The repository's ``host.json`` is written for the default backend, the app's Azure Storage
account. For the Durable Task Scheduler the package builder rewrites it:

* ``extensions.durableTask.storageProvider`` =
  ``{"type": "azureManaged", "connectionStringName": "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"}``
* ``extensions.durableTask.hubName`` = ``%TASKHUB_NAME%`` (the app setting the program sets to
  the task hub's name)
* the extension bundle range starts at 4.30.0, the first bundle with the ``azureManaged``
  provider (``Microsoft.Azure.WebJobs.Extensions.DurableTask.AzureManaged`` entered the bundle's
  ``extensions.json`` in Azure/azure-functions-extension-bundles#621, first released in tag
  4.30.0; 4.29.0 does not list it).

Everything else (logging, concurrency limits) is kept. The local host reads only the hub name
and the limits, so it serves either file.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

AZURE_STORAGE = "azureStorage"
DTS = "dts"
DURABLE_BACKENDS = (AZURE_STORAGE, DTS)

DTS_CONNECTION_SETTING = "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"
TASKHUB_SETTING = "TASKHUB_NAME"
DTS_PROVIDER = {"type": "azureManaged", "connectionStringName": DTS_CONNECTION_SETTING}
DTS_MIN_BUNDLE = (4, 30, 0)
_BUNDLE_RANGE = re.compile(r"\[\s*(\d+)(?:\.(\d+|\*))?(?:\.(\d+|\*))?\s*,\s*([^\]\)]+)[\]\)]")


class HostJsonError(ValueError):
    """The app's host.json cannot be used for the chosen backend."""


def host_json_for(source: dict[str, Any], backend: str) -> dict[str, Any]:
    """``source`` (the app's host.json) rewritten for ``backend``."""
    if backend not in DURABLE_BACKENDS:
        raise HostJsonError(f"unknown durable backend {backend!r}; use one of "
                            f"{', '.join(DURABLE_BACKENDS)}")
    host = copy.deepcopy(source)
    durable = host.setdefault("extensions", {}).setdefault("durableTask", {})
    provider = durable.get("storageProvider") or {}
    if backend == AZURE_STORAGE:
        if provider.get("type") == DTS_PROVIDER["type"]:
            del durable["storageProvider"]
            if durable.get("hubName") == f"%{TASKHUB_SETTING}%":
                del durable["hubName"]
        return host
    durable["storageProvider"] = {**{k: v for k, v in provider.items()
                                     if k not in ("type", "connectionStringName")},
                                  **DTS_PROVIDER}
    durable["hubName"] = f"%{TASKHUB_SETTING}%"
    bundle = host.setdefault("extensionBundle", {})
    bundle.setdefault("id", "Microsoft.Azure.Functions.ExtensionBundle")
    bundle["version"] = _at_least(str(bundle.get("version") or "[4.*, 5.0.0)"))
    return host


def backend_of(host: dict[str, Any]) -> str:
    """Which backend a host.json configures."""
    durable = (host.get("extensions") or {}).get("durableTask") or {}
    provider = durable.get("storageProvider") or {}
    return DTS if provider.get("type") == DTS_PROVIDER["type"] else AZURE_STORAGE


def dumps(host: dict[str, Any]) -> bytes:
    return (json.dumps(host, indent=2) + "\n").encode()


def _at_least(version_range: str) -> str:
    """The bundle range with its lower bound raised to :data:`DTS_MIN_BUNDLE` if lower."""
    match = _BUNDLE_RANGE.fullmatch(version_range.strip())
    if not match:
        raise HostJsonError(f"extensionBundle.version {version_range!r} is not a range like "
                            "[4.*, 5.0.0)")
    parts = tuple(0 if p in (None, "*") else int(p) for p in match.group(1, 2, 3))
    if parts >= DTS_MIN_BUNDLE:
        return version_range
    upper = match.group(4).strip()
    return f"[{'.'.join(map(str, DTS_MIN_BUNDLE))}, {upper})"
