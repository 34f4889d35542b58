"""The HTTP front: the app's HTTP functions, readiness, and the durable management API.

One route table (``create_app``). The management API is served twice, under the public webhook
path ``/runtime/webhooks/durabletask/`` and under ``/durabletask/``, the ``rpcBaseUrl`` that the
SDK's ``DurableOrchestrationClient`` calls - the same handlers, as in the extension.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import socket
import time
from dataclasses import asdict
from datetime import datetime
from typing import Any

import azure.functions as func
from aiohttp import web

from . import __version__
from .engine import ACTIVE, Engine, EngineError
from .history import TERMINAL, compact, parse_ts
from .loader import HttpFunction, LoadedApp
from .payloads import (
    RPC_PATH,
    WEBHOOK_PATH,
    check_status_payload,
    client_binding,
    status_payload,
)
from .worker import InvocationContext

log = logging.getLogger("emulator")

ENGINE = web.AppKey("engine", Engine)
APP = web.AppKey("app", LoadedApp)
OPTIONS = web.AppKey("options", dict)
STARTED = web.AppKey("started", float)

STATUS_NAMES = ("Running", "Completed", "ContinuedAsNew", "Failed", "Canceled", "Terminated",
                "Pending", "Suspended")
_BAD_ID = re.compile(r"[/\\?#\x00-\x1f\x7f]")


def _error(status: int, message: str, exception_message: str | None = None) -> web.Response:
    body = {"Message": message}
    if exception_message is not None:
        body["ExceptionMessage"] = exception_message
    return web.json_response(body, status=status)


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except EngineError as exc:
        if exc.status == 400:
            return _error(400, "One or more of the arguments submitted is incorrect", str(exc))
        if exc.status >= 500 or exc.status == 409:
            return _error(exc.status, "Something went wrong while processing your request",
                          str(exc))
        return _error(exc.status, str(exc))
    except _BadRequest as exc:
        return _error(400, str(exc), str(exc))


class _BadRequest(Exception):
    pass


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    if value is None:
        return default
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _BadRequest(f"Query parameter '{name}' must be true or false, not {value!r}.")


def _origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def validate_instance_id(instance_id: str) -> None:
    if not instance_id or instance_id.startswith("@") or len(instance_id) > 256 \
            or _BAD_ID.search(instance_id):
        raise _BadRequest(
            f"Invalid instance ID {instance_id!r}: it must be 1 to 256 characters, must not "
            "start with '@', and must not contain '/', '\\', '?', '#' or control characters.")


async def _json_body(request: web.Request) -> str | None:
    """The body as compact JSON text (None when empty); 400 when it is not JSON."""
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return compact(json.loads(raw))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _BadRequest(f"Invalid JSON content: {exc}") from exc


# -- management API ------------------------------------------------------------------------
async def start_instance(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    name = request.match_info["function"]
    instance_id = request.match_info.get("instance_id")
    if instance_id is not None:
        validate_instance_id(instance_id)
    input_json = await _json_body(request)
    instance_id = engine.start_orchestration(name, input_json, instance_id)
    timeout = request.query.get("timeout")
    if timeout is not None:
        try:
            limit = float(timeout)
            interval = float(request.query.get("pollingInterval", "1"))
        except ValueError as exc:
            raise _BadRequest("'timeout' and 'pollingInterval' must be numbers (seconds)") \
                from exc
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            inst = engine.instances.get(instance_id)
            if inst is not None and inst.status in TERMINAL:
                return web.json_response(status_payload(inst.record), status=200)
            await asyncio.sleep(min(interval, max(0.0, deadline - time.monotonic())))
    return _check_status(request, instance_id)


def _check_status(request: web.Request, instance_id: str) -> web.Response:
    payload = check_status_payload(_origin(request), instance_id, request.app[ENGINE].hub_name)
    return web.json_response(payload, status=202, headers={
        "Location": payload["statusQueryGetUri"], "Retry-After": "10"})


async def get_instance(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    inst = engine.instances.get(request.match_info["instance_id"])
    show_input = _flag(request, "showInput", True)
    show_history = _flag(request, "showHistory", False)
    show_output = _flag(request, "showHistoryOutput", False)
    fail_500 = _flag(request, "returnInternalServerErrorOnFailure", False)
    if inst is None:
        return web.Response(status=404)
    body = status_payload(inst.record, inst.history, show_input=show_input,
                          show_history=show_history, show_history_output=show_output)
    if inst.status in ACTIVE:
        return web.json_response(body, status=202, headers={
            "Location": str(request.url), "Retry-After": "5"})
    status = 500 if inst.status == "Failed" and fail_500 else 200
    return web.json_response(body, status=status)


def _time_param(request: web.Request, name: str) -> datetime | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        return parse_ts(value if value.endswith("Z") or "+" in value else value + "Z")
    except ValueError as exc:
        raise _BadRequest(f"Query parameter '{name}' is not a valid date/time: {value!r}") \
            from exc


def _status_filter(request: web.Request) -> set[str] | None:
    value = request.query.get("runtimeStatus")
    if not value:
        return None
    statuses = {s.strip() for s in value.split(",") if s.strip()}
    unknown = statuses - set(STATUS_NAMES)
    if unknown:
        raise _BadRequest(f"Unknown runtimeStatus {', '.join(sorted(unknown))}; expected "
                          f"one or more of {', '.join(STATUS_NAMES)}.")
    return statuses


def _filtered(request: web.Request) -> list[Any]:
    engine = request.app[ENGINE]
    created_from = _time_param(request, "createdTimeFrom")
    created_to = _time_param(request, "createdTimeTo")
    statuses = _status_filter(request)
    prefix = request.query.get("instanceIdPrefix")
    found = []
    for inst in engine.instances.values():
        record = inst.record
        created = parse_ts(record.created)
        if created_from and created < created_from:
            continue
        if created_to and created > created_to:
            continue
        if statuses and record.status not in statuses:
            continue
        if prefix and not record.instance_id.startswith(prefix):
            continue
        found.append(inst)
    found.sort(key=lambda i: (i.record.created, i.record.instance_id))
    return found


async def list_instances(request: web.Request) -> web.Response:
    show_input = _flag(request, "showInput", True)
    try:
        top = int(request.query.get("top", "100"))
        if top <= 0:
            raise ValueError
    except ValueError as exc:
        raise _BadRequest("Query parameter 'top' must be a positive integer.") from exc
    token = request.headers.get("x-ms-continuation-token")
    offset = 0
    if token and token != "null":
        try:
            offset = int(base64.b64decode(token).decode())
        except (ValueError, UnicodeDecodeError) as exc:
            raise _BadRequest("Invalid x-ms-continuation-token header.") from exc
    found = _filtered(request)
    page = found[offset:offset + top]
    headers = {}
    if offset + top < len(found):
        headers["x-ms-continuation-token"] = base64.b64encode(str(offset + top).encode()).decode()
    body = [status_payload(i.record, show_input=show_input) for i in page]
    return web.json_response(body, headers=headers)


async def purge_instance(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    instance_id = request.match_info["instance_id"]
    inst = engine.instances.get(instance_id)
    if inst is None:
        return web.Response(status=404)
    if inst.status not in TERMINAL:
        raise EngineError(409, f"The instance '{instance_id}' is {inst.status}; only completed, "
                               "failed, terminated or canceled instances can be purged.")
    return web.json_response({"instancesDeleted": engine.purge([instance_id])})


async def purge_instances(request: web.Request) -> web.Response:
    if not request.query.get("createdTimeFrom"):
        raise _BadRequest("Please provide value for 'createdTimeFrom' parameter.")
    engine = request.app[ENGINE]
    ids = [i.id for i in _filtered(request) if i.status in TERMINAL]
    deleted = engine.purge(ids)
    if deleted == 0:
        return web.Response(status=404)
    return web.json_response({"instancesDeleted": deleted})


async def raise_event(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    instance_id = request.match_info["instance_id"]
    engine.get_active(instance_id)  # 404 / 410 first, as the extension checks
    if request.content_type != "application/json":
        return _error(400, "Only application/json request content is supported")
    input_json = await _json_body(request)
    engine.raise_event(instance_id, request.match_info["event"],
                       input_json if input_json is not None else "null")
    return web.Response(status=202)


async def instance_operation(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    instance_id = request.match_info["instance_id"]
    operation = request.match_info["operation"].lower()
    reason = request.query.get("reason")
    if operation == "terminate":
        engine.terminate(instance_id, reason)
    elif operation == "suspend":
        engine.suspend(instance_id, reason)
    elif operation == "resume":
        engine.resume(instance_id, reason)
    elif operation == "restart":
        new_id = _flag(request, "restartWithNewInstanceId", True)
        return _check_status(request, engine.restart(instance_id, new_id))
    elif operation == "rewind":
        inst = engine.instances.get(instance_id)
        if inst is None:
            return web.Response(status=404)
        if inst.status in ("Canceled", "Terminated", "Completed"):
            return _error(410, f"The instance '{instance_id}' is {inst.status}.")
        if inst.status != "Failed":
            raise EngineError(500, "The rewind operation is only supported on failed "
                                   "orchestration instances.")
        return _error(501, "Rewind is not supported by the local host.")
    else:
        return web.Response(status=404)
    return web.Response(status=202)


async def entities(request: web.Request) -> web.Response:
    return _error(501, "Durable entities are not supported by the local host.")


async def not_found(request: web.Request) -> web.Response:
    return web.Response(status=404)


# -- host and emulator admin ---------------------------------------------------------------
async def host_status(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    limits = engine.limits
    return web.json_response({
        "id": socket.gethostname(),
        "state": "Running",
        "version": f"emulator {__version__}",
        "processUptime": int((time.monotonic() - request.app[STARTED]) * 1000),
        "extensions": {"durableTask": {
            "hubName": engine.hub_name,
            "maxConcurrentActivityFunctions": limits.max_activities,
            "maxConcurrentOrchestratorFunctions": limits.max_orchestrators,
        }},
        "emulator": {
            "threadPoolSize": limits.threads,
            "store": engine.store.description,
            "timeSkipping": engine.clock.skipping,
            "episodes": engine.stats["episodes"],
            "activities": engine.stats["activities"],
            "instances": len(engine.instances),
        },
    })


async def clock(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    action = request.match_info.get("action")
    if action and not engine.clock.skipping:
        return _error(409, "The host runs in real time; start it with --time-skipping.")
    if action == "hold":
        engine.clock.hold()
    elif action == "release":
        engine.clock.release()
        engine.poke()
    elif action == "advance":
        try:
            seconds = float(request.query["seconds"])
        except (KeyError, ValueError):
            return _error(400, "Query parameter 'seconds' (a number) is required.")
        engine.clock.advance_by(seconds)
        engine.poke()
    elif action is not None:
        return web.Response(status=404)
    return web.json_response({"now": engine.clock.now().isoformat(),
                              "timeSkipping": engine.clock.skipping})


async def raw_history(request: web.Request) -> web.Response:
    """The stored history of an instance, unprojected (for ``python -m emulator history``)."""
    engine = request.app[ENGINE]
    inst = engine.instances.get(request.match_info["instance_id"])
    if inst is None:
        return _error(404, f"No instance with ID '{request.match_info['instance_id']}' found.")
    return web.json_response({"instance": asdict(inst.record), "history": inst.history})


# -- the app's HTTP functions --------------------------------------------------------------
def _match(app: LoadedApp, method: str, path: str) -> tuple[HttpFunction | None, dict, bool]:
    method_mismatch = False
    for function in app.http:
        match = function.pattern.match(path)
        if match is None:
            continue
        if method not in function.methods:
            method_mismatch = True
            continue
        params = {k: v for k, v in match.groupdict().items() if v is not None}
        return function, params, False
    return None, {}, method_mismatch


async def invoke_http(request: web.Request) -> web.StreamResponse:
    app = request.app[APP]
    engine = request.app[ENGINE]
    function, params, _ = _match(app, request.method, request.match_info["tail"])
    if function is None:
        return web.Response(status=404)
    body = await request.read()
    req = func.HttpRequest(
        method=request.method, url=str(request.url), headers=dict(request.headers),
        params=dict(request.query), route_params=params, body=body)
    kwargs: dict[str, Any] = {function.request_param: req}
    if function.client_param:
        port = request.transport.get_extra_info("sockname")[1] if request.transport else 7071
        binding = client_binding(_origin(request), engine.hub_name)
        binding["rpcBaseUrl"] = f"http://127.0.0.1:{port}{RPC_PATH}/"
        kwargs[function.client_param] = json.dumps(binding)
    if function.wants_context:
        kwargs["context"] = InvocationContext(function.name)
    for other in function.other_inputs:
        kwargs[other.split(" ")[0]] = None
    started = time.perf_counter()
    try:
        if function.is_async:
            result = await function.fn(**kwargs)
        else:
            result = await engine.run_sync(function.fn, **kwargs)
    except Exception:
        log.exception("Executed 'Functions.%s' (Failed)", function.name)
        return web.json_response({"error": "The function raised an exception; see the host "
                                           "log."}, status=500)
    log.info("Executed 'Functions.%s' (Succeeded, Duration=%.0fms)", function.name,
             (time.perf_counter() - started) * 1000)
    return _to_response(result)


def _to_response(result: Any) -> web.Response:
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
    return web.json_response(result)


def _management_routes(base: str) -> list[web.RouteDef]:
    return [
        web.post(f"{base}/orchestrators/{{function}}", start_instance),
        web.post(f"{base}/orchestrators/{{function}}/{{instance_id}}", start_instance),
        web.get(f"{base}/instances", list_instances),
        web.get(f"{base}/instances/", list_instances),
        web.delete(f"{base}/instances", purge_instances),
        web.delete(f"{base}/instances/", purge_instances),
        web.get(f"{base}/instances/{{instance_id}}", get_instance),
        web.delete(f"{base}/instances/{{instance_id}}", purge_instance),
        web.post(f"{base}/instances/{{instance_id}}/raiseEvent/{{event}}", raise_event),
        web.post(f"{base}/instances/{{instance_id}}/{{operation}}", instance_operation),
        web.route("*", f"{base}/entities{{tail:.*}}", entities),
        web.route("*", f"{base}/{{tail:.*}}", not_found),
    ]


def create_app(engine: Engine, app: LoadedApp) -> web.Application:
    """The aiohttp application of the local host; the engine's loops run with it."""
    web_app = web.Application(middlewares=[_errors], client_max_size=100 * 1024 * 1024)
    web_app[ENGINE] = engine
    web_app[APP] = app
    web_app[STARTED] = time.monotonic()
    prefix = f"/{app.route_prefix}" if app.route_prefix else ""
    web_app.add_routes([
        web.get("/admin/host/status", host_status),
        web.get("/admin/emulator/clock", clock),
        web.post("/admin/emulator/clock/{action}", clock),
        web.get("/admin/emulator/instances/{instance_id}/history", raw_history),
        *_management_routes(WEBHOOK_PATH),
        *_management_routes(RPC_PATH),
        web.route("*", f"{prefix}/{{tail:.*}}", invoke_http),
    ])

    async def engine_ctx(_: web.Application):
        await engine.start()
        yield
        await engine.stop()

    web_app.cleanup_ctx.append(engine_ctx)
    return web_app
