"""``python -m emulator``: serve an app, print an instance's timeline, or replay a history.

    python -m emulator [--app DIR] [--port N] [--state PATH|:memory:] [--time-skipping[=MODE]] ...
    python -m emulator history INSTANCE_ID [--state PATH | --url URL] [--json]
    python -m emulator replay HISTORY.json [--app DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import urllib.error
import urllib.request
from pathlib import Path

from ..protocol import jsonsafe
from ..protocol.enums import EventType, RuntimeStatus
from ..runtime.clock import TimeSkipping
from ..store import StoreError
from ..worker.loader import AppLoadError, load_app
from .flags import port_number
from .scheduler import add_scheduler_parser, run_scheduler
from .server import (
    DEFAULT_PORT,
    DEFAULT_STATE,
    HostOptions,
    LocalHostServer,
    configure_logging,
    tune_gc,
)
from .serving import serve_until_signalled
from .workers import WorkerMode

LOG_LEVELS = ("debug", "info", "warning", "error")

EPILOG = """examples:
  python -m emulator                                  serve ./function_app.py on :7071
  python -m emulator --time-skipping --state :memory: timers and retry delays take no time
  python -m emulator --time-skipping=while-waiting    ... but only while a client waits
  python -m emulator --azurite                        also start Azurite for the app's blobs
  python -m emulator history <id>                     timeline of an instance (state file)
  python -m emulator history <id> --plot t.png        ... and draw it
  python -m emulator history <id> --json > h.json     export its history
  python -m emulator replay h.json                    check today's code against that history
  python -m emulator scheduler --state :memory:       durabletask workers and clients on :8080
