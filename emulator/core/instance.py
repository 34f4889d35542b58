"""An instance's working state in memory: its row, history, inbox, timers and counters.

Everything here is plain data owned by the event-loop thread. The rest of the engine changes it
only after the store has committed the matching batch (``changes.Change``), so memory never gets
ahead of the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..protocol.enums import CONTROL_EVENTS, RuntimeStatus
from ..store.base import InstanceRecord

ORCHESTRATION = "orchestration"  # Instance.kind of orchestrations; other kinds add their own


@dataclass(slots=True)
class Inbound:
    """A message in an instance's inbox (persisted ones carry ``message_id``; an activity
    result carries the ``work_id`` it retires)."""

    event: dict[str, Any]
    execution_id: str | None = None
    message_id: int | None = None
    work_id: int | None = None

    @property
    def is_control(self) -> bool:
        return self.event["EventType"] in CONTROL_EVENTS


@dataclass
class Instance:
    record: InstanceRecord
    history: list[dict[str, Any]] = field(default_factory=list)
    history_json: list[str] = field(default_factory=list)  # each event's JSON, as stored
    inbox: list[Inbound] = field(default_factory=list)
    kind: str = ORCHESTRATION
    running: bool = False  # an episode is under way
    timers: set[int] = field(default_factory=set)  # pending timer message ids
    episodes: int = 0
    in_flight: int = 0  # activities dispatched whose results have not arrived
    episode_cost: float = 0.0  # seconds the last episode took
    held_since: float | None = None  # results are being gathered for a larger batch
    last_arrival: float = 0.0
    # Takes no episodes: a commit failed (until its retry, ``stalls.CommitRetry``) or an
    # internal error happened (until the host restarts).
    stalled: bool = False
    commit_failures: int = 0  # consecutive episodes whose commit failed
    version_rejected: bool = False  # its version does not match this host (Reject): left alone
    version: int = 0  # the engine's change counter at its last committed change

    @property
    def id(self) -> str:
        return self.record.instance_id

    @property
    def status(self) -> RuntimeStatus:
        return self.record.status

    @property
    def is_terminal(self) -> bool:
        return self.record.status.is_terminal

    def takes_results(self, execution_id: str | None) -> bool:
        """Whether that execution (None: the current one) is live and can still take results;
        a finished or restarted one never reads them."""
        record = self.record
        return not record.status.is_terminal and execution_id in (None, record.execution_id)

    def processable(self) -> bool:
        if not self.inbox or self.stalled or self.version_rejected:
            return False
        if self.record.status == RuntimeStatus.Suspended:
            return any(m.is_control for m in self.inbox)
        return True

    def select_messages(self) -> list[Inbound]:
        """The messages the next episode takes: every ready one up to the first control message
        (which goes alone); while suspended, only the first control message. Nothing is removed
        from the inbox here (``remove_messages`` does that once the episode has committed)."""
        inbox = self.inbox
        if not inbox:
            return []
        if self.record.status == RuntimeStatus.Suspended:
            return next(([m] for m in inbox if m.is_control), [])
        if inbox[0].is_control:
            return [inbox[0]]
        for index, message in enumerate(inbox):
            if message.is_control:
                return inbox[:index]
        return list(inbox)

    def remove_messages(self, taken: list[Inbound]) -> None:
        if not taken:
            return
        count = len(taken)
        if len(self.inbox) >= count and all(a is b for a, b in zip(self.inbox, taken,
                                                                   strict=False)):
            del self.inbox[:count]
            return
        ids = {id(m) for m in taken}
        self.inbox = [m for m in self.inbox if id(m) not in ids]
