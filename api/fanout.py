"""F1 and F2, the HTTP fan-out experiment.

F1 (`POST /api/fanout`, body `{"calls": N, "delay_ms": d}`, optional `"max_connections": k` and
`"details": true`) makes N concurrent calls to F2 on the base URL its own request came in on and
answers once all of them are done, with the fan-out latency and per-call statistics.
F2 (`GET /api/delay?ms=d`) waits d ms with `asyncio.sleep` and answers with its start/end times.
F2-sync (`GET /api/delay_sync?ms=d`, used when F1's body says `"f2": "sync"`) is the same wait as
a synchronous function (`time.sleep`): the worker runs it in its thread pool
(PYTHON_THREADPOOL_THREAD_COUNT), so at most that many run at once. It is there to show the
batches a synchronous function causes, not as a pattern to copy.
F2-cpu (`GET /api/delay_cpu?ms=d`, `"f2": "cpu"`) does d ms of real CPU work (its thread's CPU
time) in the thread pool: the interpreter lock lets one such call run per worker process at a
time, so N calls take about ceil(N / k) x d with k = min(cores, FUNCTIONS_WORKER_PROCESS_COUNT)
(the calls of one process share its core, so they end together rather than in visible waves).

Bounds (anything outside, missing or not an integer answers 400 `{"error": ...}` naming the field):
`calls` 1..5000, `delay_ms` and `ms` 0..60000, `max_connections` 1..5000 or null (no cap),
`f2` "async" (default), "sync" or "cpu".

F1's answer (200): the request's `calls`, `delay_ms`, `max_connections`, `f2`; `target` (F2's URL);
`started_at`; `fanout_ms` (all calls issued to all answers read) and `overhead_ms` (minus d);
`per_call_ms` and `f2_ms` (count/min/p50/p95/max/mean of each call's latency seen by F1, and of
F2's own wait); `waves`, `peak_concurrency`, `effective_concurrency` (see api/latency_stats.py);
with `"details": true`, `details.start_ms` / `details.end_ms` per call. A failed F2 call makes
F1 answer 502, a fan-out longer than FANOUT_DEADLINE_S 504, both with `{"error": ...}`.

No hidden connection cap: aiohttp's connector allows 100 connections by default, which turns 1000
calls into 10 waves, so F1 sets `limit=0` (unbounded) unless a cap is asked for.
"""

from __future__ import annotations

import asyncio
import json
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import azure.functions as func
import yarl

from api.json_body import InvalidBody, parse_body
from api.latency_stats import (
    effective_concurrency,
    estimate_waves,
    peak_concurrency,
    summarize,
)

MAX_CALLS = 5000
MAX_DELAY_MS = 60_000
# The whole fan-out must finish within this; Azure's front end drops HTTP requests after 230 s.
FANOUT_DEADLINE_S = 225.0
KEY_HEADER = "x-functions-key"
F2_ROUTES = {"async": "delay", "sync": "delay_sync", "cpu": "delay_cpu"}

# Plain Blueprint: F1 and F2 are HTTP functions only and need no durable bindings.
bp = func.Blueprint()


class BadRequest(ValueError):
    """Invalid input; the message names the field and is sent back as `{"error": message}`."""


@dataclass(frozen=True)
class FanoutParams:
    calls: int
    delay_ms: int
    max_connections: int | None = None
    details: bool = False
    f2: str = "async"


def _bounded_int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name} must be an integer from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        raise BadRequest(f"{name} must be from {low} to {high}, got {value}")
    return value


def parse_fanout_body(body: Any) -> FanoutParams:
    """Validate F1's JSON body; raises BadRequest naming the first bad or unknown field."""
    if not isinstance(body, dict):
        raise BadRequest('body must be a JSON object like {"calls": 100, "delay_ms": 1000}')
    unknown = sorted(set(body) - {"calls", "delay_ms", "max_connections", "details", "f2"})
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}")
    for required in ("calls", "delay_ms"):
        if required not in body:
            raise BadRequest(f"{required} is required")
    cap = body.get("max_connections")
    details = body.get("details", False)
    if not isinstance(details, bool):
        raise BadRequest(f"details must be true or false, got {details!r}")
    f2 = body.get("f2", "async")
    if not isinstance(f2, str) or f2 not in F2_ROUTES:
        raise BadRequest(f"f2 must be 'async', 'sync' or 'cpu', got {f2!r}")
    return FanoutParams(
        calls=_bounded_int("calls", body["calls"], 1, MAX_CALLS),
        delay_ms=_bounded_int("delay_ms", body["delay_ms"], 0, MAX_DELAY_MS),
        max_connections=None if cap is None else _bounded_int("max_connections", cap, 1, MAX_CALLS),
        details=details,
        f2=f2,
    )


def parse_delay_ms(raw: str | None) -> int:
    """Validate F2's `ms` query parameter (a decimal integer string)."""
    if raw is None:
        raise BadRequest("ms is required (a query parameter, e.g. ?ms=1000)")
    try:
        value = int(raw.strip(), 10)
    except ValueError:
        raise BadRequest(f"ms must be an integer from 0 to {MAX_DELAY_MS}, got {raw!r}") from None
    return _bounded_int("ms", value, 0, MAX_DELAY_MS)


