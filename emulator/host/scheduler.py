"""``python -m emulator scheduler``: the local host with no Functions app, serving standalone
durabletask workers and clients (``TaskHubGrpcWorker`` / ``TaskHubGrpcClient``, or
durabletask-azuremanaged's ``DurableTaskScheduler*``) on one gRPC endpoint, as the Durable Task
Scheduler emulator does - without Docker, with the same engine, SQLite state, time skipping,
dashboard and management API as the Functions mode.

    python -m emulator scheduler [--grpc-port 8080] [--port 8082] [--state PATH|:memory:]
        [--task-hubs NAME,...] [--time-skipping[=MODE]] [--bind ADDR] [--log-level LEVEL]

The ports default to the Scheduler emulator image's (gRPC 8080, dashboard 8082), so it is a
drop-in for it. Task hubs are kept apart as the emulator keeps them: one hub named ``default``,
or those of ``--task-hubs`` (else the image's ``DTS_TASK_HUB_NAMES`` variable). A call names
its hub in the ``taskhub`` gRPC header (durabletask-azuremanaged sends it); a call with none
goes to the first hub; an undeclared hub answers NOT_FOUND ("Task hub not found: NAME", the
emulator's answer). The management API and the dashboard take ``?taskHub=NAME`` (none: the
first hub; undeclared: 404). Each hub has its own state (``task_hubs.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
from pathlib import Path

from aiohttp import web

from ..core.versioning import VersioningSettings, VersionMatchStrategy
from ..grpc_api import FacadeOperations, GrpcEndpoint, GrpcEndpointError, HubService
from ..http.api import create_app
from ..http.hubs import HttpHub
from ..runtime.clock import TimeSkipping
from ..runtime.limits import Limits
from ..store import StoreError
from ..worker.index import FunctionIndex
from ..worker.workitems import DEFAULT_HUB, HubNameError, TaskHubs, parse_hub_names
from .flags import port_number
from .server import (
    HostOptions,
    LocalHostServer,
    clock_description,
    configure_logging,
)
from .serving import serve_until_signalled
from .task_hubs import HUBS_VARIABLE, SchedulerHub, hub_names, open_hubs

__all__ = ["SchedulerServer", "add_scheduler_parser", "run_scheduler", "DEFAULT_GRPC_PORT",
           "DEFAULT_DASHBOARD_PORT", "DEFAULT_SCHEDULER_STATE"]

log = logging.getLogger("emulator")

DEFAULT_GRPC_PORT = 8080
DEFAULT_DASHBOARD_PORT = 8082
DEFAULT_SCHEDULER_STATE = ".emulator/scheduler.db"
EPILOG = f"""task hubs (kept apart, as in the Scheduler emulator):
  --task-hubs default,orders    two hubs; {HUBS_VARIABLE}=default,orders does the same
  durabletask-azuremanaged      names its hub in the taskhub header (taskhub="orders")
  plain durabletask             sends no header: the first hub
  undeclared hub                gRPC NOT_FOUND "Task hub not found: NAME"; HTTP 404
  dashboard, management API     /dashboard/?taskHub=orders (none: the first hub)
  state                         hub "default": STATE; hub NAME: STATE's stem.NAME.db
"""


class SchedulerServer(LocalHostServer):
    """A local host whose workers are durabletask workers (no app to load), serving the task
    hubs ``task_hubs`` (the first is the default one), each with its own runtime."""

    SCHEDULER = True

    def __init__(self, options: HostOptions, task_hubs: tuple[str, ...] = (DEFAULT_HUB,)) -> None:
        super().__init__(options)
        self.task_hubs = task_hubs
        self.hubs: list[SchedulerHub] = []

    def prepare(self) -> FunctionIndex:
        """Take every hub's state (raises StoreError; nothing is kept then)."""
        if not self.hubs:
            self.hubs = open_hubs(self.task_hubs, self.options.state_path(),
                                  Path(self.options.app_dir).resolve())
        self.app = self.hubs[0].index
        # The Scheduler leaves versions to the workers (their VersioningOptions): it runs any.
        self.versioning = VersioningSettings(match_strategy=VersionMatchStrategy.NONE)
        return self.app

    async def start(self) -> int:
        options = self.options
        app = self.app or self.prepare()
        limits = self._worker_limits(Limits.from_host_json(
            app.host_json, max_activities=options.max_activities,
            max_orchestrators=options.max_orchestrators, threads=options.threads))
        try:
            for hub in self.hubs:
                hub.start(options.time_skipping, limits, self.versioning)
            self.worker = self.hubs[0].worker  # the default hub's (closed with its engine)
            self.engine = self.hubs[0].engine
            grpc_hubs = TaskHubs({hub.name: HubService(
                FacadeOperations(hub.operations, scheduler=True), hub.dispatcher)
                for hub in self.hubs})
            self._grpc = GrpcEndpoint(hubs=grpc_hubs, host=options.bind,
                                      port=options.grpc_port)
            await self._grpc.start()
            for hub in self.hubs:
                hub.operations.rpc_base_url = self._grpc.rpc_base_url
            # No triggers: an empty source, for the dashboard's Triggers page.
            self.triggers = self._trigger_host(self.hubs[0].operations)
            http_hubs = TaskHubs({hub.name: HttpHub.of(hub.operations, hub.dispatcher)
                                  for hub in self.hubs})
            self._runner = web.AppRunner(create_app(http_hubs, app, triggers=self.triggers),
                                         access_log=None, handle_signals=False)
            await self._runner.setup()  # the engines load their states here
        except BaseException:
            for hub in self.hubs:
                hub.close_store()  # (closing twice is harmless)
            await self._stop_grpc()
            raise
        for hub in self.hubs:
            hub.started()
        await self._listen_http()
        self._log_banner(limits, self.hubs[0].engine.store.description)
        self.triggers.start()
        return self.port

    def _worker_limits(self, limits: Limits) -> Limits:
        # The workers bound their own calls; an episode or entity batch waits for a worker (to
        # connect, or one whose filters take it) with no thread (RemoteWorker awaits it), so
        # there is no limit on concurrent episodes unless one is asked for.
        return dataclasses.replace(
            limits, orchestrator_timeout=None, function_timeout=None,
            max_orchestrators=(0 if self.options.max_orchestrators is None
                               else limits.max_orchestrators))

    async def stop(self) -> None:
        for hub in self.hubs:
            hub.close_store()  # prepared but never started
            if hub.worker is not None:
                hub.worker.dispatcher.close()  # the work-item streams end first
        await super().stop()

    def _log_banner(self, limits: Limits, store: str) -> None:
        base = f"http://{self.options.bind}:{self.port}"
        hubs = [f"  {hub.name}: state {hub.engine.store.description}"
                + ("" if i == 0 else f"; dashboard {base}/dashboard/?taskHub={hub.name}")
                for i, hub in enumerate(self.hubs)]
        log.info("\n".join([
            f"Scheduler for durabletask workers and clients "
            f"({clock_description(self.options.time_skipping)}; "
            f"activities <= {limits.max_activities or 'unlimited'}, "
            f"orchestrators <= {limits.max_orchestrators or 'unlimited'}, per task hub)",
            "Task hubs (a call's taskhub header, a URL's ?taskHub=; neither: the first):",
            *hubs,
            f"Workers and clients (gRPC): {self.options.bind}:{self.grpc_port}",
            f"Dashboard: {base}/dashboard/"]))

    @property
    def grpc_port(self) -> int | None:
        return self._grpc.port if self._grpc is not None else None


