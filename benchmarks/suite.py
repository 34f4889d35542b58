"""What ``python -m benchmarks`` measures: each benchmark, its baseline, its figure and target.

Every benchmark is measured as pairs: one run through the local host and one run of its
baseline, back to back, alternating which goes first, so both see the same machine in the same
minute. The figure and the baseline's figure are medians over those pairs; the ratio is theirs.

- Durable benchmarks: the host (``benchmarks/app``, in memory, started with the management API's
  ``timeout`` so it answers the moment the instance completes, over loopback) against the minimal
  in-process SDK driver (``sdk_driver.py``) running the same orchestrator and activities.
- The HTTP benchmarks: the app's F1 -> F2 (1000 calls of 1 s) through the local host at its
  default log level, against the same F1 client and an F2 on a bare aiohttp server
  (``bare_http.py``), in three layouts (``Bench.layout``): F1 in the server on both sides (the
  host's own layout: one process), F1 in the load client's process on both sides (client and
  server on a core each: the host's HTTP front alone), and across (the host's one process
  against the bare pair of processes: what a user comparing the two would see).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.fanout import close_shared_sessions, parse_fanout_body, run_fanout
from emulator.testing import LocalHost

from .processes import BareServer, SdkDriver, cpu_seconds, peak_memory_mib, reset_peak_memory

START = "/runtime/webhooks/durabletask/orchestrators/{name}?timeout=600&pollingInterval={poll}"


@dataclass
class Sample:
    host_s: float  # one run through the local host, seconds
    base_s: float  # one run of the baseline, seconds
    extra: dict[str, Any] = field(default_factory=dict)


# each figure kind's unit in the report (``Bench.figure``)
UNITS = {"total_s": "s", "overhead_s": "s", "per_activity_us": "us", "per_step_ms": "ms",
         "ms": "ms", "ratio": "s"}


def figure_text(value: float, unit: str) -> str:
    """A figure as the report prints it: seconds to the millisecond, other units to a tenth."""
    return f"{value:.3f} {unit}" if unit == "s" else f"{value:.1f} {unit}"


@dataclass
class Bench:
    name: str
    group: str  # what ``--only`` also accepts
    what: str
    kind: str  # "durable", "http", "triggers" or "sdk2" (benchmarks/sdk2.py)
    figure: str  # "total_s", "overhead_s", "per_activity_us", "per_step_ms", "ms", "ratio"
    target: float | None = None  # the figure must stay below this
    target_is_ratio: bool = False  # the target bounds figure / baseline instead
    orchestrator: str = "fan_out"
    count: int = 1
    seconds: float = 0.0
    poll: float = 0.001  # pollingInterval of the start request (server-side wait)
    memory: bool = False
    layout: str = "server"  # HTTP: where F1 runs; "server", "client" or "across" (see above)

    @property
    def input(self) -> Any:
        if self.orchestrator == "fan_out":
            return {"count": self.count, "seconds": self.seconds}
        return self.count

    def value(self, total_s: float) -> float:
        """The benchmark's figure from one median wall time."""
        if self.figure == "overhead_s":
            return total_s - self.seconds
        if self.figure == "per_activity_us":
            return (total_s - self.seconds) / self.count * 1e6
        if self.figure == "per_step_ms":
            return total_s / self.count * 1000
        if self.figure == "ms":
            return total_s * 1000
        return total_s


def _durable(name: str, what: str, figure: str, target: float | None, count: int,
             seconds: float = 0.0, group: str = "fanout", **kw: Any) -> Bench:
    return Bench(name, group, what, "durable", figure, target, count=count, seconds=seconds,
                 **kw)


