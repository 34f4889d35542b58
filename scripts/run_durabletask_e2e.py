#!/usr/bin/env python3
"""Run Microsoft's end-to-end suite for the 2.x durable SDK against the local host.

    python scripts/run_durabletask_e2e.py CHECKOUT [--app-python PY] [--host-python PY]
        [--func PATH] [--report FILE] [-- PYTEST ARGS]

CHECKOUT is a working copy of microsoft/durabletask-python. Its suite
``tests/azure-functions-durable/e2e`` (apps ``v1_style`` and ``dtask_style``) starts
``func start --port N`` in each app folder with ``<app>/.venv`` activated, after checking that
``func`` is on PATH and Azurite listens on 127.0.0.1:10000 (its ``noxfile.py`` session
``functions_e2e``). This script provides the same setting with the local host in place of
Core Tools:

- ``<app>/.venv`` is linked to the environment of ``--app-python`` (Python 3.13+ with
  azure-functions-durable 2.x, durabletask and pytest), and removed again afterwards;
- ``func`` on PATH is the repository's ``bin/func`` when there is one (the host on
  ``--host-python``, the app in worker processes on the app's interpreter), else a shim that
  runs the host itself on ``--host-python`` (``python -m emulator --app . --port N``);
- Azurite is started on 10000-10002 (``node_modules``) unless its blob port already listens;
- the tracing test (it needs Docker) is left out, everything else runs; the task hub is fresh.

It prints the counts and every failure's cause (first line of the error), and writes them as
JSON with ``--report``. Nothing of the checkout is copied into this repository.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SUITE = Path("tests") / "azure-functions-durable" / "e2e"
APPS = ("v1_style", "dtask_style")
TRACING_TEST = "test_distributed_tracing_e2e.py"
# Run last: in a host that runs the app in its own process, the export route's synchronous
# client call blocks the event loop the gRPC endpoint shares, and every later test would fail.
LAST = ("test_dtask_history_export_e2e.py",)
AZURITE_PORTS = (10000, 10001, 10002)
UNSKIP_PLUGIN = "unskip_azurite_delays"
# A pytest plugin: drops the suite's skip marks that exist only for Azurite's delayed queue
# visibility (``_markers.azurite_delayed_visibility``), which the local host does not share.
UNSKIP_SOURCE = """
def pytest_collection_modifyitems(items):
    for item in items:
        for node in item.listchain():  # marks of the test, its class and its module
            node.own_markers = [m for m in node.own_markers if not (
                m.name == "skip" and "Azurite" in str(m.kwargs.get("reason", "")))]
"""


class SetupError(Exception):
    """The run cannot start; the message names the flag or the missing piece."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path,
                        help="working copy of microsoft/durabletask-python")
    parser.add_argument("--app-python", type=Path, default=Path(sys.executable),
                        help="interpreter of the apps' environment: Python 3.13+ with "
                             "azure-functions-durable 2.x and pytest (default: this one)")
    parser.add_argument("--host-python", type=Path, default=None,
                        help="interpreter the local host runs on (default: the repository's "
                             ".venv when bin/func exists, else --app-python)")
    parser.add_argument("--func", type=Path, default=None,
                        help="the `func` to put on PATH (default: bin/func, else a shim)")
    parser.add_argument("--report", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds for the whole run")
    parser.add_argument("--include-suite-skips", action="store_true",
                        help="also run the tests the suite skips for Azurite's delayed queue "
                             "messages (the local host has no such queues)")
    extra: list[str] = []
    if "--" in argv:  # everything after -- goes to pytest as it is
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1:]
    args = parser.parse_args(argv)
    args.pytest_args = extra
    # The suite runs in other folders: a relative interpreter path means one from here. Not
    # resolve(): a virtual environment's python is a symlink that must stay one.
    for name in ("app_python", "host_python", "func", "report"):
        if getattr(args, name) is not None:
            setattr(args, name, getattr(args, name).absolute())
    return args


def test_files(suite: Path, checkout: Path) -> list[str]:
    """The suite's test modules, the tracing one left out, ``LAST`` at the end."""
    files = sorted(p.name for p in suite.glob("test_*.py") if p.name != TRACING_TEST)
    ordered = [f for f in files if f not in LAST] + [f for f in LAST if f in files]
    return [str((suite / name).relative_to(checkout)) for name in ordered]


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.25)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def check_checkout(checkout: Path) -> Path:
    suite = checkout / SUITE
    if not suite.is_dir():
        raise SetupError(f"CHECKOUT: {checkout} has no {SUITE} (is it a working copy of "
                         "microsoft/durabletask-python?)")
    for app in APPS:
        if not (suite / "apps" / app / "function_app.py").is_file():
            raise SetupError(f"CHECKOUT: the suite's app {app!r} is missing in {suite}/apps")
    return suite


def check_app_python(python: Path) -> Path:
    if not python.exists():
        raise SetupError(f"--app-python: {python} does not exist")
    probe = subprocess.run(
        [str(python), "-c", "import sys, importlib.metadata as m, pytest; "
         "print(sys.prefix); print(m.version('azure-functions-durable'))"],
        capture_output=True, text=True)
    if probe.returncode != 0:
        raise SetupError(f"--app-python: {python} lacks pytest or azure-functions-durable: "
                         f"{probe.stderr.strip().splitlines()[-1:]}")
    prefix, sdk = probe.stdout.split()
    if int(sdk.split(".")[0]) < 2:
        raise SetupError(f"--app-python: {python} has azure-functions-durable {sdk}; the suite "
                         "needs 2.x")
    return Path(prefix)


