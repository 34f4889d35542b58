"""Load generation: measure sweep points against a running app (local host or Azure).

`Client` wraps one aiohttp session with no connection cap and turns every failure into an
`ExperimentError` whose message is one line naming the URL and the likely cause. `measure_http`
runs F1 -> F2 once; `measure_durable` starts `process_sites` and polls its status URL; `sweep`
measures a list of points in order, appending each finished point to a caller-owned list so an
interrupted sweep keeps what it measured.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp

from api.fanout import KEY_HEADER

KEY_ENV = "EXPERIMENT_FUNCTION_KEY"
FANOUT_ROUTE = "/api/fanout"
PROCESS_SITES_ROUTE = "/api/orchestrators/process_sites"
HOST_STATUS_ROUTE = "/admin/host/status"
TERMINAL_STATES = {"Completed", "Failed", "Terminated", "Canceled"}
# host.json settings worth reporting next to every curve (extensions.durableTask.*).
DURABLE_SETTINGS = (
    "hubName",
    "maxConcurrentActivityFunctions",
    "maxConcurrentOrchestratorFunctions",
    "extendedSessionsEnabled",
)


class ExperimentError(Exception):
    """A failure the CLI reports as one line and a non-zero exit."""


class TargetUnreachable(ExperimentError):
    """No HTTP answer at all: connection refused, DNS failure or timeout."""


@dataclass(frozen=True)
class PointSpec:
    """One sweep point. `delay_ms` is d for HTTP and connect + work for durable."""

    mode: str  # "http" or "durable"
    n: int
    delay_ms: int
    max_connections: int | None = None
    connect_ms: int | None = None
    work_ms: int | None = None
    f2: str = "async"  # HTTP: F2 (async), F2-sync (time.sleep in the pool) or F2-cpu (CPU work)

    @property
    def label(self) -> str:
        cap = f" cap={self.max_connections}" if self.max_connections else ""
        sync = {"sync": " sync F2", "cpu": " cpu F2"}.get(self.f2, "")
        if self.mode == "http":
            return f"http N={self.n} d={self.delay_ms}ms{cap}{sync}"
        return f"durable sites={self.n} {self.connect_ms}+{self.work_ms}ms"


@dataclass
class SweepOptions:
    """How each point is measured: repeats, warm-up runs (uncapped async HTTP only: a capped F1
    opens fresh connections every time, and batches need no warming), timeouts, polling.
    `durable_repeat` None = `repeat`."""

    repeat: int = 1
    durable_repeat: int | None = None
    warmup: int = 1
    timeout_s: float = 300.0
    poll_ms: int = 50
    details: bool = True


def plan(
    modes: Sequence[str],
    calls: Sequence[int],
    sites: Sequence[int],
    delay_ms: int,
    connect_ms: int,
    work_ms: int,
    max_connections: int | None,
    f2: str = "async",
) -> list[PointSpec]:
    """The points of one sweep: HTTP points first (each N in `calls`), then durable (`sites`)."""
    points: list[PointSpec] = []
    if "http" in modes:
        points += [PointSpec("http", n, delay_ms, max_connections, f2=f2) for n in calls]
    if "durable" in modes:
        points += [
            PointSpec("durable", n, connect_ms + work_ms, None, connect_ms, work_ms) for n in sites
        ]
    return points


class Client:
    """An aiohttp session to one base URL, sending the function key on app routes.

    No connection cap (`limit=0`), one timeout per request. Use as an async context manager.
    """

    def __init__(self, base_url: str, key: str | None = None, timeout_s: float = 300.0):
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Client:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=self.timeout_s),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    def url(self, route: str) -> str:
        return self.base_url + route

    async def request(
        self, method: str, url: str, body: Any = None, ok: Sequence[int] = (200,)
    ) -> tuple[int, Any]:
        """Send one request; returns (status, parsed JSON or None). Any status outside `ok`,
        a refused connection or a timeout raises ExperimentError."""
        assert self._session is not None, "use Client as an async context manager"
        headers = {}
        # Status URLs carry their own `code` (a system key); a function key must not replace it.
        if self.key and "code" not in parse_qs(urlsplit(url).query):
            headers[KEY_HEADER] = self.key
        try:
            async with self._session.request(method, url, json=body, headers=headers) as resp:
                text = await resp.text()
                status = resp.status
        except aiohttp.ClientConnectorError as exc:
            errno = exc.os_error.errno
            reason = os.strerror(errno).lower() if errno else str(exc.os_error)
            raise TargetUnreachable(
                f"cannot reach {self.base_url}: {reason} "
                "(is the app running? `make serve` starts it on http://localhost:7071)"
            ) from None
        except TimeoutError:
            raise TargetUnreachable(
                f"timed out after {self.timeout_s:g} s waiting for {method} {_redact(url)} "
                "(raise --timeout for long sweeps)"
            ) from None
        except aiohttp.ClientError as exc:
            raise ExperimentError(
                f"{method} {_redact(url)} failed: {type(exc).__name__}: {exc}"
            ) from None
        try:
            payload = json.loads(text) if text else None
        except ValueError:
            payload = None
        if status not in ok:
            raise ExperimentError(_status_message(status, method, url, payload, text))
        return status, payload


def _redact(url: str) -> str:
    """The URL without its query, which may hold a key (status URLs carry `code=`)."""
    return url.split("?", 1)[0]


def _status_message(status: int, method: str, url: str, payload: Any, text: str) -> str:
    shown = _redact(url)
    if status in (401, 403):
        return (
            f"{status} from {method} {shown}: the function key is missing or wrong "
            f"(pass --key or set {KEY_ENV})"
        )
    if status == 404:
        return f"404 from {method} {shown}: no such function here (is this the fan-out app?)"
    detail = payload.get("error") if isinstance(payload, dict) else None
    detail = detail or " ".join(text.split())[:200] or "no body"
    return f"{status} from {method} {shown}: {detail}"


async def measure_http(client: Client, spec: PointSpec, details: bool = True) -> dict[str, Any]:
    """One F1 run: POST /api/fanout; returns F1's answer plus `e2e_ms` (client-side) and
    `server_ms` (F1's own fan-out latency)."""
    body: dict[str, Any] = {"calls": spec.n, "delay_ms": spec.delay_ms, "details": details}
    if spec.max_connections:
        body["max_connections"] = spec.max_connections
    if spec.f2 != "async":
        body["f2"] = spec.f2
    t0 = time.perf_counter()
    _, answer = await client.request("POST", client.url(FANOUT_ROUTE), body)
    e2e_ms = (time.perf_counter() - t0) * 1000
    if not isinstance(answer, dict) or "fanout_ms" not in answer:
        raise ExperimentError(f"POST {client.url(FANOUT_ROUTE)} answered without fanout_ms")
    return {**answer, "e2e_ms": e2e_ms, "server_ms": answer["fanout_ms"]}


async def measure_durable(client: Client, spec: PointSpec, poll_ms: int = 50) -> dict[str, Any]:
    """One `process_sites` run: start it, poll `statusQueryGetUri` until a terminal state.

    Returns `e2e_ms` (start request to observed completion, within one poll interval),
    `server_ms` (the orchestration's own fan-out to fan-in time from its output's `total_ms`,
    else created-to-last-updated), `activities`, the instance id and the output.
    Raises ExperimentError if the orchestration does not complete.
    """
    body = {"count": spec.n, "connect_ms": spec.connect_ms, "work_ms": spec.work_ms}
    t0 = time.perf_counter()
    _, started = await client.request("POST", client.url(PROCESS_SITES_ROUTE), body, ok=(200, 202))
    status_url = started.get("statusQueryGetUri") if isinstance(started, dict) else None
    if not status_url:
        raise ExperimentError(f"POST {client.url(PROCESS_SITES_ROUTE)} gave no statusQueryGetUri")
    polls = 0
    while True:
        polls += 1
        # 202 while running, 200 when done; Azure answers 400/500 for failed or terminated ones.
        code, status = await client.request("GET", status_url, ok=(200, 202, 400, 500))
        if not isinstance(status, dict) or "runtimeStatus" not in status:
            raise ExperimentError(f"{code} from GET {_redact(status_url)}: no runtimeStatus")
        if status["runtimeStatus"] in TERMINAL_STATES:
            break
        if time.perf_counter() - t0 > client.timeout_s:
            raise ExperimentError(
                f"process_sites {started.get('id')} not done after {client.timeout_s:g} s "
                "(raise --timeout)"
            )
        await asyncio.sleep(poll_ms / 1000)
    e2e_ms = (time.perf_counter() - t0) * 1000
    runtime_status, output = status["runtimeStatus"], status.get("output")
    if runtime_status != "Completed":
        raise ExperimentError(
            f"process_sites {started.get('id')} ended {runtime_status}: {str(output)[:200]}"
        )
    summary = output if isinstance(output, dict) else {}
    return {
        "e2e_ms": e2e_ms,
        "server_ms": _server_ms(summary, status, e2e_ms),
        "activities": summary.get("sites", spec.n),
        "failed": summary.get("failed", 0),
        "instance_id": started.get("id"),
        "polls": polls,
        "output": {k: v for k, v in summary.items() if k != "failures"},
    }


def _server_ms(summary: dict[str, Any], status: dict[str, Any], fallback: float) -> float:
    if isinstance(summary.get("total_ms"), int | float):
        return float(summary["total_ms"])
    try:
        created = datetime.fromisoformat(status["createdTime"].replace("Z", "+00:00"))
        updated = datetime.fromisoformat(status["lastUpdatedTime"].replace("Z", "+00:00"))
        return (updated - created).total_seconds() * 1000
    except (KeyError, TypeError, ValueError, AttributeError):
        return fallback


async def measure_point(client: Client, spec: PointSpec, options: SweepOptions) -> dict[str, Any]:
    """Warm up (see SweepOptions), then measure the runs; returns the point with its runs."""
    runs = []
    if spec.mode == "http":
        warm = not spec.max_connections and spec.f2 == "async"
        for _ in range(options.warmup if warm else 0):
            await measure_http(client, spec, details=False)
        for _ in range(options.repeat):
            runs.append(await measure_http(client, spec, details=options.details))
    else:
        for _ in range(options.durable_repeat or options.repeat):
            runs.append(await measure_durable(client, spec, options.poll_ms))
    return {**asdict(spec), "runs": runs}


async def sweep(
    client: Client,
    specs: Sequence[PointSpec],
    options: SweepOptions,
    done: list[dict[str, Any]],
    on_start: Callable[[int, PointSpec], None] = lambda i, spec: None,
) -> None:
    """Measure `specs` in order, appending each finished point to `done` (kept on Ctrl-C)."""
    for i, spec in enumerate(specs):
        on_start(i, spec)
        done.append(await measure_point(client, spec, options))


async def host_status(client: Client) -> dict[str, Any]:
    """The host's answer to GET /admin/host/status, or `{"error": ...}` if it answers with an
    error status (it needs a master key in Azure). Raises TargetUnreachable if nothing answers,
    so a sweep against a wrong URL fails before it starts."""
    try:
        _, payload = await client.request("GET", client.url(HOST_STATUS_ROUTE))
    except TargetUnreachable:
        raise
    except ExperimentError as exc:
        return {"error": str(exc)}
    return payload if isinstance(payload, dict) else {"answer": payload}


def host_json_settings(app_dir: Path) -> dict[str, Any]:
    """The durable settings of the app's host.json (`extensions.durableTask`), plus the
    Functions timeout; `{}` if there is no readable host.json."""
    try:
        config = json.loads((app_dir / "host.json").read_text())
    except (OSError, ValueError):
        return {}
    durable = config.get("extensions", {}).get("durableTask", {})
    settings = {key: durable[key] for key in DURABLE_SETTINGS if key in durable}
    if "functionTimeout" in config:
        settings["functionTimeout"] = config["functionTimeout"]
    return settings


def is_loopback(base_url: str) -> bool:
    """True for localhost / 127.x / ::1 targets, whose host.json is the local app's."""
    host = urlsplit(base_url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")