BENCHES = [
    Bench("http_f1f2", "http", "F1 -> F2 1000 x 1 s, F1 in the server", "http",
          "ratio", 1.10, count=1000, seconds=1.0),
    Bench("http_f1f2_client", "http", "F1 -> F2 1000 x 1 s, F1 in a client", "http",
          "ratio", 1.10, count=1000, seconds=1.0, layout="client"),
    # No target: bare aiohttp itself takes 1.07-1.12x as long in one process as in two here
    # (printed next to it as "bare in 1 process"), so this measures the layout, not the host.
    Bench("http_f1f2_split", "http", "F1 -> F2, host (1 process) vs bare (2)",
          "http", "ratio", None, count=1000, seconds=1.0, layout="across"),
    _durable("fanout_1000x0s", "fan-out 1000 x 0 s (pure overhead)", "overhead_s", 0.1, 1000),
    _durable("fanout_1000x3s", "fan-out 1000 x 3 s async activities", "overhead_s", 0.1, 1000,
             3.0),
    _durable("fanout_10000x3s", "fan-out 10,000 x 3 s async activities", "total_s", 3.8,
             10_000, 3.0),
    _durable("scaling_2000x0s", "fan-out 2000 x 0 s, per activity", "per_activity_us", None,
             2000, group="scaling"),
    _durable("scaling_5000x0s", "fan-out 5000 x 0 s, per activity", "per_activity_us", None,
             5000, group="scaling"),
    _durable("scaling_10000x0s", "fan-out 10,000 x 0 s, per activity", "per_activity_us", None,
             10_000, group="scaling"),
    _durable("fanout_100000x0s", "fan-out 100,000 x 0 s (and peak memory)", "total_s", None,
             100_000, group="big", memory=True),
    _durable("chain", "sequential chain of 50 steps, per step", "per_step_ms", 5.0, 50,
             group="chain", orchestrator="chain"),
    # the 2.x SDK's path (Python 3.13 host) against its own minimal driver, the 1.x host beside
    Bench("sdk2_fanout_1000x0s", "sdk2", "2.x SDK: fan-out 1000 x 0 s (overhead)", "sdk2",
          "overhead_s", 1.3, target_is_ratio=True, count=1000),
    Bench("sdk2_chain", "sdk2", "2.x SDK: chain of 50 steps, per step", "sdk2",
          "per_step_ms", 1.3, target_is_ratio=True, orchestrator="chain", count=50),
    _durable("single", "start to completion, one activity", "ms", 20.0, 1, group="single",
             orchestrator="chain"),
    _durable("single_wait", "... waited with pollingInterval=1 s", "ms", 20.0, 1,
             group="single", orchestrator="chain", poll=1.0),
    # host time / bare time <= 1.25: the host drains at >= 0.8x the bare consumer's rate
    # (benchmarks/queue_drain.py; both against one Azurite started for the group)
    Bench("queue_drain_2000", "triggers", "drain 2,000 queue messages vs a bare consumer",
          "triggers", "ratio", 1.25, count=2000),
]
GROUPS = sorted({bench.group for bench in BENCHES})


def episodes(host: LocalHost, instance_id: str) -> int:
    history = host.raw_history(instance_id)["history"]
    return sum(1 for event in history if event["EventType"] == 12)


def run_on_host(host: LocalHost, bench: Bench, sdk2: bool = False) -> tuple[float, str]:
    """Start the orchestration and wait for it server-side; (seconds, instance id). The input
    is encoded as the app's SDK client sends it (``LocalHost.start``): 2.x, the JSON text."""
    path = START.format(name=bench.orchestrator, poll=bench.poll)
    body = json.dumps(bench.input) if sdk2 else json.dumps(json.dumps(bench.input))
    started = time.perf_counter()
    response = host.request("POST", path, data=body,
                            headers={"Content-Type": "application/json"}, timeout=700)
    elapsed = time.perf_counter() - started
    status = response.json()
    if response.status_code != 200 or status.get("runtimeStatus") != "Completed":
        raise SystemExit(f"{bench.name} did not complete: HTTP {response.status_code} {status}")
    return elapsed, status["instanceId"]


def durable_sample(host: LocalHost, driver: SdkDriver, bench: Bench,
                   host_first: bool) -> Sample:
    extra: dict[str, Any] = {}

    def on_host() -> float:
        if bench.memory:
            reset_peak_memory(host.process.pid)
        cpu = cpu_seconds(host.process.pid)
        elapsed, instance_id = run_on_host(host, bench)
        extra["host_cpu_s"] = cpu_seconds(host.process.pid) - cpu
        extra["episodes"] = episodes(host, instance_id)
        # Forget it, as the driver does: instances left in memory would grow the host's heap
        # (and its peak memory, and the collector's work) from one run to the next.
        host.purge(instance_id)
        if bench.memory:
            extra["host_peak_mib"] = peak_memory_mib(host.process.pid)
        return elapsed

    def on_driver() -> float:
        if bench.memory:
            reset_peak_memory(driver.pid)
        cpu = cpu_seconds(driver.pid)
        answer = driver.run(bench.orchestrator, bench.input)
        extra["base_cpu_s"] = cpu_seconds(driver.pid) - cpu
        extra["driver_episodes"] = answer["episodes"]
        if bench.memory:
            extra["driver_peak_mib"] = peak_memory_mib(driver.pid)
        return answer["seconds"]

    return _paired(on_host, on_driver, host_first, extra)


