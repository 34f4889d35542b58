"""The durable engine: instances, episodes, activities, timers - on one asyncio loop.

All working state lives in memory on the loop thread; every change is written through the
``Store`` in one batch per episode (or per management call), so a killed process restarts from the
last committed episode. Orchestrator code (the SDK's ``handle``) and the host-side replay run in a
small thread pool so the loop keeps serving HTTP and activities meanwhile; ``worker.py`` does the
Python worker's part of each call (binding conversions, error formats).

An episode (durable-protocol.md section 10): take *every* ready message of the instance, append
``OrchestratorStarted`` and the message events to its history, call the orchestrator with the
trigger JSON, replay its actions against history (``replay.py``), append the scheduling events of
new work, then complete, fail, continue-as-new or wait.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from . import history as h
from .clock import Clock
from .history import TERMINAL, EventType, RuntimeStatus, compact, format_ts, parse_ts
from .loader import LoadedApp
from .replay import ACTIVITY, HTTP_ACTIVITY, SUB, TIMER, NewWork, ReplayResult
from .store import Batch, InstanceRecord, MessageRecord, Store, WorkItem
from .worker import activity_failure, http_activity, invoke_activity, invoke_orchestrator

log = logging.getLogger("emulator")

HOLD_MIN_COST = 0.005  # episodes cheaper than this never wait for more results
CONTROL_EVENTS = frozenset({EventType.EXECUTION_TERMINATED, EventType.EXECUTION_SUSPENDED,
                            EventType.EXECUTION_RESUMED})
ACTIVE = frozenset({"Running", "Pending", "ContinuedAsNew", "Suspended"})


class EngineError(Exception):
    """A management request the engine refuses; ``status`` is the HTTP code the API answers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Limits:
    max_activities: int  # concurrent activity functions (0: unlimited)
    max_orchestrators: int  # concurrent orchestrator episodes (0: unlimited)
    threads: int  # thread pool for synchronous functions

    @classmethod
    def from_host_json(cls, host_json: dict[str, Any], *, max_activities: int | None = None,
                       max_orchestrators: int | None = None, threads: int | None = None,
                       environ: dict[str, str] | None = None) -> Limits:
        """host.json ``extensions.durableTask`` values, overridden by flags.

        Defaults are the Functions host's: 10 x processors for both limits, and the Python
        worker's thread pool of min(32, processors + 4) (``PYTHON_THREADPOOL_THREAD_COUNT``).
        """
        environ = os.environ if environ is None else environ
        durable = ((host_json.get("extensions") or {}).get("durableTask") or {})
        cpus = os.cpu_count() or 1
        pool = environ.get("PYTHON_THREADPOOL_THREAD_COUNT")
        return cls(
            max_activities=_first(max_activities, durable.get("maxConcurrentActivityFunctions"),
                                  10 * cpus),
            max_orchestrators=_first(max_orchestrators,
                                     durable.get("maxConcurrentOrchestratorFunctions"), 10 * cpus),
            threads=_first(threads, int(pool) if pool and pool.isdigit() else None,
                           min(32, cpus + 4)),
        )


def _first(*values: Any) -> int:
    for value in values:
        if value is not None:
            return int(value)
    raise ValueError("no value")


@dataclass
class _Inbound:
    """A message in an instance's inbox (persisted ones carry ``message_id``)."""

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
    inbox: list[_Inbound] = field(default_factory=list)
    running: bool = False
    timers: set[int] = field(default_factory=set)  # pending timer message ids
    episodes: int = 0
    in_flight: int = 0  # activities dispatched whose results have not arrived
    episode_cost: float = 0.0  # seconds the last episode took
    held_since: float | None = None  # results are being gathered for a larger batch
    last_arrival: float = 0.0
    stalled: bool = False  # an internal error left its in-memory state unusable

    @property
    def id(self) -> str:
        return self.record.instance_id

    @property
    def status(self) -> str:
        return self.record.status

    def processable(self) -> bool:
        if not self.inbox or self.stalled:
            return False
        if self.status == "Suspended":
            return any(m.is_control for m in self.inbox)
        return True


