"""The bare aiohttp baseline of the F1 -> F2 experiment: the figure the local host is divided by.

One aiohttp server, no Functions layer: ``POST /api/fanout`` runs the app's own uncapped F1
client (``api.fanout.run_fanout``, one shared session, no connection cap) against
``GET /api/delay?ms=d`` on the same server, whose handler waits with ``asyncio.sleep`` and answers
the same JSON as F2. Same process layout as the local host (F1 and F2 on one event loop), same
listen backlog, the same garbage-collector settings (``emulator.host.server.tune_gc``), no access
log: what the local host adds on top of this is its HTTP front (route matching, ``HttpRequest``
/ ``HttpResponse`` conversion, its per-request log line).

    python -m benchmarks.bare_http [--port 0]    # prints "listening on http://127.0.0.1:N"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime

from aiohttp import web

from api.fanout import parse_fanout_body, run_fanout
from emulator.host.server import tune_gc

BACKLOG = 4096  # as the local host (emulator.host.server.LISTEN_BACKLOG)


async def fanout(request: web.Request) -> web.Response:
    params = parse_fanout_body(await request.json())
    target = f"http://{request.host}/api/delay"
    return web.json_response(await run_fanout(target, params))


async def delay(request: web.Request) -> web.Response:
    ms = int(request.query["ms"])
    started_at, t0 = datetime.now(UTC), time.perf_counter()
    await asyncio.sleep(ms / 1000)
    return web.Response(text=json.dumps({
        "ms": ms, "started_at": started_at.isoformat(), "ended_at": datetime.now(UTC).isoformat(),
        "elapsed_ms": (time.perf_counter() - t0) * 1000}), content_type="application/json")


async def serve(port: int) -> None:
    app = web.Application()
    app.add_routes([web.post("/api/fanout", fanout), web.get("/api/delay", delay)])
    runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=BACKLOG)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]
    tune_gc()
    print(f"bare aiohttp listening on http://127.0.0.1:{bound}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bare_http")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.port))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
