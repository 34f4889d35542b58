"""The request bytes written directly (``sdk2/wire.py``) are protobuf's own: each event equals
``to_proto_event(event).SerializeToString()`` byte for byte, for every kind and the edge values
of each field, and a request equals the serialized ``orchestrator_request``."""

from datetime import UTC, datetime, timedelta

import pytest

from emulator.protocol import history as h
from emulator.protocol.enums import EventType
from emulator.worker.sdk2.history_cache import ProtoHistoryCache
from emulator.worker.sdk2.messages import pb
from emulator.worker.sdk2.proto_history import orchestrator_request, to_proto_event
from emulator.worker.sdk2.wire import event_bytes, orchestrator_request_bytes, varint

from .test_proto_history import CASES

T = datetime(2026, 1, 1, 12, tzinfo=UTC)
LONG = "x" * 20_000  # a length past two varint bytes


def _same(event):
    expected = to_proto_event(event).SerializeToString()
    assert event_bytes(event) == expected
    assert pb.HistoryEvent.FromString(event_bytes(event)) == to_proto_event(event)


@pytest.mark.parametrize("event", [e for e, _ in CASES],
                         ids=[EventType(e["EventType"]).name for e, _ in CASES])
def test_every_event_kind_gives_protobufs_bytes(event):
    _same(event)


def _at(event, **changes):
    return dict(event, **changes)


EDGES = [
    *(_at(h.task_scheduled(T, 0, "a", "1"), EventId=i)
      for i in (0, 1, 127, 128, 16383, 16384, 2**31 - 1, -1, -7)),
    h.task_scheduled(T, 1, "", "1"),
    h.task_scheduled(T, 1, "é名", '"é"'),
    h.task_scheduled(T, 1, "a", ""),
    h.task_scheduled(T, 1, "a", None),
    h.task_scheduled(T, 1, "a", LONG),
    h.task_scheduled(T, 1, "a", "line\nbreak \u2028 tab\t"),
    _at(h.task_scheduled(T, 1, "a", "1"), Version="2"),
    _at(h.task_scheduled(T, 1, "a", "1"), Version=None),
    _at(h.task_scheduled(T, 1, "a", "1"), Input='["a","b"]'),
    _at(h.task_scheduled(T, 1, "a", "1"), Input="[null]"),
    _at(h.task_scheduled(T, 1, "a", "1"), Input="not json"),
    _at(h.task_scheduled(T, 1, "a", "1"), Name=None),
    *(h.task_completed(T, i, "0.0") for i in (0, 1, 300, 2**31 - 1)),
    h.task_completed(T, 1, None),
    h.task_completed(T, 1, ""),
    h.task_completed(T, 1, LONG),
    h.task_completed(T, 1, '"ünïcode ✓"'),
    _at(h.task_completed(T, 1, "1"), TaskScheduledId=None),
    h.orchestrator_started(datetime(1970, 1, 1, tzinfo=UTC)),  # seconds and nanos 0
    h.orchestrator_started(datetime(1970, 1, 1, 0, 0, 0, 5, tzinfo=UTC)),  # nanos only
    h.orchestrator_completed(datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC)),  # seconds only
    _at(h.orchestrator_started(T), Timestamp="2026-01-01T12:00:00.1234567Z"),
    _at(h.orchestrator_started(T), Timestamp="2026-01-01T12:00:00+00:00"),
    {"EventType": int(EventType.ORCHESTRATOR_STARTED), "Timestamp": h.format_ts(T)},
]


@pytest.mark.parametrize("event", EDGES)
def test_edge_values_give_protobufs_bytes(event):
    _same(event)


def test_events_one_after_another_do_not_share_what_they_should_not():
    """The kept timestamp, second and task payload never leak into the next event."""
    events = []
    for step in range(300):
        ts = T + timedelta(microseconds=step * 333_337)
        events.append(h.task_scheduled(ts, step, f"a{step % 3}", str(step % 2)))
        events.append(h.task_completed(ts, step, str(step)))
    for event in events + events[::-1]:
        _same(event)


def _outcome(make):
    try:
        return "bytes", make()
    except Exception as exc:  # the type is the outcome compared
        return "raised", type(exc)


def test_values_the_fast_path_does_not_take_go_to_protobuf_which_decides_as_before():
    odd = [_at(h.task_completed(T, 1, "1"), Result=7),
           _at(h.task_completed(T, 1, "1"), TaskScheduledId="1"),
           _at(h.task_completed(T, 1, "1"), TaskScheduledId=True),
           _at(h.task_completed(T, 1, "1"), Result="\ud800"),
           _at(h.task_scheduled(T, 1, "a", "1"), Name=5),
           _at(h.task_scheduled(T, 1, "a", "1"), EventId=1.0)]
    for event in odd:
        assert _outcome(lambda e=event: event_bytes(e)) == \
            _outcome(lambda e=event: to_proto_event(e).SerializeToString())


def test_varint_matches_protobufs_for_small_large_and_negative_numbers():
    for n in (0, 1, 127, 128, 16383, 16384, 2**31 - 1, 2**63 - 1, -1, -2, -(2**31)):
        message = pb.HistoryEvent(eventId=n) if -(2**31) <= n < 2**31 else None
        if message is not None:
            assert message.SerializeToString() == (b"\x08" + varint(n) if n else b"")
    assert varint(300) == b"\xac\x02"


def _fan_out(count):
    later = T + timedelta(seconds=1)
    return ([h.orchestrator_started(T),
             h.execution_started(T, name="f", instance_id="i1", execution_id="e1",
                                 input_json='{"count": 3}')]
            + [h.task_scheduled(T, seq, "wait", "0.0") for seq in range(count)]
            + [h.orchestrator_completed(T), h.orchestrator_started(later)]
            + [h.task_completed(later + timedelta(microseconds=seq), seq, "0.0")
               for seq in range(count)])


@pytest.mark.parametrize(("instance_id", "execution_id"),
                         [("i1", "e1"), ("", ""), ("é-1", None)])
def test_a_request_is_the_serialized_orchestrator_request(instance_id, execution_id):
    history = _fan_out(50)
    expected = orchestrator_request(instance_id, execution_id, history)
    written = orchestrator_request_bytes(instance_id, execution_id, history)
    assert written == expected.SerializeToString()
    assert pb.OrchestratorRequest.FromString(written) == expected


def test_with_a_cache_only_new_events_are_written_and_the_request_is_the_same():
    cache = ProtoHistoryCache()
    history = _fan_out(20)
    texts = [str(e) for e in history]
    first = orchestrator_request_bytes("i1", "e1", history[:23], cache=cache, texts=texts[:23])
    assert pb.OrchestratorRequest.FromString(first) == \
        orchestrator_request("i1", "e1", history[:23])
    converted = cache.converted
    again = orchestrator_request_bytes("i1", "e1", history, cache=cache, texts=texts)
    assert cache.converted == converted + len(history) - 23
    assert again == orchestrator_request("i1", "e1", history).SerializeToString()


def test_messages_and_bytes_in_one_cache_never_mix():
    cache = ProtoHistoryCache()
    history = _fan_out(3)
    texts = [str(e) for e in history]
    orchestrator_request("i1", "e1", history, cache=cache, texts=texts)  # messages
    written = orchestrator_request_bytes("i1", "e1", history, cache=cache, texts=texts)
    assert written == orchestrator_request("i1", "e1", history).SerializeToString()
    again = orchestrator_request("i1", "e1", history, cache=cache, texts=texts)
    assert again == orchestrator_request("i1", "e1", history)
