"""The stack configuration: read once, validated in one place.

Keys (in the project namespace; ``pulumi config set <key> <value>``):

==========================  =================================================  ==================
key                         meaning                                            default
==========================  =================================================  ==================
``hostingPlan``             ``flex`` (Flex Consumption, recommended) or        ``flex``
                            ``consumption`` (Linux Consumption, legacy,
                            retires 2028-09-30)
``location``                Azure region, e.g. ``westeurope``                  provider location
``namePrefix``              2-10 lowercase letters/digits, starts every name   ``dfpy``
``pythonVersion``           function app Python (flex 3.11-3.13, consumption   ``3.11``
                            3.11-3.12); build the package for the same one
``instanceMemoryMB``        Flex instance size: 512, 2048 or 4096              ``2048``
``maximumInstanceCount``    Flex scale-out limit, 1-1000                       ``100``
``logRetentionDays``        Log Analytics retention, 30-730                    ``30``
``allowSharedKeyAccess``    storage account keys; off on both plans (identity  ``false``
                            everywhere), on only if something else needs them
``deployCode``              deploy ``packagePath`` during ``pulumi up``        ``true``
``packagePath``             the zip from ``make package`` (relative to infra/) ``../dist/app.zip``
``durableBackend``          ``azureStorage`` (the app's storage account) or    ``azureStorage``
                            ``dts`` (Durable Task Scheduler); the package must
                            be built for the same one
``dtsSku``                  dts only: ``Consumption`` or ``Dedicated``          ``Consumption``
``dtsCapacity``             dts Dedicated only: capacity units, 1-10           ``1``
``dtsIpAllowList``          dts only: JSON list of CIDRs that may reach the    ``["0.0.0.0/0"]``
                            scheduler (an empty list denies everyone)
``backupSchedule``          scheduled backup: NCRONTAB with six fields, e.g.    off
                            ``0 0 2 * * *`` (02:00 UTC daily); sets the app
                            setting ``BACKUP_SCHEDULE``
``backupRoot``              the directory the backup copies (absolute, on the  the app folder
                            instance); sets ``BACKUP_ROOT``
``appSettings``             extra app settings, a JSON object of strings       ``{}``
``tags``                    tags for every resource, a JSON object of strings  ``{}``
==========================  =================================================  ==================

Every problem is reported at once, each naming its key and the allowed values.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from infra import taskhubs
from infra.appsettings import CONSUMPTION, FLEX, HOSTING_PLANS, MANAGED, forbidden_settings
from infra.ncrontab import schedule_problem
from infra.package import (
    AZURE_STORAGE,
    DTS,
    DURABLE_BACKENDS,
    built_for_backend,
    built_for_python,
)

PYTHON_VERSIONS = {
    FLEX: ("3.11", "3.12", "3.13"),
    CONSUMPTION: ("3.11", "3.12"),
}
"""Python versions per plan (Linux Consumption gets no language versions after 3.12). Not
3.10: it reached end of life in October 2026 (so did its Functions support) and the app needs
3.11 (``datetime.UTC``). Each has a lock, ``requirements-py3.X.lock`` (infra.package)."""
INSTANCE_MEMORY_MB = (512, 2048, 4096)
MAX_INSTANCES = (1, 1000)
LOG_RETENTION_DAYS = (30, 730)
FLEX_ONLY_KEYS = ("instanceMemoryMB", "maximumInstanceCount")

_PREFIX = re.compile(r"[a-z][a-z0-9]{1,9}")
_REGION = re.compile(r"[a-z][a-z0-9]+")
_SETTING_NAME = re.compile(r"[A-Za-z0-9_.]+")
"""App Service on Linux: letters, digits, '.' and '_' only (the value becomes a variable)."""
DTS_SKUS = ("Consumption", "Dedicated")
DTS_CAPACITY = (1, 10)
DTS_ONLY_KEYS = ("dtsSku", "dtsCapacity", "dtsIpAllowList")
_CIDR = re.compile(r"[0-9a-fA-F:.]+(/\d{1,3})?")
SETTING_KEYS = {"BACKUP_SCHEDULE": "backupSchedule", "BACKUP_ROOT": "backupRoot"}
"""App settings the program owns that a config key of their own sets."""


class ConfigError(pulumi.RunError):
    """The stack configuration is invalid; ``problems`` maps each bad key to its message.

    A ``RunError``, so ``pulumi up`` prints just the message, not a Python traceback.
    """

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {key}: {message}" for key, message in problems.items())
        super().__init__(
            f"invalid stack configuration:\n{lines}\n"
            "Fix with `pulumi config set <key> <value>` (see infra/config.py for every key)."
        )


@dataclass(frozen=True)
class InfraConfig:
    """Validated settings of one stack."""

    hosting_plan: str = FLEX
    location: str = "westeurope"
    name_prefix: str = "dfpy"
    python_version: str = "3.11"
    instance_memory_mb: int = 2048
    maximum_instance_count: int = 100
    log_retention_days: int = 30
    allow_shared_key_access: bool = False
    deploy_code: bool = True
    package_path: Path | None = None
    durable_backend: str = AZURE_STORAGE
    dts_sku: str = "Consumption"
    dts_capacity: int = 1
    dts_ip_allow_list: tuple[str, ...] = ("0.0.0.0/0",)
    backup_schedule: str | None = None
    backup_root: str | None = None
    app_settings: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def task_hub(self) -> str:
        """The durable task hub of this plan's app (:mod:`infra.taskhubs`)."""
        return taskhubs.task_hub_name(self.name_prefix, self.hosting_plan)

    @property
    def is_flex(self) -> bool:
        return self.hosting_plan == FLEX

    @property
    def uses_dts(self) -> bool:
        return self.durable_backend == DTS