"""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {value}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 1 <= value <= 7 * 24 * 3600:
        raise argparse.ArgumentTypeError(f"must be 1-604800 seconds, not {text}")
    return value


def _time_skipping(text: str) -> TimeSkipping:
    try:
        return TimeSkipping.parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected always, while-waiting or off, not {text!r}") from None


def _setting(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}")
    return key, value


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows a flag's default when it has a value, and keeps the examples as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, [], argparse.SUPPRESS) \
                and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emulator",
        description="Serve a Python Durable Functions app like `func start`, with the durable "
                    "orchestrations run by a local engine (no Functions host, no Azure).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="{serve,scheduler,history,replay}")

    serve = sub.add_parser(
        "serve", help="serve the app (the default command)", epilog=EPILOG,
        usage="python -m emulator [serve] [flags]   (also: history, replay; see examples)",
        description="Serve a Python Durable Functions app like `func start`, with the durable "
                    "orchestrations run by a local engine (no Functions host, no Azure).",
        formatter_class=_HelpFormatter)
    serve.add_argument("--app", default=".", metavar="DIR",
                       help="the app folder, holding function_app.py and host.json")
    serve.add_argument("--port", type=port_number, default=DEFAULT_PORT,
                       help="HTTP port (0: pick a free one)")
    serve.add_argument("--bind", default="127.0.0.1", metavar="ADDR",
                       help="address to listen on")
    serve.add_argument("--grpc-port", type=port_number, default=0, metavar="PORT",
                       help="for an app on the 2.x durable SDK: the port of the gRPC endpoint "
                            "its durable client calls (0: pick a free one)")
    serve.add_argument("--state", default=DEFAULT_STATE, metavar="PATH|:memory:",
                       help="SQLite state file (relative paths: under the app folder), or "
                            ":memory: for no persistence")
    serve.add_argument(
        "--time-skipping", type=_time_skipping, nargs="?", const=TimeSkipping.ALWAYS,
        default=TimeSkipping.OFF, metavar="MODE",
        help="jump the clock to the next due timer when nothing else can run. 'always' "
             "(what the bare flag means) skips whenever the host is idle: for tests and "
             "scripts. 'while-waiting' skips only while a client waits on an instance (a "
             "start with timeout, a status poll with waitingSeconds, LocalHost.wait, the "
             "SDK's wait_for_completion_or_create_check_status_response): for a person at a "
             "terminal, who can still act before a 24-hour timeout fires. 'off': real time")
    serve.add_argument("--log-level", choices=LOG_LEVELS, default="info",
                       help="one line per orchestration and activity event at info")
    serve.add_argument("--max-activities", type=_positive, default=None, metavar="N",
                       help="concurrent activities (default: host.json "
                            "maxConcurrentActivityFunctions, else 10 x CPUs; 0: unlimited)")
    serve.add_argument("--max-orchestrators", type=_positive, default=None, metavar="N",
                       help="concurrent orchestrator episodes (default: host.json "
                            "maxConcurrentOrchestratorFunctions, else 10 x CPUs; 0: unlimited)")
    serve.add_argument("--threads", type=_positive, default=None, metavar="N",
                       help="thread pool for synchronous functions (default: "
                            "PYTHON_THREADPOOL_THREAD_COUNT, else min(32, CPUs + 4))")
    serve.add_argument("--setting", type=_setting, action="append", default=[],
                       metavar="KEY=VALUE", help="an app setting (wins over local.settings.json)")
    serve.add_argument("--sdk-dateutil", action="store_true",
                       help="keep the SDK's own slow paths (its timestamp parser, and the "
                            "typing-mode lookup for every value) instead of the local host's "
                            "equivalent fast ones")
    serve.add_argument("--worker", choices=[m.value for m in WorkerMode],
                       default=WorkerMode.PROCESS.value,
                       help="where the app's code runs: worker processes of the app's "
                            "interpreter (FUNCTIONS_WORKER_PROCESS_COUNT of them, as Functions "
                            "runs Python) or this process (default: %(default)s)")
    serve.add_argument("--python", default=None, metavar="PATH",
                       help="the workers' interpreter, or a virtual environment folder "
                            "(default: the active VIRTUAL_ENV's, else the host's own)")
    serve.add_argument("--core-tools-banner", action="store_true", help=argparse.SUPPRESS)
    serve.add_argument("--azurite", action="store_true",
                       help="start Azurite (blob, queue, table) on free ports and point "
                            "AzureWebJobsStorage and BACKUP_STORAGE_CONNECTION at it")
    serve.add_argument("--queue-lease", type=_positive_seconds, default=None, metavar="SECONDS",
                       help="how long a queue message the host is running stays invisible "
                            "(renewed at half-time; default 30; the Functions host uses 600): "
                            "a message held by a host that was killed comes back after it")

    add_scheduler_parser(sub, _time_skipping, LOG_LEVELS, _positive)

    history = sub.add_parser("history", help="print the timeline of an instance")
    history.add_argument("instance_id")
    source = history.add_mutually_exclusive_group()
    source.add_argument("--state", default=None, metavar="PATH",
                        help=f"state file to read (default: {DEFAULT_STATE} under --app)")
    source.add_argument("--url", default=None,
                        help="a running local host, e.g. http://localhost:7071")
    history.add_argument("--app", default=".", metavar="DIR", help="the app folder")
    output = history.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true",
                        help="print the raw history as JSON (input for `replay`)")
    output.add_argument("--plot", metavar="PNG", default=None,
                        help="also draw the timeline (one bar per task and timer) into PNG")

    replay = sub.add_parser("replay", help="re-run the current orchestrator code against an "
                                           "exported history and report non-determinism")
    replay.add_argument("history_file", metavar="HISTORY.json")
    replay.add_argument("--app", default=".", metavar="DIR", help="the app folder")
    replay.add_argument("--orchestrator", default=None, metavar="NAME",
                        help="orchestrator to run (default: the one named in the history)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("serve", "scheduler", "history", "replay"):
        argv.insert(0, "serve")  # `python -m emulator --help` documents the serve flags
    args = build_parser().parse_args(argv)
    if args.command == "history":
        return _history(args)
    if args.command == "replay":
        return _replay(args)
    if args.command == "scheduler":
        return run_scheduler(args)
    return _serve(args)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _serve(args: argparse.Namespace) -> int:
    output = configure_logging(args.log_level)
    try:
        return _serve_logged(args)
    finally:
        output.stop()


def _serve_logged(args: argparse.Namespace) -> int:
    settings = dict(args.setting)
    azurite = None
    if args.azurite:
        from .azurite import Azurite, AzuriteError

        try:
            azurite = Azurite(Path(args.app).resolve() / ".azurite", queue=True,
                              table=True).start()
        except AzuriteError as exc:
            return _fail(str(exc))
        for key in ("AzureWebJobsStorage", "BACKUP_STORAGE_CONNECTION"):
            settings.setdefault(key, azurite.connection_string)
        logging.getLogger("emulator").info(
            "Azurite on %s (blob), %s (queue), %s (table)", azurite.blob_endpoint,
            azurite.queue_endpoint, azurite.table_endpoint)
    options = HostOptions(app_dir=Path(args.app), port=args.port, bind=args.bind,
                          state=args.state, time_skipping=args.time_skipping,
                          max_activities=args.max_activities,
                          max_orchestrators=args.max_orchestrators, threads=args.threads,
                          settings=settings, sdk_dateutil=args.sdk_dateutil,
                          worker=args.worker, python=args.python,
                          core_tools_banner=args.core_tools_banner, grpc_port=args.grpc_port,
                          queue_lease=args.queue_lease)
    try:
        return asyncio.run(_run(options))
    except (AppLoadError, StoreError) as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 0
    finally:
        if azurite is not None:
            azurite.stop()


async def _run(options: HostOptions) -> int:
    server = LocalHostServer(options)
    server.prepare()
    port = await server.start()
    tune_gc()  # this process is the host's own (in-process test hosts keep the defaults)
    return await serve_until_signalled(server,
                                       f"Local host listening on http://{options.bind}:{port}")


def _load_instance(args: argparse.Namespace) -> tuple[dict, list[dict]] | str:
    if args.url:
        url = (f"{args.url.rstrip('/')}/admin/emulator/instances/"
               f"{urllib.request.quote(args.instance_id, safe='')}/history")
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                data = json.load(response)
        except urllib.error.HTTPError as exc:
            return f"{url}: HTTP {exc.code} (unknown instance?)"
        except (urllib.error.URLError, OSError) as exc:
            return f"cannot reach {args.url}: {exc}"
        return data["instance"], data["history"]
    from dataclasses import asdict

    from ..store import SqliteStore

    path = Path(args.state) if args.state else Path(args.app) / DEFAULT_STATE
    if not path.exists():
        return f"no state file at {path} (pass --state or --url)"
    try:
        store = SqliteStore(str(path), read_only=True)  # a running host may own it
        try:
            snapshot = store.load()
        finally:
            store.close()
    except StoreError as exc:
        return str(exc)
    record = snapshot.instances.get(args.instance_id)
    if record is None:
        return f"no instance {args.instance_id!r} in {path}"
    return asdict(record), snapshot.histories.get(args.instance_id, [])


def _history(args: argparse.Namespace) -> int:
    from ..views.timeline import format_timeline

    loaded = _load_instance(args)
    if isinstance(loaded, str):
        return _fail(loaded)
    record, history = loaded
    if args.json:
        print(json.dumps({"instance": record, "history": history}, indent=1))
        return 0
    print(format_timeline(record, history))
    if args.plot:
        from ..views.plot import plot_timeline

        print(f"timeline drawn in {plot_timeline(record, history, Path(args.plot))}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from ..worker.replay_check import check_replay

    try:
        data = jsonsafe.loads(Path(args.history_file).read_bytes(), max_bytes=1 << 31)
    except (OSError, jsonsafe.JsonInputError) as exc:
        return _fail(f"cannot read {args.history_file}: {exc}")
    history = data["history"] if isinstance(data, dict) else data
    record = data.get("instance", {}) if isinstance(data, dict) else {}
    started = next((e for e in history
                    if e.get("EventType") == EventType.EXECUTION_STARTED), None)
    if started is None:
        return _fail(f"{args.history_file}: no ExecutionStarted event in the history")
    name = args.orchestrator or record.get("name") or started.get("Name")
    record = {"instance_id": started["OrchestrationInstance"]["InstanceId"],
              "execution_id": started["OrchestrationInstance"]["ExecutionId"],
              "name": name, "status": RuntimeStatus.Running, "input": started.get("Input"),
              "created": started["Timestamp"], "last_updated": started["Timestamp"],
              **{k: v for k, v in record.items() if k in ("parent",)}}
    try:
        app = load_app(args.app)
    except AppLoadError as exc:
        return _fail(str(exc))
    function = app.orchestrator(name)
    if function is None:
        return _fail(f"the app has no orchestrator {name!r} "
                     f"(known: {', '.join(o.name for o in app.orchestrators.values())})")
    ok, report = check_replay(app.code_of(function), record, history, sdk=app.sdk)
    print(report)
    return 0 if ok else 1
