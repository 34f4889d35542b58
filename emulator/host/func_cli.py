"""``func``: Core Tools' everyday command line, served by the local host.

    func start [--port N] [--verbose] [--script-root DIR] [--python PATH]
               [--language-worker -- "<interpreter arguments>"]
    func --version

Run in an app folder, ``func start`` does what Core Tools does: it reads
``local.settings.json``, starts the development storage (Azurite's blob service on
127.0.0.1:10000) when ``AzureWebJobsStorage`` is ``UseDevelopmentStorage=true`` and none is
listening, prints the function list and serves the app on port 7071. Scripts that start
``func start`` and wait for an HTTP route work unchanged. ``--language-worker`` passes
arguments to the worker's interpreter (``-m debugpy --listen 127.0.0.1:5678`` to attach a
debugger), as the app setting ``languageWorkers__python__arguments`` does.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from .. import __version__
from ..worker.loader import AppLoadError, read_local_settings
from .flags import port_number

CORE_TOOLS_VERSION = "4.0.0"
DEV_STORAGE = "UseDevelopmentStorage=true"
DEV_BLOB = ("127.0.0.1", 10000)
LANGUAGE_WORKER = "--language-worker"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="func", description="Azure Functions Core Tools' `func start`, on the local host.")
    parser.add_argument("--version", "-v", action="store_true", help="print the version")
    sub = parser.add_subparsers(dest="command")
    start = sub.add_parser("start", aliases=["host"], help="serve the app in this folder")
    start.add_argument("--port", "-p", type=port_number, default=7071,
                       help="HTTP port (default 7071)")
    start.add_argument("--verbose", action="store_true", help="debug-level logs")
    start.add_argument("--script-root", default=".", metavar="DIR",
                       help="the app folder (default: the current folder)")
    start.add_argument("--python", default=None, metavar="PATH",
                       help="the app's interpreter or virtual environment folder (default: the "
                            "active VIRTUAL_ENV's, else the host's own)")
    start.add_argument("--no-azurite", action="store_true",
                       help="do not start Azurite for UseDevelopmentStorage=true")
    for ignored in ("--cors", "--language", "--functions"):
        start.add_argument(ignored, default=None, help=argparse.SUPPRESS)
    start.add_argument("--cors-credentials", action="store_true", help=argparse.SUPPRESS)
    start.add_argument(LANGUAGE_WORKER, dest="language_worker", default=None,
                       metavar='-- "ARGS"',
                       help="arguments for the worker's interpreter, e.g. "
                            '--language-worker -- "-m debugpy --listen 127.0.0.1:5678"')
    return parser


def split_language_worker(argv: list[str]) -> tuple[list[str], str | None]:
    """Core Tools' ``--language-worker -- "<args>"``: the value after an optional ``--``."""
    if LANGUAGE_WORKER not in argv:
        return argv, None
    at = argv.index(LANGUAGE_WORKER)
    rest = argv[at + 1:]
    if rest and rest[0] == "--":
        rest = rest[1:]
    if not rest:
        return argv, None  # argparse names the missing value
    return argv[:at] + argv[at + 2 + (argv[at + 1] == "--"):], rest[0]


def listening(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=0.3):
            return True
    except OSError:
        return False


def wants_azurite(settings: Mapping[str, str], environ: Mapping[str, str],
                  probe: Callable[[tuple[str, int]], bool] = listening) -> bool:
    """The development storage is asked for (the environment wins over local.settings.json,
    as in Core Tools) and nothing listens on its blob port."""
    storage = environ.get("AzureWebJobsStorage", settings.get("AzureWebJobsStorage", ""))
    return storage.strip().rstrip(";").lower() == DEV_STORAGE.lower() and not probe(DEV_BLOB)


def serve_argv(args: argparse.Namespace, app_dir: Path) -> list[str]:
    """The local host's ``serve`` command line for ``func start``."""
    argv = ["serve", "--app", str(app_dir), "--port", str(args.port),
            "--log-level", "debug" if args.verbose else "info", "--worker", "process",
            "--core-tools-banner"]
    if args.python:
        argv += ["--python", args.python]
    if args.language_worker:
        argv += ["--setting", f"languageWorkers__python__arguments={args.language_worker}"]
    return argv


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    argv, worker_args = split_language_worker(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(f"{CORE_TOOLS_VERSION} (local host {__version__})")
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    if worker_args is not None:
        args.language_worker = worker_args
    app_dir = Path(args.script_root).resolve()
    if not (app_dir / "function_app.py").exists():
        return _fail(f"no function_app.py in {app_dir}: run `func start` in the app folder "
                     "(or pass --script-root DIR)")
    try:
        settings = read_local_settings(app_dir)
    except AppLoadError as exc:
        return _fail(str(exc))
    azurite = None
    if not args.no_azurite and wants_azurite(settings, os.environ):
        from .azurite import Azurite, AzuriteError

        try:
            azurite = Azurite(app_dir / ".azurite", port=DEV_BLOB[1], host=DEV_BLOB[0]).start()
        except AzuriteError as exc:
            return _fail(f"{exc} (AzureWebJobsStorage is {DEV_STORAGE}; start Azurite "
                         "yourself or pass --no-azurite)")
        print(f"Azurite blob service on {azurite.blob_endpoint} (development storage)",
              flush=True)
    from .cli import main as serve

    try:
        return serve(serve_argv(args, app_dir))
    finally:
        if azurite is not None:
            azurite.stop()


if __name__ == "__main__":
    sys.exit(main())
