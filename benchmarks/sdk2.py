"""The 2.x SDK group of ``python -m benchmarks`` (``--only sdk2``): the 2.x path beside the 1.x
path and beside the 2.x SDK's own minimal driver.

The 2.x SDK (``azure-functions-durable`` 2.x) needs Python 3.13+ and cannot sit next to 1.x in
the host's environment, so its side runs under a second interpreter (``--sdk2-python``, else
``EMULATOR_SDK2_PYTHON``, else the repository's ``.venv-sdk2/bin/python``: ``make test-sdk2``
creates it): the local host serving ``benchmarks/sdk2_app`` (in the host's process, as it runs
2.x apps) and ``sdk2_driver.py``, each a process of its own. Every sample is five runs, back
to back in a rotating order: the 2.x host, the 2.x driver (the baseline: the figure / baseline
ratio is the one with the target), the 1.x host serving ``benchmarks/app`` (printed beside),
the driver through the SDK's orchestrator handler (a base64 protobuf request and
response per episode, as any host sends and reads them: printed beside as the wire protocol's
floor, which no host of the 2.x SDK can go below), and the driver through that handler with
the local host's two thread hand-offs (the handler in its orchestrator pool, the activities on
an app loop: printed beside as the floor of the host's design, which this host cannot go below
while it keeps them).
Both hosts run the app in their own process (``--worker in-process``, as the driver does)
unless ``--worker`` says otherwise (``process``: the app in worker processes), so the two SDKs
compare like with like.
Without a 2.x interpreter the group prints one line saying why and measures nothing.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulator.testing import LocalHost, start_listening

from .processes import REPO_ROOT, SdkDriver, cpu_seconds
from .suite import Bench, Sample, episodes, figure_text, run_on_host

APP_1X = Path(__file__).parent / "app"
APP_2X = Path(__file__).parent / "sdk2_app"
ENV = "EMULATOR_SDK2_PYTHON"


def default_python() -> str:
    """The 2.x interpreter when none is named: ``$EMULATOR_SDK2_PYTHON`` or the repo's venv."""
    return os.environ.get(ENV) or str(REPO_ROOT / ".venv-sdk2" / "bin" / "python")


def unusable(python: str) -> str | None:
    """Why ``python`` cannot run the 2.x side (a sentence), or None when it can."""
    if not Path(python).exists():
        return f"no 2.x SDK interpreter at {python} (make test-sdk2, --sdk2-python or ${ENV})"
    probe = "from importlib.metadata import version; print(version('azure-functions-durable'))"
    try:
        done = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{python} does not run: {exc}"
    found = done.stdout.strip()
    if done.returncode != 0 or not found[:1].isdigit() or int(found.split(".")[0]) < 2:
        return f"{python} has no azure-functions-durable 2.x ({found or done.stderr[-200:]})"
    return None


def skip_line(bench: Bench, reason: str) -> str:
    return f"{bench.what:<46} skipped: {reason}"


class Sdk2Host(LocalHost):
    """``LocalHost(subprocess=True)`` started by the 2.x interpreter instead of this one;
    ``module``: what it runs with ``-m`` (the host, or a measurement's patched host)."""

    def __init__(self, python: str, app_dir: Path, module: str = "emulator",
                 **options: Any) -> None:
        super().__init__(app_dir, subprocess=True, **options)
        self.interpreter = python
        self.module = module

    def _start_subprocess(self, timeout: float) -> None:
        command = [self.interpreter, "-m", self.module, *self.options.flags(self.log_level)]
        self.process, self.base_url = start_listening(command, "the 2.x local host", timeout)
        threading.Thread(target=self._drain, daemon=True).start()


def host_run(host: LocalHost, bench: Bench, extra: dict[str, Any], key: str,
             sdk2: bool) -> float:
    """One run on ``host``: its wall time; its CPU (and, 2.x, its episodes) into ``extra``."""
    cpu = cpu_seconds(host.process.pid)
    elapsed, instance_id = run_on_host(host, bench, sdk2=sdk2)
    extra[f"{key}_cpu_s"] = cpu_seconds(host.process.pid) - cpu
    if sdk2:
        extra["episodes"] = episodes(host, instance_id)
    host.purge(instance_id)  # forgotten, as the driver forgets
    return elapsed


