"""A picture of an instance's history: one bar per activity, sub-orchestration and timer.

``python -m emulator history <id> --plot timeline.png`` draws it; matplotlib is needed (it is a
development dependency of this repository), and is imported only here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .spans import BarKind, Outcome, read_spans

_COLORS = {"completed": "#2e7d32", "failed": "#c62828", "running": "#f9a825",
           "timer": "#90a4ae"}


@dataclass
class Row:
    """One row of the picture: a span projected to seconds, with its colour key."""
    seq: int
    label: str
    start: float  # seconds after the first event
    end: float
    outcome: str  # completed, failed, running, timer


def bars(history: list[dict[str, Any]]) -> tuple[list[Row], list[float]]:
    """Bars of the tasks and timers of a history, and the start offsets of its episodes, in
    seconds: the history's spans (``spans.py``) without entity calls.

    A task spans from its scheduling to its completion (or failure) event; one still pending
    ends at the latest event. A timer spans from its creation to its due time.
    """
    if not history:
        return [], []
    spans = read_spans(history)
    drawn = []
    for span in spans.bars:
        if span.kind == BarKind.ENTITY:
            continue
        if span.kind == BarKind.TIMER:
            end, outcome = max(span.end, span.start), "timer"
        elif span.outcome == Outcome.RUNNING:
            end, outcome = spans.latest, "running"
        else:
            end, outcome = span.end, span.outcome.value
        drawn.append(Row(span.seq, span.name, span.start / 1000, end / 1000, outcome))
    return (sorted(drawn, key=lambda b: (b.start, b.seq)),
            [start / 1000 for start in spans.episode_starts])


def plot_timeline(record: dict[str, Any], history: list[dict[str, Any]], path: Path) -> Path:
    """Draw the instance's bars and episodes into ``path`` (PNG); returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    items, episodes = bars(history)
    height = min(9.0, 2.2 + 0.22 * max(1, len(items)))
    fig, ax = plt.subplots(figsize=(11, height))
    span = max([b.end for b in items] + episodes + [1e-3])
    thickness = 0.7 if len(items) <= 40 else 1.0
    for row, bar in enumerate(items):
        # Millisecond activities next to minute-long timers stay visible: a minimum width.
        width = max(bar.end - bar.start, span / 250)
        ax.barh(row, width, left=bar.start, height=thickness, color=_COLORS[bar.outcome],
                hatch="//" if bar.outcome == "timer" else None, edgecolor="none")
        if bar.outcome == "failed":
            ax.plot(bar.start + width, row, marker="x", color=_COLORS["failed"], markersize=6)
    for offset in episodes:
        ax.axvline(offset, color="#1565c0", linewidth=0.6, alpha=0.5)
    if len(items) <= 40:
        ax.set_yticks(range(len(items)),
                      [f"#{b.seq} {b.label}" for b in items], fontsize=8)
    else:
        ax.set_ylabel(f"{len(items)} tasks and timers, by start time")
        ax.set_yticks([])
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the instance started")
    ax.set_title(f"{record.get('name')} {record.get('instance_id')}: {record.get('status')}, "
                 f"{len(episodes)} episodes (blue lines)", fontsize=10)
    fig.legend(handles=[Patch(color=c, label=k) for k, c in _COLORS.items()], ncols=4,
               loc="lower center", fontsize=8, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout(rect=(0, 0.35 / height, 1, 1))  # room for the legend below
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
