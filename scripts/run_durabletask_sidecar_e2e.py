#!/usr/bin/env python3
"""Run durabletask-python's own sidecar tests against the local host's scheduler mode.

    python scripts/run_durabletask_sidecar_e2e.py CHECKOUT [--python PY] [--host-python PY]
        [--report FILE] [--azurite | --no-azurite] [--logs DIR] [-- PYTEST ARGS]

CHECKOUT is a working copy of microsoft/durabletask-python. Its ``tests/durabletask/*_e2e.py``
(and those of its subfolders), and the other modules there that start the suite's in-memory
backend (``durabletask.testing.create_test_backend``: the batch queries and purges, the history
export, entity failures), run a ``TaskHubGrpcWorker`` and a ``TaskHubGrpcClient`` against it.
Here pytest runs them in the checkout with a plugin of ours
(``scripts/durabletask_sidecar_plugin.py``, passed with ``-p``) that makes that function start
``python -m emulator scheduler --grpc-port PORT --state :memory:`` instead; the tests are
unchanged. Tests that need Azurite (large payloads, the history export's blob writer) get it on
127.0.0.1:10000 from ``node_modules`` unless ``--no-azurite``.

One test is left out (``DESELECTED``, printed with its reason): it calls the in-memory
backend's private methods, which no other backend has.

It prints the counts and every failure's cause (first line of the error), and writes them as
JSON with ``--report``. Nothing of the checkout is copied into this repository.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_durabletask_e2e import (  # noqa: E402 - a sibling script
    REPO,
    SetupError,
    port_open,
    read_junit,
    start_azurite,
    stop,
    summarize,
)

SUITE = Path("tests") / "durabletask"
AZUREMANAGED_SUITE = Path("tests") / "durabletask-azuremanaged"
PLUGIN = "durabletask_sidecar_plugin"
BACKEND_CALL = "create_test_backend("  # a module that starts the suite's backend
ASYNC_TEST = "async def test_"  # a module with tests that need pytest-asyncio
# node id -> why it cannot run against another backend
DESELECTED = {
    "tests/durabletask/test_delayed_signal_normalization.py::TestDelayedTimerLifecycle::"
    "test_delayed_operation_does_not_fire_into_reset_backend":
        "drives the in-memory backend's private _schedule_delayed_entity_operation",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="working copy of microsoft/durabletask-python")
    parser.add_argument("--python", type=Path, default=Path(sys.executable),
                        help="interpreter that runs pytest (durabletask's dependencies, grpcio "
                             "and pytest; default: this one)")
    parser.add_argument("--host-python", type=Path, default=None,
                        help="interpreter of the local host (default: the repository's .venv)")
    parser.add_argument("--report", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--logs", type=Path, default=None,
                        help="folder for each host's log (default: a temporary one)")
    parser.add_argument("--azuremanaged", action="store_true",
                        help="run durabletask-azuremanaged's Scheduler tests instead "
                             "(tests/durabletask-azuremanaged: they expect the Scheduler "
                             "emulator at ENDPOINT; here one scheduler host serves them all)")
    parser.add_argument("--no-azurite", action="store_true",
                        help="do not start Azurite (its tests then fail or skip)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds for the whole run")
    ours, _, theirs = (argv[:argv.index("--")], None, argv[argv.index("--") + 1:]) \
        if "--" in argv else (argv, None, [])
    args = parser.parse_args(ours)
    args.pytest_args = theirs  # test files or node ids here replace the whole suite
    # The suite runs in the checkout: a relative path means one from here (absolute(), not
    # resolve(): a virtual environment's python is a symlink that must stay one).
    for name in ("python", "host_python", "report", "logs"):
        if getattr(args, name) is not None:
            setattr(args, name, getattr(args, name).absolute())
    return args


def test_files(checkout: Path, azuremanaged: bool = False) -> list[str]:
    """The suite's modules that need a backend, relative to the checkout: ``*_e2e.py`` and
    those that start the in-memory backend (durabletask-azuremanaged's: ``*_e2e.py`` and
    ``test_dts_*.py``, the ones that need a Scheduler)."""
    suite = AZUREMANAGED_SUITE if azuremanaged else SUITE
    found = set((checkout / suite).rglob("*_e2e.py"))
    if azuremanaged:
        found |= set((checkout / suite).rglob("test_dts_*.py"))
    else:
        found |= {f for f in (checkout / suite).rglob("test_*.py")
                  if BACKEND_CALL in f.read_text(errors="ignore")}
    if not found:
        raise SetupError(f"CHECKOUT: no {suite}/**/*_e2e.py in {checkout}")
    return sorted(str(f.relative_to(checkout)) for f in found)


def async_test_files(checkout: Path, selected: list[str]) -> list[str]:
    """Those of the selected test files (paths or node ids from the checkout; other pytest
    arguments are ignored) that hold ``async def`` tests, which need pytest-asyncio."""
    paths = {item.split("::")[0] for item in selected}
    return sorted(path for path in paths if path.endswith(".py")
                  and (checkout / path).is_file()
                  and ASYNC_TEST in (checkout / path).read_text(errors="ignore"))


def require_async_support(python: Path, checkout: Path, selected: list[str]) -> None:
    """Refuse to start when the selection has async tests and ``python`` lacks pytest-asyncio:
    each of them would fail after minutes of running ("async def functions are not natively
    supported"), which says nothing about the host."""
    needing = async_test_files(checkout, selected)
    if not needing:
        return
    probe = subprocess.run([str(python), "-c", "import pytest_asyncio"], capture_output=True)
    if probe.returncode != 0:
        shown = ", ".join(needing[:3])
        more = f" and {len(needing) - 3} more" if len(needing) > 3 else ""
        raise SetupError(f"--python {python} has no pytest-asyncio, which the async tests of "
                         f"{shown}{more} need; install it there ({python} -m pip install "
                         "pytest-asyncio) or name other test files after --")


def run(args: argparse.Namespace) -> int:
    checkout = args.checkout.resolve()
    if not (checkout / "durabletask").is_dir():
        raise SetupError(f"CHECKOUT: {checkout} is not a durabletask-python working copy")
    if not args.python.exists():
        raise SetupError(f"--python: no interpreter at {args.python}")
    files = [] if any(a.endswith(".py") or "::" in a for a in args.pytest_args) \
        else test_files(checkout, args.azuremanaged)
    require_async_support(args.python, checkout, files or args.pytest_args)
    deselect = []
    for node, reason in DESELECTED.items():
        if node.split("::")[0] in files:
            print(f"left out: {node} ({reason})", flush=True)
            deselect += ["--deselect", node]
    with tempfile.TemporaryDirectory(prefix="sidecar-e2e-") as scratch_dir:
        scratch = Path(scratch_dir)
        azurite = None
        if not args.no_azurite and not port_open(10000):
            azurite = start_azurite(scratch)
        logs = args.logs or scratch / "hosts"
        logs.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO / "scripts"), str(checkout), env.get("PYTHONPATH")) if p)
        env["EMULATOR_REPO"] = str(REPO)
        env["EMULATOR_LOG_DIR"] = str(logs)
        if args.host_python:
            env["EMULATOR_PYTHON"] = str(args.host_python)
        host = None
        if args.azuremanaged:
            host = _shared_host(env, checkout, logs)
        junit = scratch / "junit.xml"
        command = [str(args.python), "-m", "pytest", *files, "-p", PLUGIN,
                   "-p", "no:cacheprovider", f"--junitxml={junit}", "-q", "-rfE",
                   *deselect, *args.pytest_args]
        print("running:", " ".join(command), flush=True)
        try:
            done = subprocess.run(command, cwd=checkout, env=env, timeout=args.timeout)
            if not junit.exists():
                print(f"pytest wrote no results (exit {done.returncode})", file=sys.stderr)
                return done.returncode or 1
            rows = read_junit(junit)
        finally:
            stop(azurite)
            if host is not None:
                host.stop()
    counts = summarize(rows)
    print("\n" + ", ".join(f"{n} {k}" for k, n in counts.items()))
    for row in rows:
        if row["outcome"] in ("failed", "error"):
            print(f"  {row['outcome'].upper():6} {row['test']}: {row['cause']}")
    if args.report:
        args.report.write_text(json.dumps({"counts": counts, "tests": rows}, indent=2))
    return 0 if counts["failed"] == counts["error"] == 0 else 1


def _shared_host(env: dict[str, str], checkout: Path, logs: Path):  # noqa: ANN202
    """One scheduler host for durabletask-azuremanaged's tests (they share one emulator), and
    the environment that points them at it."""
    import socket

    import durabletask_sidecar_plugin as plugin

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    plugin.configure_logs(logs)
    if env.get("EMULATOR_PYTHON"):
        os.environ["EMULATOR_PYTHON"] = env["EMULATOR_PYTHON"]
    host = plugin.HostBackend(port)
    env["ENDPOINT"] = f"http://localhost:{port}"
    env["TASKHUB"] = "default"
    env[plugin.AZUREMANAGED_ENV] = str(checkout / "durabletask-azuremanaged" / "durabletask")
    return host


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # so the run's cleanup (Azurite, the shared host) runs


def main(argv: list[str] | None = None) -> int:
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except SetupError as exc:
        print(f"run_durabletask_sidecar_e2e: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