def add_scheduler_parser(sub: argparse._SubParsersAction, time_skipping: object,
                         log_levels: tuple[str, ...], positive: object) -> None:
    """The ``scheduler`` command's flags (``time_skipping``, ``positive``: the serve flags'
    value types, shared)."""
    parser = sub.add_parser(
        "scheduler", help="serve standalone durabletask workers and clients (no app)",
        description=__doc__.split("\n\n")[0], epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grpc-port", type=port_number, default=DEFAULT_GRPC_PORT,
                        metavar="PORT", help="the gRPC endpoint for workers and clients "
                        f"(0: a free one; default {DEFAULT_GRPC_PORT})")
    parser.add_argument("--port", type=port_number, default=DEFAULT_DASHBOARD_PORT,
                        help="HTTP port of the dashboard and the management API "
                             f"(0: a free one; default {DEFAULT_DASHBOARD_PORT})")
    parser.add_argument("--bind", default="127.0.0.1", metavar="ADDR",
                        help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--state", default=DEFAULT_SCHEDULER_STATE, metavar="PATH|:memory:",
                        help="SQLite state file, or :memory: for no persistence "
                             f"(default {DEFAULT_SCHEDULER_STATE})")
    parser.add_argument("--task-hubs", type=_hub_list, default=None, metavar="NAME,...",
                        help="the task hubs to serve, kept apart (default: the "
                             f"{HUBS_VARIABLE} variable's list, else one hub named "
                             f"{DEFAULT_HUB!r}); the first takes calls with no taskhub header "
                             "and URLs with no ?taskHub=; a hub other than 'default' keeps "
                             "its state in STATE's stem.NAME.db")
    parser.add_argument("--time-skipping", type=time_skipping, nargs="?",
                        const=TimeSkipping.ALWAYS, default=TimeSkipping.OFF, metavar="MODE",
                        help="jump the clock to the next due timer when nothing else can run "
                             "(always, while-waiting or off; each hub has its own clock)")
    parser.add_argument("--log-level", choices=log_levels, default="info")
    parser.add_argument("--max-activities", type=positive, default=None, metavar="N",
                        help="concurrent activities (0: unlimited)")
    parser.add_argument("--max-orchestrators", type=positive, default=None, metavar="N",
                        help="concurrent orchestrator episodes (default and 0: unlimited)")


def _hub_list(text: str) -> tuple[str, ...]:
    try:
        return parse_hub_names(text)
    except HubNameError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run_scheduler(args: argparse.Namespace) -> int:
    try:
        task_hubs = args.task_hubs or hub_names(None, os.environ)
    except HubNameError as exc:
        return _fail(str(exc))
    output = configure_logging(args.log_level)
    options = HostOptions(app_dir=Path("."), port=args.port, bind=args.bind,
                          state=args.state, time_skipping=args.time_skipping,
                          max_activities=args.max_activities,
                          max_orchestrators=args.max_orchestrators, grpc_port=args.grpc_port,
                          worker="in-process", blocked_loop_seconds=0)
    try:
        return asyncio.run(_run(options, task_hubs))
    except StoreError as exc:
        return _fail(f"--state: {exc}")
    except OSError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 0
    finally:
        output.stop()


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


async def _run(options: HostOptions, task_hubs: tuple[str, ...]) -> int:
    server = SchedulerServer(options, task_hubs)
    server.prepare()
    try:
        port = await server.start()
    except GrpcEndpointError as exc:
        raise OSError(f"--grpc-port: {exc}") from exc
    except OSError as exc:
        raise OSError(f"--port: {exc}") from exc
    return await serve_until_signalled(
        server, f"Scheduler listening on grpc://{options.bind}:{server.grpc_port} "
                f"(dashboard http://{options.bind}:{port}/dashboard/)")