class SplitClient:
    """The app's F1 client run in this (the load client's) process against a server's F2
    (the local host's or the bare one's): the layout where client and server each have a
    core. One event loop for the whole run keeps F1's session warm."""

    def __init__(self, base_url: str, server_pid: int) -> None:
        self.url = base_url + "/api/delay"
        self.server_pid = server_pid
        self.runner = asyncio.Runner()

    def cpu_seconds(self) -> float:
        """The server's CPU time plus this process's (where the client runs)."""
        return cpu_seconds(self.server_pid) + time.process_time()

    def request(self, method: str, path: str, json: dict[str, Any], timeout: float) -> Any:
        params = parse_fanout_body(json)
        started = time.perf_counter()
        answer = self.runner.run(run_fanout(self.url, params))
        return _Answer(time.perf_counter() - started, answer)

    def close(self) -> None:
        self.runner.run(close_shared_sessions())
        self.runner.close()


@dataclass
class _Answer:
    """What ``_fanout_once`` reads of a response, for the in-process client."""

    elapsed: float
    answer: dict[str, Any]
    status_code: int = 200

    def json(self) -> dict[str, Any]:
        return self.answer


def _fanout_once(request: Callable[..., Any], calls: int, delay_ms: int) -> tuple[float, float]:
    started = time.perf_counter()
    response = request("POST", "/api/fanout", json={"calls": calls, "delay_ms": delay_ms},
                       timeout=120)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"POST /api/fanout: HTTP {response.status_code} {response.text[:300]}")
    return elapsed, response.json()["fanout_ms"] / 1000


@dataclass
class HttpSides:
    """The two sides of an HTTP benchmark in its layout: who gets ``POST /api/fanout``."""

    host: Any  # LocalHost or SplitClient: ``request(method, path, json=, timeout=)``
    host_cpu: Callable[[], float]
    bare: BareServer | SplitClient
    floor: BareServer | None = None  # across: bare aiohttp in the host's layout, run too


def http_sides(bench: Bench, host: LocalHost, server: BareServer,
               host_client: SplitClient, bare_client: SplitClient) -> HttpSides:
    if bench.layout == "client":
        return HttpSides(host_client, host_client.cpu_seconds, bare_client)
    host_cpu = lambda: cpu_seconds(host.process.pid)  # noqa: E731
    if bench.layout == "across":
        return HttpSides(host, host_cpu, bare_client, floor=server)
    return HttpSides(host, host_cpu, server)


def http_sample(sides: HttpSides, bench: Bench, host_first: bool) -> Sample:
    extra: dict[str, Any] = {}
    delay_ms = int(bench.seconds * 1000)
    bare = sides.bare

    def on_host() -> float:
        cpu = sides.host_cpu()
        elapsed, extra["host_f1_s"] = _fanout_once(sides.host.request, bench.count, delay_ms)
        extra["host_cpu_s"] = sides.host_cpu() - cpu
        return elapsed

    def on_bare() -> float:
        cpu = bare.cpu_seconds()
        elapsed, extra["bare_f1_s"] = _fanout_once(bare.request, bench.count, delay_ms)
        extra["base_cpu_s"] = bare.cpu_seconds() - cpu
        return elapsed

    sample = _paired(on_host, on_bare, host_first, extra)
    if sides.floor is not None:  # the layout's own cost, in the same minute
        sample.extra["floor_s"] = _fanout_once(sides.floor.request, bench.count, delay_ms)[0]
    return sample


WARM_RUNS = 3  # a fresh process takes a few bursts to settle (its heap, the interpreter's
# specialised bytecode): the first run costs both sides ~1.4 s, the next few 5-10% over the rest


def warm_http(sides: HttpSides, bench: Bench) -> None:
    """A few runs each first: F1 keeps its connections, as the experiment's warm-up does."""
    delay_ms = int(bench.seconds * 1000)
    for _ in range(WARM_RUNS):
        _fanout_once(sides.host.request, bench.count, delay_ms)
        _fanout_once(sides.bare.request, bench.count, delay_ms)


def _paired(on_host: Callable[[], float], on_base: Callable[[], float], host_first: bool,
            extra: dict[str, Any]) -> Sample:
    if host_first:
        host_s = on_host()
        base_s = on_base()
    else:
        base_s = on_base()
        host_s = on_host()
    return Sample(host_s, base_s, extra)
