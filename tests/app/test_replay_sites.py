"""process_sites replayed against built histories: one wide fan-out, failures kept, batches."""

from datetime import timedelta

from activities import names


def _site(name):
    return {"site": name, "connect_ms": 10.0, "work_ms": 20.0, "duration_ms": 30.0}


def test_all_sites_fan_out_in_one_episode(replay, make_history):
    state = replay("process_sites", make_history({"count": 5, "connect_ms": 1, "work_ms": 2},
                                                 "process_sites"))
    assert [a["functionName"] for a in state["actions"]] == [names.PROCESS_SITE] * 5
    assert '"site": "site-4"' in state["actions"][4]["input"]


def test_a_failed_site_is_counted_while_the_others_finish(replay, make_history):
    history = make_history({"sites": ["a", "b", "c"], "fail": ["b"]}, "process_sites")
    for seq in range(3):
        history.scheduled(seq, names.PROCESS_SITE)
    history.episode(timedelta(seconds=3)).completed(0, _site("a"))
    history.failed(1, names.PROCESS_SITE, "SiteUnreachableError: could not connect to b")
    state = replay("process_sites", history)
    assert not state["done"] and len(state["actions"]) == 3  # waits for c, schedules nothing new

    history.episode(timedelta(milliseconds=200)).completed(2, _site("c"))
    state = replay("process_sites", history)
    assert state["done"]
    summary = state["output"]
    assert (summary["sites"], summary["processed"], summary["failed"]) == (3, 2, 1)
    assert summary["failures"] == [{"site": "b",
                                    "error": "SiteUnreachableError: could not connect to b"}]
    assert summary["total_ms"] == 3200.0 and summary["sequential_estimate_ms"] == 60.0


def test_wider_inputs_split_into_bounded_sub_orchestrations(replay, make_history):
    state = replay("process_sites", make_history({"count": 25, "max_width": 10},
                                                 "process_sites"))
    children = state["actions"]
    assert [a["actionType"] for a in children] == [2, 2, 2]  # CallSubOrchestrator
    assert all(a["functionName"] == "process_sites" for a in children)
    assert [a["input"].count('"site-') for a in children] == [10, 10, 5]
