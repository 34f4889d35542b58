"""``history.json_text`` and ``history.compact`` write exactly what ``json.dumps`` writes (the
default separators, and ``(",", ":")``), and fail the same way, in any thread."""

import enum
import json
import threading

import pytest

from emulator.protocol import history as h
from emulator.protocol.enums import EventType, RuntimeStatus


class Color(enum.Enum):
    RED = 1


VALUES = [
    None, True, False, 0, -1, 2**70, 1.5, -0.0, 1e300, float("nan"), float("inf"),
    float("-inf"), "", "plain", 'quote " and \\ backslash', "tab\tnew\nline",
    "\u00e9\u4e2d\U0001f600",
    "\x00\x1f\x7f", [], {}, [1, [2, [3, {"a": None}]]], ("tu", "ple"),
    {"b": 1, "a": 2}, {1: "int key", 2.5: "float key", False: "bool key", None: "none key"},
    {"EventType": EventType.TASK_COMPLETED, "Status": RuntimeStatus.Completed},
    h.task_completed(h.parse_ts("2026-01-01T00:00:00.5Z"), 3, '{"IsPlayed": false}'),
    h.execution_started(h.parse_ts("2026-01-01T00:00:00Z"), name="n", instance_id="i",
                        execution_id="e", input_json='"x"',
                        parent={"Name": "p", "TaskScheduleId": 1}),
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_same_text_as_json_dumps(value):
    assert h.json_text(value) == json.dumps(value)
    assert h.compact(value) == json.dumps(value, separators=(",", ":"))


@pytest.mark.parametrize("encode", [h.json_text, h.compact])
def test_same_errors_as_json_dumps(encode):
    with pytest.raises(TypeError, match="not JSON serializable"):
        encode({"a": object()})
    with pytest.raises(TypeError, match="not JSON serializable"):
        encode(Color.RED)
    with pytest.raises(TypeError, match="keys must be"):
        encode({(1, 2): 0})
    loop: list = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        encode({"loop": loop})
    shared = {"x": 1}
    assert encode([shared, shared]) == (json.dumps([shared, shared]) if encode is h.json_text
                                        else json.dumps([shared, shared], separators=(",", ":")))


def test_threads_encoding_the_same_object_at_once_see_no_false_cycle():
    value = {"deep": [{"n": i, "s": "x" * 50} for i in range(200)]}
    expected = json.dumps(value)
    failures: list[BaseException] = []

    def encode_many() -> None:
        try:
            for _ in range(300):
                assert h.json_text(value) == expected
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=encode_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


@pytest.mark.parametrize("text", [None, "", "0", '{"a": [1, "\\u00e9"]}', 'q"uote\\', "\u4e2d\n"])
def test_a_scheduled_tasks_input_is_its_compact_argument_list(text):
    event = h.task_scheduled(h.parse_ts("2026-01-01T00:00:00Z"), 1, "act", text)
    assert event["Input"] == json.dumps([text], separators=(",", ":"))


def test_event_texts_equal_json_dumps_of_each_event_in_any_run():
    """A run of events that differ only in their id shares one encoding; anything else in the
    run (another value, another key order, a nested difference, a non-integer id) is encoded
    on its own, and every text is what ``json.dumps`` writes."""
    now = h.parse_ts("2026-01-01T00:00:00.25Z")
    scheduled = [h.task_scheduled(now, seq, "wait", '"0"') for seq in range(5)]
    scheduled[3]["IsPlayed"] = True  # one of the run differs in one value
    other_input = h.task_scheduled(now, 5, "wait", '"1"')
    nested = [dict(h.task_scheduled(now, seq, "wait", None), Tags={"k": [seq % 2]})
              for seq in range(6, 9)]
    reordered = {"EventId": 9, "EventType": 4, "IsPlayed": False}
    odd_ids = [dict(scheduled[0], EventId=True), dict(scheduled[0], EventId=10**20),
               dict(scheduled[0], EventId=-1), dict(scheduled[0], EventId="7")]
    events = [h.orchestrator_started(now), *scheduled, other_input, *nested, reordered,
              *odd_ids, h.orchestrator_completed(now)]
    assert h.event_texts(events) == [json.dumps(event) for event in events]
    assert h.event_texts([]) == []
