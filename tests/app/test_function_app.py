"""The app as the Python worker indexes it: every name registered once, HTTP behind keys."""

import importlib.util
import inspect
import json
from pathlib import Path

import pytest

from activities import names as activity_names
from api.starters import VALIDATORS, instance_id_problem
from orchestrators import names as orchestrator_names

APP_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def functions():
    """Index a fresh copy of function_app (``get_functions()`` runs once per app object)."""
    spec = importlib.util.spec_from_file_location("function_app_indexed",
                                                  APP_DIR / "function_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {f.get_function_name(): f for f in module.app.get_functions()}


def _constants(module):
    return {v for k, v in vars(module).items() if k.isupper() and isinstance(v, str)}


def test_every_activity_and_orchestrator_name_is_registered_with_its_trigger(functions):
    for name in _constants(activity_names):
        assert functions[name].get_trigger().type == "activityTrigger", name
    for name in _constants(orchestrator_names):
        assert functions[name].get_trigger().type == "orchestrationTrigger", name


def test_the_starter_routes_and_f1_f2_are_registered_with_function_keys(functions):
    routes = {f.get_trigger().route: f for f in functions.values()
              if f.get_trigger().type == "httpTrigger"}
    assert {"orchestrators/{name}", "orchestrators/{name}/{instance_id}", "fanout",
            "delay"} <= set(routes)
    for function in routes.values():
        [trigger] = [b for b in json.loads(function.get_function_json())["bindings"]
                     if b["type"] == "httpTrigger"]
        assert trigger["authLevel"] == "FUNCTION", function.get_function_name()


def test_site_activities_are_async_so_they_share_the_event_loop(functions):
    assert inspect.iscoroutinefunction(functions[activity_names.PROCESS_SITE].get_user_function())


def test_every_orchestrator_can_be_started_over_http():
    assert set(VALIDATORS) == _constants(orchestrator_names)


@pytest.mark.parametrize("instance_id, ok", [
    ("trip-ada-2026", True), ("a:b.c_d", True), ("x" * 256, True),
    ("", False), ("x" * 257, False), ("@counter@1", False), ("a/b", False), ("a\\b", False),
    ("a?b", False), ("a#b", False), ("a\nb", False), ("a\x7fb", False),
    ("a\x85b", False), ("a\x9fb", False), ("a\xa0b", True), (".", False), ("..", False),
    ("...", True),
])
def test_instance_ids_follow_the_runtime_rules(instance_id, ok):
    assert (instance_id_problem(instance_id) is None) is ok


def test_host_json_raises_the_concurrency_limits_on_purpose():
    host = json.loads((APP_DIR / "host.json").read_text())
    durable = host["extensions"]["durableTask"]
    assert host["version"] == "2.0"
    assert host["extensionBundle"]["version"] == "[4.*, 5.0.0)"
    assert durable["maxConcurrentActivityFunctions"] >= 1000
    assert durable["hubName"].isalnum() and 3 <= len(durable["hubName"]) <= 45


@pytest.mark.parametrize("setting, width", [("7", 7), ("", 1000), ("wide", 1000), ("0", 1000)])
def test_the_default_fan_out_width_comes_from_the_app_setting(monkeypatch, setting, width):
    monkeypatch.setenv("PROCESS_SITES_MAX_WIDTH", setting)
    assert VALIDATORS["process_sites"]({"count": 10})["max_width"] == width
    assert VALIDATORS["process_sites"]({"count": 10, "max_width": 3})["max_width"] == 3
