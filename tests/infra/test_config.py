"""Stack config validation (infra/config.py), app-setting rules and role ids: pure functions."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pulumi
import pytest

from infra import appsettings, roles
from infra.config import ConfigError, InfraConfig, load_config


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return make_zip(tmp_path / "app.zip", [])


def make_zip(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, b"")
    return path


def load(values: dict[str, str], package: Path, location: str | None = "westeurope"):
    values = {"packagePath": str(package), **values}
    return load_config(values.get, default_location=location, base_dir=package.parent)


def problems(values: dict[str, str], package: Path, location: str | None = "westeurope"):
    with pytest.raises(ConfigError) as error:
        load(values, package, location)
    return error.value.problems


def test_defaults(package):
    cfg = load({}, package)
    assert cfg == InfraConfig(
        hosting_plan="flex",
        location="westeurope",
        name_prefix="dfpy",
        python_version="3.11",
        instance_memory_mb=2048,
        maximum_instance_count=100,
        log_retention_days=30,
        allow_shared_key_access=False,
        deploy_code=True,
        package_path=package.resolve(),
        app_settings={},
        tags={},
        warnings=(),
    )
    assert cfg.is_flex


def test_values_are_read_and_typed(package):
    cfg = load(
        {
            "hostingPlan": "consumption",
            "location": "northeurope",
            "namePrefix": "demo42",
            "pythonVersion": "3.12",
            "logRetentionDays": "90",
            "allowSharedKeyAccess": "TRUE",
            "appSettings": '{"A": "1"}',
            "tags": '{"env": "dev"}',
        },
        package,
    )
    assert (cfg.hosting_plan, cfg.location, cfg.name_prefix) == (
        "consumption",
        "northeurope",
        "demo42",
    )
    assert (cfg.python_version, cfg.log_retention_days, cfg.allow_shared_key_access) == (
        "3.12",
        90,
        True,
    )
    assert (cfg.app_settings, cfg.tags, cfg.is_flex) == ({"A": "1"}, {"env": "dev"}, False)


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("hostingPlan", "premium", "'premium' is not allowed; allowed values: flex, consumption"),
        ("pythonVersion", "3.10", "allowed values: 3.11, 3.12, 3.13"),
        ("instanceMemoryMB", "1024", "1024 is not allowed; allowed values: 512, 2048, 4096"),
        ("instanceMemoryMB", "lots", "'lots' is not a whole number"),
        ("maximumInstanceCount", "0", "0 is out of range; allowed values: 1-1000"),
        ("maximumInstanceCount", "1001", "out of range; allowed values: 1-1000"),
        ("logRetentionDays", "7", "allowed values: 30-730"),
        ("allowSharedKeyAccess", "yes", "'yes' is not allowed; allowed values: true, false"),
        ("deployCode", "1", "allowed values: true, false"),
        ("namePrefix", "My-App", "2-10 lowercase letters or digits"),
        ("namePrefix", "a", "2-10 lowercase letters or digits"),
        ("location", "West Europe", "is not a region name"),
        ("appSettings", "[1, 2]", "must be a JSON object of strings"),
        ("appSettings", '{"N": {"nested": 1}}', "must be a JSON object of strings"),
        ("tags", "not json", "must be a JSON object of strings"),
    ],
)
def test_bad_value_names_the_key_and_what_is_allowed(package, key, value, expected):
    found = problems({key: value}, package)
    assert list(found) == [key]
    assert expected in found[key]


def test_scalar_setting_values_become_strings(package):
    cfg = load({"appSettings": '{"WIDTH": 1000, "RATIO": 0.5, "ON": true}'}, package)
    assert cfg.app_settings == {"WIDTH": "1000", "RATIO": "0.5", "ON": "true"}


def test_consumption_does_not_offer_python_313(package):
    found = problems({"hostingPlan": "consumption", "pythonVersion": "3.13"}, package)
    assert "on hostingPlan=consumption; allowed values: 3.11, 3.12" in found["pythonVersion"]


def test_every_problem_is_reported_at_once(package):
    found = problems({"hostingPlan": "x", "namePrefix": "UP", "tags": "[]"}, package)
    assert set(found) == {"hostingPlan", "namePrefix", "tags"}
    message = str(ConfigError(found))
    for key in found:
        assert f"  - {key}: " in message
    assert "pulumi config set" in message
    # A RunError: `pulumi up` prints the message alone, without a traceback.
    assert isinstance(ConfigError(found), pulumi.RunError)


def test_location_is_required_from_config_or_provider(package):
    assert "not set" in problems({}, package, location=None)["location"]
    assert load({}, package, location="eastus").location == "eastus"
    assert load({"location": "uksouth"}, package, location="eastus").location == "uksouth"


def test_missing_package_says_how_to_build_it(package):
    found = problems({"packagePath": str(package.parent / "missing.zip")}, package)
    assert "run `make package` first" in found["packagePath"]
    cfg = load({"packagePath": "missing.zip", "deployCode": "false"}, package)
    assert (cfg.deploy_code, cfg.package_path) == (False, None)


def test_package_must_match_the_python_version(package):
    so = ".python_packages/lib/site-packages/aiohttp/_http_parser.cpython-311-x86_64-linux-gnu.so"
    make_zip(package, [so])
    assert load({"pythonVersion": "3.11"}, package).python_version == "3.11"
    found = problems({"pythonVersion": "3.12"}, package)
    assert "built for Python 3.11" in found["pythonVersion"]
    assert "--python-version 3.12" in found["pythonVersion"]


def test_package_that_is_not_a_zip_is_reported(package):
    package.write_bytes(b"not a zip")
    assert "is not a zip file" in problems({}, package)["packagePath"]


def test_relative_package_path_is_resolved_from_the_project_folder(package):
    cfg = load({"packagePath": "app.zip"}, package)
    assert cfg.package_path == package.resolve()


@pytest.mark.parametrize(
    "plan, name, expected",
    [
        ("flex", "FUNCTIONS_WORKER_RUNTIME", "set by this program"),
        ("consumption", "AzureWebJobsStorage", "set by this program"),
        ("flex", "WEBSITE_CONTENTSHARE", "not allowed on the Flex Consumption plan"),
        ("flex", "SCM_DO_BUILD_DURING_DEPLOYMENT", "not allowed on the Flex Consumption plan"),
        ("flex", "Section:Key", "write ':' as '__'"),
        ("consumption", "MY-SETTING", "letters, digits, '_' and '.' only"),
        ("flex", "MY SETTING", "letters, digits, '_' and '.' only"),
        ("flex", "TASKHUB_NAME", "set by this program"),
        ("flex", "DURABLE_TASK_SCHEDULER_CONNECTION_STRING", "set by this program"),
    ],
)
def test_app_settings_that_would_break_the_app_are_rejected(package, plan, name, expected):
    found = problems({"hostingPlan": plan, "appSettings": f'{{"{name}": "x"}}'}, package)
    assert name in found["appSettings"] and expected in found["appSettings"]


def test_setting_names_app_service_allows_are_accepted(package):
    """App Service on Linux: letters, digits, '.' and '_' (a leading digit is fine)."""
    names = {"Feature.Flag": "1", "_private": "2", "9LIVES": "3", "a__b": "4"}
    cfg = load({"appSettings": __import__("json").dumps(names)}, package)
    assert cfg.app_settings == names


def test_dts_only_keys_warn_with_the_azure_storage_backend(package):
    cfg = load({"dtsSku": "Dedicated"}, package)
    assert cfg.warnings == ("dtsSku only applies to durableBackend=dts and is ignored",)


def test_consumption_accepts_settings_only_flex_forbids(package):
    cfg = load(
        {"hostingPlan": "consumption", "appSettings": '{"WEBSITE_TIME_ZONE": "UTC"}'}, package
    )
    assert cfg.app_settings == {"WEBSITE_TIME_ZONE": "UTC"}


def test_flex_only_keys_warn_on_consumption(package):
    cfg = load({"hostingPlan": "consumption", "instanceMemoryMB": "4096"}, package)
    assert cfg.warnings == ("instanceMemoryMB only applies to hostingPlan=flex and is ignored",)


# ---- infra/appsettings.py ------------------------------------------------------------------


def settings_for(plan: str, **overrides):
    values = dict(
        blob_uri="b",
        queue_uri="q",
        table_uri="t",
        identity_client_id="client",
        identity_resource_id="/id",
        insights_connection_string="ai",
        insights_authentication="auth",
        backup_account_url="b",
        backup_container="backups",
        package_url="https://pkg",
    )
    return appsettings.app_settings(plan, **{**values, **overrides})


def test_flex_settings_leave_runtime_and_package_to_function_app_config():
    settings = settings_for("flex")
    assert not appsettings.FLEX_FORBIDDEN & settings.keys()
    assert "WEBSITE_RUN_FROM_PACKAGE" not in settings


def test_consumption_settings_carry_runtime_and_package():
    settings = settings_for("consumption")
    assert settings["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert settings["WEBSITE_RUN_FROM_PACKAGE"] == "https://pkg"
    assert settings["WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID"] == "/id"
    assert "WEBSITE_RUN_FROM_PACKAGE" not in settings_for("consumption", package_url=None)


def test_a_forbidden_extra_setting_is_refused_even_past_config_validation():
    with pytest.raises(ValueError, match="FUNCTIONS_EXTENSION_VERSION"):
        settings_for("flex", extra={"FUNCTIONS_EXTENSION_VERSION": "~4"})


def test_every_program_owned_setting_is_protected_from_user_overrides():
    produced = settings_for("consumption").keys() | settings_for("flex").keys()
    assert produced <= appsettings.MANAGED


# ---- infra/roles.py ------------------------------------------------------------------------


def test_role_definition_id_uses_the_scope_subscription():
    scope = "/subscriptions/abc/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/s"
    assert roles.role_definition_id(scope, roles.STORAGE_BLOB_DATA_OWNER) == (
        "/subscriptions/abc/providers/Microsoft.Authorization/roleDefinitions/"
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
    )
    with pytest.raises(ValueError):
        roles.role_definition_id("/resourceGroups/rg", roles.STORAGE_BLOB_DATA_OWNER)
