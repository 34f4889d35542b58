"""The timeline JSON built from a stored history (no host, no browser)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from emulator.protocol import history as h
from emulator.protocol.history import RuntimeStatus
from emulator.views import gantt as timeline_data

T0 = datetime(2026, 4, 20, 8, 0, tzinfo=UTC)
RECORD = {"instanceId": "i", "name": "orch"}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def episode(start: float, *events: dict, end: float | None = None) -> list[dict]:
    return [h.orchestrator_started(at(start)), *events,
            h.orchestrator_completed(at(start if end is None else end))]


def test_retried_activity_backoff_timer_and_event():
    history = [
        *episode(0, h.execution_started(at(0), name="orch", instance_id="i", execution_id="e",
                                        input_json="{}", parent=None),
                 h.task_scheduled(at(0), 0, "flaky", '"x"')),
        *episode(1, h.task_failed(at(1), 0, "Activity function 'flaky' failed: boom", None),
                 h.timer_created(at(1), 1, h.format_ts(at(6)))),
        *episode(6, h.timer_fired(at(1), 1, h.format_ts(at(6))),
                 h.task_scheduled(at(6), 2, "flaky", '"x"')),
        *episode(7, h.task_completed(at(7), 2, '"ok"'), h.event_raised(at(7), "go", '{"a":1}'),
                 h.execution_completed(at(7), 3, RuntimeStatus.Completed, '"done"')),
    ]
    view = timeline_data.build(RECORD, history, at(100))
    first, timer, second = view["bars"]
    assert (first["outcome"], first["start"], first["end"]) == ("failed", 0, 1000)
    assert "boom" in first["error"] and first["attempt"] == 1
    assert (timer["kind"], timer["outcome"], timer["end"]) == ("timer", "fired", 6000)
    assert (second["attempt"], second["output"], second["end"]) == (2, '"ok"', 7000)
    assert view["points"] == [{"kind": "EventRaised", "name": "go", "at": 7000,
                               "data": '{"a":1}'}]
    assert view["result"] == {"status": "Completed", "at": 7000}
    assert view["span"] == 7000 and view["episodeCount"] == 4 and not view["aggregated"]


def test_open_work_runs_to_now_and_a_finished_instances_timer_is_cancelled():
    running = [*episode(0, h.task_scheduled(at(0), 0, "slow", None))]
    view = timeline_data.build(RECORD, running, at(30))
    assert view["bars"][0]["end"] is None and view["bars"][0]["outcome"] == "running"
    assert view["span"] == 30000

    finished = [*episode(0, h.timer_created(at(0), 0, h.format_ts(at(86400)))),
                *episode(2, h.execution_completed(at(2), 1, RuntimeStatus.Completed, None))]
    timer = timeline_data.build(RECORD, finished, at(30))["bars"][0]
    assert (timer["outcome"], timer["end"]) == ("cancelled", 2000)


def test_a_wide_fan_out_aggregates_by_function():
    n = timeline_data.MAX_BARS * 5
    scheduled = [h.task_scheduled(at(0), i, "work", None) for i in range(n)]
    results = [h.task_completed(at(1 + i / n), i, "1") if i % 10 else
               h.task_failed(at(2), i, "Activity function 'work' failed: no", None)
               for i in range(n)]
    view = timeline_data.build(RECORD, [*episode(0, *scheduled), *episode(3, *results)], at(3))
    assert view["aggregated"] and view["bars"] == []
    (group,) = view["groups"]
    assert group["count"] == n and group["outcomes"] == {"completed": n - n // 10,
                                                         "failed": n // 10}
    assert len(group["inFlight"]["completed"]) == timeline_data.BUCKETS
    assert group["inFlight"]["completed"][0] == n - n // 10  # all in flight at the start
    assert group["inFlight"]["completed"][-1] == 0
    assert group["firstError"].endswith("no")
    assert group["duration"]["max"] == 2000


def test_an_empty_history_is_an_empty_timeline():
    view = timeline_data.build(RECORD, [], at(0))
    assert view["bars"] == [] and view["span"] == 0


def test_a_rewind_shows_as_points_with_its_reason():
    cleared = {"EventType": int(h.EventType.GENERIC), "EventId": 1, "IsPlayed": True,
               "Timestamp": h.format_ts(at(1)), "Data": None,
               "Reason": "Rewound: ExecutionCompleted"}
    revive = {"EventType": int(h.EventType.GENERIC), "EventId": -1, "IsPlayed": False,
              "Timestamp": h.format_ts(at(5)), "Data": "fixed the API"}
    history = [*episode(0, cleared), *episode(5, revive)]
    points = timeline_data.build(RECORD, history, at(6))["points"]
    assert [(p["kind"], p["at"], p["data"]) for p in points] == [
        ("RewoundFailure", 1000, "Rewound: ExecutionCompleted"),
        ("Rewind", 5000, "fixed the API")]


def test_entity_calls_are_bars_and_signals_are_points():
    def sent(seq, op, request_id, signal=False):
        body = {"op": op, "input": '"5"', "id": request_id, "parent": "i"}
        if signal:
            body["signal"] = True
        return {"EventType": int(h.EventType.EVENT_SENT), "EventId": seq, "IsPlayed": True,
                "Timestamp": h.format_ts(at(0)), "InstanceId": "@counter@k1", "Name": "op",
                "Input": json.dumps(body)}

    history = [*episode(0, sent(0, "add", "r0", signal=True), sent(1, "get", "r1")),
               *episode(2, h.event_raised(at(2), "r1", '{"result":"12"}'))]
    view = timeline_data.build(RECORD, history, at(3))
    (call,) = view["bars"]
    assert (call["kind"], call["name"], call["outcome"], call["end"], call["output"]) == (
        "entity", "counter@k1 get", "completed", 2000, "12")
    assert [(p["kind"], p["name"]) for p in view["points"]] == [
        ("EntitySignal", "counter@k1 add")]  # the response is not a point of its own
