"""The durable engine's core: one asyncio loop wiring instances, episodes, timers, activities,
batching and management operations (each in its own module).

All working state lives in memory on the loop thread (``instance.Instance``); every change is
first committed through the ``Store`` (``changes.Change``: one batch per episode or management
call) and only then applied to memory, so a failed write changes nothing and a killed process
restarts from the last committed episode. Orchestrator code (the SDK's ``handle``) and the
host-side replay run in a small thread pool (``episode.step``) so the loop keeps serving HTTP and
activities meanwhile; the worker (``worker/seam.py``) runs every call into the app.

Extension points: ``kinds`` maps ``Instance.kind`` to the object that runs that kind's episodes
(``orchestrations.Orchestrations``); durable entities run in ``entities.EntityHost``
(``deliver`` routes messages for ``@name@key`` ids to it); management operations are functions
over this class's public methods (``management.Management``); ``emit`` tells listeners and
waiters that an instance changed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from ..core.batching import HoldPolicy
from ..core.changes import Change, commit
from ..core.errors import StoreUnavailable
from ..core.instance import Inbound, Instance
from ..core.stalls import CommitRetry
from ..core.versioning import VersioningSettings
from ..protocol.entities import is_entity_instance
from ..protocol.enums import EventType, RuntimeStatus
from ..protocol.history import parse_ts
from ..store import Batch, MessageRecord, Store, WorkItem
from ..worker.index import FunctionIndex
from ..worker.loader import LoadedApp
from ..worker.pool import AbandonablePool
from ..worker.seam import InProcessWorker, Worker
from .activities import ActivityDispatcher
from .clock import Clock
from .entities import EmptyEntities, EntityHost, EntityLinks
from .limits import Limits
from .timers import TimerQueue
from .waiters import Waiters

log = logging.getLogger("emulator")

__all__ = ["Engine", "InstanceKind", "Limits"]


class InstanceKind(Protocol):
    kind: str

    async def episode(self, inst: Instance) -> Change | None:
        """The change one episode makes (the engine commits it), or None."""


class Engine:
    """Runs the orchestrations and activities of one app; see the module docstring."""

    def __init__(self, app: LoadedApp, store: Store, clock: Clock, limits: Limits, *,
                 hub_name: str = "TestHubName",
                 versioning: VersioningSettings | None = None, worker: Worker | None = None,
                 empty_entities: EmptyEntities = EmptyEntities.KEPT) -> None:
        # The app's code runs behind the worker seam (worker/seam.py); the engine reads only
        # the app's function index (plain data).
        self.worker: Worker = worker or InProcessWorker(app, limits.threads)
        self.app: FunctionIndex = self.worker.app
        self.versioning = versioning or VersioningSettings()
        self.store = store
        self.clock = clock
        self.limits = limits
        self.hub_name = hub_name
        self.instances: dict[str, Instance] = {}
        self.stats = {"episodes": 0, "activities": 0}
        self.listeners: list[Callable[[Instance], None]] = []
        # Other work that keeps the host busy (trigger invocations running): no time skip then.
        self.busy_checks: list[Callable[[], bool]] = []
        self.orchestrator_pool = AbandonablePool(limits.orchestrator_threads, "orchestrator")
        self.timers = TimerQueue(clock, self._timer_due, self.idle)
        self.activities = ActivityDispatcher(self.worker, clock,
                                             limits.max_activities, self.spawn,
                                             self._activity_result, limits.function_timeout)
        self.hold = HoldPolicy(self.mark_ready, self._call_later)
        self.retries = CommitRetry(self._call_later)  # episodes / batches whose commit failed
        self.entities = EntityHost(self.worker, EntityLinks(
            commit=lambda batch: self.commit(Change(batch)), now=clock.now, new_id=self.new_id,
            pool=self.orchestrator_pool, timeout=limits.function_timeout,
            spawn=self.spawn, deliver=self._deliver_all, changed=self._work_finished,
            waits=self.execution_waits, retries=self.retries,
            start_orchestration=lambda start: self.operations.start(
                start.name, start.input, start.instance_id, version=start.version),
            empty=empty_entities))
        # Built by the host and attached (assembly.build_engine): they see this engine
        # through narrow ports (ports.py) and the engine imports neither of them.
        self.orchestrations: Any = None
        self.operations: Any = None
        self.kinds: dict[str, InstanceKind] = {}
        self._next_id = 1
        self._changes = 0  # emit() stamps instances with this counter (Instance.version)
        self._ready: set[str] = set()
        self._episodes_running = 0
        self._tasks: set[asyncio.Task] = set()
        self.waiters: Waiters[Instance] = Waiters(self.instances.get)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dispatching: asyncio.Handle | None = None  # _dispatch is due on the loop
        self._stopped = False
        self._orch_sem: asyncio.Semaphore | None = None

    def attach(self, orchestrations: InstanceKind, operations: Any) -> None:
        """Take the orchestration kind and the management operations the host built."""
        self.orchestrations = orchestrations
        self.operations = operations
        self.kinds[orchestrations.kind] = orchestrations

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Load the committed state, re-dispatch pending work and start the loops."""
        self._loop = asyncio.get_running_loop()
        # A client starting to wait (while-waiting time skipping) or a released hold: re-check
        # the timers. The clock may be told from any thread.
        self.clock.subscribe(self._clock_changed)
        if self.limits.max_orchestrators > 0:
            self._orch_sem = asyncio.Semaphore(self.limits.max_orchestrators)
        self.activities.start()
        snapshot = await self._loop.run_in_executor(None, self.store.load)
        ids = [0]
        for record in snapshot.instances.values():
            record.status = RuntimeStatus(record.status)
            history = snapshot.histories.get(record.instance_id, [])
            self.instances[record.instance_id] = Instance(
                record, history, [json.dumps(event) for event in history])
        orphans = Batch()  # rows nobody will ever read: left by a purge or a crash
        for message in snapshot.messages:
            ids.append(message.id)
            if is_entity_instance(message.instance_id):
                continue  # requests to entities: the entity host restores them
            inst = self.instances.get(message.instance_id)
            if inst is None or inst.is_terminal:
                orphans.delete_messages.append(message.id)
                continue
            if message.visible_at:
                self.timers.arm(inst, message)
            else:
                inst.inbox.append(Inbound(message.event, message.execution_id, message.id))
        for work in snapshot.work:
            ids.append(work.id)
            if not self.execution_waits(work.instance_id, work.execution_id):
                orphans.delete_work.append(work.id)
                continue
            self.dispatch_activity(work)
        self._next_id = max(ids) + 1
        if orphans:
            try:
                self.commit(Change(orphans))
            except StoreUnavailable as exc:  # harmless: they are skipped again next time
                log.warning("could not delete %d orphaned rows: %s",
                            len(orphans.delete_messages) + len(orphans.delete_work), exc)
        for inst in self.instances.values():
            self.mark_ready(inst)
        self.entities.restore(snapshot)
        if snapshot.instances:
            log.info("restored %d instances, %d messages, %d activities from %s",
                     len(snapshot.instances), len(snapshot.messages), len(snapshot.work),
                     self.store.description)
        self.spawn(self.timers.run())

    async def stop(self) -> None:
        self._stopped = True  # no episode starts from now on (mark_ready, _dispatch)
        self.retries.cancel_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.activities.stop()
        self.orchestrator_pool.shutdown(wait=False, cancel_futures=True)
        self.worker.close()
        self.store.close()

    def spawn(self, coro: Any) -> asyncio.Task:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("engine task failed", exc_info=task.exception())

    def _clock_changed(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed() and self.clock.can_skip():
            loop.call_soon_threadsafe(self.timers.skip_may_be_possible)

    def _call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Any:
        return self._loop.call_later(delay, callback, *args)

    def new_id(self) -> int:
        """The next message / work-item id (ids burnt by a failed commit are never reused)."""
        value = self._next_id
        self._next_id += 1
        return value

    def idle(self) -> bool:
        """Nothing can run: no episode, no ready instance, no activity running or unconsumed."""
        return self._episodes_running == 0 and not self._ready and not self.activities.pending \
            and not self.entities.busy() and not self.retries.pending \
            and not any(check() for check in self.busy_checks)

    # -- changes -----------------------------------------------------------------------------
    def commit(self, change: Change) -> None:
        """Commit the batch, then apply the memory updates (``changes.commit``)."""
        commit(self.store, change)

    def plan_forget(self, inst: Instance, change: Change) -> None:
        """Remove an instance and everything queued for it (purge, or replace on start)."""
        change.batch.delete_instances.append(inst.id)
        change.batch.delete_messages.extend(inst.timers)

        def forget() -> None:
            self.timers.drop(inst)
            self.retries.cancel(inst)
            if self.instances.get(inst.id) is inst:
                del self.instances[inst.id]
            self._ready.discard(inst.id)
            self.emit(inst)
        change.then(forget)

    def deliver(self, message: MessageRecord) -> None:
        """A committed message reaches its instance: a timer is armed, others go in the inbox
        (ExecutionStarted messages were put there when their instance was created); requests
        to entities go to the entity host."""
        if is_entity_instance(message.instance_id):
            if message.visible_at and parse_ts(message.visible_at) > self.clock.now():
                self.timers.arm(None, message)  # a scheduled signal: delivered when due
            else:
                self.entities.deliver(message)
            return
        target = self.instances.get(message.instance_id)
        if target is None:
            return
        if message.visible_at:
            self.timers.arm(target, message)
        elif message.event["EventType"] != EventType.EXECUTION_STARTED:
            target.inbox.append(Inbound(message.event, message.execution_id, message.id))
            self.mark_ready(target)

    def _deliver_all(self, messages: list[MessageRecord]) -> None:
        for message in messages:
            self.deliver(message)

    def execution_waits(self, instance_id: str, execution_id: str | None) -> bool:
        """Whether that execution (None: the current one) of the instance is live and can
        still take results; a purged, finished or restarted one never reads them."""
        inst = self.instances.get(instance_id)
        return inst is not None and inst.takes_results(execution_id)

    def _work_finished(self) -> None:
        """An episode or an entity batch ended, or a retry came due: the host may be idle now,
        which matters to the timer loop only if time may skip to a pending timer."""
        self.timers.skip_may_be_possible()

    def emit(self, inst: Instance) -> None:
        """``inst`` changed (committed): tell listeners and wake whoever waits on it."""
        self._changes += 1
        inst.version = self._changes
        for listener in self.listeners:
            listener(inst)
        self.waiters.wake(inst.id)

    async def wait_for(self, instance_id: str, predicate: Callable[[Instance | None], bool],
                       timeout: float) -> Instance | None:
        """Wait until ``predicate(instance or None)`` holds or ``timeout`` seconds pass; the
        instance as it is then. Woken by ``emit``, never by polling (``waiters.py``)."""
        return await self.waiters.wait_for(instance_id, predicate, timeout)

    @property
    def open_waits(self) -> int:
        """Clients waiting on an instance right now (long polls, starts with a timeout)."""
        return self.waiters.open

    def release_waiters(self) -> None:
        """Shutdown: every wait answers now with the instance as it is."""
        self.waiters.release()

    # -- timers and activities ----------------------------------------------------------------
    def _timer_due(self, message: MessageRecord) -> None:
        if is_entity_instance(message.instance_id):
            self.entities.deliver(message)
            return
        inst = self.instances.get(message.instance_id)
        if inst is not None:
            inst.inbox.append(Inbound(message.event, message.execution_id, message.id))
            self.mark_ready(inst)

    def dispatch_activity(self, item: WorkItem) -> None:
        inst = self.instances.get(item.instance_id)
        if inst is not None:
            inst.in_flight += 1
        self.activities.dispatch(item)

    def _activity_result(self, item: WorkItem, event: dict[str, Any]) -> None:
        self.stats["activities"] += 1
        inst = self.instances.get(item.instance_id)
        if inst is not None:
            inst.in_flight -= 1
        if inst is None or not inst.takes_results(item.execution_id):
            change = Change(Batch(delete_work=[item.id]))
            change.then(lambda: self.activities.retire(item.id))
            try:
                self.commit(change)
            except StoreUnavailable as exc:
                # The stored row stays: a restart runs the activity again and drops its result.
                self.activities.retire(item.id)
                log.warning("[%s] could not retire a late activity result: %s",
                            item.instance_id, exc)
            self._work_finished()
            return
        inst.inbox.append(Inbound(event, item.execution_id, None, item.id))
        self.hold.result_arrived(inst)

    @property
    def replaced_threads(self) -> int:
        """Function threads given up after functionTimeout (each replaced by a new one)."""
        return self.worker.replaced_threads

    # -- episodes ----------------------------------------------------------------------------
    def mark_ready(self, inst: Instance) -> None:
        """Queue the instance for an episode now (any held batch is released)."""
        inst.held_since = None
        if not inst.running and inst.processable():
            self._ready.add(inst.id)
            if self._dispatching is None and self._loop is not None and not self._stopped:
                # one call on the loop's next pass for every instance ready by then
                self._dispatching = self._loop.call_soon(self._dispatch)

    def _dispatch(self) -> None:
        """Start an episode for every ready instance (an event-woken task: one pass more)."""
        self._dispatching = None
        ready, self._ready = self._ready, set()
        if self._stopped:
            return
        for instance_id in ready:
            inst = self.instances.get(instance_id)
            if inst is not None and not inst.running and inst.processable():
                inst.running = True
                self._episodes_running += 1
                self.spawn(self._episode(inst))
        self._work_finished()

    async def _episode(self, inst: Instance) -> None:
        try:
            if self._orch_sem is not None:
                async with self._orch_sem:
                    await self._run_episode(inst)
            else:
                await self._run_episode(inst)
            if inst.commit_failures:
                log.warning("[%s %s] the episode committed after %d failed attempt(s)",
                            inst.record.name, inst.id, self.retries.succeeded(inst))
        except StoreUnavailable as exc:
            # Nothing of the episode happened (commit first, then memory): after a backoff the
            # same episode runs again from the committed state, which the store may take then.
            delay = self.retries.failed(inst, lambda: self._resume(inst))
            log.log(logging.ERROR if inst.commit_failures == 1 else logging.WARNING,
                    "[%s %s] %s The episode is retried in %g s (attempt %d failed).",
                    inst.record.name, inst.id, exc, delay, inst.commit_failures)
        except Exception:
            # A bug of the local host, not of the app (the app's errors are handled inside
            # the episode); nothing was committed. Retrying would fail the same way.
            log.exception("[%s %s] internal error in an episode; the instance is stalled until "
                          "the host restarts on the same --state", inst.record.name, inst.id)
            inst.stalled = True
        finally:
            inst.running = False
            self._episodes_running -= 1
            if self.instances.get(inst.id) is inst and inst.inbox:
                if all(m.work_id is not None for m in inst.inbox):
                    self.hold.result_arrived(inst)
                else:
                    self.mark_ready(inst)
            self._work_finished()

    def _resume(self, inst: Instance) -> None:
        """A stalled instance's retry came due: its next episode may run."""
        if self.instances.get(inst.id) is inst:
            self.mark_ready(inst)
        self._work_finished()

    async def _run_episode(self, inst: Instance) -> None:
        started = time.perf_counter()
        try:
            change = await self.kinds[inst.kind].episode(inst)
            if change is not None and self.instances.get(inst.id) is inst:
                self.commit(change)
        finally:
            inst.episode_cost = time.perf_counter() - started

