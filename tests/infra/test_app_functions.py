"""The app's event starters against the Pulumi program: the queue they read, the settings and
roles they need, the plan rules for their triggers, and the package that ships them.

The functions are the ones the Python worker indexes from ``function_app.py`` (in a clean
interpreter, with and without ``BACKUP_SCHEDULE``); the settings, queues and roles are the ones
the program sends under the mocks. Mutation checks show each rule fails on a broken program."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra import appsettings, planrules, roles
from infra.components import storage as storage_component
from infra.config import SETTING_KEYS, ConfigError
from infra.ncrontab import schedule_problem

REPO_ROOT = Path(__file__).resolve().parents[2]
PLANS = ["flex", "consumption"]
SCHEDULE = "0 0 2 * * *"
INDEX = ("import json, function_app; print(json.dumps({f.get_function_name(): "
         "json.loads(f.get_function_json())['bindings'] for f in function_app.app.get_functions()"
         "}))")


def index_app(backup_schedule: str | None) -> dict[str, list[dict]]:
    """``{function name: bindings}`` of function_app.py as the worker indexes it."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(REPO_ROOT)}
    if backup_schedule is not None:
        env["BACKUP_SCHEDULE"] = backup_schedule
    done = subprocess.run([sys.executable, "-c", INDEX], cwd=REPO_ROOT, env=env, text=True,
                          capture_output=True, timeout=120, check=True)
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def app_functions() -> dict[str, list[dict]]:
    return index_app(None)


@pytest.fixture(scope="module")
def app_functions_with_timer() -> dict[str, list[dict]]:
    return index_app(SCHEDULE)


def settings_of(run) -> dict[str, str]:
    app = run.one("web:WebApp")
    return {pair["name"]: pair["value"] for pair in app.inputs["siteConfig"]["appSettings"]}


def queues_of(run) -> set[str]:
    return {q.inputs["queueName"] for q in run.of_type("storage:Queue")}


def trigger_of(bindings: list[dict]) -> dict:
    [trigger] = [b for b in bindings if b["type"].endswith("Trigger")]
    return trigger


# ---- what the program creates for them ------------------------------------------------------


@pytest.mark.parametrize("plan", PLANS)
def test_the_booking_queue_and_its_poison_queue_are_created_on_the_host_account(run_stack, plan):
    run = run_stack({"hostingPlan": plan})
    account = run.one("storage:StorageAccount")
    queues = run.of_type("storage:Queue")
    assert {q.inputs["queueName"] for q in queues} == {"booking-requests",
                                                       "booking-requests-poison"}
    for queue in queues:
        assert queue.inputs["accountName"] == account.outputs["name"]
        assert run.depends_on(queue, account)


def test_the_queue_the_program_creates_is_the_one_the_app_reads(app_functions):
    queue = trigger_of(app_functions["booking_request"])
    assert queue["queueName"] == storage_component.BOOKING_QUEUE
    assert f"{queue['queueName']}-poison" in storage_component.APP_QUEUES


@pytest.mark.parametrize("plan", PLANS)
def test_the_scheduled_backup_is_off_unless_the_stack_sets_a_schedule(run_stack, plan):
    settings = settings_of(run_stack({"hostingPlan": plan}))
    assert "BACKUP_SCHEDULE" not in settings and "BACKUP_ROOT" not in settings


@pytest.mark.parametrize("plan", PLANS)
def test_backup_schedule_and_root_become_app_settings(run_stack, plan):
    settings = settings_of(run_stack({"hostingPlan": plan, "backupSchedule": "0 30 1 * * Sun",
                                      "backupRoot": "/home/site/wwwroot"}))
    assert settings["BACKUP_SCHEDULE"] == "0 30 1 * * Sun"
    assert settings["BACKUP_ROOT"] == "/home/site/wwwroot"


