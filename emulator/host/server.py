"""Assemble and run a local host: settings, app, store, clock, engine, HTTP server."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from ..core.versioning import VersioningConfigError, VersioningSettings
from ..grpc_api import FacadeOperations, GrpcEndpoint
from ..http.api import create_app
from ..http.payloads import RPC_PATH, client_binding
from ..runtime.assembly import build_engine
from ..runtime.clock import TimeSkipping, make_clock
from ..runtime.engine import Engine, Limits
from ..runtime.operations import Operations
from ..store import Store, open_store
from ..triggers.host import TriggerHost, TriggerHostOptions, host_id_for
from ..worker.index import FunctionIndex
from ..worker.loader import (
    AppLoadError,
    apply_settings,
    load_app,
    read_local_settings,
    restore_settings,
)
from ..worker.process.child import sdk_compat, sdk_speedups
from ..worker.process.child.watchdog import DEFAULT_THRESHOLD, LoopWatchdog, watch_loop
from ..worker.process.split import SplitWorker
from ..worker.process.worker import ProcessWorker
from ..worker.sdk2 import SdkGeneration
from ..worker.seam import InProcessWorker, Worker
from ..worker.workitems import WorkItemDispatcher
from .logs import LogThread
from .workers import WorkerMode, app_folder_index, describe, start_process_worker

log = logging.getLogger("emulator")

DEFAULT_PORT = 7071
DEFAULT_STATE = ".emulator/state.db"
LISTEN_BACKLOG = 4096
FULL_GC_EVERY = 100  # middle-generation collections between two full ones (CPython: 10)


@dataclass
class HostOptions:
    """Everything that shapes a local host; the CLI flags and the testing API fill it in."""

    app_dir: Path = Path(".")
    port: int = DEFAULT_PORT
    bind: str = "127.0.0.1"
    state: str = DEFAULT_STATE  # a path (relative: to the app folder) or ":memory:"
    time_skipping: TimeSkipping | bool | str = TimeSkipping.OFF  # True means "always"
    max_activities: int | None = None
    max_orchestrators: int | None = None
    threads: int | None = None
    settings: dict[str, str] = field(default_factory=dict)  # override local.settings.json
    sdk_dateutil: bool = False  # keep the SDK's slow dateutil timestamp parsing
    blocked_loop_seconds: float = DEFAULT_THRESHOLD  # warn about a loop blocked this long (0: off)
    worker: WorkerMode | str = WorkerMode.PROCESS  # where the app's code runs (host/workers.py)
    python: str | None = None  # the workers' interpreter (or venv); None: VIRTUAL_ENV's, ours
    core_tools_banner: bool = False  # the function list laid out as `func start` prints it
    grpc_port: int = 0  # a 2.x SDK app's gRPC endpoint (0: a free port)
    queue_lease: float | None = None  # seconds a queue message stays leased (None: 30)

    def flags(self, log_level: str) -> list[str]:
        """These options as ``python -m emulator`` flags (the testing API's child host)."""
        flags = ["--app", str(self.app_dir), "--port", str(self.port), "--state", self.state,
                 "--log-level", log_level, "--worker", str(self.worker)]
        mode = TimeSkipping.parse(self.time_skipping)
        if mode != TimeSkipping.OFF:
            flags.append(f"--time-skipping={mode.value}")
        for flag, value in (("--max-activities", self.max_activities),
                            ("--max-orchestrators", self.max_orchestrators),
                            ("--threads", self.threads), ("--queue-lease", self.queue_lease),
                            ("--python", self.python)):
            if value is not None:
                flags += [flag, str(value)]
        for key, value in self.settings.items():
            flags += ["--setting", f"{key}={value}"]
        return flags

    def state_path(self) -> str:
        if self.state == ":memory:":
            return self.state
        path = Path(self.state)
        return str(path if path.is_absolute() else Path(self.app_dir).resolve() / path)


class LocalHostServer:
    """A started host; ``await start()`` binds and returns the port, ``await stop()`` undoes."""

    SCHEDULER = False  # the Durable Task Scheduler's semantics on the gRPC edge (scheduler.py)

    def __init__(self, options: HostOptions) -> None:
        self.options = options
        self.app: FunctionIndex | None = None
        self.worker: Worker | None = None
        self.engine: Engine | None = None
        self.store: Store | None = None  # opened by prepare(), handed to the engine by start()
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._watchdogs: list[LoopWatchdog] = []  # the host's loop, a 2.x app's own loop
        self._grpc: GrpcEndpoint | None = None  # started for a 2.x SDK app
        self.triggers: TriggerHost | None = None
        self._previous_env: dict[str, str | None] = {}
        self.versioning = VersioningSettings()

    @property
    def mode(self) -> WorkerMode:
        return WorkerMode.parse(self.options.worker)

    def prepare(self) -> FunctionIndex:
        """Take the state (raises StoreError: not ours, damaged, read-only, owned by another
        host), apply settings and import the app (raises AppLoadError) - in that order, so a
        refused state file never runs the app's import-time code. With worker processes the
        host checks the app folder and host.json here; the workers import the app in
        ``start``."""
        options = self.options
        if self.store is None:
            self.store = open_store(options.state_path())
        app_dir = Path(options.app_dir).resolve()
        try:
            self._previous_env = apply_settings(read_local_settings(app_dir))
            self._previous_env.update(apply_settings(options.settings, override=True))
            if self.mode is WorkerMode.IN_PROCESS:
                self.app = load_app(app_dir)
            else:
                self.app = app_folder_index(app_dir)
            try:
                self.versioning = VersioningSettings.from_host_json(self.app.host_json)
            except VersioningConfigError as exc:
                raise AppLoadError(f"{app_dir / 'host.json'}: {exc}") from exc
            _ = self.app.hub_name  # an unresolved %SETTING% fails here, before any state changes
        except BaseException:
            self._close_store()
            raise
        return self.app

    def _close_store(self) -> None:
        store, self.store = self.store, None
        if store is not None:
            store.close()

    async def _start_worker(self, limits: Limits) -> None:
        options = self.options
        if self.mode is WorkerMode.PROCESS:
            try:
                self.worker = await start_process_worker(
                    Path(options.app_dir).resolve(), python=options.python,
                    threads=options.threads, sdk_dateutil=options.sdk_dateutil,
                    orchestrator_timeout=limits.orchestrator_timeout,
                    blocked_loop_seconds=options.blocked_loop_seconds)
            except BaseException:
                self._close_store()
                raise
            self.app = self.worker.app
            reason = self.worker.in_process_reason
            if reason is None:
                return
            try:
                local = load_app(Path(options.app_dir).resolve())
            except BaseException:
                self.worker.close()
                await self.worker.wait_closed()
                self._close_store()
                raise
            if local.sdk == SdkGeneration.V1:  # the rest stays in the workers (split.py)
                log.info("This app %s: those functions run in the host's process, the others "
                         "in the worker processes", reason)
                self.worker = SplitWorker(self.worker, InProcessWorker(local, limits.threads))
            else:
                log.warning("This 2.x SDK app %s: it runs in the host's process (the worker "
                            "processes serve 2.x apps without such functions)", reason)
                self.worker.close()
                await self.worker.wait_closed()
                self.worker = None
            self.app = local
        if not options.sdk_dateutil:  # 1.x: timestamps and the codec; 2.x: the codec
            sdk_speedups.install()
        if self.app.sdk == SdkGeneration.V1:  # adaptations of the 1.x SDK's code
            sdk_compat.install()

    async def start(self) -> int:
        options = self.options
        app = self.app or self.prepare()
        limits = Limits.from_host_json(app.host_json, max_activities=options.max_activities,
                                       max_orchestrators=options.max_orchestrators,
                                       threads=options.threads)
        await self._start_worker(limits)
        limits = self._worker_limits(limits)
        app = self.app
        clock = make_clock(options.time_skipping)
        store = self.store
        try:
            self.engine = build_engine(app, store, clock, limits,
                                       hub_name=app.hub_name,
                                       versioning=self.versioning, worker=self.worker)
            operations = Operations(self.engine)
            if app.sdk == SdkGeneration.V2:  # the 2.x SDK's durable client speaks gRPC
                facade = FacadeOperations(operations, scheduler=self.SCHEDULER)
                self._grpc = GrpcEndpoint(facade, host=options.bind,
                                          port=options.grpc_port,
                                          work_items=self._work_items())
                await self._grpc.start()
                operations.rpc_base_url = self._grpc.rpc_base_url
            self.triggers = self._trigger_host(operations)
            self._runner = web.AppRunner(create_app(operations, app, triggers=self.triggers),
                                         access_log=None, handle_signals=False)
            await self._runner.setup()  # the engine loads the state here
        except BaseException:
            self._close_store()
            await self._stop_grpc()
            if self.worker is not None and self.engine is None:
                self.worker.close()
            raise
        self.store = None  # the engine owns it now and closes it when it stops
        await self._listen_http()
        worker = self.engine.worker
        if self._grpc is not None and isinstance(worker, InProcessWorker | ProcessWorker):
            # Activities with a durable client binding (the 2.x SDK's history export).
            binding = client_binding(f"http://{options.bind}:{self.port}", app.hub_name)
            binding["rpcBaseUrl"] = self._grpc.rpc_base_url
            worker.client_binding = json.dumps(binding)
        if options.blocked_loop_seconds > 0:
            loops = [asyncio.get_running_loop(), getattr(worker, "app_event_loop", None)]
            self._watchdogs = [watch_loop(loop, Path(options.app_dir),
                                          options.blocked_loop_seconds)
                               for loop in loops if loop is not None]
        self._log_banner(limits, store.description)
        self.triggers.start()
        return self.port

    def _work_items(self) -> WorkItemDispatcher | None:
        """The work-item dispatcher the gRPC edge serves to durabletask workers (scheduler.py);
        a Functions app's host has none."""
        return None

    async def _listen_http(self) -> None:
        """Serve the set-up HTTP app on the options' address; ``port`` is the one taken. An
        address that cannot be taken: OSError naming it (the app and gRPC stopped first)."""
        options = self.options
        # A fan-out opens hundreds of connections at once; the default backlog (128) would
        # drop SYNs and cost a second of TCP retransmission (the Functions host uses more).
        site = web.TCPSite(self._runner, options.bind, options.port, reuse_address=True,
                           backlog=LISTEN_BACKLOG)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            await self._stop_grpc()  # else grpc's server object complains at exit
            raise OSError(f"Cannot listen on {options.bind}:{options.port}: "
                          f"{exc.strerror or exc}") from exc
        sockets = site._server.sockets if site._server else []
        self.port = sockets[0].getsockname()[1] if sockets else options.port

    def _worker_limits(self, limits: Limits) -> Limits:
        if self.worker is None:
            return limits
        # The workers bound each orchestrator call from the moment it reaches one (their
        # restart on a timeout included); the engine's own deadline would count the wait
        # for a replacement worker too.
        return dataclasses.replace(limits, orchestrator_timeout=None,
                                   threads=self.worker.pool.settings.threads,
                                   worker_processes=self.worker.pool.settings.processes)

    def _trigger_host(self, operations: Operations) -> TriggerHost:
        """The timer, queue and blob sources, fed through the worker seam, on the engine's
        clock and timer loop."""
        options, app = self.options, self.app
        state = options.state_path()
        lease = options.queue_lease
        trigger_options = TriggerHostOptions(
            status_file=None if state == ":memory:" else Path(state).with_suffix(".timers.json"),
            host_id=host_id_for(Path(options.app_dir)),
            **({"queue_lease": timedelta(seconds=lease)} if lease else {}))

        def durable_client() -> str:
            origin = f"http://127.0.0.1:{self.port}"
            binding = client_binding(origin, app.hub_name)
            binding["rpcBaseUrl"] = f"{origin}{RPC_PATH}/"
            return json.dumps(binding)

        triggers = TriggerHost(list(app.triggered.values()), app.host_json,
                               operations.run_triggered, operations.now,
                               options=trigger_options, client_binding=durable_client,
                               work_finished=operations.trigger_work_finished,
                               skipping=lambda: operations.clock_state().skipping)
        operations.attach_timed_source(triggers.timers, triggers.busy)
        return triggers

    async def _stop_grpc(self) -> None:
        grpc, self._grpc = self._grpc, None
        if grpc is not None:
            await grpc.stop()

    def _log_banner(self, limits: Limits, store: str) -> None:
        app = self.app
        base = f"http://{self.options.bind}:{self.port}"
        lines = [f"Local host for {app.app_dir} (state: {store}; "
                 f"{clock_description(self.options.time_skipping)}; "
                 f"{self.versioning.describe()}; "
                 f"activities <= {limits.max_activities or 'unlimited'}, "
                 f"orchestrators <= {limits.max_orchestrators or 'unlimited'}; "
                 f"{describe(self.engine.worker, limits.threads)})"]
        loopback = self.options.bind in ("127.0.0.1", "localhost", "::1")
        functions = function_list(app, f"http://localhost:{self.port}"
                                  if self.options.core_tools_banner and loopback else base)
        if self.options.core_tools_banner:  # Core Tools: a blank line around each, a tab
            lines += ["", "Functions:", ""] + [f"\t{line}\n" for line in functions]
        else:
            lines += ["Functions:"] + [f"  {line}" for line in functions]
        if self._grpc is not None:
            lines.append(f"Durable client (2.x SDK, gRPC): {self._grpc.rpc_base_url}")
        lines.append(f"Dashboard: {base}/dashboard/")
        log.info("\n".join(lines))

    async def stop(self) -> None:
        self._close_store()  # prepared but never started
        if self.triggers is not None:
            await self.triggers.stop()
            self.triggers = None
        for watchdog in self._watchdogs:
            watchdog.stop()
        self._watchdogs = []
        await sdk_compat.close_loop_session()
        await self._stop_grpc()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.worker is not None:  # the engine closed it; its processes end now
            await self.worker.wait_closed()
        restore_settings(self._previous_env)
        self._previous_env = {}


def function_list(app: FunctionIndex, base: str) -> list[str]:
    """One line per function as ``func start`` lists them: HTTP functions with their methods
    and URL, the others with their trigger."""
    prefix = f"/{app.route_prefix}" if app.route_prefix else ""
    lines = []
    for fn in app.http:
        methods = ",".join(sorted(fn.methods)) if len(fn.methods) < 8 else "ALL"
        lines.append(f"{fn.name}: [{methods}] {base}{prefix}/{fn.route}")
    lines += [f"{fn.name}: orchestrationTrigger" for fn in app.orchestrators.values()]
    lines += [f"{fn.name}: activityTrigger" for fn in app.activities.values()]
    lines += [f"{fn.name}: entityTrigger" for fn in app.entities.values()]
    lines += [f"{name}: not served by the local host" for name in app.skipped]
    lines += [f"{fn.name}: {fn.trigger_type}" for fn in app.triggered.values()]
    return lines


def clock_description(mode: TimeSkipping | bool | str) -> str:
    mode = TimeSkipping.parse(mode)
    if mode == TimeSkipping.OFF:
        return "real time"
    return "time skipping" if mode == TimeSkipping.ALWAYS else "time skipping while waiting"


def tune_gc() -> None:
    """Keep the cyclic garbage collector off the hot paths once the app is loaded.

    A wide fan-out keeps tens of thousands of history events alive, and the collector kept
    re-scanning them (and everything the app imported): a 100,000-wide fan-out spent a third of
    its CPU time there. ``gc.freeze()`` moves what exists at start-up out of the collector's
    sight for good, and a full collection runs after 100 middle-generation sweeps instead of
    10 (and still only once the heap has grown by a quarter). Cycles are still collected.
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_GC_EVERY)


def configure_logging(level: str) -> LogThread:
    """The host's log lines, written by a thread of their own (``logs.py``); stop the
    returned ``LogThread`` to write out what is still queued."""
    output = LogThread()
    root = logging.getLogger()
    root.setLevel(getattr(logging, level.upper()))
    root.addHandler(output.handler)
    logging.getLogger("emulator").setLevel(getattr(logging, level.upper()))
    if level.upper() != "DEBUG":
        # Library chatter (the Azure SDK logs every HTTP request and response at info) would
        # drown the host's one line per event; the app's own loggers keep the chosen level.
        for noisy in ("aiohttp", "azure"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("AZURE_FUNCTIONS_ENVIRONMENT", "Development")
    return output
