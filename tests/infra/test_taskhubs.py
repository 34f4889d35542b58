"""Each hosting plan's app has its own durable task hub (infra/taskhubs.py): during a plan
switch both apps run against the same storage account (and scheduler), and a shared hub would
let the old app take the new app's orchestrations. The names must also be valid for both
backends."""

from __future__ import annotations

import itertools
import json

import pytest

from infra import hostjson, taskhubs
from infra.appsettings import HOSTING_PLANS
from infra.config import _PREFIX
from infra.program import PROJECT_DIR

REPO_HOST_JSON = json.loads((PROJECT_DIR.parent / "host.json").read_text())
PREFIXES = ["dfpy", "ab", "a1", "z123456789", "flexhub", "consumptio"]


def settings_of(app) -> dict[str, str]:
    return {pair["name"]: pair["value"] for pair in app.inputs["siteConfig"]["appSettings"]}


def effective_hub(settings: dict[str, str], backend: str) -> str:
    """The hub the Functions host runs the app on: the documented app-setting override of
    host.json (`AzureFunctionsJobHost__extensions__durableTask__hubName`) if set, else the
    packaged host.json's `hubName` with `%SETTING%` resolved from the app settings."""
    override = settings.get("AzureFunctionsJobHost__extensions__durableTask__hubName")
    if override:
        return override
    hub = hostjson.host_json_for(REPO_HOST_JSON, backend)["extensions"]["durableTask"]["hubName"]
    if hub.startswith("%") and hub.endswith("%"):
        return settings[hub.strip("%")]
    return hub


@pytest.mark.parametrize("backend", ["azureStorage", "dts"])
@pytest.mark.parametrize("start, switch", [("flex", "consumption"), ("consumption", "flex")])
def test_a_plan_switch_never_puts_both_apps_on_one_hub(run_stack, backend, start, switch):
    before = run_stack({"hostingPlan": start, "durableBackend": backend})
    after = run_stack({"hostingPlan": switch, "durableBackend": backend})
    old_hub = effective_hub(settings_of(before.one("web:WebApp")), backend)
    new_hub = effective_hub(settings_of(after.one("web:WebApp")), backend)
    # Azure Storage lower-cases hub names for queues and containers.
    assert old_hub.lower() != new_hub.lower()
    assert (before.outputs["task_hub_name"], after.outputs["task_hub_name"]) == (old_hub, new_hub)
    if backend == "dts":
        # Each app's hub exists on the (shared) scheduler, under its own URN, so the switch
        # creates the new hub instead of renaming the old app's.
        (old,), (new,) = before.of_type("durabletask:TaskHub"), after.of_type("durabletask:TaskHub")
        assert (old.inputs["taskHubName"], new.inputs["taskHubName"]) == (old_hub, new_hub)
        assert old.urn != new.urn
        assert before.one("durabletask:Scheduler").urn == after.one("durabletask:Scheduler").urn


def test_the_same_plan_keeps_its_hub(run_stack):
    first, second = run_stack({}), run_stack({})
    hub = effective_hub(settings_of(first.one("web:WebApp")), "azureStorage")
    assert hub == effective_hub(settings_of(second.one("web:WebApp")), "azureStorage")
    assert hub == "dfpyFlexHub"


@pytest.mark.parametrize("prefix", PREFIXES)
def test_hub_names_are_valid_for_both_backends_and_differ_per_plan(prefix):
    assert _PREFIX.fullmatch(prefix)  # a prefix the config accepts
    names = [taskhubs.task_hub_name(prefix, plan) for plan in HOSTING_PLANS]
    for name in names:
        # Durable Functions "Task hub names": 3-45 letters or digits, starting with a letter.
        assert 3 <= len(name) <= 45 and name[0].isalpha() and name.isalnum() and name.isascii()
        # Azure/azure-rest-api-specs durabletask taskhub.tsp: ^[a-zA-Z0-9-]{3,64}$
        assert taskhubs.DTS_HUB_NAME.fullmatch(name)
    for one, other in itertools.combinations(names, 2):
        assert one.lower() != other.lower()


def test_no_two_stacks_prefixes_and_plans_collide():
    """Across every (prefix, plan) pair used here, one hub name each (case-insensitive)."""
    pairs = list(itertools.product(PREFIXES, HOSTING_PLANS))
    names = {taskhubs.task_hub_name(prefix, plan).lower() for prefix, plan in pairs}
    assert len(names) == len(pairs)


@pytest.mark.parametrize(
    "name, problem",
    [
        ("1hub", "starting with a letter"),
        ("ab", "3-45 letters or digits"),
        ("a" * 46, "3-45 letters or digits"),
        ("my-hub", "3-45 letters or digits"),
    ],
)
def test_names_either_backend_refuses_are_reported(name, problem):
    with pytest.raises(taskhubs.TaskHubNameError, match=problem):
        taskhubs.check(name)


def test_the_hub_override_cannot_be_set_by_hand(run_stack):
    from infra.config import ConfigError

    with pytest.raises(ConfigError) as error:
        run_stack({"appSettings": json.dumps({taskhubs.HUB_NAME_OVERRIDE: "Shared"})})
    assert "set by this program" in error.value.problems["appSettings"]
