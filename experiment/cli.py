"""`python -m experiment`: the fan-out latency experiment.

Subcommands: `run` (a sweep against any base URL), `demo` (start Azurite and the local host, run
the default sweep in both modes, stop them), `summarize` (print the table of a results.json) and
`plot` (redraw its figures). Every flag is defined once, in the `_add_*` functions below.
Exit status: 0 done, 1 the experiment failed (one line on stderr), 2 bad flags, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from api.fanout import MAX_CALLS, MAX_DELAY_MS
from experiment import results
from experiment.demo import run_demo
from experiment.measure import REPO_ROOT, default_out_dir, execute, parameters_of
from experiment.runner import KEY_ENV, ExperimentError, SweepOptions, plan

DEFAULT_BASE_URL = "http://localhost:7071"

EPILOG = """examples:
  python -m experiment demo                                   # what `make run` does
  python -m experiment run --mode http --calls 1,10,100,1000 --delay-ms 1000
  python -m experiment run --mode http --calls 8,16,64 --max-connections 8
  python -m experiment run --mode http --calls 6,12,24 --f2 sync
  python -m experiment run --mode durable --sites 10,100,1000 --connect-ms 1000 --work-ms 2000
  python -m experiment run --base-url https://APP.azurewebsites.net --key KEY --repeat 3
  python -m experiment summarize results/20260101-120000
  python -m experiment plot results/20260101-120000
