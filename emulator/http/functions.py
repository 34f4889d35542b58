"""The app's HTTP functions: match a request to a route, build the ``HttpRequest`` and the
durable client binding, call the function through the worker seam, convert its answer."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from aiohttp import web

from ..worker.index import FunctionIndex, HttpFunction
from ..worker.seam import HttpCall, HttpReply
from ..worker.timeouts import FunctionTimeout
from .errors import json_response
from .hubs import operations_of
from .keys import APP
from .payloads import RPC_PATH, client_binding
from .readers import read_body
from .triggers import TRIGGERS

log = logging.getLogger("emulator")

def origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def match(app: FunctionIndex, method: str, path: str) -> tuple[HttpFunction | None, dict, bool]:
    method_mismatch = False
    for function in app.http:
        found = function.pattern.match(path)
        if found is None:
            continue
        if method not in function.methods:
            method_mismatch = True
            continue
        params = {k: v for k, v in found.groupdict().items() if v is not None}
        return function, params, False
    return None, {}, method_mismatch


async def invoke_http(request: web.Request) -> web.StreamResponse:
    app = request.app[APP]
    operations = operations_of(request)
    function, params, _ = match(app, request.method, request.match_info["tail"])
    if function is None:
        return web.Response(status=404)
    body = await read_body(request)
    binding = None
    if function.client_param:
        port = request.transport.get_extra_info("sockname")[1] if request.transport else 7071
        client = client_binding(origin(request), operations.hub_name)
        # 1.x SDK: the management API under /durabletask/; 2.x SDK: the host's gRPC endpoint
        client["rpcBaseUrl"] = operations.rpc_base_url or f"http://127.0.0.1:{port}{RPC_PATH}/"
        binding = json.dumps(client)
    storage = request.app.get(TRIGGERS) if function.bindings else None
    data = binding_data(params, request.query, body) if storage is not None else {}
    try:
        inputs = await storage.read_inputs(function.bindings, data) if storage else {}
    except Exception as exc:  # a binding that cannot be read fails the call, as in the host
        log.error("Executed 'Functions.%s' (Failed): reading an input binding: %s",
                  function.name, exc)
        return json_response({"error": f"reading an input binding failed: {exc}"}, status=500)
    call = HttpCall(method=request.method, url=str(request.url), headers=dict(request.headers),
                    query=dict(request.query), route_params=params, body=body,
                    client_binding=binding, inputs=inputs)
    started = time.perf_counter()
    try:
        reply = await operations.run_http(function, call)
        if storage is not None:
            await storage.write_outputs(function.bindings, data, reply.outputs)
    except FunctionTimeout as exc:  # the host answers 500 and logs the timeout
        log.error("Executed 'Functions.%s' (Failed): %s", function.name, exc)
        return json_response({"error": str(exc)}, status=500)
    except Exception:
        log.exception("Executed 'Functions.%s' (Failed)", function.name)
        return json_response({"error": "The function raised an exception; see the host "
                                       "log."}, status=500)
    log.info("Executed 'Functions.%s' (Succeeded, Duration=%.0fms)", function.name,
             (time.perf_counter() - started) * 1000)
    return to_response(reply)


def binding_data(params: dict[str, str], query: Any, body: bytes) -> dict[str, Any]:
    """What binding expressions in an HTTP function's bindings may name: route parameters, the
    query's parameters, and a JSON object body's properties (``{id}``, ``{query.x}``)."""
    data: dict[str, Any] = {"query": dict(query)}
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        data.update({k: v for k, v in parsed.items() if isinstance(k, str)})
    data.update(dict(query))
    data.update(params)
    return data


def to_response(reply: HttpReply) -> web.Response:
    """The worker's reply as an aiohttp response."""
    if reply.is_json:
        return json_response(reply.value)
    return web.Response(status=reply.status, body=reply.body, headers=reply.headers or None,
                        content_type=reply.content_type)
