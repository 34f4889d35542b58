"""The app's HTTP functions: match a request to a route, build the ``HttpRequest`` and the
durable client binding, call the function through the engine's worker, convert its answer."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import azure.functions as func
from aiohttp import web

from ..runtime.engine import Engine
from ..worker.invoke import InvocationContext
from ..worker.loader import HttpFunction, LoadedApp
from ..worker.timeouts import FunctionTimeout
from .errors import json_response
from .payloads import RPC_PATH, client_binding

log = logging.getLogger("emulator")

ENGINE = web.AppKey("engine", Engine)
APP = web.AppKey("app", LoadedApp)


def origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def match(app: LoadedApp, method: str, path: str) -> tuple[HttpFunction | None, dict, bool]:
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
    engine = request.app[ENGINE]
    function, params, _ = match(app, request.method, request.match_info["tail"])
    if function is None:
        return web.Response(status=404)
    body = await request.read()
    req = func.HttpRequest(
        method=request.method, url=str(request.url), headers=dict(request.headers),
        params=dict(request.query), route_params=params, body=body)
    kwargs: dict[str, Any] = {function.request_param: req}
    if function.client_param:
        port = request.transport.get_extra_info("sockname")[1] if request.transport else 7071
        binding = client_binding(origin(request), engine.hub_name)
        binding["rpcBaseUrl"] = f"http://127.0.0.1:{port}{RPC_PATH}/"
        kwargs[function.client_param] = json.dumps(binding)
    if function.wants_context:
        kwargs["context"] = InvocationContext(function.name)
    for other in function.other_inputs:
        kwargs[other.split(" ")[0]] = None
    started = time.perf_counter()
    try:
        result = await engine.call_function(function.name, function.fn, kwargs,
                                            is_async=function.is_async)
    except FunctionTimeout as exc:  # the host answers 500 and logs the timeout
        log.error("Executed 'Functions.%s' (Failed): %s", function.name, exc)
        return json_response({"error": str(exc)}, status=500)
    except Exception:
        log.exception("Executed 'Functions.%s' (Failed)", function.name)
        return json_response({"error": "The function raised an exception; see the host "
                                       "log."}, status=500)
    log.info("Executed 'Functions.%s' (Succeeded, Duration=%.0fms)", function.name,
             (time.perf_counter() - started) * 1000)
    return to_response(result)


def to_response(result: Any) -> web.Response:
    if isinstance(result, func.HttpResponse):
        headers = {k: v for k, v in result.headers.items()}
        if not any(k.lower() == "content-type" for k in headers):
            mimetype = result.mimetype or "text/plain"
            headers["Content-Type"] = f"{mimetype}; charset={result.charset or 'utf-8'}"
        return web.Response(status=result.status_code, body=result.get_body(), headers=headers)
    if result is None:
        return web.Response(status=204)
    if isinstance(result, bytes | str):
        return web.Response(status=200, body=result if isinstance(result, bytes)
                            else result.encode(), content_type="text/plain")
    return json_response(result)