def sample(host2: LocalHost, driver: SdkDriver, host1: LocalHost, bench: Bench,
           turn: int) -> Sample:
    """One sample (2.x host, 2.x driver, 1.x host, the driver through the SDK's handler, and
    through it with the host's hand-offs), the first of them rotating with ``turn``."""
    extra: dict[str, Any] = {}
    times: dict[str, float] = {}

    def on_driver() -> float:
        cpu = cpu_seconds(driver.pid)
        answer = driver.run(bench.orchestrator, bench.input)
        extra["base_cpu_s"] = cpu_seconds(driver.pid) - cpu
        extra["driver_episodes"] = answer["episodes"]
        return answer["seconds"]

    def through(way: str) -> Callable[[], float]:
        return lambda: driver.run(bench.orchestrator, bench.input, through=way)["seconds"]

    runs: list[tuple[str, Callable[[], float]]] = [
        ("host", lambda: host_run(host2, bench, extra, "host", True)),
        ("base", on_driver),
        ("v1", lambda: host_run(host1, bench, extra, "v1_host", False)),
        ("handler", through("handler")),
        ("handoffs", through("handoffs")),
    ]
    for name, run in rotated(runs, turn):
        times[name] = run()
    extra["v1_host_s"] = times["v1"]
    extra["handler_s"] = times["handler"]
    extra["handoffs_s"] = times["handoffs"]
    return Sample(times["host"], times["base"], extra)


def rotated(items: list[Any], turn: int) -> list[Any]:
    """``items`` in order, starting at ``turn`` (modulo their number): each sample's order."""
    start = turn % len(items)
    return items[start:] + items[:start]


def v1_note(bench: Bench, result: dict[str, Any], unit: str) -> str:
    """The 1.x host's figure for the same workload, and the 2.x host's over it."""
    v1 = figure_text(bench.value(result["v1_host_s"]), unit)
    return f"1.x host {v1} (2.x/1.x {result['host_median_s'] / result['v1_host_s']:.2f}x)"


def _beside(bench: Bench, result: dict[str, Any], unit: str, key: str, label: str,
            of: str = "") -> str:
    """A driver run printed beside the host's: its figure and its ratio to the driver's."""
    figure = figure_text(bench.value(result[key]), unit)
    return f"{label} {figure} ({result[key] / result['baseline_median_s']:.2f}x{of})"


def handler_note(bench: Bench, result: dict[str, Any], unit: str) -> str:
    """The driver through the SDK's handler: the wire protocol's floor, over the driver."""
    return _beside(bench, result, unit, "handler_s", "SDK handler alone", " the driver")


def handoffs_note(bench: Bench, result: dict[str, Any], unit: str) -> str:
    """The handler with the host's thread hand-offs: the floor of its design, over the driver."""
    return _beside(bench, result, unit, "handoffs_s", "with the host's hand-offs")


def run_group(benches: list[Bench], args: Any, summarize: Callable[[Bench, list[Sample]], dict],
              show: Callable[[Bench, dict[str, Any]], str]) -> dict[str, dict[str, Any]]:
    """Measure ``benches`` (kind ``sdk2``), printing each row; the results by name."""
    python = args.sdk2_python or default_python()
    reason = unusable(python)
    if reason:
        for bench in benches:
            print(skip_line(bench, reason), flush=True)
        return {}
    results: dict[str, dict[str, Any]] = {}
    level = args.log_level or "warning"
    worker = args.worker or "in-process"
    with contextlib.ExitStack() as stack:
        host2 = stack.enter_context(Sdk2Host(python, APP_2X, state=args.state, log_level=level,
                                             worker=worker))
        driver = stack.enter_context(SdkDriver("benchmarks.sdk2_driver", python))
        host1 = stack.enter_context(LocalHost(APP_1X, subprocess=True, state=args.state,
                                              log_level=level, worker=worker))
        warm = Bench("warm", "", "", "sdk2", "total_s", count=100)
        sample(host2, driver, host1, warm, 0)  # imports and caches
        for bench in benches:
            samples = [sample(host2, driver, host1, bench, i) for i in range(args.repeat)]
            results[bench.name] = summarize(bench, samples)
            print(show(bench, results[bench.name]), flush=True)
    return results
