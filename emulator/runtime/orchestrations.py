"""The orchestration kind of instance: create one, run its episode, plan the episode's effects.

``episode.step`` decides what an episode does; this module runs it in the orchestrator pool, or
awaits its worker call on the loop for a worker that waits without a thread
(``seam.AwaitingWorker``), and turns its result into a ``Change``: the store batch (history,
instance row, consumed messages, new work items, timer and completion messages, child
instances) and the memory updates that follow the commit (inbox, history, timers armed, work
dispatched, children registered). Nothing in memory changes before ``Engine.commit``.

Another kind of instance would live in a module like this one and register with
``Engine.kinds``; the engine calls ``episode(inst)`` on the instance's kind. Durable entities are
not instances: ``entities.py`` keeps their queues and state, and an episode's entity calls and
signals leave it as outgoing messages (``Engine.deliver`` routes ``@name@key`` ids there).
"""

from __future__ import annotations

import functools
import json
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..core.calls import Steps, drive
from ..core.changes import Change
from ..core.episode import (
    EpisodeResult,
    entity_request,
    episode_steps,
    episode_time,
    unknown_function_message,
    unknown_work,
)
from ..core.instance import ORCHESTRATION, Inbound, Instance
from ..core.replay import NewWork
from ..core.versioning import VersionDecision
from ..protocol import history as h
from ..protocol.entities import EntityId
from ..protocol.enums import ACTIVE, RuntimeStatus, WorkKind
from ..protocol.history import format_ts
from ..protocol.ids import instance_id_problem
from ..store import InstanceRecord, MessageRecord, WorkItem
from ..worker.pool import Overdue
from ..worker.seam import awaiting
from .awaited import drive_awaited

if TYPE_CHECKING:
    from .ports import OrchestrationsPort

log = logging.getLogger("emulator")


