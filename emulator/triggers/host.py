"""The trigger sources of one local host: planned from the app's index, started and stopped
together, and seen as one by the host assembly, the admin endpoint and the dashboard.

``TriggerHost`` builds, from the index's triggered functions: the timer source (attached to the
engine's timer loop by the host: ``timers``, ``busy``), one queue listener per queue-triggered
function, one polling listener per blob-triggered function, and the runner they all await. A
function that cannot start (a schedule that is not NCRONTAB, a connection that is not set, a bad
host.json value) gets an error line naming it and stays off - the other functions run, as in the
Functions host. Other trigger types (Service Bus, ...) get their one start-up line each.
``run_now`` is ``POST /admin/functions/{name}``; ``snapshot`` the dashboard's triggers view.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..worker.index import TriggeredFunction
from .bindings import BindingSpec, StorageBindings
from .blob_source import EVENT_GRID_NOTE, BlobListener
from .connections import StorageAccounts, StorageConnectionError
from .expressions import ExpressionError
from .index import plan_triggers
from .lifecycle import is_shutdown_error
from .options import BlobsOptions, OptionsError, QueuesOptions
from .queue_source import LEASE, QueueListener, QueueNameError, QueueWatcher
from .runner import RunTriggered, TriggeredRunner, UnknownFunction
from .schedule import ScheduleError
from .status_store import JsonFileStatusStore, MemoryStatusStore, StatusFileError, StatusStore
from .timer_source import TimerSource, TimerSpec

log = logging.getLogger("emulator")


@dataclass(frozen=True)
class TriggerHostOptions:
    status_file: Path | None = None  # the timers' schedule status; None: in memory
    host_id: str = "localhost"
    queue_lease: timedelta = LEASE
    blob_poll: timedelta = timedelta(seconds=2)
    development: Mapping[str, str] | None = None  # the endpoints of an Azurite the host started


class _Clock:
    """The timer source's view of the host clock when the engine's loop drives it."""

    def __init__(self, now: Callable[[], datetime],
                 skipping: Callable[[], bool] = lambda: False) -> None:
        self.now = now
        self._skipping = skipping

    @property
    def skipping(self) -> bool:
        return self._skipping()

    def can_skip(self) -> bool:
        return False

    def advance_to(self, when: datetime) -> None:  # pragma: no cover - never driven here
        raise RuntimeError("the engine's timer loop moves the clock")


def host_id_for(app_dir: Path) -> str:
    """A host id as the Functions host derives one (lower case, letters/digits/dashes, <= 32)."""
    text = re.sub(r"[^a-z0-9-]", "-", app_dir.resolve().name.lower()).strip("-")
    return (text or "localhost")[:32]


class TriggerHost:
    def __init__(self, functions: list[TriggeredFunction], host_json: Mapping[str, Any],
                 run: RunTriggered, now: Callable[[], datetime], *,
                 options: TriggerHostOptions | None = None,
                 client_binding: Callable[[], str] | None = None,
                 work_finished: Callable[[], None] = lambda: None,
                 skipping: Callable[[], bool] = lambda: False,
                 settings: Mapping[str, str] | None = None) -> None:
        self.options = options or TriggerHostOptions()
        self.settings = os.environ if settings is None else settings
        self.host_json = host_json
        self.work_finished = work_finished
        self.watcher = QueueWatcher()
        self._blob_listeners: dict[str, list[BlobListener]] = {}
        self.errors: dict[str, str] = {}
        self.lines: list[str] = []
        self._in_flight = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self.queues_options = self._options(QueuesOptions.from_host_json, host_json)
        # one account per connection, shared by the listeners and the bindings, closed on stop
        self.accounts = StorageAccounts(self.settings, development=self.options.development)
        self.bindings = StorageBindings(settings=self.settings,
                                        queues=self.queues_options or QueuesOptions(),
                                        watcher=self.watcher, blob_written=self._blob_written,
                                        accounts=self.accounts)
        self.runner = TriggeredRunner(functions, run, self.bindings,
                                      client_binding=client_binding)
        self.plan = plan_triggers([(f.name, f.trigger, f.bindings) for f in functions],
                                  self.settings, strict=False)
        for function, why in self.plan.errors.items():
            self._off(function, why)
        self.timers = self._timer_source(_Clock(now, skipping))
        self.queues: list[QueueListener] = []
        self.blobs: list[BlobListener] = []
        self._build_listeners()
        for foreign in self.plan.foreign:
            self.lines.append(foreign.line)

    # -- building ------------------------------------------------------------------------------

    def _options(self, read: Callable[..., Any], *args: Any) -> Any:
        try:
            return read(*args)
        except OptionsError as exc:
            self.errors["host.json"] = str(exc)
            self.lines.append(f"{exc}: queue and blob triggers are off")
            return None

    def _timer_source(self, clock: _Clock) -> TimerSource:
        usable: list[TimerSpec] = []
        for spec in self.plan.timers:
            try:
                TimerSource([spec], self._invoke, clock, MemoryStatusStore(),
                            settings=self.settings)
                usable.append(spec)
            except (ScheduleError, ExpressionError) as exc:
                self._off(spec.function_name, f"timer trigger: {exc}")
        store: StatusStore = MemoryStatusStore()
        if self.options.status_file is not None:
            try:
                store = JsonFileStatusStore(self.options.status_file)
            except StatusFileError as exc:
                for spec in usable:
                    self._off(spec.function_name, str(exc))
                usable = []
        return TimerSource(usable, self._invoke, clock, store, settings=self.settings,
                           drive_clock=False)

    def _build_listeners(self) -> None:
        queues = self.queues_options
        for spec in self.plan.queues:
            if queues is None:
                continue
            try:
                account = self.accounts.get(spec.connection)
                self.queues.append(QueueListener(
                    spec.function_name, spec.queue_name, account, queues, self._invoke,
                    watcher=self.watcher, lease=self.options.queue_lease))
            except (StorageConnectionError, QueueNameError) as exc:
                self._off(spec.function_name, f"queue trigger on '{spec.queue_name}': {exc}")
        blobs = self._options(BlobsOptions.from_host_json, self.host_json,
                              queues) if queues else None
        for spec in self.plan.blobs:
            if blobs is None:
                continue
            if spec.event_grid:
                self.lines.append(EVENT_GRID_NOTE.format(name=spec.function_name))
            try:
                account = self.accounts.get(spec.connection)
                listener = BlobListener(spec.function_name, spec.path, account, blobs,
                                        self._invoke, host_id=self.options.host_id,
                                        poll_interval=self.options.blob_poll,
                                        settings=dict(self.settings))
            except (StorageConnectionError, ExpressionError) as exc:
                self._off(spec.function_name, f"blob trigger on '{spec.path}': {exc}")
                continue
            self.blobs.append(listener)
            self._blob_listeners.setdefault(listener.pattern.container, []).append(listener)

    def _off(self, function: str, why: str) -> None:
        self.errors[function] = why
        self.lines.append(f"Function '{function}' is off: {why}")

    def _blob_written(self, container: str) -> None:
        for listener in self._blob_listeners.get(container, ()):
            listener.wake()

    # -- running -------------------------------------------------------------------------------

    async def _invoke(self, call: Any) -> Any:
        self._in_flight += 1
        try:
            return await self.runner(call)
        finally:
            self._in_flight -= 1
            self.work_finished()

    def busy(self) -> bool:
        """A triggered function is running (the engine does not skip time meanwhile)."""
        return self._in_flight > 0

    def start(self) -> None:
        """Log the start-up lines and start the sources (on the running loop)."""
        for line in self.lines:
            log.warning(line)
        # The storage SDKs load lazily; load them now, not under the first message.
        if self.queues:
            import azure.storage.queue.aio  # noqa: F401
        if self.blobs:
            import azure.storage.blob.aio  # noqa: F401
        self.timers.start()
        loop = asyncio.get_running_loop()
        for listener in [*self.queues, *self.blobs]:
            task = loop.create_task(self._keep_running(listener))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _keep_running(self, listener: QueueListener | BlobListener) -> None:
        """Run a listener; storage that is down (Azurite not started) is retried quietly, a
        process or loop that is shutting down ends it (its client is closed by then)."""
        delay, told = 1.0, False
        while True:
            try:
                await listener.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_shutdown_error(exc):
                    log.debug("Function '%s': its listener ends: the host is shutting down "
                              "(%s)", listener.function_name, exc)
                    return
                if not told:
                    log.warning("Function '%s': its storage is not reachable (%s: %s); "
                                "retrying", listener.function_name, type(exc).__name__,
                                str(exc).splitlines()[0] if str(exc) else "")
                    told = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.timers.stop()
        await self.accounts.close()

    async def run_now(self, name: str, given: Any) -> None:
        """``POST /admin/functions/{name}``: build the call now (UnknownFunction, LookupError,
        ValueError for bad input), run it in the background."""
        call = await self.runner.manual_call(name, given)
        task = asyncio.get_running_loop().create_task(self._invoke(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the storage bindings of HTTP functions -----------------------------------------------

    async def read_inputs(self, bindings: list[dict[str, Any]],
                          data: dict[str, Any]) -> dict[str, Any]:
        specs = [BindingSpec.from_dict(b) for b in bindings]
        return {spec.name: await self.bindings.read(spec, data)
                for spec in specs if spec.direction != "out"}

    async def write_outputs(self, bindings: list[dict[str, Any]], data: dict[str, Any],
                            outputs: dict[str, Any]) -> None:
        for spec in (BindingSpec.from_dict(b) for b in bindings):
            if spec.direction == "out" and spec.name in outputs:
                await self.bindings.write(spec, data, outputs[spec.name])

    # -- what the dashboard shows --------------------------------------------------------------

    async def snapshot(self, depths: bool = True) -> dict[str, Any]:
        queues = []
        for listener in self.queues:
            depth: dict[str, Any] = {"queue": None, "poison": None}
            if depths:
                try:
                    depth = await asyncio.wait_for(listener.depth(), 2)
                except Exception:  # storage down: show the counters without depths
                    pass
            stats = listener.stats
            queues.append({"function": listener.function_name, "queue": listener.queue_name,
                           "poisonQueue": listener.poison_name, "depth": depth["queue"],
                           "poisonDepth": depth["poison"], "processed": stats.processed,
                           "failed": stats.failed, "poisoned": stats.poisoned,
                           "inFlight": stats.in_flight})
        blobs = [{"function": b.function_name, "container": b.pattern.container,
                  "pattern": b.pattern.pattern, "processed": b.stats.processed,
                  "failed": b.stats.failed, "poisoned": b.stats.poisoned} for b in self.blobs]
        return {"timers": self.timers.describe(), "queues": queues, "blobs": blobs,
                "other": [{"function": f.function_name, "trigger": f.trigger_type,
                           "line": f.line} for f in self.plan.foreign],
                "off": [{"function": k, "error": v} for k, v in self.errors.items()],
                "recent": list(reversed(self.runner.recent))}


__all__ = ["TriggerHost", "TriggerHostOptions", "UnknownFunction", "host_id_for"]
