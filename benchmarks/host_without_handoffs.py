"""One question measured: would the 2.x chain meet its 1.3x target if the local host gave up
its two thread hand-offs?

The host runs orchestrator code in a pool thread of its own, so that ``functionTimeout`` can
abandon a stuck orchestrator and a blocking call in one does not freeze the host, and a 2.x
app's ``async def`` functions on a loop of their own, as the Python worker does (the app's
synchronous durable client blocks that loop on calls to the host). This module starts the
host with both taken out, in its own process only, and measures it beside the unchanged host,
the driver and the driver through the SDK's handler, interleaved in a rotating order:

    python -m benchmarks.host_without_handoffs [--repeat 7] [--sdk2-python PY]

Taken out means: episodes run on the host's loop, inline (``Orchestrations._in_thread``), and
the app's async activities run on the host's loop too (the worker's app loop closed). Neither
is a mode of the host: nothing outside this module can ask for it, and the patched host (what
the measurement starts, under the 2.x interpreter, with the host's flags) fails to start if the
code it replaces has moved:

    python -m benchmarks.host_without_handoffs --app DIR [other emulator flags]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
from collections.abc import Callable
from typing import Any

PATCHED = ("emulator.runtime.orchestrations.Orchestrations._in_thread",
           "emulator.worker.seam.InProcessWorker.__init__")


def take_out_handoffs() -> None:
    """Patch this process's host: orchestrator episodes and async activities on its loop."""
    from emulator.core.calls import drive
    from emulator.runtime.orchestrations import Orchestrations
    from emulator.worker.seam import InProcessWorker

    if not callable(getattr(Orchestrations, "_in_thread", None)):
        raise SystemExit(f"{PATCHED[0]} is gone: this measurement no longer patches the host")

    async def inline(self: Orchestrations, name: str, steps: Callable[[], Any]) -> Any:
        return drive(steps(), self.engine.worker.orchestrator(name))

    made = InProcessWorker.__init__

    def without_app_loop(self: InProcessWorker, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        if not hasattr(self, "_app_loop"):
            raise SystemExit(f"{PATCHED[1]} makes no _app_loop: this measurement no longer "
                             "patches the host")
        if self._app_loop is not None:
            self._app_loop.close()
            self._app_loop = None  # async functions then run on the caller's (host's) loop

    Orchestrations._in_thread = inline
    InProcessWorker.__init__ = without_app_loop


def serve(flags: list[str]) -> int:
    take_out_handoffs()
    from emulator.host.cli import main
    return main(flags)


# (label, key of the times): the columns, the driver first (the baseline)
COLUMNS = (("driver", "base"), ("SDK handler alone", "handler"), ("host", "host"),
           ("host without hand-offs", "bare"))


def measure(args: argparse.Namespace) -> int:
    from .processes import SdkDriver
    from .sdk2 import APP_2X, Sdk2Host, default_python, host_run, rotated, unusable
    from .suite import BENCHES, UNITS, figure_text

    python = args.sdk2_python or default_python()
    reason = unusable(python)
    if reason:
        print(f"skipped: {reason}", file=sys.stderr)
        return 2
    benches = [b for b in BENCHES if b.kind == "sdk2" and (args.only in b.name)]
    with contextlib.ExitStack() as stack:
        host = stack.enter_context(Sdk2Host(python, APP_2X, log_level="warning",
                                            worker="in-process"))
        bare = stack.enter_context(Sdk2Host(python, APP_2X, log_level="warning",
                                            worker="in-process",
                                            module="benchmarks.host_without_handoffs"))
        driver = stack.enter_context(SdkDriver("benchmarks.sdk2_driver", python))
        runs: dict[str, Callable[[Any], float]] = {
            "base": lambda b: driver.run(b.orchestrator, b.input)["seconds"],
            "handler": lambda b: driver.run(b.orchestrator, b.input, through="handler")[
                "seconds"],
            "host": lambda b: host_run(host, b, {}, "host", True),
            "bare": lambda b: host_run(bare, b, {}, "bare", True),
        }
        order = list(runs)
        for bench in benches:
            for name in order:  # warm: imports and caches
                runs[name](bench)
            times: dict[str, list[float]] = {name: [] for name in order}
            for turn in range(args.repeat):
                for name in rotated(order, turn):
                    times[name].append(runs[name](bench))
            medians = {name: statistics.median(values) for name, values in times.items()}
            unit = UNITS[bench.figure]
            cells = []
            for label, key in COLUMNS:
                text = figure_text(bench.value(medians[key]), unit)
                ratio = medians[key] / medians["base"]
                cells.append(f"{label} {text}" + ("" if key == "base" else f" ({ratio:.2f}x)"))
            print(f"{bench.what}: " + "; ".join(cells) +
                  f"; target <= {bench.target:.2f}x", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--app"]:  # the patched host, as Sdk2Host starts it (emulator flags)
        return serve(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="samples per workload (median)")
    parser.add_argument("--sdk2-python", help="the 2.x interpreter (default: as --only sdk2)")
    parser.add_argument("--only", default="chain",
                        help="workloads whose name contains this (default: chain; '' for all)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return measure(args)


if __name__ == "__main__":
    sys.exit(main())