class Orchestrations:
    kind = ORCHESTRATION

    def __init__(self, engine: OrchestrationsPort) -> None:
        self.engine = engine

    # -- creating instances ----------------------------------------------------------------
    def plan_create(self, change: Change, name: str, instance_id: str, input_json: str | None,
                    parent: dict[str, Any] | None = None, *,
                    version: str | None = None, start_at: datetime | None = None) -> Instance:
        """Add a new Pending instance (of orchestration ``version``) and its ExecutionStarted
        message to ``change``; the instance is registered and queued once the change commits.
        ``start_at`` (a scheduled start): the message waits on the timer queue until then."""
        engine = self.engine
        now = engine.clock.now()
        execution_id = uuid.uuid4().hex
        record = InstanceRecord(instance_id=instance_id, name=name, execution_id=execution_id,
                                status=RuntimeStatus.Pending, input=input_json,
                                created=format_ts(now), last_updated=format_ts(now),
                                parent=parent, version=version)
        inst = Instance(record)
        parent_event = None
        if parent:
            parent_event = {
                "Name": parent["name"], "Version": parent.get("version"),
                "TaskScheduleId": parent["task_id"],
                "OrchestrationInstance": {"InstanceId": parent["instance_id"],
                                          "ExecutionId": parent["execution_id"]},
            }
        started = h.execution_started(now, name=name, instance_id=instance_id,
                                      execution_id=execution_id, input_json=input_json,
                                      parent=parent_event, version=version)
        later = start_at is not None and start_at > now
        if later:
            started["ScheduledStartTime"] = format_ts(start_at)
        message = MessageRecord(engine.new_id(), instance_id, started,
                                format_ts(start_at) if later else None, execution_id)
        change.batch.put_instances.append(record)
        change.batch.put_messages.append(message)
        if not later:
            inst.inbox.append(Inbound(started, execution_id, message.id))

        def register() -> None:
            engine.instances[instance_id] = inst
            if later:
                engine.deliver(message)  # armed on the timer queue
            engine.mark_ready(inst)
            engine.emit(inst)
        change.then(register)
        return inst

    # -- episodes ----------------------------------------------------------------------------
    async def episode(self, inst: Instance) -> Change | None:
        """The change one episode of ``inst`` makes (None: nothing to do)."""
        engine = self.engine
        messages = inst.select_messages()
        if not messages:
            return None
        change = Change()
        batch = change.batch
        work_ids = []
        for message in messages:
            if message.message_id is not None:
                batch.delete_messages.append(message.message_id)
            if message.work_id is not None:
                batch.delete_work.append(message.work_id)
                work_ids.append(message.work_id)

        def consume() -> None:
            inst.remove_messages(messages)
            for work_id in work_ids:
                engine.activities.retire(work_id)
        change.then(consume)
        record = inst.record
        live = [m for m in messages if m.execution_id in (None, record.execution_id)]
        if record.status.is_terminal or not live:
            return change  # late results for a finished instance or an older execution
        decision = engine.versioning.decide(record.version)
        if decision is VersionDecision.REJECT:
            # The extension abandons the work item: nothing changes, the messages stay queued
            # for a host whose host.json matches. This host will not take them (its settings
            # are fixed until it restarts), so the instance is left alone from now on.
            inst.version_rejected = True
            log.warning("[%s %s] version %r does not match this host (%s): its work stays "
                        "queued (versionFailureStrategy Reject) until a host with a matching "
                        "host.json takes it", record.name, inst.id, record.version,
                        engine.versioning.describe())
            return None
        now = episode_time(inst.history, engine.clock.now())
        steps = functools.partial(episode_steps, record, inst.history, inst.history_json, live,
                                  now, check_work=self.check_work, clock_now=engine.clock.now,
                                  default_version=engine.versioning.default_version,
                                  version_mismatch=decision is VersionDecision.FAIL)
        awaited = awaiting(engine.worker)
        if awaited is not None:  # the worker's call waits with no thread: awaited here
            result = await drive_awaited(steps(), awaited.awaited_orchestrator(record.name))
        else:
            result = await self._in_thread(record.name, steps)
        self._plan_effects(inst, result, change)
        return change

    async def _in_thread(self, name: str, steps: Callable[[], Steps[EpisodeResult]]
                         ) -> EpisodeResult:
        """The episode in the orchestrator pool, its thread given up past the deadline."""
        engine = self.engine
        invoke = engine.worker.orchestrator(name)
        deadline = engine.limits.orchestrator_timeout
        try:
            return await engine.orchestrator_pool.run(deadline, lambda: drive(steps(), invoke))
        except Overdue as late:
            failure = self._deadline_failure(name, deadline, late.future)
            return drive(steps(), lambda *_: (None, None, failure))

    def _deadline_failure(self, name: str, deadline: float, future: Any) -> str:
        """Give up on an orchestrator call that never returned; the instance's failure."""
        stack = self.engine.orchestrator_pool.abandon(future)
        message = (f"Orchestrator function '{name}' failed: it did not return within "
                   f"{deadline:g} s (host.json functionTimeout); the orchestrator thread was "
                   "replaced")
        return f"{message}. Stuck at:\n{stack}" if stack else message

    def _plan_effects(self, inst: Instance, result: EpisodeResult, change: Change) -> None:
        engine = self.engine
        batch = change.batch
        record = result.record
        now = result.now
        restarted: Inbound | None = None
        carryover: list[Inbound] = []
        if result.continued_as_new is not None:
            started = result.continued_as_new
            message = MessageRecord(engine.new_id(), inst.id, started, None,
                                    record.execution_id)
            batch.put_messages.append(message)
            batch.reset_history.append(inst.id)
            restarted = Inbound(started, record.execution_id, message.id)
            for event in result.carryover:  # events the SDK keeps for the new execution
                carried = MessageRecord(engine.new_id(), inst.id, event, None,
                                        record.execution_id)
                batch.put_messages.append(carried)
                carryover.append(Inbound(event, record.execution_id, carried.id))
        elif result.texts:
            batch.append_history.append((inst.id, len(inst.history), result.texts))
        fired = set(result.fired_timers)
        if result.drops_timers:
            batch.delete_messages.extend(t for t in inst.timers if t not in fired)
        work_items: list[WorkItem] = []
        timers: list[MessageRecord] = []
        outgoing: list[MessageRecord] = []
        created: set[str] = set()
        for work in result.new_work:
            if work.kind == WorkKind.ACTIVITY:
                item = WorkItem(engine.new_id(), inst.id, record.execution_id, work.seq,
                                work.name, work.input)
                batch.put_work.append(item)
                work_items.append(item)
            elif work.kind == WorkKind.TIMER:
                fire_at = format_ts(work.fire_at)
                timer = MessageRecord(engine.new_id(), inst.id,
                                      h.timer_fired(now, work.seq, fire_at), fire_at,
                                      record.execution_id)
                batch.put_messages.append(timer)
                timers.append(timer)
            elif work.kind == WorkKind.EVENT:  # dropped if no such instance, as in DTFx
                outgoing.append(MessageRecord(engine.new_id(), work.instance_id,
                                              h.event_raised(now, work.name, work.input)))
            elif work.kind == WorkKind.ENTITY:
                outgoing.append(engine.entities.request_message(
                    EntityId.parse(work.instance_id), entity_request(work, record),
                    work.fire_at if work.signal else None))
            else:
                failure = self._plan_child(change, inst, record, work, now, created)
                if failure is not None:
                    outgoing.append(failure)
        if result.completed and record.parent and engine.execution_waits(
                record.parent["instance_id"], record.parent["execution_id"]):
            parent = record.parent
            if record.status == RuntimeStatus.Completed:
                event = h.sub_orchestration_completed(now, parent["task_id"], record.output)
            else:
                event = h.sub_orchestration_failed(now, parent["task_id"], record.output, None)
            outgoing.append(MessageRecord(engine.new_id(), parent["instance_id"], event, None,
                                          parent["execution_id"]))
        batch.put_instances.append(record)
        batch.put_messages.extend(outgoing)

        def apply() -> None:
            inst.timers.difference_update(fired)
            inst.record = record
            if restarted is not None:
                inst.history.clear()
                inst.history_json.clear()
                inst.inbox[0:0] = [restarted, *carryover]
            else:
                inst.history.extend(result.new_events)
                inst.history_json.extend(result.texts)
            if result.drops_timers:
                engine.timers.drop(inst)
            for item in work_items:
                engine.dispatch_activity(item)
            for timer in timers:
                engine.timers.arm(inst, timer)
            for message in outgoing:
                engine.deliver(message)
            engine.stats["episodes"] += 1
            inst.episodes += 1
            for level, note in result.notes:
                log.log(level, "[%s %s] %s", record.name, inst.id, note)
            engine.emit(inst)
        change.then(apply)

    def _plan_child(self, change: Change, inst: Instance, record: InstanceRecord,
                    work: NewWork, now: datetime,
                    created: set[str]) -> MessageRecord | None:
        """Plan a sub-orchestration; the failure message for the parent if its id is taken or
        is not a valid instance id (``ids.py``: the store and the URLs could not hold it)."""
        engine = self.engine
        problem = instance_id_problem(work.instance_id)
        if problem is not None:
            event = h.sub_orchestration_failed(now, work.seq, problem, None)
            return MessageRecord(engine.new_id(), inst.id, event, None, record.execution_id)
        existing = engine.instances.get(work.instance_id)
        status = RuntimeStatus.Pending if work.instance_id in created \
            else existing.status if existing is not None else None
        if status in ACTIVE:
            reason = already_exists(status)
            event = h.sub_orchestration_failed(now, work.seq, reason, None)
            return MessageRecord(engine.new_id(), inst.id, event, None, record.execution_id)
        if existing is not None:
            engine.plan_forget(existing, change)
        parent = {"instance_id": inst.id, "execution_id": record.execution_id,
                  "task_id": work.seq, "name": record.name, "version": record.version}
        input_json = _json_or_none(work.input)
        self.plan_create(change, engine.app.orchestrator(work.name).name, work.instance_id,
                         input_json, parent, version=work.version)
        created.add(work.instance_id)
        return None

    def check_work(self, new_work: list[NewWork]) -> str | None:
        """The failure message if new work calls a function the app does not have."""
        app = self.engine.app
        unknown = unknown_work(new_work, app.activity, app.orchestrator,
                               lambda: [f.name for f in app.activities.values()],
                               lambda: [f.name for f in app.orchestrators.values()])
        for work in new_work:
            if unknown is None and work.kind == WorkKind.ENTITY:
                unknown = self.engine.entities.unknown_function(
                    EntityId.parse(work.instance_id).name)
        return unknown

    def unknown(self, name: str) -> str:
        app = self.engine.app
        return unknown_function_message(name, "orchestrator",
                                        [f.name for f in app.orchestrators.values()])


def already_exists(status: RuntimeStatus) -> str:
    """The extension's message when an id is taken by an active instance (a start, or a
    sub-orchestration with a chosen id)."""
    return f"An Orchestration instance with the status {status} already exists."


def _json_or_none(value: Any) -> str | None:
    return json.dumps(value) if value is not None else None

