"""Measure the local host against its baselines and the targets of shared/design/performance.md.

    python -m benchmarks                        # everything, medians of 5 pairs (a few minutes)
    python -m benchmarks --only http            # a group (http, fanout, scaling, big, chain,
    python -m benchmarks --only fanout_1000x0s chain --repeat 3   #  single, triggers, sdk2)

Every figure is printed next to its baseline, measured in the same run, pair by pair (see
``benchmarks/suite.py``): durable workloads against a minimal in-process driver of the SDK
(``sdk_driver.py``), the F1 -> F2 experiment against a bare aiohttp server (``bare_http.py``),
the queue trigger's drain against a bare ``azure-storage-queue`` consumer (``queue_drain.py``),
the 2.x SDK's path against the 2.x SDK's own driver, the 1.x path beside (``sdk2.py``).
The host, the driver and the bare server each run as a process of their own.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from emulator.testing import LocalHost

from . import sdk2
from .processes import REPO_ROOT, BareServer, SdkDriver
from .suite import (
    BENCHES,
    GROUPS,
    UNITS,
    Bench,
    Sample,
    SplitClient,
    durable_sample,
    figure_text,
    http_sample,
    http_sides,
    warm_http,
)

APP = Path(__file__).parent / "app"


def select(names: list[str] | None) -> list[Bench]:
    if not names:
        return list(BENCHES)
    return [b for b in BENCHES if b.name in names or b.group in names]


def summarize(bench: Bench, samples: list[Sample]) -> dict[str, Any]:
    host_s = statistics.median(s.host_s for s in samples)
    base_s = statistics.median(s.base_s for s in samples)
    figure, base = bench.value(host_s), bench.value(base_s)
    result: dict[str, Any] = {
        "what": bench.what, "figure": bench.figure, "host_median_s": host_s,
        "baseline_median_s": base_s, "host_samples_s": [s.host_s for s in samples],
        "baseline_samples_s": [s.base_s for s in samples],
        "value": host_s / base_s if bench.figure == "ratio" else figure,
        "baseline_value": None if bench.figure == "ratio" else base,
        "ratio": host_s / base_s if bench.figure == "ratio" else figure / base if base else None,
        "target": bench.target,
    }
    for key in samples[-1].extra:
        values = [s.extra[key] for s in samples if s.extra.get(key) is not None]
        if values:
            result[key] = statistics.median(values)
    return result


def line(bench: Bench, result: dict[str, Any]) -> str:
    unit = UNITS[bench.figure]
    keys = ("host_median_s", "baseline_median_s") if bench.figure == "ratio" \
        else ("value", "baseline_value")
    shown, base = (figure_text(result[key], unit) for key in keys)
    if bench.figure == "ratio":
        target = "" if bench.target is None else f"<= {bench.target:.2f}x"
    elif bench.target_is_ratio:
        target = f"<= {bench.target:.2f}x"
    else:
        target = "" if bench.target is None else f"< {bench.target:g} {unit}"
    ratio = f"{result['ratio']:.2f}x" if result["ratio"] is not None else "-"
    verdict = ""
    if bench.target is not None and bench.target_is_ratio:
        verdict = "ok" if result["ratio"] <= bench.target else "MISSED"
    elif bench.target is not None:
        verdict = "ok" if result["value"] < bench.target or (
            bench.figure == "ratio" and result["value"] <= bench.target) else "MISSED"
    notes = []
    if "episodes" in result:
        notes.append(f"episodes={result['episodes']:.0f}/{result['driver_episodes']:.0f}")
    if "v1_host_s" in result:
        notes.append(sdk2.v1_note(bench, result, unit))
    if "handler_s" in result:
        notes.append(sdk2.handler_note(bench, result, unit))
    if "handoffs_s" in result:
        notes.append(sdk2.handoffs_note(bench, result, unit))
    if "host_cpu_s" in result:
        notes.append(f"cpu {result['host_cpu_s']:.3f}/{result['base_cpu_s']:.3f} s")
    if "host_f1_s" in result:
        notes.append(f"F1's own fan-out {result['host_f1_s']:.3f}/{result['bare_f1_s']:.3f} s "
                     f"= {result['host_f1_s'] / result['bare_f1_s']:.2f}x")
    if "floor_s" in result:
        notes.append(f"bare in 1 process {result['floor_s']:.3f} s = "
                     f"{result['floor_s'] / result['baseline_median_s']:.2f}x bare in 2")
    if result.get("host_peak_mib") is not None:
        notes.append(f"peak RSS {result['host_peak_mib']:.0f}/"
                     f"{result.get('driver_peak_mib') or 0:.0f} MiB")
    samples = ", ".join(f"{s:.3f}" for s in result["host_samples_s"][:5])
    return (f"{bench.what:<46} {shown:>10} {base:>10} {ratio:>7} {target:>10} {verdict:>6}"
            f"  [{samples}] {' '.join(notes)}")


def linearity(results: dict[str, dict[str, Any]]) -> str | None:
    """Per-activity cost of the 0 s fan-outs from 1k to 10k: flat means linear in N."""
    rows = [(1000, "fanout_1000x0s"), (2000, "scaling_2000x0s"), (5000, "scaling_5000x0s"),
            (10_000, "scaling_10000x0s"), (100_000, "fanout_100000x0s")]
    costs = []
    for count, name in rows:
        if name in results:
            result = results[name]
            host = result["host_median_s"] / count * 1e6
            base = result["baseline_median_s"] / count * 1e6
            costs.append(f"N={count}: {host:.0f} us ({base:.0f} us)")
    if len(costs) < 2:
        return None
    return "per activity, host (SDK driver): " + "; ".join(costs)


def run(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    benches = select(args.only)
    results: dict[str, dict[str, Any]] = {}
    durable = [b for b in benches if b.kind == "durable"]
    http = [b for b in benches if b.kind == "http"]
    triggers = [b for b in benches if b.kind == "triggers"]
    sdk2_benches = [b for b in benches if b.kind == "sdk2"]
    print(f"{'benchmark':<46} {'figure':>10} {'baseline':>10} {'ratio':>7} {'target':>10}"
          f"        host samples", flush=True)
    with contextlib.ExitStack() as stack:
        if http:
            host = stack.enter_context(LocalHost(REPO_ROOT, subprocess=True, state=":memory:",
                                                 log_level=args.log_level or "info",
                                                 worker=args.worker))
            server = stack.enter_context(BareServer())
            host_client = SplitClient(host.base_url, host.process.pid)
            bare_client = SplitClient(server.base_url, server.pid)
            stack.callback(host_client.close)
            stack.callback(bare_client.close)
            for bench in http:
                sides = http_sides(bench, host, server, host_client, bare_client)
                warm_http(sides, bench)
                samples = [http_sample(sides, bench, i % 2 == 0) for i in range(args.repeat)]
                results[bench.name] = summarize(bench, samples)
                print(line(bench, results[bench.name]), flush=True)
            stack.close()
        if durable:
            host = stack.enter_context(LocalHost(APP, subprocess=True, state=args.state,
                                                 log_level=args.log_level or "warning",
                                                 worker=args.worker))
            driver = stack.enter_context(SdkDriver())
            warm = Bench("warm", "", "", "durable", "total_s", count=100)
            durable_sample(host, driver, warm, True)  # imports and caches
            for bench in durable:
                samples = [durable_sample(host, driver, bench, i % 2 == 0)
                            for i in range(args.repeat)]
                results[bench.name] = summarize(bench, samples)
                print(line(bench, results[bench.name]), flush=True)
    if sdk2_benches:
        results.update(sdk2.run_group(sdk2_benches, args, summarize, line))
    for bench in triggers:
        results[bench.name] = queue_drain_figure(bench, args.repeat)
        print(line(bench, results[bench.name]), flush=True)
    scaling = linearity(results)
    if scaling:
        print(scaling)
    return results


def queue_drain_figure(bench: Bench, repeat: int) -> dict[str, Any]:
    """Pairs of drains (benchmarks/queue_drain.py): the host in a process of its own against a
    bare asyncio consumer, on one Azurite."""
    import tempfile

    from emulator.host.azurite import Azurite

    from .queue_drain import measure

    with tempfile.TemporaryDirectory(prefix="drain-") as tmp, \
            Azurite(Path(tmp) / "azurite", queue=True) as azurite:
        samples = [Sample(*measure("host", azurite.connection_string, bench.count, i % 2 == 0))
                   for i in range(repeat)]
    return summarize(bench, samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="pairs per figure (median)")
    names = [b.name for b in BENCHES]
    parser.add_argument("--only", nargs="+", choices=GROUPS + names, default=None,
                        metavar="NAME", help=f"groups ({', '.join(GROUPS)}) or benchmarks "
                                             f"({', '.join(names)})")
    parser.add_argument("--state", default=":memory:",
                        help="the durable host's state (a path measures SQLite commits)")
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"),
                        help="the hosts' log level (default: info for http, the host's "
                             "default; warning for the durable benchmarks)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--worker", choices=("process", "in-process"), default=None,
                        help="where the hosts run the app's code (default: the host's default, "
                             "worker processes); python -m benchmarks.workers compares them")
    parser.add_argument("--sdk2-python", metavar="PYTHON", default=None,
                        help="the Python 3.13+ interpreter with azure-functions-durable 2.x and "
                             "the host's requirements, for the sdk2 group (default: "
                             f"${sdk2.ENV}, else .venv-sdk2/bin/python of the repository)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    results = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