@pytest.mark.parametrize("config, key, message", [
    ({"backupSchedule": "0 2 * * *"}, "backupSchedule", "has 5 field(s)"),
    ({"backupSchedule": "00:05:00"}, "backupSchedule", "TimeSpan schedule"),
    ({"backupSchedule": "0 0 25 * * *"}, "backupSchedule", "hour field '25'"),
    ({"backupRoot": "site/docs"}, "backupRoot", "must be an absolute path"),
    ({"appSettings": '{"BACKUP_SCHEDULE": "0 0 2 * * *"}'}, "appSettings",
     "BACKUP_SCHEDULE is set with the backupSchedule key"),
])
def test_a_bad_backup_setting_stops_the_program_naming_the_key(run_stack, config, key, message):
    with pytest.raises(ConfigError) as error:
        run_stack(config)
    assert message in error.value.problems[key]


@pytest.mark.parametrize("expression, ok", [
    ("0 0 2 * * *", True), ("*/30 * * * * *", True), ("0 30 9 * Jan-Mar Mon-Fri", True),
    ("0 0 0 1,15 * *", True), ("5/15 * * * * *", True), ("0 0 2 * * 7", False),
    ("0 0 2 * * * *", False), ("0 0 2 31-1 * *", False), ("0 0 */0 * * *", False),
    ("0 0 2 ? * *", False), ("", False), ("1.00:00:00", False),
])
def test_ncrontab_six_fields(expression, ok):
    assert (schedule_problem(expression) is None) is ok


# ---- the plan rules, for the functions the worker indexes ----------------------------------


@pytest.mark.parametrize("plan", PLANS)
def test_the_app_with_its_timer_passes_the_plan_rules_with_the_settings_the_program_sends(
        run_stack, app_functions_with_timer, plan):
    run = run_stack({"hostingPlan": plan, "backupSchedule": SCHEDULE})
    assert "scheduled_backup" in app_functions_with_timer
    assert planrules.function_violations(plan, app_functions_with_timer, settings_of(run),
                                         queues_of(run)) == []


@pytest.mark.parametrize("plan", PLANS)
def test_the_app_without_timer_passes_with_the_default_stack(run_stack, app_functions, plan):
    run = run_stack({"hostingPlan": plan})
    assert "scheduled_backup" not in app_functions
    assert planrules.function_violations(plan, app_functions, settings_of(run),
                                         queues_of(run)) == []


@pytest.mark.parametrize("plan", PLANS)
def test_the_app_identity_holds_the_data_roles_its_triggers_need(
        run_stack, fake, app_functions_with_timer, plan):
    run = run_stack({"hostingPlan": plan, "backupSchedule": SCHEDULE})
    account_id = run.one("storage:StorageAccount").id
    granted = {a.inputs["roleDefinitionId"].rsplit("/", 1)[1]
               for a in run.of_type("authorization:RoleAssignment")
               if a.inputs["principalId"] == fake.uami_principal_id
               and a.inputs["scope"] == account_id}
    needed = planrules.needed_data_roles(app_functions_with_timer)
    assert roles.STORAGE_QUEUE_DATA_CONTRIBUTOR in needed
    assert needed <= granted


# ---- mutation checks: the rules fail on a broken program -----------------------------------


def test_a_timer_whose_setting_the_program_does_not_send_is_caught(run_stack,
                                                                   app_functions_with_timer):
    """The app indexed with BACKUP_SCHEDULE, deployed by a stack without it: the host would
    refuse the function ("'%BACKUP_SCHEDULE%' does not resolve to a value")."""
    run = run_stack({})
    assert planrules.function_violations("flex", app_functions_with_timer, settings_of(run),
                                         queues_of(run)) == [
        "scheduled_backup: timerTrigger refers to app setting %BACKUP_SCHEDULE%, which the "
        "site does not have (the host marks the function in error)"]