class Engine:
    """Runs the orchestrations and activities of one app; see the module docstring."""

    def __init__(self, app: LoadedApp, store: Store, clock: Clock, limits: Limits, *,
                 hub_name: str = "TestHubName") -> None:
        self.app = app
        self.store = store
        self.clock = clock
        self.limits = limits
        self.hub_name = hub_name
        self.instances: dict[str, Instance] = {}
        self._next_id = 1
        self._ready: set[str] = set()
        self._timers: list[tuple[datetime, int]] = []
        self._timer_messages: dict[int, MessageRecord] = {}
        self._work: dict[int, WorkItem] = {}
        self._episodes_running = 0
        self._tasks: set[asyncio.Task] = set()
        self._orch_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="orchestrator")
        self._sync_pool = ThreadPoolExecutor(max_workers=max(1, limits.threads),
                                             thread_name_prefix="functions")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._timer_wake: asyncio.Event | None = None
        self._act_sem: asyncio.Semaphore | None = None
        self._orch_sem: asyncio.Semaphore | None = None
        self._http_session = None
        self.stats = {"episodes": 0, "activities": 0}
        self.listeners: list[Callable[[Instance], None]] = []

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Load the committed state, re-dispatch pending work and start the loops."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._timer_wake = asyncio.Event()
        if self.limits.max_activities > 0:
            self._act_sem = asyncio.Semaphore(self.limits.max_activities)
        if self.limits.max_orchestrators > 0:
            self._orch_sem = asyncio.Semaphore(self.limits.max_orchestrators)
        snapshot = await self._loop.run_in_executor(None, self.store.load)
        ids = [0]
        for record in snapshot.instances.values():
            history = snapshot.histories.get(record.instance_id, [])
            self.instances[record.instance_id] = Instance(
                record, history, [json.dumps(event) for event in history])
        for message in snapshot.messages:
            ids.append(message.id)
            inst = self.instances.get(message.instance_id)
            if inst is None:
                continue
            if message.visible_at:
                self._add_timer(inst, message)
            else:
                inst.inbox.append(_Inbound(message.event, message.execution_id, message.id))
        for work in snapshot.work:
            ids.append(work.id)
            self._dispatch_activity(work)
        self._next_id = max(ids) + 1
        for inst in self.instances.values():
            if inst.processable():
                self._mark_ready(inst)
        if snapshot.instances:
            log.info("restored %d instances, %d messages, %d activities from %s",
                     len(snapshot.instances), len(snapshot.messages), len(snapshot.work),
                     self.store.description)
        self._spawn(self._dispatch_loop())
        self._spawn(self._timer_loop())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http_session is not None:
            await self._http_session.close()
        self._orch_pool.shutdown(wait=False, cancel_futures=True)
        self._sync_pool.shutdown(wait=False, cancel_futures=True)
        self.store.close()

    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("engine task failed", exc_info=task.exception())

    def _new_id(self) -> int:
        value = self._next_id
        self._next_id += 1
        return value

    def idle(self) -> bool:
        """Nothing can run now: no episode, no ready instance, and no activity running or
        waiting for its result to be consumed (``_work`` holds those)."""
        return self._episodes_running == 0 and not self._ready and not self._work

    # -- management operations (called on the loop thread by the HTTP API) ------------------
    def start_orchestration(self, name: str, input_json: str | None,
                            instance_id: str | None = None) -> str:
        function = self.app.orchestrator(name)
        if function is None:
            raise EngineError(400, self._unknown_function(name, "orchestrator"))
        instance_id = instance_id or uuid.uuid4().hex
        existing = self.instances.get(instance_id)
        batch = Batch()
        if existing is not None:
            if existing.status in ACTIVE:
                raise EngineError(409, f"An Orchestration instance with the status "
                                       f"{existing.status} already exists.")
            self._forget(existing, batch)
        inst = self._create_instance(function.name, instance_id, input_json, None, batch)
        self.store.commit(batch)
        self._emit(inst)
        log.info("[%s %s] scheduled", function.name, instance_id)
        return instance_id

    def _create_instance(self, name: str, instance_id: str, input_json: str | None,
                         parent: dict[str, Any] | None, batch: Batch) -> Instance:
        now = self.clock.now()
        execution_id = uuid.uuid4().hex
        record = InstanceRecord(instance_id=instance_id, name=name, execution_id=execution_id,
                                status="Pending", input=input_json, created=format_ts(now),
                                last_updated=format_ts(now), parent=parent)
        inst = Instance(record)
        self.instances[instance_id] = inst
        parent_event = None
        if parent:
            parent_event = {
                "Name": parent["name"], "Version": "", "TaskScheduleId": parent["task_id"],
                "OrchestrationInstance": {"InstanceId": parent["instance_id"],
                                          "ExecutionId": parent["execution_id"]},
            }
        started = h.execution_started(now, name=name, instance_id=instance_id,
                                      execution_id=execution_id, input_json=input_json,
                                      parent=parent_event)
        message = MessageRecord(self._new_id(), instance_id, started, None, execution_id)
        batch.put_instances.append(record)
        batch.put_messages.append(message)
        inst.inbox.append(_Inbound(started, execution_id, message.id))
        self._mark_ready(inst)
        return inst

    def _forget(self, inst: Instance, batch: Batch) -> None:
        """Remove an instance and everything queued for it (purge, or replace on start)."""
        batch.delete_instances.append(inst.id)
        self._drop_timers(inst, batch)
        self.instances.pop(inst.id, None)
        self._ready.discard(inst.id)

    def raise_event(self, instance_id: str, name: str, input_json: str | None) -> None:
        inst = self.get_active(instance_id)
        event = h.event_raised(self.clock.now(), name, input_json)
        self._enqueue(inst, event)
        log.info("[%s %s] event '%s' raised", inst.record.name, instance_id, name)

    def terminate(self, instance_id: str, reason: str | None) -> None:
        inst = self.get_active(instance_id)
        self._enqueue(inst, h.execution_terminated(self.clock.now(), reason))

    def suspend(self, instance_id: str, reason: str | None) -> None:
        inst = self.get_active(instance_id)
        if inst.status not in ("Running", "Pending", "ContinuedAsNew"):
            raise EngineError(500, f"Cannot suspend an orchestration in the {inst.status} state.")
        self._enqueue(inst, h.execution_suspended(self.clock.now(), reason))

    def resume(self, instance_id: str, reason: str | None) -> None:
        inst = self.get_active(instance_id)
        pending_suspend = any(m.event["EventType"] == EventType.EXECUTION_SUSPENDED
                              for m in inst.inbox)
        if inst.status != "Suspended" and not pending_suspend:
            raise EngineError(500, f"Cannot resume an orchestration in the {inst.status} state.")
        self._enqueue(inst, h.execution_resumed(self.clock.now(), reason))

    def restart(self, instance_id: str, new_instance_id: bool) -> str:
        inst = self.instances.get(instance_id)
        if inst is None:
            raise EngineError(400, "InstanceId does not match a valid orchestration instance.")
        target = uuid.uuid4().hex if new_instance_id else instance_id
        return self.start_orchestration(inst.record.name, inst.record.input, target)

    def purge(self, instance_ids: list[str]) -> int:
        batch = Batch()
        count = 0
        for instance_id in instance_ids:
            inst = self.instances.get(instance_id)
            if inst is None or inst.status not in TERMINAL:
                continue
            self._forget(inst, batch)
            count += 1
        if batch:
            self.store.commit(batch)
        return count

    def get_active(self, instance_id: str) -> Instance:
        """The instance, if it can still take operations: 404 unknown, 410 finished."""
        inst = self.instances.get(instance_id)
        if inst is None:
            raise EngineError(404, f"No instance with ID '{instance_id}' found.")
        if inst.status in TERMINAL:
            raise EngineError(410, f"The orchestration instance '{instance_id}' is in the "
                                   f"{inst.status} state and cannot accept this operation.")
        return inst

    def _enqueue(self, inst: Instance, event: dict[str, Any]) -> None:
        message = MessageRecord(self._new_id(), inst.id, event)
        self.store.commit(Batch(put_messages=[message]))
        inst.inbox.append(_Inbound(event, None, message.id))
        self._mark_ready(inst)

    # -- dispatch ----------------------------------------------------------------------------
    def _result_arrived(self, inst: Instance) -> None:
        """Batch activity results: an episode replays the whole history, so when the last one
        was expensive and more results are on their way, gather them first.

        The policy is the ski-rental one: hold while results keep arriving (a gap of a tenth
        of the last episode's cost ends the burst), never longer than twice that cost, and not
        at all once every dispatched activity has answered. A cheap episode (short history) is
        never held, so chains and small fan-outs react at once.
        """
        now = time.monotonic()
        inst.last_arrival = now
        cost = inst.episode_cost
        if inst.in_flight == 0 or cost < HOLD_MIN_COST:
            inst.held_since = None
            self._mark_ready(inst)
        elif inst.held_since is None:
            inst.held_since = now
            self._loop.call_later(max(0.001, cost / 10), self._check_hold, inst)

    def _check_hold(self, inst: Instance) -> None:
        if inst.held_since is None:
            return
        now = time.monotonic()
        quiet, cap = max(0.001, inst.episode_cost / 10), 2 * inst.episode_cost
        if inst.in_flight == 0 or now - inst.last_arrival >= quiet \
                or now - inst.held_since >= cap:
            inst.held_since = None
            self._mark_ready(inst)
        else:
            wait = min(quiet - (now - inst.last_arrival), cap - (now - inst.held_since))
            self._loop.call_later(max(0.0005, wait), self._check_hold, inst)

    def _mark_ready(self, inst: Instance) -> None:
        """Queue the instance for an episode now (any held batch is released)."""
        inst.held_since = None
        if not inst.running and inst.processable():
            self._ready.add(inst.id)
            if self._wake is not None:
                self._wake.set()

    async def _dispatch_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            ready, self._ready = self._ready, set()
            for instance_id in ready:
                inst = self.instances.get(instance_id)
                if inst is not None and not inst.running and inst.processable():
                    inst.running = True
                    self._episodes_running += 1
                    self._spawn(self._episode(inst))
            self._timer_wake.set()

    async def _episode(self, inst: Instance) -> None:
        try:
            if self._orch_sem is not None:
                async with self._orch_sem:
                    await self._run_episode(inst)
            else:
                await self._run_episode(inst)
        except Exception:
            # A bug of the local host or a failing store, not of the app (the app's errors are
            # handled inside the episode). The store still holds the last committed episode, so
            # a restart on the same state resumes from there; this process leaves it alone.
            log.exception("[%s %s] internal error in an episode; the instance is stalled until "
                          "the host restarts on the same --state", inst.record.name, inst.id)
            inst.stalled = True
        finally:
            inst.running = False
            self._episodes_running -= 1
            if inst.id in self.instances and inst.inbox:
                if all(m.work_id is not None for m in inst.inbox):
                    self._result_arrived(inst)
                else:
                    self._mark_ready(inst)
            self._timer_wake.set()

    def _take_messages(self, inst: Instance) -> list[_Inbound]:
        """Every ready message, up to the first control message (which goes alone)."""
        if inst.status == "Suspended":
            for index, message in enumerate(inst.inbox):
                if message.is_control:
                    return [inst.inbox.pop(index)]
            return []
        if inst.inbox[0].is_control:
            return [inst.inbox.pop(0)]
        for index, message in enumerate(inst.inbox):
            if message.is_control:
                taken, inst.inbox = inst.inbox[:index], inst.inbox[index:]
                return taken
        taken, inst.inbox = inst.inbox, []
        return taken

    def _episode_time(self, inst: Instance) -> datetime:
        now = self.clock.now()
        for event in reversed(inst.history):
            if event["EventType"] == EventType.ORCHESTRATOR_STARTED:
                last = parse_ts(event["Timestamp"])
                if now <= last:
                    now = last + timedelta(microseconds=1)
                break
        return now

    async def _run_episode(self, inst: Instance) -> None:
        started = time.perf_counter()
        try:
            await self._run_episode_inner(inst)
        finally:
            inst.episode_cost = time.perf_counter() - started

    async def _run_episode_inner(self, inst: Instance) -> None:
        messages = self._take_messages(inst)
        if not messages:
            return
        batch = Batch()
        for message in messages:
            if message.message_id is not None:
                batch.delete_messages.append(message.message_id)
            if message.work_id is not None:
                batch.delete_work.append(message.work_id)
                self._work.pop(message.work_id, None)
        record = inst.record
        live = [m for m in messages if m.execution_id in (None, record.execution_id)]
        if record.status in TERMINAL or not live:
            # Late results for a finished instance or an older execution: consume and drop.
            self.store.commit(batch)
            return
        now = self._episode_time(inst)
        start = len(inst.history)
        new_events = [h.orchestrator_started(now)]
        first = live[0].event
        if first["EventType"] in CONTROL_EVENTS:
            self._control_episode(inst, first, now, new_events, batch)
        else:
            for message in live:
                new_events.append(message.event)
                if message.message_id is not None:
                    inst.timers.discard(message.message_id)
            await self._orchestrate(inst, now, new_events, batch)
        for event in new_events:
            if event["EventType"] not in (EventType.ORCHESTRATOR_STARTED,
                                          EventType.ORCHESTRATOR_COMPLETED):
                event["IsPlayed"] = True
        # Each event is encoded once: the same text is stored and sent in later episodes.
        texts = [json.dumps(event) for event in new_events]
        inst.history.extend(new_events)
        inst.history_json.extend(texts)
        record.last_updated = format_ts(max(self.clock.now(), now))
        batch.append_history.append((inst.id, start, texts))
        if record.instance_id not in {r.instance_id for r in batch.put_instances}:
            batch.put_instances.append(record)
        self.store.commit(batch)
        self.stats["episodes"] += 1
        inst.episodes += 1
        self._after_commit(inst, batch)

    def _control_episode(self, inst: Instance, event: dict[str, Any], now: datetime,
                         new_events: list[dict[str, Any]], batch: Batch) -> None:
        record = inst.record
        new_events.append(event)
        kind = event["EventType"]
        if kind == EventType.EXECUTION_TERMINATED:
            self._complete(inst, RuntimeStatus.Terminated, event.get("Input"), -1, now,
                           new_events, batch)
            log.info("[%s %s] terminated: %s", record.name, inst.id, event.get("Input"))
        elif kind == EventType.EXECUTION_SUSPENDED:
            record.status = "Suspended"
            log.info("[%s %s] suspended", record.name, inst.id)
        elif kind == EventType.EXECUTION_RESUMED:
            record.status = "Running"
            log.info("[%s %s] resumed", record.name, inst.id)
        new_events.append(h.orchestrator_completed(now))

    async def _orchestrate(self, inst: Instance, now: datetime,
                           new_events: list[dict[str, Any]], batch: Batch) -> None:
        record = inst.record
        function = self.app.orchestrator(record.name)
        full_history = inst.history + new_events
        texts = inst.history_json + [json.dumps(event) for event in new_events]
        if record.status == "Pending":
            record.status = "Running"
            log.info("[%s %s] started", record.name, inst.id)
        outcome = await self._loop.run_in_executor(
            self._orch_pool, invoke_orchestrator, function.fn if function else None, record,
            full_history, texts)
        state, replayed, failure = outcome
        if state is not None and "customStatus" in state:
            record.custom_status = compact(state["customStatus"])
        if failure is None and replayed is not None:
            failure = self._check_new_work(replayed)
        if failure is not None:
            seq = replayed.next_seq if replayed is not None else -1
            self._complete(inst, RuntimeStatus.Failed, failure, seq, now, new_events, batch)
            log.warning("[%s %s] failed: %s", record.name, inst.id, failure)
            new_events.append(h.orchestrator_completed(now))
            return
        for work in replayed.new_work:
            self._schedule(inst, work, now, new_events, batch)
        error = state.get("error")
        if error and replayed.open_tasks == 0:
            message = f"Orchestrator function '{record.name}' failed: {error}"
            self._complete(inst, RuntimeStatus.Failed, message, replayed.next_seq, now,
                           new_events, batch)
            log.warning("[%s %s] failed: %s", record.name, inst.id, error)
        elif not error and state.get("isDone") and replayed.finished \
                and replayed.open_tasks == 0:
            if replayed.continued:
                self._continue_as_new(inst, replayed, now, new_events, batch)
            else:
                output = compact(state["output"]) if "output" in state else None
                self._complete(inst, RuntimeStatus.Completed, output, replayed.next_seq, now,
                               new_events, batch)
                log.info("[%s %s] completed", record.name, inst.id)
        new_events.append(h.orchestrator_completed(now))

    def _check_new_work(self, replayed: ReplayResult) -> str | None:
        """Fail fast on unknown functions (the real host would leave the instance hanging)."""
        for work in replayed.new_work:
            if work.kind == ACTIVITY and work.name != HTTP_ACTIVITY \
                    and self.app.activity(work.name) is None:
                return self._unknown_function(work.name, "activity")
            if work.kind == SUB and self.app.orchestrator(work.name) is None:
                return self._unknown_function(work.name, "orchestrator")
        return None

    def _unknown_function(self, name: str, kind: str) -> str:
        """The extension's message for a missing function, naming the known ones of its kind."""
        functions = self.app.activities if kind == "activity" else self.app.orchestrators
        known = ", ".join(f"'{f.name}'" for f in functions.values())
        return (f"The function '{name}' doesn't exist, is disabled, or is not an {kind} "
                f"function. Additional info: The following are the known {kind} functions: "
                f"{known}.")

    def _schedule(self, inst: Instance, work: NewWork, now: datetime,
                  new_events: list[dict[str, Any]], batch: Batch) -> None:
        record = inst.record
        if work.kind == ACTIVITY:
            new_events.append(h.task_scheduled(now, work.seq, work.name, work.input))
            item = WorkItem(self._new_id(), inst.id, record.execution_id, work.seq, work.name,
                            work.input)
            batch.put_work.append(item)
        elif work.kind == TIMER:
            fire_at = format_ts(work.fire_at)
            new_events.append(h.timer_created(now, work.seq, fire_at))
            message = MessageRecord(self._new_id(), inst.id,
                                    h.timer_fired(now, work.seq, fire_at), fire_at,
                                    record.execution_id)
            batch.put_messages.append(message)
        elif work.kind == SUB:
            input_json = json.dumps(work.input) if work.input is not None else None
            new_events.append(h.sub_orchestration_created(now, work.seq, work.name,
                                                          work.instance_id, input_json))
            parent = {"instance_id": inst.id, "execution_id": record.execution_id,
                      "task_id": work.seq, "name": record.name}
            existing = self.instances.get(work.instance_id)
            if existing is not None and existing.status in ACTIVE:
                reason = (f"An Orchestration instance with the status {existing.status} "
                          f"already exists.")
                event = h.sub_orchestration_failed(now, work.seq, reason, None)
                message = MessageRecord(self._new_id(), inst.id, event, None, record.execution_id)
                batch.put_messages.append(message)
            else:
                if existing is not None:
                    self._forget(existing, batch)
                child_name = self.app.orchestrator(work.name).name
                self._create_instance(child_name, work.instance_id, input_json, parent, batch)

    def _complete(self, inst: Instance, status: RuntimeStatus, result: str | None, seq: int,
                  now: datetime, new_events: list[dict[str, Any]], batch: Batch) -> None:
        record = inst.record
        new_events.append(h.execution_completed(now, seq, status, result))
        record.status = status.name
        record.output = result
        self._drop_timers(inst, batch)
        parent = record.parent
        if parent:
            if status == RuntimeStatus.Completed:
                event = h.sub_orchestration_completed(now, parent["task_id"], result)
            else:
                event = h.sub_orchestration_failed(now, parent["task_id"], result, None)
            batch.put_messages.append(MessageRecord(self._new_id(), parent["instance_id"], event,
                                                    None, parent["execution_id"]))

    def _continue_as_new(self, inst: Instance, replayed: ReplayResult, now: datetime,
                         new_events: list[dict[str, Any]], batch: Batch) -> None:
        record = inst.record
        input_json = json.dumps(replayed.continue_as_new) \
            if replayed.continue_as_new is not None else None
        self._drop_timers(inst, batch)
        # The old execution's history is discarded: the new one starts from a fresh
        # ExecutionStarted that is delivered (and committed) with this episode.
        record.execution_id = uuid.uuid4().hex
        record.input = input_json
        record.status = "Running"
        started = h.execution_started(now, name=record.name, instance_id=inst.id,
                                      execution_id=record.execution_id, input_json=input_json,
                                      parent=None)
        message = MessageRecord(self._new_id(), inst.id, started, None, record.execution_id)
        batch.put_messages.append(message)
        batch.reset_history.append(inst.id)
        new_events.clear()
        inst.history.clear()
        inst.history_json.clear()
        inst.inbox.insert(0, _Inbound(started, record.execution_id, message.id))
        log.info("[%s %s] continued as new", record.name, inst.id)

    def _after_commit(self, inst: Instance, batch: Batch) -> None:
        """Make the episode's effects visible: activities, timers, messages to others."""
        for item in batch.put_work:
            self._dispatch_activity(item)
        for message in batch.put_messages:
            target = self.instances.get(message.instance_id)
            if target is None:
                continue
            if message.visible_at:
                self._add_timer(target, message)
            elif message.event["EventType"] != EventType.EXECUTION_STARTED:
                # (ExecutionStarted messages were put in their inbox when created.)
                target.inbox.append(_Inbound(message.event, message.execution_id, message.id))
                self._mark_ready(target)
        self._emit(inst)

    def _emit(self, inst: Instance) -> None:
        for listener in self.listeners:
            listener(inst)

    # -- timers ------------------------------------------------------------------------------
    def _drop_timers(self, inst: Instance, batch: Batch) -> None:
        """Cancel the instance's pending timers: off the heap (lazily) and out of the store."""
        for timer_id in inst.timers:
            self._timer_messages.pop(timer_id, None)
            batch.delete_messages.append(timer_id)
        inst.timers.clear()

    def _add_timer(self, inst: Instance, message: MessageRecord) -> None:
        self._timer_messages[message.id] = message
        inst.timers.add(message.id)
        heapq.heappush(self._timers, (parse_ts(message.visible_at), message.id))
        if self._timer_wake is not None:
            self._timer_wake.set()

    def _fire_due_timers(self, now: datetime) -> None:
        while self._timers and self._timers[0][0] <= now:
            _, message_id = heapq.heappop(self._timers)
            message = self._timer_messages.pop(message_id, None)
            if message is None:
                continue  # the instance finished or was purged
            inst = self.instances.get(message.instance_id)
            if inst is None:
                continue
            inst.inbox.append(_Inbound(message.event, message.execution_id, message.id))
            self._mark_ready(inst)

    def _next_timer(self) -> datetime | None:
        while self._timers and self._timers[0][1] not in self._timer_messages:
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    async def _timer_loop(self) -> None:
        while True:
            self._timer_wake.clear()
            now = self.clock.now()
            self._fire_due_timers(now)
            due = self._next_timer()
            if due is not None and self.clock.skipping and self.clock.can_skip() and self.idle():
                # Let anything the loop has queued run first, then check again.
                await asyncio.sleep(0)
                if self.idle() and self._next_timer() == due:
                    self.clock.advance_to(due)
                    log.debug("time skipped to %s", format_ts(due))
                    continue
            timeout = None if due is None else max(0.0, (due - now).total_seconds())
            try:
                await asyncio.wait_for(self._timer_wake.wait(),
                                       None if timeout is None else timeout + 0.0005)
            except TimeoutError:
                pass

    def poke(self) -> None:
        """Re-check timers (after the clock was held, released or advanced)."""
        if self._timer_wake is not None:
            self._timer_wake.set()

    # -- activities --------------------------------------------------------------------------
    def _dispatch_activity(self, item: WorkItem) -> None:
        self._work[item.id] = item
        inst = self.instances.get(item.instance_id)
        if inst is not None:
            inst.in_flight += 1
        self._spawn(self._run_activity(item))

    async def _run_activity(self, item: WorkItem) -> None:
        if self._act_sem is not None:
            async with self._act_sem:
                event = await self._call_activity(item)
        else:
            event = await self._call_activity(item)
        self.stats["activities"] += 1
        inst = self.instances.get(item.instance_id)
        if inst is not None:
            inst.in_flight -= 1
        if inst is None or inst.status in TERMINAL or inst.record.execution_id != \
                item.execution_id:
            self._work.pop(item.id, None)
            self.store.commit(Batch(delete_work=[item.id]))
            return
        inst.inbox.append(_Inbound(event, item.execution_id, None, item.id))
        self._result_arrived(inst)

    async def _call_activity(self, item: WorkItem) -> dict[str, Any]:
        started = time.perf_counter()
        name = item.name
        try:
            if name == HTTP_ACTIVITY:
                result = await self._http_activity(item.input)
            else:
                result = await self._invoke_activity(item)
            event = h.task_completed(self.clock.now(), item.task_id, result)
            log.info("[%s] activity %s#%d completed in %.0f ms", item.instance_id, name,
                     item.task_id, (time.perf_counter() - started) * 1000)
        except Exception as exc:
            reason, details = activity_failure(name, exc)
            event = h.task_failed(self.clock.now(), item.task_id, reason, details)
            log.info("[%s] activity %s#%d failed: %s: %s", item.instance_id, name, item.task_id,
                     type(exc).__name__, exc)
        return event

    async def _invoke_activity(self, item: WorkItem) -> str | None:
        activity = self.app.activity(item.name)
        return await invoke_activity(activity, item.input, self._loop, self._sync_pool)

    async def _http_activity(self, request_json: str | None) -> str:
        if self._http_session is None:
            import aiohttp

            self._http_session = aiohttp.ClientSession()
        return await http_activity(self._http_session, request_json)

    async def run_sync(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a synchronous function in the worker thread pool."""
        return await self._loop.run_in_executor(self._sync_pool,
                                                functools.partial(fn, *args, **kwargs))