def delay_url(fanout_url: str, f2: str = "async") -> str:
    """F2's URL (or F2-sync's) on the same scheme, host and route prefix as F1's request.

    `https://app.azurewebsites.net/api/fanout?code=k` -> `https://app.azurewebsites.net/api/delay`.
    The route prefix is kept (it is configurable in host.json); the query string is dropped.
    """
    parts = urlsplit(fanout_url)
    path = parts.path.rstrip("/")
    prefix = path.rsplit("/", 1)[0] if path.lower().endswith("/fanout") else "/api"
    return urlunsplit((parts.scheme, parts.netloc, f"{prefix}/{F2_ROUTES[f2]}", "", ""))


def forwarded_key_headers(req: func.HttpRequest) -> dict[str, str]:
    """The function key F1 was called with (header or `code` parameter), as a header for F2."""
    key = req.headers.get(KEY_HEADER) or req.params.get("code")
    return {KEY_HEADER: key} if key else {}


# Uncapped fan-outs share one session per event loop, so its idle connections are reused by the
# next invocation (Azure's advice: reuse clients across invocations). Opening 1000 loopback
# connections costs about 0.4 s of CPU on a 2-core machine, a third of a 1 s experiment.
# The session lives inside a suspended async generator: when the loop shuts down
# (asyncio.run's shutdown_asyncgens) the generator is closed and closes the session with it,
# instead of aiohttp logging "Unclosed client session" at exit.
_SHARED: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[aiohttp.ClientSession, AsyncGenerator[Any, None]]
] = weakref.WeakKeyDictionary()