def link_app_venvs(suite: Path, prefix: Path) -> list[Path]:
    """``<app>/.venv`` -> the app environment, as the noxfile does; the links made."""
    made = []
    for app in APPS:
        link = suite / "apps" / app / ".venv"
        if link.is_symlink():
            link.unlink()
        elif link.exists():
            raise SetupError(f"{link} exists and is not a link this script made; remove it")
        link.symlink_to(prefix, target_is_directory=True)
        made.append(link)
    return made


def func_dir(args: argparse.Namespace, scratch: Path) -> tuple[Path, dict[str, str]]:
    """A folder holding the `func` to put first on PATH, and the environment it needs."""
    env: dict[str, str] = {}
    func = args.func or (REPO / "bin" / "func")
    if func.exists():
        host = args.host_python or (REPO / ".venv" / "bin" / "python")
        env["LOCAL_FUNCTIONS_HOST_PYTHON"] = str(host)
        if func.parent.name == "bin" and func.name == "func":
            return func.parent, env
        target = scratch / "func"
        target.symlink_to(func.resolve())
        return scratch, env
    host = args.host_python or args.app_python
    shim = scratch / "func"
    shim.write_text(
        "#!/bin/sh\n"
        "# `func start --port N`: the local host, in process, on the given interpreter.\n"
        'if [ "$1" = "--version" ]; then echo 4.0.0; exit 0; fi\n'
        'if [ "$1" = "start" ]; then shift; fi\n'
        f'PYTHONPATH="{REPO}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{host}" -m emulator '
        '--app . --state :memory: "$@"\n')
    shim.chmod(0o755)
    return scratch, env


def start_azurite(scratch: Path) -> subprocess.Popen | None:
    """Azurite for the suite, unless its blob port already answers (the suite checks only that;
    the local host keeps its state in SQLite, not in Azurite's queues and tables)."""
    if port_open(AZURITE_PORTS[0]):
        return None
    azurite = REPO / "node_modules" / ".bin" / "azurite"
    if not azurite.exists():
        raise SetupError("Azurite is not running on 10000-10002 and node_modules has none "
                         "(npm install)")
    process = subprocess.Popen(
        [str(azurite), "--silent", "--skipApiVersionCheck", "--inMemoryPersistence",
         "--blobPort", "10000", "--queuePort", "10001", "--tablePort", "10002"],
        cwd=scratch,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while not all(port_open(port) for port in AZURITE_PORTS):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise SetupError("Azurite did not start on 10000-10002")
        time.sleep(0.2)
    return process


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        process.kill()


def read_junit(path: Path) -> list[dict[str, str]]:
    """One row per test: name, outcome (passed/failed/error/skipped), cause, seconds."""
    rows = []
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome, cause = "passed", ""
        for kind in ("failure", "error", "skipped"):
            node = case.find(kind)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[kind]
                text = (node.get("message") or node.text or "").strip()
                cause = text.splitlines()[0][:300] if text else ""
                break
        rows.append({"test": f"{case.get('classname', '')}::{case.get('name', '')}",
                     "outcome": outcome, "cause": cause,
                     "seconds": case.get("time", "0")})
    return rows


def summarize(rows: list[dict[str, str]]) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for row in rows:
        counts[row["outcome"]] += 1
    return counts


def run(args: argparse.Namespace) -> int:
    checkout = args.checkout.resolve()
    suite = check_checkout(checkout)
    prefix = check_app_python(args.app_python)
    with tempfile.TemporaryDirectory(prefix="durabletask-e2e-") as scratch_name:
        scratch = Path(scratch_name)
        links = link_app_venvs(suite, prefix)
        azurite = None
        try:
            bin_dir, func_env = func_dir(args, scratch)
            azurite = start_azurite(scratch)
            env = dict(os.environ, **func_env)
            env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
            env["AzureFunctionsJobHost__extensions__durableTask__hubName"] = \
                f"e2e{uuid.uuid4().hex[:8]}"
            plugin_args: list[str] = []
            if args.include_suite_skips:
                (scratch / f"{UNSKIP_PLUGIN}.py").write_text(UNSKIP_SOURCE)
                env["PYTHONPATH"] = os.pathsep.join(
                    p for p in (str(scratch), env.get("PYTHONPATH")) if p)
                plugin_args = ["-p", UNSKIP_PLUGIN]
            junit = scratch / "junit.xml"
            command = [str(args.app_python), "-m", "pytest", *test_files(suite, checkout),
                       "-m", "functions_e2e", "-p", "no:cacheprovider",
                       f"--junitxml={junit}", "-q", "-rfE", *plugin_args,
                       *args.pytest_args]
            print("running:", " ".join(command), flush=True)
            done = subprocess.run(command, cwd=checkout, env=env, timeout=args.timeout)
            if not junit.exists():
                print(f"pytest wrote no results (exit {done.returncode})", file=sys.stderr)
                return done.returncode or 1
            rows = read_junit(junit)
        finally:
            stop(azurite)
            for link in links:
                if link.is_symlink():
                    link.unlink()
    counts = summarize(rows)
    print("\n" + ", ".join(f"{n} {k}" for k, n in counts.items()))
    for row in rows:
        if row["outcome"] in ("failed", "error"):
            print(f"  {row['outcome'].upper():6} {row['test']}: {row['cause']}")
    if args.report:
        args.report.write_text(json.dumps({"counts": counts, "tests": rows}, indent=2))
    return 0 if counts["failed"] == counts["error"] == 0 else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except SetupError as exc:
        print(f"run_durabletask_e2e: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
