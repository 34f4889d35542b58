"""The work-item dispatcher: orchestrator episodes, activities and entity batches as durabletask
``WorkItem``s, handed to the workers connected through ``GetWorkItems`` and settled by their
``Complete*Task`` calls (durabletask's sidecar protocol, as the Durable Task Scheduler runs it).

- Each item, when delivered, gets a fresh completion token; a completion names it. A token the
  dispatcher no longer holds (a late answer after a redelivery) is ignored.
- Abandoning an item (``Abandon*WorkItem``) delivers it again; so does the disconnection of
  the worker that holds it (to another connected worker, or to the next one that connects).
- A worker may declare work-item filters (names, and versions for orchestrations and
  activities): it gets only items that match. An item no connected worker takes waits, as in
  the Scheduler, until one connects that does.
- Delivery is round robin over the workers that accept an item; a worker's own concurrency
  limits are its business (it queues what it cannot run yet).
- An answer may come in parts (``complete_part``: the chunked ``OrchestratorResponse`` of
  .NET workers, whose actions would not fit one gRPC message), taken in order from part 0 and
  joined when the last arrives. A part sent again (a retried call) is taken once; a part whose
  predecessors are missing is refused and nothing is lost. Parts belong to one delivery: an
  item delivered again starts with none.

All state lives on the host's event loop; ``submit`` may be called from any thread (the
runtime's calls submit on the loop: ``remote.RemoteWorker`` awaits every kind of item there).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..sdk2.messages import pb

__all__ = ["ItemKind", "Filters", "PartOutcome", "Pending", "Stream", "WorkItemDispatcher",
           "filters_of"]

log = logging.getLogger("emulator")


class ItemKind(StrEnum):
    ORCHESTRATION = "orchestration"
    ACTIVITY = "activity"
    ENTITY = "entity"


class PartOutcome(StrEnum):
    """What became of one part of a worker's answer (``complete_part``)."""

    ADDED = "added"  # kept with the parts before it; more are to come
    SETTLED = "settled"  # the last part: the parts, joined, settled the item
    REPEATED = "repeated"  # a part already taken (a retried call): nothing to do
    EARLY = "early"  # parts before it are missing: refused, the parts taken are kept
    NOT_HELD = "not held"  # no such item held (answered already, or delivered again)


# name -> accepted versions (empty: any version); None for a kind: no filter (everything)
NameFilter = dict[str, frozenset[str]] | None


@dataclass(frozen=True)
class Filters:
    """A worker's work-item filters, one per kind (None: the worker takes every item)."""

    orchestrations: NameFilter = None
    activities: NameFilter = None
    entities: NameFilter = None

    def accepts(self, kind: ItemKind, name: str, version: str | None) -> bool:
        wanted = {ItemKind.ORCHESTRATION: self.orchestrations,
                  ItemKind.ACTIVITY: self.activities,
                  ItemKind.ENTITY: self.entities}[kind]
        if wanted is None:
            return True
        versions = wanted.get(name)
        if versions is None:
            return False
        return not versions or (version or "") in versions


def filters_of(request: pb.GetWorkItemsRequest) -> Filters:
    """The filters a ``GetWorkItemsRequest`` declares (none: every item)."""
    if not request.HasField("workItemFilters"):
        return Filters()
    declared = request.workItemFilters

    def by_name(items: Any) -> dict[str, frozenset[str]]:
        found: dict[str, frozenset[str]] = {}
        for item in items:
            found[item.name] = found.get(item.name, frozenset()) | frozenset(
                getattr(item, "versions", ()))
        return found

    return Filters(by_name(declared.orchestrations), by_name(declared.activities),
                   {e.name.lower(): frozenset() for e in declared.entities})


@dataclass(eq=False)
class Pending:
    """One unit of work until a worker completes it."""

    kind: ItemKind
    name: str
    version: str | None
    build: Callable[[str], pb.WorkItem]  # completion token -> the WorkItem to send
    settle: Callable[[Any], None]  # the completion message (called on the loop)
    token: str | None = None  # of the current delivery
    holder: Stream | None = None
    deliveries: int = 0
    parts: list[Any] = field(default_factory=list)  # of the current delivery's answer


@dataclass(eq=False)
class Stream:
    """One connected ``GetWorkItems`` caller: the items to send it, and the items it holds."""

    filters: Filters
    outbox: asyncio.Queue = field(default_factory=asyncio.Queue)
    held: dict[str, Pending] = field(default_factory=dict)  # by token
    closed: bool = False


