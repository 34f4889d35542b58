"""Views of an instance's history for people, all drawn from one spans model (``spans.py``):
the text timeline, the PNG plot and the dashboard's Gantt data. Pure: they read histories, never
a running engine.

Imports the protocol and the core only.
"""

from .gantt import build as gantt_view
from .plot import plot_timeline
from .spans import Span, Spans, read_spans
from .timeline import format_timeline

__all__ = ["Span", "Spans", "format_timeline", "gantt_view", "plot_timeline", "read_spans"]
