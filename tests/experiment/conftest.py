"""Fixtures for the fan-out experiment tests: a tiny aiohttp server on 127.0.0.1:0 that serves
the real F1/F2 functions (adapted from aiohttp requests to azure.functions.HttpRequest) and a fake
durable starter for `process_sites`, so the CLI can be tested without the local host."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import azure.functions as func
import pytest
from aiohttp import web

from api.fanout import delay, delay_sync, fanout

STATUS_ROUTE = "/runtime/webhooks/durabletask/instances/{id}"
TASKS = web.AppKey("tasks", set)


async def _adapt(handler, request: web.Request) -> web.Response:
    req = func.HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=dict(request.headers),
        params=dict(request.query),
        body=await request.read(),
    )
    resp = await handler(req)
    return web.Response(body=resp.get_body(), status=resp.status_code, content_type=resp.mimetype)


FAILING_COUNT = 13  # a process_sites run of this many sites fails, as in Azure (400 + Failed)
SYNC_THREADS = 4  # the fake worker's thread pool for synchronous functions


def _create_app(key: str | None) -> web.Application:
    instances: dict[str, dict] = {}
    pool = ThreadPoolExecutor(SYNC_THREADS)

    @web.middleware
    async def check_key(request, handler):
        if key and request.path.startswith("/api/"):
            given = request.headers.get("x-functions-key") or request.query.get("code")
            if given != key:
                return web.Response(status=401)
        return await handler(request)

    async def fanout_route(request):
        return await _adapt(fanout, request)

    async def delay_route(request):
        return await _adapt(delay, request)

    async def delay_sync_route(request):
        # Like the Python worker: a synchronous function runs in a small thread pool.
        async def in_pool(req):
            return await asyncio.get_running_loop().run_in_executor(pool, delay_sync, req)

        return await _adapt(in_pool, request)

    async def start_process_sites(request):
        body = await request.json()
        count, connect_ms, work_ms = body["count"], body["connect_ms"], body["work_ms"]
        instance_id = uuid.uuid4().hex
        created = datetime.now(UTC)
        record = {"runtimeStatus": "Running", "createdTime": created.isoformat(), "output": None}
        instances[instance_id] = record

        async def finish():
            await asyncio.sleep((connect_ms + work_ms) / 1000)
            if count == FAILING_COUNT:
                record["output"] = "Orchestrator function 'process_sites' failed: boom"
                record["runtimeStatus"] = "Failed"
            else:
                record["output"] = {"sites": count, "processed": count, "failed": 0}
                record["runtimeStatus"] = "Completed"
            record["lastUpdatedTime"] = datetime.now(UTC).isoformat()

        request.app[TASKS].add(asyncio.ensure_future(finish()))
        status = str(request.url.with_path(STATUS_ROUTE.format(id=instance_id)).with_query(None))
        return web.json_response({"id": instance_id, "statusQueryGetUri": status}, status=202)

    async def status(request):
        record = instances[request.match_info["id"]]
        code = {"Running": 202, "Completed": 200}.get(record["runtimeStatus"], 400)
        return web.json_response(record, status=code)

    async def slow(request):
        await asyncio.sleep(3)
        return web.json_response({})

    async def broken(request):
        return web.json_response({"error": "F1 exploded"}, status=500)

    async def host_status(request):
        return web.json_response({"state": "Running", "version": "fake"})

    app = web.Application(middlewares=[check_key])
    app[TASKS] = set()
    app.add_routes(
        [
            web.post("/api/fanout", fanout_route),
            web.get("/api/delay", delay_route),
            web.get("/api/delay_sync", delay_sync_route),
            web.post("/api/orchestrators/process_sites", start_process_sites),
            web.get(STATUS_ROUTE, status),
            web.get("/admin/host/status", host_status),
            web.post("/broken/api/fanout", broken),
            web.post("/slow/api/fanout", slow),
        ]
    )
    return app


class FakeHost:
    """The app's HTTP surface on 127.0.0.1:<free port>, served from a background thread."""

    sync_threads = SYNC_THREADS

    def __init__(self, key: str | None = None):
        self._key = key
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.base_url = ""

    def __enter__(self) -> FakeHost:
        self._thread.start()
        self.base_url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> str:
        self._runner = web.AppRunner(_create_app(self._key))
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=4096)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture(scope="module")
def fake_host() -> Iterator[FakeHost]:
    with FakeHost() as host:
        yield host


@pytest.fixture(scope="module")
def fake_host_with_key() -> Iterator[FakeHost]:
    with FakeHost(key="s3cret") as host:
        yield host
