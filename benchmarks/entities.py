"""Measure durable entities on the local host (printed figures, not tests).

    python -m benchmarks.entities               # medians of 5
    python -m benchmarks.entities --repeat 3 --only signals_one_entity

The host runs as a subprocess on ``benchmarks/entity_app``, in memory unless ``--state`` names a
file. Signals are sent by an orchestration (one episode sends them all, so the client's HTTP
requests are not what is measured); the figure is the time from the start request until the
host's counters show every operation applied (``/admin/host/status`` polled every 2 ms, so add
up to about 2 ms of polling to each figure). A call chain is timed like the other benchmarks:
start to completion, answered by the host the moment the instance completes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from emulator.testing import LocalHost

APP = Path(__file__).parent / "entity_app"
START = "/runtime/webhooks/durabletask/orchestrators/{name}"
WAIT = "?timeout=600&pollingInterval=0.001"
_runs = itertools.count()


def run(host: LocalHost, name: str, payload) -> tuple[float, dict]:
    """Start ``name`` and wait for it server-side; (seconds, status payload)."""
    started = time.perf_counter()
    response = host.request("POST", START.format(name=name) + WAIT,
                            data=json.dumps(json.dumps(payload)),
                            headers={"Content-Type": "application/json"}, timeout=700)
    elapsed = time.perf_counter() - started
    status = response.json()
    if response.status_code != 200 or status.get("runtimeStatus") != "Completed":
        raise SystemExit(f"{name} did not complete: HTTP {response.status_code} {status}")
    return elapsed, status


def median_of(repeat: int, measure: Callable[[], float]) -> tuple[float, list[float]]:
    samples = [measure() for _ in range(repeat)]
    return statistics.median(samples), samples


def counters(host: LocalHost) -> dict:
    return host.request("GET", "/admin/host/status").json()["emulator"]


def signal_and_wait(host: LocalHost, count: int, keys: int) -> tuple[float, int]:
    """(seconds until ``count`` signals over ``keys`` entities are applied, batches used)."""
    before = counters(host)
    payload = {"count": count, "keys": keys, "run": f"r{next(_runs)}"}
    started = time.perf_counter()
    response = host.request("POST", START.format(name="signal_entities"),
                            data=json.dumps(json.dumps(payload)),
                            headers={"Content-Type": "application/json"})
    if response.status_code != 202:
        raise SystemExit(f"signal_entities did not start: {response.status_code} "
                         f"{response.text}")
    target = before["entity_operations"] + count
    deadline = started + 120
    while True:
        now = counters(host)
        if now["entity_operations"] >= target:
            elapsed = time.perf_counter() - started
            return elapsed, now["entity_batches"] - before["entity_batches"]
        if time.perf_counter() > deadline:
            raise SystemExit(f"only {now['entity_operations'] - before['entity_operations']} "
                             f"of {count} signals applied after 120 s")
        time.sleep(0.002)


def bench_signals(count: int, keys: int) -> Callable[[LocalHost, int], dict]:
    def bench(host: LocalHost, repeat: int) -> dict:
        batches: list[int] = []

        def once() -> float:
            elapsed, used = signal_and_wait(host, count, keys)
            batches.append(used)
            return elapsed

        med, samples = median_of(repeat, once)
        return {"median_s": med, "samples": samples, "per_operation_us": med / count * 1e6,
                "batches": max(batches)}
    return bench


def bench_call_chain(steps: int) -> Callable[[LocalHost, int], dict]:
    def bench(host: LocalHost, repeat: int) -> dict:
        def once() -> float:
            elapsed, status = run(host, "call_chain", {"key": f"chain{next(_runs)}",
                                                      "steps": steps})
            assert status["output"] == steps, status
            return elapsed

        med, samples = median_of(repeat, once)
        return {"median_s": med, "samples": samples, "per_call_ms": med / steps * 1000}
    return bench


# name -> (what, function, figure to compare, target, unit)
BENCHES = {
    "signals_one_entity": ("1000 signals to one entity", bench_signals(1000, 1),
                           "median_s", 0.3, "s"),
    "signals_1000_entities": ("1000 entities, one signal each", bench_signals(1000, 1000),
                              "median_s", 1.0, "s"),
    "call_chain": ("call_entity chain of 50 calls, per call", bench_call_chain(50),
                   "per_call_ms", None, "ms"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.entities", description=__doc__,
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
    results = {}
    with LocalHost(APP, subprocess=True, state=args.state) as host:
        signal_and_wait(host, 100, 10)  # warm up imports and caches
        print(f"{'benchmark':<44} {'figure':>12} {'target':>10}  samples", flush=True)
        for name in args.only or list(BENCHES):
            what, bench, key, target, unit = BENCHES[name]
            figures = bench(host, args.repeat)
            results[name] = figures
            value = figures[key]
            shown = f"{value:.3f} {unit}" if unit == "s" else f"{value:.2f} {unit}"
            verdict = "" if target is None else ("  ok" if value < target else "  MISSED")
            extra = ""
            if "per_operation_us" in figures:
                extra = (f"  {figures['per_operation_us']:.0f} us/operation, "
                         f"batches={figures['batches']}")
            samples = ", ".join(f"{s:.3f}" for s in figures["samples"][:5])
            print(f"{what:<44} {shown:>12} {('< ' + str(target)) if target else '':>10}"
                  f"{verdict}  [{samples}]{extra}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
