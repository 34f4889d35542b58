"""Measure the local host against the targets of shared/design/performance.md.

    python -m benchmarks               # everything, medians of 5 (about 2 minutes)
    python -m benchmarks --repeat 3 --only fanout_1000x3s chain

The host runs as a subprocess (``python -m emulator``) on the benchmark app, in memory, so the
load client does not share its interpreter. Each orchestration is started with the management
API's ``timeout``/``pollingInterval`` options, so the host answers the moment the instance
completes: the time measured is start request to completion as a client sees it, over loopback.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from emulator.testing import LocalHost

APP = Path(__file__).parent / "app"
START = "/runtime/webhooks/durabletask/orchestrators/{name}?timeout=600&pollingInterval=0.001"


def run(host: LocalHost, name: str, payload) -> tuple[float, dict]:
    """Start ``name`` and wait for it server-side; (seconds, status payload)."""
    started = time.perf_counter()
    response = host.request("POST", START.format(name=name), data=json.dumps(json.dumps(payload)),
                            headers={"Content-Type": "application/json"}, timeout=700)
    elapsed = time.perf_counter() - started
    status = response.json()
    if response.status_code != 200 or status.get("runtimeStatus") != "Completed":
        raise SystemExit(f"{name} did not complete: HTTP {response.status_code} {status}")
    return elapsed, status


def episodes(host: LocalHost, instance_id: str) -> int:
    history = host.raw_history(instance_id)["history"]
    return sum(1 for event in history if event["EventType"] == 12)


def median_of(repeat: int, measure: Callable[[], float]) -> tuple[float, list[float]]:
    samples = [measure() for _ in range(repeat)]
    return statistics.median(samples), samples


def bench_fanout(count: int, seconds: float) -> Callable[[LocalHost, int], dict]:
    def bench(host: LocalHost, repeat: int) -> dict:
        last: dict = {}

        def once() -> float:
            elapsed, status = run(host, "fan_out", {"count": count, "seconds": seconds})
            last["id"] = status["instanceId"]
            return elapsed

        med, samples = median_of(repeat, once)
        return {"median_s": med, "samples": samples, "episodes": episodes(host, last["id"]),
                "overhead_s": med - seconds, "per_activity_us": (med - seconds) / count * 1e6}
    return bench


def bench_chain(steps: int) -> Callable[[LocalHost, int], dict]:
    def bench(host: LocalHost, repeat: int) -> dict:
        med, samples = median_of(repeat, lambda: run(host, "chain", steps)[0])
        return {"median_s": med, "samples": samples, "per_step_ms": med / steps * 1000}
    return bench


def bench_single(host: LocalHost, repeat: int) -> dict:
    med, samples = median_of(max(repeat, 20), lambda: run(host, "chain", 1)[0])
    return {"median_s": med, "samples": samples, "ms": med * 1000}


# name -> (what, function, figure to compare, target, unit)
BENCHES = {
    "fanout_1000x3s": ("fan-out 1000 x 3 s async activities", bench_fanout(1000, 3.0),
                       "median_s", 3.2, "s"),
    "fanout_10000x3s": ("fan-out 10,000 x 3 s async activities", bench_fanout(10_000, 3.0),
                        "median_s", 4.0, "s"),
    "fanout_1000x0s": ("fan-out 1000 x 0 s (pure overhead)", bench_fanout(1000, 0.0),
                       "median_s", 0.15, "s"),
    "scaling_2000x0s": ("fan-out 2000 x 0 s", bench_fanout(2000, 0.0), "per_activity_us",
                        None, "us/activity"),
    "scaling_5000x0s": ("fan-out 5000 x 0 s", bench_fanout(5000, 0.0), "per_activity_us",
                        None, "us/activity"),
    "scaling_10000x0s": ("fan-out 10,000 x 0 s", bench_fanout(10_000, 0.0), "per_activity_us",
                         None, "us/activity"),
    "chain": ("sequential chain of 50 steps, per step", bench_chain(50), "per_step_ms", 5.0,
              "ms"),
    "single": ("start to completion, one activity", bench_single, "ms", 20.0, "ms"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHES), default=None,
                        metavar="NAME", help=f"run only these: {', '.join(BENCHES)}")
    parser.add_argument("--state", default=":memory:",
                        help="the host's state (a path measures SQLite commits)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    names = args.only or list(BENCHES)
    results = {}
    with LocalHost(APP, subprocess=True, state=args.state) as host:
        run(host, "fan_out", {"count": 100, "seconds": 0})  # warm up imports and caches
        print(f"{'benchmark':<44} {'figure':>12} {'target':>10}  samples", flush=True)
        for name in names:
            what, bench, key, target, unit = BENCHES[name]
            figures = bench(host, args.repeat)
            results[name] = figures
            value = figures[key]
            shown = f"{value:.3f} {unit}" if unit == "s" else f"{value:.1f} {unit}"
            verdict = "" if target is None else ("  ok" if value < target else "  MISSED")
            extra = f"  episodes={figures['episodes']}" if "episodes" in figures else ""
            samples = ", ".join(f"{s:.3f}" for s in figures["samples"][:5])
            print(f"{what:<44} {shown:>12} {('< ' + str(target)) if target else '':>10}"
                  f"{verdict}  [{samples}]{extra}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
