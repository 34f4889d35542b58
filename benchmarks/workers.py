"""Worker processes against the in-process worker, and against each other.

    python -m benchmarks.workers [--repeat N] [--json FILE]

Each figure beside its baseline, measured in the same run, pair by pair (alternating which goes
first), on hosts started as ``python -m emulator`` with the app ``benchmarks/workers_app``:

- CPU-bound fan-out, 200 activities of 50 ms of CPU each: 2 worker processes against 1 (target:
  at least 1.8x faster on 2 cores), 4 against 2 (no worse than the cores allow: about 1x);
- fan-out of 1000 x 0 s activities and a chain of 50 steps: 1 worker process against the
  in-process worker (what the process boundary costs per activity and per step);
- the experiment's F1 -> F2, 1000 calls of 1 s, on the repository's app: 1 worker process
  against the in-process worker (every F2 call crosses the pipe twice).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from emulator.testing import LocalHost

from .processes import REPO_ROOT
from .suite import Bench, run_on_host

APP = Path(__file__).parent / "workers_app"


@dataclass(frozen=True)
class Pair:
    name: str
    what: str
    orchestrator: str
    count: int
    host: str  # the measured host's key in HOSTS
    base: str  # the baseline's
    figure: str  # "speedup" (base / host, higher is better) or "ratio" (host / base)
    target: str  # as printed

    def bench(self) -> Bench:
        return Bench(self.name, "workers", self.what, "durable", "total_s",
                     orchestrator=self.orchestrator, count=self.count)


HOSTS = {  # key -> (app, worker, FUNCTIONS_WORKER_PROCESS_COUNT)
    "in-process": (APP, "in-process", None),
    "1 process": (APP, "process", "1"),
    "2 processes": (APP, "process", "2"),
    "4 processes": (APP, "process", "4"),
    "repo in-process": (REPO_ROOT, "in-process", None),
    "repo 1 process": (REPO_ROOT, "process", "1"),
}
F1 = "fanout"  # Pair.orchestrator naming an HTTP route instead: F1's fan-out
PAIRS = [
    Pair("cpu_2_vs_1", "CPU fan-out 200 x 50 ms: 2 processes vs 1", "cpu_fan_out_50ms", 200,
         "2 processes", "1 process", "speedup", ">= 1.8x"),
    Pair("cpu_4_vs_2", "CPU fan-out 200 x 50 ms: 4 processes vs 2", "cpu_fan_out_50ms", 200,
         "4 processes", "2 processes", "ratio", "~1.0x"),
    Pair("zero_1_vs_in", "fan-out 1000 x 0 s: 1 process vs in-process", "zero_fan_out", 1000,
         "1 process", "in-process", "ratio", "<= 1.5x"),
    Pair("chain_1_vs_in", "chain of 50 steps: 1 process vs in-process", "chain", 50,
         "1 process", "in-process", "ratio", "< 5 ms/step"),
    Pair("f1f2_1_vs_in", "F1 -> F2 1000 x 1 s: 1 process vs in-process", F1, 1000,
         "repo 1 process", "repo in-process", "ratio", "~1.0x"),
]


def run_f1(host: LocalHost, count: int) -> float:
    """F1's own fan-out time (s) for ``count`` calls of 1 s to F2 through ``host``."""
    response = requests.post(f"{host.base_url}/api/fanout", timeout=300,
                             json={"calls": count, "delay_ms": 1000})
    if response.status_code != 200:
        raise SystemExit(f"F1 answered {response.status_code}: {response.text[:300]}")
    return response.json()["fanout_ms"] / 1000


def run_once(host: LocalHost, pair: Pair) -> float:
    if pair.orchestrator == F1:
        return run_f1(host, pair.count)
    return run_on_host(host, pair.bench())[0]


def start_host(stack: ExitStack, key: str) -> LocalHost:
    app, worker, processes = HOSTS[key]
    settings = {"FUNCTIONS_WORKER_PROCESS_COUNT": processes} if processes else {}
    return stack.enter_context(LocalHost(app, subprocess=True, state=":memory:",
                                         log_level="warning", worker=worker,
                                         settings=settings))


def measure(pair: Pair, hosts: dict[str, LocalHost], repeat: int) -> dict[str, Any]:
    run_once(hosts[pair.host], pair)  # warm: imports, first episodes, F1's connections
    run_once(hosts[pair.base], pair)
    host_samples, base_samples = [], []
    for i in range(repeat):  # pairs, alternating which side goes first
        for side in ((pair.host, pair.base) if i % 2 == 0 else (pair.base, pair.host)):
            elapsed = run_once(hosts[side], pair)
            (host_samples if side == pair.host else base_samples).append(elapsed)
    host_s, base_s = statistics.median(host_samples), statistics.median(base_samples)
    return {"what": pair.what, "host": pair.host, "baseline": pair.base,
            "host_median_s": host_s, "baseline_median_s": base_s,
            "host_samples_s": host_samples, "baseline_samples_s": base_samples,
            "speedup": base_s / host_s, "ratio": host_s / base_s,
            "per_call_ms": (host_s / pair.count * 1000, base_s / pair.count * 1000),
            "target": pair.target}


def line(pair: Pair, result: dict[str, Any]) -> str:
    figure = result[pair.figure]
    per_host, per_base = result["per_call_ms"]
    return (f"{pair.what:<48} {result['host_median_s']:>8.3f} s "
            f"{result['baseline_median_s']:>8.3f} s  {pair.figure} {figure:.2f}x "
            f"(target {pair.target})  per call {per_host:.2f}/{per_base:.2f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="pairs per figure (median)")
    parser.add_argument("--only", nargs="+", choices=[p.name for p in PAIRS], default=None)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    pairs = [p for p in PAIRS if not args.only or p.name in args.only]
    print(f"{os.cpu_count()} CPUs; host and baseline medians of {args.repeat} pairs",
          flush=True)
    results: dict[str, dict[str, Any]] = {}
    with ExitStack() as stack:
        hosts: dict[str, LocalHost] = {}
        for pair in pairs:
            for key in (pair.host, pair.base):
                if key not in hosts:
                    hosts[key] = start_host(stack, key)
            results[pair.name] = measure(pair, hosts, args.repeat)
            print(line(pair, results[pair.name]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
