"""Activity dispatch: run work items under the concurrency limit and report their results.

``dispatch`` starts a committed work item; the activity runs through the worker seam (async on
the loop, sync in the functions pool, at most ``functionTimeout``, after which it fails with the
host's message and its slot is free; ``BuiltIn::HttpActivity`` with aiohttp) and its outcome, as a
``TaskCompleted`` / ``TaskFailed`` event, goes to ``on_result``. A work item stays ``pending``
until the episode that consumes its result commits (``retire``): the engine is idle only when
nothing is pending.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from ..core.replay import HTTP_ACTIVITY
from ..protocol import history as h
from ..protocol.history import compact
from ..store import WorkItem
from ..worker.deadlines import Deadlines
from ..worker.seam import CURRENT_ACTIVITY, Worker
from ..worker.timeouts import FunctionTimeout
from .clock import Clock

log = logging.getLogger("emulator")

class _Cohort:
    """Activities started in one pass of the loop, bounded by one deadline (``_follow``)."""

    __slots__ = ("key", "due", "members", "closed")

    def __init__(self, key: int) -> None:
        self.key = key
        self.due = 0.0
        # the members not answered yet: work id -> (item, activity, started)
        self.members: dict[int, tuple[WorkItem, Any, Any]] = {}
        self.closed = False  # its pass ended: no member joins any more


class ActivityDispatcher:
    def __init__(self, worker: Worker, clock: Clock, max_concurrent: int,
                 spawn: Callable[[Coroutine[Any, Any, Any]], Any],
                 on_result: Callable[[WorkItem, dict[str, Any]], None],
                 timeout: timedelta | None = None) -> None:
        self.worker = worker
        self.app = worker.app
        self.clock = clock
        self.timeout = timeout  # functionTimeout: a call past it fails and frees its slot
        self.max_concurrent = max_concurrent
        self.spawn = spawn
        self.on_result = on_result
        self.pending: dict[int, WorkItem] = {}
        self.completed = 0
        self._free: int | None = None  # activities that may still start (None: no limit)
        self._waiting: deque[WorkItem] = deque()  # dispatched, waiting for a free slot
        self._loop: asyncio.AbstractEventLoop | None = None
        self._deadlines: Deadlines | None = None
        self._expired: set[int] = set()  # timed out and reported; their tasks are ignored
        self._http_session: Any = None
        # The worker's way to start an activity without a task of our own (None: tasks only).
        self._start_activity = getattr(worker, "start_activity", None)
        self._started: dict[int, Any] = {}  # work id -> a running StartedActivity
        # (clock jumps, the time) stamped on the results of this pass of the loop
        self._stamp: tuple[int, datetime] | None = None
        self._cohort: _Cohort | None = None  # started this pass, sharing one deadline
        self._cohorts = 0

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._deadlines = Deadlines.of(self._loop)
        if self.max_concurrent > 0:
            self._free = self.max_concurrent

    async def stop(self) -> None:
        started, self._started = list(self._started.values()), {}
        for call in started:
            call.stop()  # as the engine cancels the tasks of the others
        if self._http_session is not None:
            await self._http_session.close()

    def dispatch(self, item: WorkItem) -> None:
        """Start the item now, or once a slot frees (first come, first served). A counter, not
        an ``asyncio.Semaphore``: a 10,000-wide fan-out then creates no task, and takes no
        lock, for an activity before it can run."""
        self.pending[item.id] = item
        if self._free is None:
            self._start(item)
        elif self._free > 0:
            self._free -= 1
            self._start(item)
        else:
            self._waiting.append(item)

    def _release(self) -> None:
        """An activity finished: its slot goes to the longest-waiting item, if any."""
        if self._waiting:
            self._start(self._waiting.popleft())
        elif self._free is not None:
            self._free += 1

    def retire(self, work_id: int) -> None:
        self.pending.pop(work_id, None)

    def _start(self, item: WorkItem) -> None:
        """Run the item: started by the worker when it can (an ``async def`` activity of a 2.x
        app, on the app's loop: no task here, its answer is followed by a callback), else in a
        task of its own (``_run``)."""
        if self._start_activity is not None and item.name != HTTP_ACTIVITY:
            activity = self.app.activity(item.name)
            if activity is not None and activity.is_async:
                began = time.perf_counter()
                try:
                    started = self._start_activity(activity, item.input)
                except Exception as exc:  # its input or arguments: it fails, a pass later
                    self._loop.call_soon(self._finish, item, self._failed(item, exc))
                    return
                if started is not None:
                    self._follow(item, activity, started, began)
                    return
        self.spawn(self._run(item))

    def _follow(self, item: WorkItem, activity: Any, started: Any, began: float) -> None:
        """Bound a started activity by ``functionTimeout`` and report its answer. The
        activities started in one pass of the loop (a fan-out's) share one deadline, their
        cohort's: one entry in the loop's deadlines instead of one per activity."""
        cohort = None
        if self.timeout is not None:
            cohort = self._cohort
            if cohort is None:
                cohort = self._cohort = self._new_cohort()
            cohort.members[item.id] = (item, activity, started)
        self._started[item.id] = started
        started.when_answered(functools.partial(self._answered, item, started, cohort, began))

    def _new_cohort(self) -> _Cohort:
        self._cohorts += 1
        cohort = _Cohort(-self._cohorts)  # negative keys: work ids are positive
        cohort.due = self._deadlines.add(cohort.key, self.timeout.total_seconds(),
                                         lambda: self._expire_cohort(cohort))
        self._loop.call_soon(self._close_cohort, cohort)
        return cohort

    def _close_cohort(self, cohort: _Cohort) -> None:
        """The pass that started ``cohort`` ended: later activities start another."""
        if self._cohort is cohort:
            self._cohort = None
        cohort.closed = True
        if not cohort.members:
            self._deadlines.discard(cohort.key, cohort.due)

    def _leave_cohort(self, cohort: _Cohort, work_id: int) -> None:
        members = cohort.members
        members.pop(work_id, None)
        if not members and cohort.closed:
            self._deadlines.discard(cohort.key, cohort.due)

    def _expire_cohort(self, cohort: _Cohort) -> None:
        """``functionTimeout`` passed for a cohort: those of it still running fail."""
        for item, activity, started in list(cohort.members.values()):
            self._expire_started(item, activity, started)
        cohort.members.clear()

    def _answered(self, item: WorkItem, started: Any, cohort: _Cohort | None,
                  began: float) -> None:
        """A started activity ended: its result or failure goes on, as ``_run`` sends it."""
        self._started.pop(item.id, None)
        if cohort is not None:
            self._leave_cohort(cohort, item.id)
        if started.answer.cancelled():  # it cancelled itself: as a task of _run, no result
            self._release()
            return
        try:
            result = started.result_text()
        except Exception as exc:
            event = self._failed(item, exc)
        except BaseException:  # as a task of _run that ended so: reported, never answered
            log.exception("engine task failed")
            return
        else:
            event = h.task_completed(self._answer_time(), item.task_id, result)
            if log.isEnabledFor(logging.INFO):
                log.info("[%s] activity %s#%d completed in %.0f ms", item.instance_id,
                         item.name, item.task_id, (time.perf_counter() - began) * 1000)
        self._finish(item, event)

    def _answer_time(self) -> datetime:
        """The time stamped on a started activity's result: the answers the loop takes in one
        pass (a fan-out's burst) share one, so their events share one timestamp object and its
        text is written once. Never earlier than a result's own scheduling: every activity
        answered in a pass was dispatched in an earlier one, by an episode that had read the
        clock before. The next pass, or a jump of the clock, reads the clock again."""
        stamp, jumps = self._stamp, self.clock.jumps
        if stamp is None or stamp[0] != jumps:
            stamp = self._stamp = (jumps, self.clock.now())
            self._loop.call_soon(self._end_stamp, stamp)
        return stamp[1]

    def _end_stamp(self, stamp: tuple[int, datetime]) -> None:
        if self._stamp is stamp:
            self._stamp = None

    def _expire_started(self, item: WorkItem, activity: Any, started: Any) -> None:
        """``_expire`` for a started activity: it fails now and is stopped on the app loop
        (whatever it does after is never answered)."""
        if started.answer.done() or self._started.pop(item.id, None) is None:
            return  # it answered, or it was stopped
        timeout = FunctionTimeout(self.timeout, activity.function_name)
        self._finish(item, self._failed(item, timeout))
        started.stop()

    async def _run(self, item: WorkItem) -> None:
        activity = None if item.name == HTTP_ACTIVITY else self.app.activity(item.name)
        due = None
        if self.timeout is not None and activity is not None and activity.is_async:
            # Bounded here, in this task: no second task and no timer of its own per call.
            task = asyncio.current_task()
            due = self._deadlines.add(item.id, self.timeout.total_seconds(),
                                      lambda: self._expire(item, activity, task))
        try:
            event = await self._call(item, activity, None if due is not None else self.timeout)
        except asyncio.CancelledError:
            if item.id in self._expired:  # its timeout was reported; it heeded the cancel
                self._expired.discard(item.id)
                return
            self._release()
            raise
        if due is not None:
            self._deadlines.discard(item.id, due)
        if item.id in self._expired:  # it ignored the cancel and ended after its timeout
            self._expired.discard(item.id)
            return
        self._finish(item, event)

    def _finish(self, item: WorkItem, event: dict[str, Any]) -> None:
        self._release()
        self.completed += 1
        self.on_result(item, event)

    def _expire(self, item: WorkItem, activity: Any, task: asyncio.Task) -> None:
        """``functionTimeout`` passed: the activity fails with the host's message now and its
        slot is free; its task is cancelled, and whatever it does after is ignored (as
        ``timeouts.call_with_timeout`` does for a coroutine that ignores cancellation)."""
        if task.done():
            return
        self._expired.add(item.id)
        timeout = FunctionTimeout(self.timeout, activity.function_name)
        self._finish(item, self._failed(item, timeout))
        task.cancel()

    def _failed(self, item: WorkItem, exc: Exception) -> dict[str, Any]:
        reason, details = self.worker.activity_failure(item.name, exc)
        log.info("[%s] activity %s#%d failed: %s: %s", item.instance_id, item.name,
                 item.task_id, type(exc).__name__, exc)
        return h.task_failed(self.clock.now(), item.task_id, reason, details)

    async def _call(self, item: WorkItem, activity: Any,
                    timeout: timedelta | None) -> dict[str, Any]:
        started = time.perf_counter()
        name = item.name
        try:
            if name == HTTP_ACTIVITY:
                result = await self._http(item.input)
            else:
                CURRENT_ACTIVITY.set(item)  # this task's own context
                result = await self.worker.run_activity(activity, item.input, timeout)
            event = h.task_completed(self.clock.now(), item.task_id, result)
            log.info("[%s] activity %s#%d completed in %.0f ms", item.instance_id, name,
                     item.task_id, (time.perf_counter() - started) * 1000)
        except Exception as exc:
            event = self._failed(item, exc)
        return event

    async def _http(self, request_json: str | None) -> str:
        if self._http_session is None:
            import aiohttp

            self._http_session = aiohttp.ClientSession()
        return await http_activity(self._http_session, request_json)


async def http_activity(session: Any, request_json: str | None) -> str:
    """The extension's built-in ``BuiltIn::HttpActivity`` for ``context.call_http``: one
    request, the raw response (Python sends no asynchronous-pattern flag, so no 202 polling)."""
    request = json.loads(request_json or "{}")
    headers = {k: v if isinstance(v, str) else ",".join(v)
               for k, v in (request.get("headers") or {}).items()}
    async with session.request(request.get("method", "GET"), request["uri"],
                               data=request.get("content"), headers=headers) as response:
        content = await response.text()
        return compact({"statusCode": response.status, "headers": dict(response.headers),
                        "content": content})