def load_config(
    get: Callable[[str], str | None],
    *,
    default_location: str | None,
    base_dir: Path,
) -> InfraConfig:
    """Read and validate every key through ``get`` (``pulumi.Config().get`` in the program).

    ``default_location`` is the provider's ``azure-native:location``; ``base_dir`` resolves a
    relative ``packagePath`` (the Pulumi project folder). Raises :class:`ConfigError`.
    """
    reader = _Reader(get)
    plan = reader.choice("hostingPlan", HOSTING_PLANS, FLEX)
    location = reader.raw("location") or default_location
    if not location:
        reader.fail("location", "not set; set it (or azure-native:location), e.g. westeurope")
    elif not _REGION.fullmatch(location):
        reader.fail("location", f"{location!r} is not a region name such as westeurope")
    prefix = reader.raw("namePrefix") or "dfpy"
    if not _PREFIX.fullmatch(prefix):
        reader.fail(
            "namePrefix",
            f"{prefix!r} must be 2-10 lowercase letters or digits, starting with a letter "
            "(it is part of the storage account name)",
        )
    python_version = reader.choice(
        "pythonVersion", PYTHON_VERSIONS.get(plan, PYTHON_VERSIONS[FLEX]), "3.11", plan=plan
    )
    memory = reader.integer_choice("instanceMemoryMB", INSTANCE_MEMORY_MB, 2048)
    max_instances = reader.integer_range("maximumInstanceCount", MAX_INSTANCES, 100)
    retention = reader.integer_range("logRetentionDays", LOG_RETENTION_DAYS, 30)
    shared_key = reader.boolean("allowSharedKeyAccess", False)
    deploy_code = reader.boolean("deployCode", True)
    backend = reader.choice("durableBackend", DURABLE_BACKENDS, AZURE_STORAGE)
    dts_sku = reader.choice("dtsSku", DTS_SKUS, "Consumption")
    dts_capacity = reader.integer_range("dtsCapacity", DTS_CAPACITY, 1)
    allow_list = reader.string_list("dtsIpAllowList", ["0.0.0.0/0"])
    if not allow_list:
        reader.fail("dtsIpAllowList", "an empty list denies all traffic to the scheduler, the "
                    'app\'s included; allow at least its outbound range, e.g. ["0.0.0.0/0"]')
    for cidr in allow_list:
        if not _CIDR.fullmatch(cidr):
            reader.fail("dtsIpAllowList", f"{cidr!r} is not an IP address or CIDR range")
    package_path = (base_dir / (reader.raw("packagePath") or "../dist/app.zip")).resolve()
    if deploy_code:
        _check_package(reader, package_path, python_version, backend)
    backup_schedule = reader.raw("backupSchedule")
    if backup_schedule is not None and (problem := schedule_problem(backup_schedule)):
        reader.fail("backupSchedule", problem)
    backup_root = reader.raw("backupRoot")
    if backup_root is not None and (not backup_root.startswith("/") or "\0" in backup_root):
        reader.fail("backupRoot", f"{backup_root!r} must be an absolute path on the instance, "
                    "e.g. /home/site/wwwroot")
    settings = reader.string_map("appSettings")
    for name in settings:
        if name in SETTING_KEYS:
            reader.fail("appSettings", f"{name} is set with the {SETTING_KEYS[name]} key")
        elif name in MANAGED:
            reader.fail("appSettings", f"{name} is set by this program and cannot be overridden")
        elif name in forbidden_settings(plan):
            reader.fail("appSettings", f"{name} is not allowed on the Flex Consumption plan")
        elif not _SETTING_NAME.fullmatch(name):
            reader.fail(
                "appSettings",
                f"{name!r}: use letters, digits, '_' and '.' only (write ':' as '__')",
            )
    tags = reader.string_map("tags")
    warnings = tuple(
        f"{key} only applies to hostingPlan=flex and is ignored"
        for key in FLEX_ONLY_KEYS
        if plan == CONSUMPTION and reader.raw(key) is not None
    ) + tuple(
        f"{key} only applies to durableBackend=dts and is ignored"
        for key in DTS_ONLY_KEYS
        if backend != DTS and reader.raw(key) is not None
    )
    if reader.problems:
        raise ConfigError(reader.problems)
    return InfraConfig(
        hosting_plan=plan,
        location=location or "",
        name_prefix=prefix,
        python_version=python_version,
        instance_memory_mb=memory,
        maximum_instance_count=max_instances,
        log_retention_days=retention,
        allow_shared_key_access=shared_key,
        deploy_code=deploy_code,
        package_path=package_path if deploy_code else None,
        durable_backend=backend,
        dts_sku=dts_sku,
        dts_capacity=dts_capacity,
        dts_ip_allow_list=tuple(allow_list),
        backup_schedule=backup_schedule,
        backup_root=backup_root,
        app_settings=settings,
        tags=tags,
        warnings=warnings,
    )


