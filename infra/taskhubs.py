"""The durable task hub each hosting plan's app uses: its name and the naming rules.

A plan switch creates the new plan's app before it deletes the old one (see
:func:`infra.components.functionapp.resource_suffix`), and both apps use the same storage
account (and, with ``durableBackend=dts``, the same scheduler). Were their hubs the same, the
old app would pick up the new app's orchestrations and activities until it is deleted. So the
hub is named after the stack's ``namePrefix`` and the plan, and differs between plans.

Where the name goes:

* Azure Storage backend: the app setting :data:`HUB_NAME_OVERRIDE`, the Functions host's
  documented override of ``extensions.durableTask.hubName`` in ``host.json`` (host.json
  reference, "Override host.json values": ``AzureFunctionsJobHost__path__to__setting``). The
  package's ``host.json`` keeps the repository's hub name, which the local host uses.
* Durable Task Scheduler: the task hub resource, named the same way, whose name the program puts
  in ``TASKHUB_NAME`` (the DTS ``host.json`` names its hub ``%TASKHUB_NAME%``).

The name is valid for both backends: Azure Storage hub names are 3-45 letters or digits,
starting with a letter (Durable Functions, "Task hub names"); a scheduler's task hub name
matches ``^[a-zA-Z0-9-]{3,64}$`` (Azure/azure-rest-api-specs, specification/durabletask,
``taskhub.tsp``). Azure Storage lower-cases hub names for queues and containers, so names that
differ only in case would still share them: plans differ in letters, not only in case.
"""

from __future__ import annotations

import re

HUB_NAME_OVERRIDE = "AzureFunctionsJobHost__extensions__durableTask__hubName"
"""App setting that overrides ``extensions.durableTask.hubName`` in host.json."""

STORAGE_HUB_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,44}")
DTS_HUB_NAME = re.compile(r"[a-zA-Z0-9-]{3,64}")


class TaskHubNameError(ValueError):
    """A task hub name one of the backends would refuse."""


def task_hub_name(name_prefix: str, plan: str) -> str:
    """The hub of the ``plan`` app of the stack whose resources are named ``name_prefix``,
    e.g. ``dfpyFlexHub``; valid for both backends (raises :class:`TaskHubNameError` if not)."""
    name = f"{name_prefix}{plan[:1].upper()}{plan[1:]}Hub"
    check(name)
    return name


def check(name: str) -> None:
    """Raise :class:`TaskHubNameError` unless ``name`` is valid for both backends."""
    if not STORAGE_HUB_NAME.fullmatch(name):
        raise TaskHubNameError(
            f"task hub name {name!r}: Azure Storage needs 3-45 letters or digits, starting "
            "with a letter"
        )
    if not DTS_HUB_NAME.fullmatch(name):
        raise TaskHubNameError(
            f"task hub name {name!r}: a scheduler's task hub needs 3-64 letters, digits or '-'"
        )
