"""An episode stores each event's JSON exactly as ``json.dumps`` of the played event would be,
though the messages' texts are reused from what the orchestrator was sent."""

import json
from datetime import UTC, datetime

from emulator.core.episode import step, stored_text, stored_texts
from emulator.core.instance import Inbound
from emulator.protocol import history as h
from emulator.protocol.enums import RuntimeStatus
from emulator.store import InstanceRecord
from emulator.worker.invoke import invoke_orchestrator
from emulator.worker.loader import load_app

from ..conftest import PROTOCOL_APP

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
APP = load_app(PROTOCOL_APP)
# A result that spells the flag inside a JSON string: it must not be the one flipped.
TRICKY = json.dumps('{"IsPlayed": false} "IsPlayed": false')


def _step(record, history, messages):
    fn = APP.code_of(APP.orchestrator(record.name))
    return step(record, history, [json.dumps(e) for e in history], messages, NOW,
                invoke=lambda r, hist, texts: invoke_orchestrator(fn, r, hist, texts),
                check_work=lambda work: None, clock_now=lambda: NOW)


def test_texts_of_a_results_episode_equal_fresh_encodings():
    record = InstanceRecord(instance_id="i1", name="chain", execution_id="e1",
                            status=RuntimeStatus.Pending, input=json.dumps(json.dumps("x")),
                            created=h.format_ts(NOW), last_updated=h.format_ts(NOW))
    started = Inbound(h.execution_started(NOW, name="chain", instance_id="i1",
                                          execution_id="e1", input_json=record.input), "e1", 1)
    first = _step(record, [], [started])
    result = Inbound(h.task_completed(NOW, 0, TRICKY), "e1", None, 5)
    second = _step(first.record, first.new_events, [result])
    assert second.texts == [json.dumps(event) for event in second.new_events]
    completed = next(e for e in second.new_events if e["EventType"] == 5)
    assert completed["IsPlayed"] is True and completed["Result"] == TRICKY
    assert first.texts == [json.dumps(event) for event in first.new_events]


def test_an_unsent_or_unplayed_event_is_encoded_as_it_is():
    event = h.orchestrator_started(NOW)
    assert stored_text(event, {}) == json.dumps(event)
    assert stored_text(event, {id(event): "sent"}) == "sent"  # IsPlayed stays false


def test_stored_texts_of_sent_events_and_a_run_of_scheduling_events_equal_fresh_encodings():
    """Sent messages keep their text (IsPlayed flipped); the scheduling events of a fan-out,
    alike but for their ids, each get their own id in the text."""
    started = h.orchestrator_started(NOW)
    done = h.task_completed(NOW, 0, TRICKY)
    sent = {id(started): json.dumps(started), id(done): json.dumps(done)}
    done["IsPlayed"] = True
    scheduled = [dict(h.task_scheduled(NOW, seq, "double", "7"), IsPlayed=True)
                 for seq in range(1, 5)]
    events = [started, done, *scheduled, h.orchestrator_completed(NOW)]
    assert stored_texts(events, sent) == [json.dumps(event) for event in events]
