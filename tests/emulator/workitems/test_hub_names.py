"""The task hubs' names and selection (``worker/workitems/hubs.py``) and their state files
(``host/task_hubs.py``), without a host."""

import pytest

from emulator.host.task_hubs import hub_names, hub_state
from emulator.worker.workitems import HubNameError, TaskHubs, UnknownTaskHub, parse_hub_names


def test_names_keep_their_order_and_spelling():
    assert parse_hub_names(" Orders, billing ,x-1") == ("Orders", "billing", "x-1")


@pytest.mark.parametrize(("text", "says"), [("", "empty"), ("a,,b", "empty"),
                                            ("a,A", "named twice"), ("a/b", "invalid"),
                                            ("-a", "invalid"), ("a" * 65, "invalid")])
def test_a_bad_list_is_refused_saying_why(text, says):
    with pytest.raises(HubNameError, match=says):
        parse_hub_names(text)


def test_the_flag_wins_then_the_variable_then_default():
    env = {"DTS_TASK_HUB_NAMES": "x,y"}
    assert hub_names("a", env) == ("a",)
    assert hub_names(None, env) == ("x", "y")
    assert hub_names(None, {}) == ("default",)
    with pytest.raises(HubNameError, match="^DTS_TASK_HUB_NAMES: "):
        hub_names(None, {"DTS_TASK_HUB_NAMES": "x,x"})


def test_each_hub_has_its_own_state_chosen_by_name():
    assert hub_state("/s/scheduler.db", "default") == "/s/scheduler.db"
    assert hub_state("/s/scheduler.db", "Orders") == "/s/scheduler.orders.db"
    assert hub_state(":memory:", "orders") == ":memory:"


def test_a_request_picks_its_hub_or_the_first_or_is_refused():
    hubs = TaskHubs({"a": 1, "b": 2})
    assert (hubs.select("b"), hubs.select("B"), hubs.select(None), hubs.select("")) == (2, 2, 1, 1)
    with pytest.raises(UnknownTaskHub, match=r"^Task hub not found: c \(this host serves: a, b"):
        hubs.select("c")


def test_a_functions_host_serves_its_one_hub_under_any_name():
    """The 2.x SDK's client sends the app's hub name (``TestHubName``) in the header."""
    assert TaskHubs.only(1, "TestHubName").select("anything") == 1