def _check_package(reader: _Reader, path: Path, python_version: str, backend: str) -> None:
    """The package must exist and carry native modules for the app's Python version: a
    mismatch deploys fine and then fails at import time in Azure."""
    if not path.is_file():
        reader.fail(
            "packagePath",
            f"{path} does not exist: run `make package` first "
            "(or `pulumi config set deployCode false` to create the infrastructure only)",
        )
        return
    try:
        built_for = built_for_python(path)
    except zipfile.BadZipFile:
        reader.fail("packagePath", f"{path} is not a zip file; rebuild it with `make package`")
        return
    if built_for is not None and built_for != python_version:
        reader.fail(
            "pythonVersion",
            f"{python_version} does not match {path.name}, built for Python {built_for}: "
            f"rebuild with `python -m infra.package --python-version {python_version}` "
            f"or set pythonVersion {built_for}",
        )
    packaged_backend = built_for_backend(path)
    if packaged_backend is not None and packaged_backend != backend:
        reader.fail(
            "durableBackend",
            f"{backend} does not match {path.name}, whose host.json uses {packaged_backend}: "
            f"rebuild with `python -m infra.package --durable-backend {backend}` "
            f"(`make package BACKEND={backend}`) or set durableBackend {packaged_backend}",
        )


class _Reader:
    """Typed reads that record a problem instead of raising, so all are reported together."""

    def __init__(self, get: Callable[[str], str | None]) -> None:
        self._get = get
        self.problems: dict[str, str] = {}

    def fail(self, key: str, message: str) -> None:
        self.problems[key] = f"{self.problems[key]}; {message}" if key in self.problems else message

    def raw(self, key: str) -> str | None:
        value = self._get(key)
        return value.strip() if isinstance(value, str) and value.strip() else None

    def choice(self, key: str, allowed: tuple[str, ...], default: str, plan: str = "") -> str:
        value = self.raw(key) or default
        if value not in allowed:
            scope = f" on hostingPlan={plan}" if plan else ""
            self.fail(key, f"{value!r} is not allowed{scope}; allowed values: {', '.join(allowed)}")
        return value

    def integer_choice(self, key: str, allowed: tuple[int, ...], default: int) -> int:
        value = self._integer(key, default)
        if value is not None and value not in allowed:
            self.fail(
                key, f"{value} is not allowed; allowed values: {', '.join(map(str, allowed))}"
            )
        return value if value is not None else default

    def integer_range(self, key: str, bounds: tuple[int, int], default: int) -> int:
        value = self._integer(key, default)
        low, high = bounds
        if value is not None and not low <= value <= high:
            self.fail(key, f"{value} is out of range; allowed values: {low}-{high}")
        return value if value is not None else default

    def _integer(self, key: str, default: int) -> int | None:
        raw = self.raw(key)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            self.fail(key, f"{raw!r} is not a whole number")
            return None

    def boolean(self, key: str, default: bool) -> bool:
        raw = self.raw(key)
        if raw is None:
            return default
        if raw.lower() not in ("true", "false"):
            self.fail(key, f"{raw!r} is not allowed; allowed values: true, false")
            return default
        return raw.lower() == "true"

    def string_list(self, key: str, default: list[str]) -> list[str]:
        raw = self.raw(key)
        if raw is None:
            return list(default)
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, 'must be a JSON list of strings, e.g. ["0.0.0.0/0"]')
            return list(default)
        return [v.strip() for v in value]

    def string_map(self, key: str) -> dict[str, str]:
        raw = self.raw(key)
        if raw is None:
            return {}
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = None
        # `pulumi config set --path key.NAME 10` may store a number or a boolean: accept
        # scalars and write them the way an app setting holds them.
        if not isinstance(value, dict) or not all(
            isinstance(v, str | int | float | bool) for v in value.values()
        ):
            self.fail(key, 'must be a JSON object of strings, e.g. {"NAME": "value"}')
            return {}
        return {
            name: str(v).lower() if isinstance(v, bool) else str(v) for name, v in value.items()
        }
