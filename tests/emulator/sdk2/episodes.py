"""Drive one orchestration instance episode by episode through the engine's own step, with a
2.x orchestrator function behind ``emulator.sdk2.invoke_orchestrator``: history grows as the
engine stores it, and the test feeds the completions the engine would deliver."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from emulator.core.episode import EpisodeResult, step
from emulator.core.instance import Inbound
from emulator.protocol import history as h
from emulator.protocol.enums import RuntimeStatus
from emulator.store.base import InstanceRecord
from emulator.worker.sdk2 import in_process, invoke_orchestrator

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


class Episodes:
    def __init__(self, handler: Callable[..., Any], param: str | None, name: str,
                 input_text: str | None) -> None:
        self.call = in_process(handler, param)
        self.record = InstanceRecord(instance_id="i1", name=name, execution_id="e1",
                                     status=RuntimeStatus.Pending, input=input_text,
                                     created=h.format_ts(NOW), last_updated=h.format_ts(NOW))
        self.history: list[dict] = []
        self.now = NOW
        self.next = [Inbound(h.execution_started(
            NOW, name=name, instance_id="i1", execution_id="e1", input_json=input_text), "e1")]

    def episode(self, *events: dict) -> EpisodeResult:
        messages = self.next + [Inbound(event, "e1") for event in events]
        self.next = []
        self.now += timedelta(seconds=1)
        result = step(self.record, self.history, [json.dumps(e) for e in self.history],
                      messages, self.now,
                      invoke=lambda r, hist, texts: invoke_orchestrator(self.call, r, hist),
                      check_work=lambda work: None, clock_now=lambda: self.now)
        self.record = result.record
        self.history += result.new_events
        return result
