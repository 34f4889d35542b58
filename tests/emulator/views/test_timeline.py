"""The history views: bars of the timeline picture, and the PNG the CLI draws."""

from datetime import UTC, datetime, timedelta

from emulator.protocol import history as h
from emulator.views.plot import bars, plot_timeline

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def _history():
    return [
        h.orchestrator_started(at(0)),
        h.execution_started(at(0), name="o", instance_id="i", execution_id="e", input_json=None),
        h.task_scheduled(at(0), 0, "fetch", "null"),
        h.task_scheduled(at(0), 1, "store", "null"),
        h.orchestrator_completed(at(0)),
        h.orchestrator_started(at(2)),
        h.task_failed(at(1.5), 1, "boom", None),
        h.task_completed(at(2), 0, "1"),
        h.timer_created(at(2), 2, h.format_ts(at(7))),
        h.task_scheduled(at(2), 3, "late", "null"),
        h.orchestrator_completed(at(2)),
    ]


def test_bars_span_schedule_to_result_and_timers_to_their_due_time():
    items, episodes = bars(_history())
    by_seq = {b.seq: b for b in items}
    assert episodes == [0.0, 2.0]
    assert (by_seq[0].start, by_seq[0].end, by_seq[0].outcome) == (0.0, 2.0, "completed")
    assert (by_seq[1].end, by_seq[1].outcome) == (1.5, "failed")
    assert (by_seq[2].start, by_seq[2].end, by_seq[2].outcome) == (2.0, 7.0, "timer")
    assert by_seq[3].outcome == "running"  # never answered: ends at the last event
    assert [b.seq for b in items] == [0, 1, 2, 3]


def test_plot_writes_a_png(tmp_path):
    path = plot_timeline({"name": "o", "instance_id": "i", "status": "Running"}, _history(),
                         tmp_path / "t.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_the_plot_and_the_gantt_view_draw_the_same_spans():
    from emulator.views import gantt

    view = gantt.build({"instance_id": "i"}, _history(), at(8))
    items, _ = bars(_history())
    assert [(b["seq"], b["start"]) for b in view["bars"]] == \
        [(b.seq, b.start * 1000) for b in items]