class WorkItemDispatcher:
    """Queues work items for connected workers; see the module docstring."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop or asyncio.get_running_loop()
        self._streams: list[Stream] = []
        self._turn = 0  # round robin
        self._waiting: deque[Pending] = deque()  # no connected worker takes them (yet)
        self._held: dict[str, Pending] = {}  # delivered, by token
        self._tokens = itertools.count(1)
        self.delivered = 0
        self.redelivered = 0
        self.closed = False

    # -- the runtime's side (any thread) ------------------------------------------------
    def submit(self, pending: Pending) -> None:
        """Queue ``pending`` for a worker."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._offer(pending)
        else:
            self._loop.call_soon_threadsafe(self._offer, pending)

    def withdraw(self, pending: Pending) -> None:
        """The runtime gave up on ``pending`` (its call was cancelled); on the loop."""
        if pending.token is not None:
            self._held.pop(pending.token, None)
            if pending.holder is not None:
                pending.holder.held.pop(pending.token, None)
        try:
            self._waiting.remove(pending)
        except ValueError:
            pass

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop the dispatcher's state lives on."""
        return self._loop

    @property
    def connected(self) -> int:
        return len(self._streams)

    @property
    def waiting(self) -> int:
        """Items queued that no connected worker takes."""
        return len(self._waiting)

    def worker_filters(self) -> list[Filters]:
        """The work-item filters of the connected workers (on the loop)."""
        return [stream.filters for stream in self._streams]

    def open_items(self) -> list[Pending]:
        """The items waiting for a worker or held by one (on the loop)."""
        return [*self._waiting, *self._held.values()]

    def _offer(self, pending: Pending) -> None:
        if self.closed:
            return
        takers = [s for s in self._streams
                  if not s.closed and s.filters.accepts(pending.kind, pending.name,
                                                         pending.version)]
        if not takers:
            self._waiting.append(pending)
            return
        self._turn += 1
        self._deliver(pending, takers[self._turn % len(takers)])

    def _deliver(self, pending: Pending, stream: Stream) -> None:
        token = str(next(self._tokens))
        pending.token, pending.holder, pending.parts = token, stream, []
        pending.deliveries += 1
        if pending.deliveries > 1:
            self.redelivered += 1
        self.delivered += 1
        self._held[token] = pending
        stream.held[token] = pending
        stream.outbox.put_nowait(pending.build(token))

    # -- the workers' side (the gRPC edge, on the loop) ----------------------------------
    def connect(self, filters: Filters) -> Stream:
        """A worker connected; it gets the waiting items it accepts at once."""
        stream = Stream(filters)
        self._streams.append(stream)
        waiting, self._waiting = self._waiting, deque()
        for pending in waiting:
            self._offer(pending)
        return stream

    def disconnect(self, stream: Stream) -> None:
        """A worker went away: what it held goes to another worker (or waits for one)."""
        stream.closed = True
        if stream in self._streams:
            self._streams.remove(stream)
        held, stream.held = list(stream.held.values()), {}
        for pending in held:
            self._held.pop(pending.token or "", None)
            pending.token, pending.holder = None, None
        if held:
            log.info("a worker disconnected holding %d work item(s); delivering them again",
                     len(held))
        for pending in held:
            self._offer(pending)

    def complete(self, token: str, kind: ItemKind, message: Any) -> bool:
        """A worker's answer for the item of ``token``; False if no such item is held."""
        pending = self._take(token, kind)
        if pending is None:
            return False
        pending.settle(message)
        return True

    def complete_part(self, token: str, kind: ItemKind, index: int | None, part: Any,
                      last: bool, join: Callable[[list[Any]], Any]) -> PartOutcome:
        """Part ``index`` (None: the next one) of a worker's answer for the item of ``token``;
        ``last``: the parts, joined by ``join``, settle the item. A whole answer is a last
        part 0."""
        pending = self._held.get(token)
        if pending is None or pending.kind != kind:
            return PartOutcome.NOT_HELD
        expected = len(pending.parts)
        if index is None:
            index = expected
        if index < expected:
            return PartOutcome.REPEATED
        if index > expected:
            return PartOutcome.EARLY
        pending.parts.append(part)
        if not last:
            return PartOutcome.ADDED
        self._take(token, kind)
        parts, pending.parts = pending.parts, []
        pending.settle(join(parts))
        return PartOutcome.SETTLED

    def expected_part(self, token: str) -> int:
        """The index of the next part the item of ``token`` takes (0 when none is held)."""
        pending = self._held.get(token)
        return 0 if pending is None else len(pending.parts)

    def abandon(self, token: str, kind: ItemKind) -> bool:
        """The worker gave the item back: deliver it again; False if no such item is held."""
        pending = self._take(token, kind)
        if pending is None:
            return False
        self._offer(pending)
        return True

    def _take(self, token: str, kind: ItemKind) -> Pending | None:
        pending = self._held.get(token)
        if pending is None or pending.kind != kind:
            return None
        del self._held[token]
        if pending.holder is not None:
            pending.holder.held.pop(token, None)
        pending.token, pending.holder = None, None
        return pending

    def close(self) -> None:
        """Stop (from any thread): the streams end; items still open are left unsettled (the
        host stops; a persistent state resumes them in the next run)."""
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if not on_loop:
            if not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self.close)
            return
        self.closed = True
        for stream in self._streams:
            stream.outbox.put_nowait(None)