"""


def _int_in(low: int, high: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    return parse


def _int_list(low: int, high: int):
    one = _int_in(low, high)

    def parse(text: str) -> list[int]:
        items = [item.strip() for item in text.split(",") if item.strip()]
        if not items:
            raise argparse.ArgumentTypeError("expected comma-separated integers, e.g. 1,10,100")
        return [one(item) for item in items]

    return parse


def _cap(text: str) -> int | None:
    return None if text.lower() in ("none", "0") else _int_in(1, MAX_CALLS)(text)


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("target")
    group.add_argument(
        "--base-url",
        default=DEFAULT_BASE_URL,
        help="the app's base URL (default: %(default)r, the local host)",
    )
    group.add_argument(
        "--key", default=None, help=f"function key for a deployed app (default: ${KEY_ENV} if set)"
    )
    group.add_argument(
        "--app-dir",
        type=Path,
        default=REPO_ROOT,
        help="app folder whose host.json describes a local target (default: the repository)",
    )


def _add_measure_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("measurement")
    group.add_argument(
        "--repeat",
        type=_int_in(1, 100),
        default=1,
        help="measured runs per point; the table shows medians (default: %(default)r)",
    )
    group.add_argument(
        "--warmup",
        type=_int_in(0, 10),
        default=1,
        help="unrecorded runs before each uncapped async HTTP point, so F1's connections to F2 "
        "are open as on a warm instance (default: %(default)r)",
    )
    group.add_argument(
        "--timeout",
        type=_int_in(1),
        default=300,
        help="seconds allowed per request and per orchestration (default: %(default)r)",
    )
    group.add_argument(
        "--poll-ms",
        type=_int_in(5, 10_000),
        default=50,
        help="status polling interval for durable runs (default: %(default)r)",
    )
    group.add_argument(
        "--no-plot", action="store_true", help="skip the figures (default: draw them)"
    )


def _add_sweep_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("sweep")
    group.add_argument(
        "--mode",
        choices=("http", "durable", "both"),
        default="both",
        help="http: F1 -> F2; durable: process_sites (default: %(default)r)",
    )
    group.add_argument(
        "--calls",
        type=_int_list(1, MAX_CALLS),
        default=[1, 10, 100, 1000],
        help="N values, comma-separated (default: 1,10,100,1000)",
    )
    group.add_argument(
        "--sites",
        type=_int_list(1, 100_000),
        default=None,
        help="site counts for durable runs (default: the --calls values)",
    )
    group.add_argument(
        "--delay-ms",
        type=_int_in(0, MAX_DELAY_MS),
        default=1000,
        help="d, F2's wait per call (default: %(default)r)",
    )
    group.add_argument(
        "--connect-ms",
        type=_int_in(0, 60_000),
        default=1000,
        help="durable: each site's connect time (default: %(default)r)",
    )
    group.add_argument(
        "--work-ms",
        type=_int_in(0, 600_000),
        default=2000,
        help="durable: each site's work time (default: %(default)r)",
    )
    group.add_argument(
        "--max-connections",
        type=_cap,
        default=None,
        help="cap on F1's concurrent connections to F2, to reproduce batches; 'none' or 0 "
        "for no cap (default: None)",
    )
    group.add_argument(
        "--f2",
        choices=("async", "sync", "cpu"),
        default="async",
        help="HTTP: F2 waits with asyncio.sleep (async) or time.sleep in the worker's thread "
        "pool (sync, shows thread-pool batches), or computes for d ms of CPU (cpu: waves of "
        "min(cores, FUNCTIONS_WORKER_PROCESS_COUNT)) (default: %(default)r)",
    )


def _add_out_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default: results/<UTC timestamp>)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m experiment",
        description="Fan-out latency experiment: F1 -> F2 over HTTP, and a Durable fan-out.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="sweep N against a running app",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_target_options(run)
    _add_sweep_options(run)
    _add_measure_options(run)
    _add_out_option(run)
    demo = sub.add_parser(
        "demo",
        help="start Azurite + the local host, run the default sweep "
        "in both modes, stop them (what `make run` does)",
    )
    demo.add_argument(
        "--port",
        type=_int_in(0, 65535),
        default=0,
        help="local host port (default: %(default)r, a free port)",
    )
    demo.add_argument(
        "--quick",
        action="store_true",
        help="a smaller sweep (N up to 100, d = 200 ms) for a fast check",
    )
    demo.add_argument(
        "--app-dir", type=Path, default=REPO_ROOT, help="the app to serve (default: the repository)"
    )
    demo.add_argument(
        "--worker-processes",
        type=_int_in(1, 10),
        default=1,
        help="the host's FUNCTIONS_WORKER_PROCESS_COUNT: the CPU F2's waves are min(cores, this) "
        "calls wide (default: %(default)r, as in Azure)",
    )
    _add_out_option(demo)
    for name, text in (
        ("summarize", "print the table of a results folder or results.json"),
        ("plot", "redraw the figures of a results folder or results.json"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("path", type=Path, help="a results folder or its results.json")
        if name == "plot":
            _add_out_option(cmd)
    return parser


def cmd_run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    modes = ("http", "durable") if args.mode == "both" else (args.mode,)
    if args.max_connections and "http" not in modes:
        parser.error("--max-connections: applies to --mode http or both, not durable")
    if args.f2 != "async" and "http" not in modes:
        parser.error("--f2: applies to --mode http or both, not durable")
    if args.sites and "durable" not in modes:
        parser.error("--sites: applies to --mode durable or both, not http")
    key = args.key or os.environ.get(KEY_ENV) or None
    specs = plan(
        modes,
        args.calls,
        args.sites or args.calls,
        args.delay_ms,
        args.connect_ms,
        args.work_ms,
        args.max_connections,
        args.f2,
    )
    options = SweepOptions(
        repeat=args.repeat, warmup=args.warmup, timeout_s=args.timeout, poll_ms=args.poll_ms
    )
    return execute(
        specs,
        args.base_url,
        key,
        options,
        args.out or default_out_dir(),
        parameters_of(args),
        args.app_dir,
        draw=not args.no_plot,
    )


def cmd_summarize(args: argparse.Namespace) -> int:
    document = results.load(args.path)
    print(results.render_table(document))
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from experiment.plot import plot_all

    document = results.load(args.path)
    out = args.out or (args.path if args.path.is_dir() else args.path.parent)
    out.mkdir(parents=True, exist_ok=True)
    print("wrote " + ", ".join(str(p) for p in plot_all(document, out)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args, parser)
        if args.command == "demo":
            return run_demo(args)
        if args.command == "summarize":
            return cmd_summarize(args)
        return cmd_plot(args)
    except (ExperimentError, results.ResultsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
