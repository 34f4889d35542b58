"""``python -m emulator scheduler``: the local host with no Functions app, serving standalone
durabletask workers and clients (``TaskHubGrpcWorker`` / ``TaskHubGrpcClient``, or
durabletask-azuremanaged's ``DurableTaskScheduler*``) on one gRPC endpoint, as the Durable Task
Scheduler emulator does - without Docker, with the same engine, SQLite state, time skipping,
dashboard and management API as the Functions mode.

    python -m emulator scheduler [--grpc-port 8080] [--port 8082] [--state PATH|:memory:]
        [--time-skipping[=MODE]] [--bind ADDR] [--log-level LEVEL]

The ports default to the Scheduler emulator image's (gRPC 8080, dashboard 8082), so it is a
drop-in for it. The ``taskhub`` metadata header of durabletask-azuremanaged is accepted and
ignored: one task hub serves every name.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
from pathlib import Path

from ..core.versioning import VersioningSettings, VersionMatchStrategy
from ..grpc_api import GrpcEndpointError
from ..runtime.clock import TimeSkipping
from ..runtime.limits import Limits
from ..store import StoreError, open_store
from ..worker.index import FunctionIndex
from ..worker.workitems import RemoteWorker, WorkItemDispatcher, open_index
from .flags import port_number
from .server import HostOptions, LocalHostServer, clock_description, configure_logging
from .serving import serve_until_signalled

__all__ = ["SchedulerServer", "add_scheduler_parser", "run_scheduler", "DEFAULT_GRPC_PORT",
           "DEFAULT_DASHBOARD_PORT", "DEFAULT_SCHEDULER_STATE"]

log = logging.getLogger("emulator")

DEFAULT_GRPC_PORT = 8080
DEFAULT_DASHBOARD_PORT = 8082
DEFAULT_SCHEDULER_STATE = ".emulator/scheduler.db"


class SchedulerServer(LocalHostServer):
    """A local host whose worker is the work-item dispatcher (no app to load)."""

    SCHEDULER = True

    def prepare(self) -> FunctionIndex:
        if self.store is None:
            self.store = open_store(self.options.state_path())
        self.app = open_index(Path(self.options.app_dir).resolve())
        # The Scheduler leaves versions to the workers (their VersioningOptions): it runs any.
        self.versioning = VersioningSettings(match_strategy=VersionMatchStrategy.NONE)
        return self.app

    async def _start_worker(self, limits: Limits) -> None:
        self.worker = RemoteWorker(self.app, WorkItemDispatcher())

    def _work_items(self) -> WorkItemDispatcher | None:
        return self.worker.dispatcher if isinstance(self.worker, RemoteWorker) else None

    def _worker_limits(self, limits: Limits) -> Limits:
        # The workers bound their own calls; an episode or entity batch waits for a worker (to
        # connect, or one whose filters take it) with no thread (RemoteWorker awaits it), so
        # there is no limit on concurrent episodes unless one is asked for.
        return dataclasses.replace(
            limits, orchestrator_timeout=None, function_timeout=None,
            max_orchestrators=(0 if self.options.max_orchestrators is None
                               else limits.max_orchestrators))

    async def stop(self) -> None:
        if isinstance(self.worker, RemoteWorker):
            self.worker.dispatcher.close()  # the work-item streams end first
        await super().stop()

    def _log_banner(self, limits: Limits, store: str) -> None:
        base = f"http://{self.options.bind}:{self.port}"
        log.info("\n".join([
            f"Scheduler for durabletask workers and clients (state: {store}; "
            f"{clock_description(self.options.time_skipping)}; "
            f"activities <= {limits.max_activities or 'unlimited'}, "
            f"orchestrators <= {limits.max_orchestrators or 'unlimited'})",
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
        description=__doc__.split("\n\n")[0])
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
    parser.add_argument("--time-skipping", type=time_skipping, nargs="?",
                        const=TimeSkipping.ALWAYS, default=TimeSkipping.OFF, metavar="MODE",
                        help="jump the clock to the next due timer when nothing else can run "
                             "(always, while-waiting or off)")
    parser.add_argument("--log-level", choices=log_levels, default="info")
    parser.add_argument("--max-activities", type=positive, default=None, metavar="N",
                        help="concurrent activities (0: unlimited)")
    parser.add_argument("--max-orchestrators", type=positive, default=None, metavar="N",
                        help="concurrent orchestrator episodes (default and 0: unlimited)")


def run_scheduler(args: argparse.Namespace) -> int:
    output = configure_logging(args.log_level)
    options = HostOptions(app_dir=Path("."), port=args.port, bind=args.bind,
                          state=args.state, time_skipping=args.time_skipping,
                          max_activities=args.max_activities,
                          max_orchestrators=args.max_orchestrators, grpc_port=args.grpc_port,
                          worker="in-process", blocked_loop_seconds=0)
    try:
        return asyncio.run(_run(options))
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


async def _run(options: HostOptions) -> int:
    server = SchedulerServer(options)
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
