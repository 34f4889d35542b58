"""The 2.x SDK group in instructions: the host's count beside its driver's, free of the noise of
wall time.

    python -m benchmarks.instructions [--sdk2-python PY] [--runs 3]

Wall-clock ratios on a shared machine move by a fifth from one run to the next; the number of
instructions a process executes does not (two counts of the same code agree within 0.3%). This
runs the two workloads of ``python -m benchmarks --only sdk2`` (the 1000-wide fan-out of 0 s
activities and the 50-step chain, ``benchmarks/sdk2_app``) under valgrind's callgrind, once in
the local host (in process, the app in process: what the wall-clock group measures), once in
``sdk2_driver.py``'s driver, and once in that driver through the SDK's orchestrator handler
(base64 protobuf request and response per episode: the wire protocol's floor). It prints
instructions per run, the host's ratio to the driver beside the group's target (<= 1.3x), and
the handler's. Each side makes two warm-up runs, then callgrind's counters are zeroed
(``callgrind_control -z``), ``--runs`` runs execute and the counters are dumped (``-d``). What
instructions do not show - waiting for another thread, cache misses - the wall-clock group does;
the two together tell host work from hand-offs. Without valgrind (Debian's ``valgrind``) or a
2.x interpreter it prints one line saying why. Slow: valgrind runs Python about 50 times slower
(some minutes in all).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from emulator.host.child_process import child_env

from .processes import REPO_ROOT
from .sdk2 import APP_2X, default_python, unusable

WORKLOADS = {"fan_out": {"count": 1000, "seconds": 0}, "chain": 50}
TARGET = 1.3
START = "/runtime/webhooks/durabletask/orchestrators/{name}?timeout=600&pollingInterval=0.001"


def callgrind_total(dump: str) -> int:
    """The instruction count of a callgrind dump (its ``summary:`` or ``totals:`` line)."""
    for line in dump.splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise ValueError("not a callgrind dump: no summary or totals line")


def _control(command: str, *args: str) -> None:
    """``callgrind_control`` on this process (which runs under callgrind)."""
    subprocess.run(["callgrind_control", command, *args, str(os.getpid())],
                   capture_output=True, check=False)


def _child_host(name: str, runs: int) -> None:
    from emulator.testing import LocalHost

    def run(host: LocalHost) -> None:
        response = host.request("POST", START.format(name=name),
                                data=json.dumps(WORKLOADS[name]),
                                headers={"Content-Type": "application/json"}, timeout=3600)
        status = response.json()
        if status.get("runtimeStatus") != "Completed":
            raise SystemExit(f"{name} did not complete: {status}")
        host.purge(status["instanceId"])

    with LocalHost(APP_2X, worker="in-process") as host:
        for _ in range(2):
            run(host)
        _control("-z")
        for _ in range(runs):
            run(host)
        _control("-d", "measured")


def _child_driver(name: str, runs: int, through: str = "executor") -> None:
    from emulator.host.server import tune_gc

    from .sdk2_driver import Sdk2App, Through, drive

    async def main() -> None:
        app = Sdk2App()
        tune_gc()
        for _ in range(2):
            await drive(app, name, WORKLOADS[name], Through(through))
        _control("-z")
        for _ in range(runs):
            await drive(app, name, WORKLOADS[name], Through(through))
        _control("-d", "measured")

    asyncio.run(main())


def _measured_dump(folder: Path) -> Path | None:
    """The dump ``callgrind_control -d measured`` wrote (its header names the trigger)."""
    for path in sorted(folder.iterdir()):
        with path.open(errors="ignore") as dump:
            if any("Trigger: dump measured" in line for line, _ in zip(dump, range(40),
                                                                        strict=False)):
                return path
    return None


def count(python: str, side: str, name: str, runs: int) -> int:
    """Instructions of ``runs`` runs of workload ``name`` on ``side`` (host, driver or
    handler)."""
    with tempfile.TemporaryDirectory(prefix="instructions-") as folder:
        out = Path(folder) / "callgrind.%p"
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", python, "-m",
                   "benchmarks.instructions", "--child", side, name, "--runs", str(runs)]
        done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True,
                              env=child_env())
        dump = _measured_dump(Path(folder))
        if done.returncode != 0 or dump is None:
            raise SystemExit(f"{side} {name} under valgrind left no measured count (is {python} "
                             f"the interpreter itself, not a shim?): {done.stderr[-600:]}")
        return callgrind_total(dump.read_text(errors="ignore"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sdk2-python", default=None,
                        help="the 2.x interpreter (default: $EMULATOR_SDK2_PYTHON or .venv-sdk2)")
    parser.add_argument("--runs", type=int, default=3, help="measured runs per side (default 3)")
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "WORKLOAD"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.child:
        side, name = args.child
        if side == "host":
            _child_host(name, args.runs)
        else:
            _child_driver(name, args.runs, "handler" if side == "handler" else "executor")
        return 0
    python = args.sdk2_python or default_python()
    reason = unusable(python) or (None if shutil.which("valgrind") and
                                  shutil.which("callgrind_control")
                                  else "no valgrind (Debian's 'valgrind' package)")
    if reason:
        print(f"2.x SDK in instructions: skipped: {reason}")
        return 0
    print(f"{'workload':<12} {'host Ir/run':>14} {'driver Ir/run':>14} {'ratio':>7}   target"
          f"          {'handler Ir/run':>15} {'ratio':>7}")
    for name in WORKLOADS:
        host = count(python, "host", name, args.runs) / args.runs
        driver = count(python, "driver", name, args.runs) / args.runs
        handler = count(python, "handler", name, args.runs) / args.runs
        ratio = host / driver
        verdict = "ok" if ratio <= TARGET else "MISSED"
        print(f"{name:<12} {host / 1e6:12.1f} M {driver / 1e6:12.1f} M {ratio:6.2f}x   "
              f"<= {TARGET:.2f}x {verdict:<6} {handler / 1e6:13.1f} M {handler / driver:6.2f}x",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