def _new_session(limit: int) -> aiohttp.ClientSession:
    # Only a connect timeout per call: with a cap a call may wait long for a free connection, and
    # per-call read timers cost CPU on the hot path; FANOUT_DEADLINE_S bounds the whole fan-out.
    return aiohttp.ClientSession(
        # limit 0 = no cap (aiohttp's default is 100). Idle connections are kept 60 s (default
        # 15 s) so back-to-back experiment runs find them warm; servers usually allow 75 s+.
        connector=aiohttp.TCPConnector(limit=limit, keepalive_timeout=60),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


async def _hold(session: aiohttp.ClientSession) -> AsyncGenerator[aiohttp.ClientSession, None]:
    try:
        yield session
    finally:
        await session.close()


async def _shared_session() -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    entry = _SHARED.get(loop)
    if entry is not None and not entry[0].closed:
        return entry[0]
    session = _new_session(0)
    holder = _hold(session)
    await anext(holder)  # now suspended at its yield until closed
    _SHARED[loop] = (session, holder)
    return session


@asynccontextmanager
async def _session(max_connections: int | None) -> AsyncIterator[aiohttp.ClientSession]:
    """The shared uncapped session of the running loop, or a fresh one limited to the cap."""
    if max_connections:
        async with _new_session(max_connections) as session:
            yield session
    else:
        yield await _shared_session()


async def close_shared_sessions() -> None:
    """Close the running loop's shared session now (tests call this; loop shutdown does too)."""
    entry = _SHARED.pop(asyncio.get_running_loop(), None)
    if entry is not None:
        await entry[1].aclose()


@dataclass(frozen=True)
class CallTiming:
    """One F2 call seen from F1, in ms since the fan-out started."""

    start_ms: float  # when F2 began waiting: completion minus F2's own elapsed time (no clock skew)
    end_ms: float  # when F1 had F2's full answer
    f2_ms: float  # F2's own elapsed time


async def _call_f2(
    session: aiohttp.ClientSession, url: yarl.URL, headers: dict[str, str], t0: float
) -> CallTiming:
    async with session.get(url, headers=headers) as resp:
        payload = await resp.read()
        if resp.status != 200:
            text = payload[:200].decode(errors="replace")
            raise RuntimeError(f"F2 answered {resp.status}: {text}")
    end_ms = (time.perf_counter() - t0) * 1000
    f2_ms = float(json.loads(payload)["elapsed_ms"])
    return CallTiming(start_ms=max(0.0, end_ms - f2_ms), end_ms=end_ms, f2_ms=f2_ms)


async def run_fanout(
    url: str, params: FanoutParams, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Call F2 at `url` `params.calls` times at once and summarise the timings.

    Returns the JSON-ready result F1 answers with. Raises RuntimeError naming the first failure if
    any call fails, TimeoutError if the whole fan-out exceeds FANOUT_DEADLINE_S.
    Per-call latency counts from the moment F1 issued every request (all at once), so with a cap it
    includes the wait for a free connection; waves and peak concurrency use F2's start estimates.
    """
    # Built once: per-call URL building is a measurable part of F1's CPU time at N = 1000.
    target = yarl.URL(url).with_query(ms=str(params.delay_ms))
    started_at = datetime.now(UTC)
    async with _session(params.max_connections) as session:
        t0 = time.perf_counter()
        calls = [_call_f2(session, target, headers or {}, t0) for _ in range(params.calls)]
        async with asyncio.timeout(FANOUT_DEADLINE_S):
            outcomes = await asyncio.gather(*calls, return_exceptions=True)
        total_ms = (time.perf_counter() - t0) * 1000
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    if failures:
        first = failures[0]
        raise RuntimeError(
            f"{len(failures)} of {params.calls} calls to F2 ({url}) failed; first: "
            f"{type(first).__name__}: {first}"
        )
    timings: list[CallTiming] = list(outcomes)  # type: ignore[arg-type]
    result: dict[str, Any] = {
        "calls": params.calls,
        "delay_ms": params.delay_ms,
        "max_connections": params.max_connections,
        "f2": params.f2,
        "target": url,
        "started_at": started_at.isoformat(),
        "fanout_ms": total_ms,
        "overhead_ms": total_ms - params.delay_ms,
        "per_call_ms": summarize(t.end_ms for t in timings),
        "f2_ms": summarize(t.f2_ms for t in timings),
        "waves": estimate_waves((t.start_ms for t in timings), params.delay_ms),
        "peak_concurrency": peak_concurrency((t.start_ms, t.end_ms) for t in timings),
        "effective_concurrency": effective_concurrency(params.calls, params.delay_ms, total_ms),
    }
    if params.details:
        result["details"] = {
            "start_ms": [round(t.start_ms, 2) for t in timings],
            "end_ms": [round(t.end_ms, 2) for t in timings],
        }
    return result


def _json(status: int, payload: dict[str, Any]) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(payload), status_code=status, mimetype="application/json")


async def fanout(req: func.HttpRequest) -> func.HttpResponse:
    """F1: fan out to F2 on the caller's own base URL and answer with the latencies."""
    try:
        try:
            body = parse_body(req.get_body())
        except InvalidBody as error:
            raise BadRequest(f'body must be JSON, e.g. {{"calls": 100, "delay_ms": 1000}}; '
                             f"it is not: {error}") from None
        params = parse_fanout_body(body)
    except BadRequest as exc:
        return _json(400, {"error": str(exc)})
    try:
        result = await run_fanout(delay_url(req.url, params.f2), params, forwarded_key_headers(req))
    except TimeoutError:
        return _json(504, {"error": f"fan-out did not finish within {FANOUT_DEADLINE_S:.0f} s"})
    except RuntimeError as exc:
        return _json(502, {"error": str(exc)})
    return _json(200, result)


def _delay_answer(ms: int, started_at: datetime, t0: float) -> func.HttpResponse:
    return _json(
        200,
        {
            "ms": ms,
            "started_at": started_at.isoformat(),
            "ended_at": datetime.now(UTC).isoformat(),
            "elapsed_ms": (time.perf_counter() - t0) * 1000,
        },
    )


async def delay(req: func.HttpRequest) -> func.HttpResponse:
    """F2: wait `ms` milliseconds without blocking the worker, then report when it ran."""
    try:
        ms = parse_delay_ms(req.params.get("ms"))
    except BadRequest as exc:
        return _json(400, {"error": str(exc)})
    started_at, t0 = datetime.now(UTC), time.perf_counter()
    await asyncio.sleep(ms / 1000)
    return _delay_answer(ms, started_at, t0)


def delay_sync(req: func.HttpRequest) -> func.HttpResponse:
    """F2-sync: the same wait, blocking a worker thread (demonstrates thread-pool batches)."""
    try:
        ms = parse_delay_ms(req.params.get("ms"))
    except BadRequest as exc:
        return _json(400, {"error": str(exc)})
    started_at, t0 = datetime.now(UTC), time.perf_counter()
    time.sleep(ms / 1000)
    return _delay_answer(ms, started_at, t0)


def burn_cpu(ms: int) -> int:
    """Compute for `ms` ms of this thread's CPU time (time waiting for the interpreter lock or a
    core does not count); the number of loop turns it took."""
    end = time.thread_time() + ms / 1000
    turns = 0
    while time.thread_time() < end:
        turns += 1
    return turns


def delay_cpu(req: func.HttpRequest) -> func.HttpResponse:
    """F2-cpu: d ms of CPU work in a worker thread (one at a time per worker process)."""
    try:
        ms = parse_delay_ms(req.params.get("ms"))
    except BadRequest as exc:
        return _json(400, {"error": str(exc)})
    started_at, t0 = datetime.now(UTC), time.perf_counter()
    burn_cpu(ms)
    return _delay_answer(ms, started_at, t0)


# Registered without decorator syntax so the handlers stay plain functions that tests can call
# with an HttpRequest (the decorators return FunctionBuilder objects instead).
# The auth level is set per route: a Blueprint's own http_auth_level is dropped when the app
# registers it (the app's level applies to routes that set none).
bp.route(route="fanout", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)(fanout)
bp.route(route="delay", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)(delay)
bp.route(route="delay_sync", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)(delay_sync)
bp.route(route="delay_cpu", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)(delay_cpu)