@pytest.mark.parametrize("plan", PLANS)
def test_a_missing_queue_service_uri_is_caught(run_stack, app_functions, plan):
    run = run_stack({"hostingPlan": plan})
    settings = settings_of(run)
    del settings["AzureWebJobsStorage__queueServiceUri"]
    [problem] = planrules.function_violations(plan, app_functions, settings, queues_of(run))
    assert problem.startswith("booking_request: queueTrigger connection 'AzureWebJobsStorage' "
                              "has no setting")


def test_a_queue_the_program_no_longer_creates_is_caught(run_stack, app_functions,
                                                         monkeypatch):
    monkeypatch.setattr(storage_component, "APP_QUEUES", ("booking-requests-poison",))
    run = run_stack({})
    assert planrules.function_violations("flex", app_functions, settings_of(run),
                                         queues_of(run)) == [
        "booking_request: queueTrigger reads queue 'booking-requests', which is not created"]


def test_a_dropped_queue_role_is_caught(run_stack, fake, app_functions, monkeypatch):
    from infra.components import identity as identity_component

    reduced = {k: v for k, v in identity_component.STORAGE_ROLES.items()
               if v != roles.STORAGE_QUEUE_DATA_CONTRIBUTOR}
    monkeypatch.setattr(identity_component, "STORAGE_ROLES", reduced)
    run = run_stack({})
    granted = {a.inputs["roleDefinitionId"].rsplit("/", 1)[1]
               for a in run.of_type("authorization:RoleAssignment")
               if a.inputs["principalId"] == fake.uami_principal_id}
    assert planrules.needed_data_roles(app_functions) - granted == {
        roles.STORAGE_QUEUE_DATA_CONTRIBUTOR}


@pytest.mark.parametrize("schedule, problem", [
    ("00:10:00", "TimeSpan schedule"), ("0 2 * * *", "has 5 field(s)")])
def test_a_schedule_the_consumption_plans_do_not_run_is_caught(app_functions_with_timer,
                                                               schedule, problem):
    settings = {"BACKUP_SCHEDULE": schedule, "AzureWebJobsStorage__queueServiceUri": "https://q"}
    [found] = planrules.function_violations("consumption", app_functions_with_timer, settings)
    assert found.startswith("scheduled_backup: timerTrigger schedule") and problem in found


@pytest.mark.parametrize("source, plan, ok", [
    (None, "flex", False), ("LogsAndContainerScan", "flex", False), ("EventGrid", "flex", True),
    (None, "consumption", True),
])
def test_flex_runs_a_blob_trigger_only_from_event_grid(source, plan, ok):
    blob = {"type": "blobTrigger", "name": "blob", "path": "uploads/{name}",
            "connection": "AzureWebJobsStorage"}
    if source:
        blob["source"] = source
    settings = {"AzureWebJobsStorage__blobServiceUri": "https://b"}
    problems = planrules.function_violations(plan, {"on_upload": [blob]}, settings)
    assert (problems == []) is ok
    if not ok:
        assert problems == ["on_upload: blobTrigger needs source EventGrid on Flex Consumption "
                            "(the polling source is not supported there)"]


def test_a_connection_string_setting_also_satisfies_a_queue_trigger(app_functions):
    settings = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    assert planrules.function_violations("flex", app_functions, settings) == []


# ---- the package ------------------------------------------------------------------------------


def test_the_package_ships_the_event_starters_and_the_deploy_waits_for_them():
    from infra import package as pkg
    from infra.program import EXPECTED_FUNCTIONS

    names = {name for name, _ in pkg.select_app_files(REPO_ROOT)}
    assert {"api/events.py", "api/starters.py", "function_app.py", "host.json"} <= names
    assert "booking_request" in EXPECTED_FUNCTIONS


def test_the_owned_settings_include_the_backup_schedule():
    assert {"BACKUP_SCHEDULE", "BACKUP_ROOT"} <= appsettings.MANAGED
    assert set(SETTING_KEYS) <= appsettings.MANAGED
