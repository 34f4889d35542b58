"""The HTTP front: the app's HTTP functions, readiness, and the durable management API.

One route table (``create_app``). The management API is served twice, under the public webhook
path ``/runtime/webhooks/durabletask/`` and under ``/durabletask/``, the ``rpcBaseUrl`` that the
SDK's ``DurableOrchestrationClient`` calls - the same handlers, as in the extension.
"""

from __future__ import annotations

import base64
import contextlib
import re
import socket
import time
from dataclasses import asdict
from datetime import datetime

from aiohttp import web

from . import __version__
from .engine import Engine
from .enums import ACTIVE, RuntimeStatus
from .history import parse_ts
from .http_errors import (
    InvalidQuery,
    error_response,
    errors_middleware,
    flag,
    json_body,
    seconds,
    waiting_seconds,
)
from .http_functions import APP, ENGINE, invoke_http, origin
from .instance import Instance
from .loader import LoadedApp
from .payloads import RPC_PATH, WEBHOOK_PATH, check_status_payload, status_payload

STARTED = web.AppKey("started", float)
_BAD_ID = re.compile(r"[/\\?#\x00-\x1f\x7f]")


def validate_instance_id(instance_id: str) -> None:
    if not instance_id or instance_id.startswith("@") or len(instance_id) > 256 \
            or _BAD_ID.search(instance_id):
        raise InvalidQuery(
            f"Invalid instance ID {instance_id!r}: it must be 1 to 256 characters, must not "
            "start with '@', and must not contain '/', '\\', '?', '#' or control characters.")


# -- management API ------------------------------------------------------------------------
async def start_instance(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    name = request.match_info["function"]
    instance_id = request.match_info.get("instance_id")
    if instance_id is not None:
        validate_instance_id(instance_id)
    timeout = request.query.get("timeout")
    if timeout is not None:  # checked before anything is created
        limit = seconds(request, "timeout", timeout)
        seconds(request, "pollingInterval", "1")  # accepted; the wait is woken, not polled
    input_json = await json_body(request)
    instance_id = engine.operations.start(name, input_json, instance_id,
                                          version=request.query.get("version"))
    if timeout is not None:
        with engine.clock.waiting():  # a waiting client: while-waiting time skipping runs
            inst = await engine.wait_for(instance_id, _finished, limit)
        if _finished(inst):
            return web.json_response(status_payload(inst.record), status=200)
    return _check_status(request, instance_id)


def _finished(inst: Instance | None) -> bool:
    return inst is not None and inst.is_terminal


def _check_status(request: web.Request, instance_id: str) -> web.Response:
    payload = check_status_payload(origin(request), instance_id, request.app[ENGINE].hub_name)
    return web.json_response(payload, status=202, headers={
        "Location": payload["statusQueryGetUri"], "Retry-After": "10"})


async def get_instance(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    inst = engine.instances.get(request.match_info["instance_id"])
    show_input = flag(request, "showInput", True)
    show_history = flag(request, "showHistory", False)
    show_output = flag(request, "showHistoryOutput", False)
    fail_500 = flag(request, "returnInternalServerErrorOnFailure", False)
    waiting = waiting_seconds(request)
    if inst is None:
        return web.Response(status=404)
    if waiting is not None and not inst.is_terminal:
        engine.clock.lease_wait(waiting)  # a polling client waits until its next poll
    body = status_payload(inst.record, inst.history, show_input=show_input,
                          show_history=show_history, show_history_output=show_output)
    if inst.status in ACTIVE:
        return web.json_response(body, status=202, headers={
            "Location": str(request.url), "Retry-After": "5"})
    status = 500 if inst.status == RuntimeStatus.Failed and fail_500 else 200
    return web.json_response(body, status=status)


def _time_param(request: web.Request, name: str) -> datetime | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        return parse_ts(value if value.endswith("Z") or "+" in value else value + "Z")
    except ValueError as exc:
        raise InvalidQuery(f"Query parameter '{name}' is not a valid date/time: {value!r}") \
            from exc


def _status_filter(request: web.Request) -> set[RuntimeStatus] | None:
    value = request.query.get("runtimeStatus")
    if not value:
        return None
    statuses = {s.strip() for s in value.split(",") if s.strip()}
    names = [status.value for status in RuntimeStatus]
    unknown = statuses - set(names)
    if unknown:
        raise InvalidQuery(f"Unknown runtimeStatus {', '.join(sorted(unknown))}; expected "
                           f"one or more of {', '.join(names)}.")
    return {RuntimeStatus(s) for s in statuses}


def _filtered(request: web.Request) -> list[Instance]:
    return request.app[ENGINE].operations.find(
        created_from=_time_param(request, "createdTimeFrom"),
        created_to=_time_param(request, "createdTimeTo"),
        statuses=_status_filter(request), prefix=request.query.get("instanceIdPrefix"))


async def list_instances(request: web.Request) -> web.Response:
    show_input = flag(request, "showInput", True)
    try:
        top = int(request.query.get("top", "100"))
        if top <= 0:
            raise ValueError
    except ValueError as exc:
        raise InvalidQuery("Query parameter 'top' must be a positive integer.") from exc
    token = request.headers.get("x-ms-continuation-token")
    offset = 0
    if token and token != "null":
        try:
            offset = int(base64.b64decode(token).decode())
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidQuery("Invalid x-ms-continuation-token header.") from exc
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
    if instance_id not in engine.instances:
        return web.Response(status=404)
    return web.json_response({"instancesDeleted": engine.operations.purge_one(instance_id)})


async def purge_instances(request: web.Request) -> web.Response:
    if not request.query.get("createdTimeFrom"):
        raise InvalidQuery("Please provide value for 'createdTimeFrom' parameter.")
    engine = request.app[ENGINE]
    deleted = engine.operations.purge(i.id for i in _filtered(request) if i.is_terminal)
    if deleted == 0:
        return web.Response(status=404)
    return web.json_response({"instancesDeleted": deleted})


async def raise_event(request: web.Request) -> web.Response:
    operations = request.app[ENGINE].operations
    instance_id = request.match_info["instance_id"]
    operations.get_active(instance_id)  # 404 / 410 first, as the extension checks
    if request.content_type != "application/json":
        return error_response(400, "Only application/json request content is supported")
    input_json = await json_body(request)
    operations.raise_event(instance_id, request.match_info["event"],
                           input_json if input_json is not None else "null")
    return web.Response(status=202)


async def instance_operation(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    operations = engine.operations
    instance_id = request.match_info["instance_id"]
    operation = request.match_info["operation"].lower()
    reason = request.query.get("reason")
    if operation == "terminate":
        operations.terminate(instance_id, reason)
    elif operation == "suspend":
        operations.suspend(instance_id, reason)
    elif operation == "resume":
        operations.resume(instance_id, reason)
    elif operation == "restart":
        new_id = flag(request, "restartWithNewInstanceId", True)
        return _check_status(request, operations.restart(instance_id, new_id))
    elif operation == "rewind":
        if instance_id not in engine.instances:
            return web.Response(status=404)
        operations.rewind(instance_id, reason)
    else:
        return web.Response(status=404)
    return web.Response(status=202)


async def entities(request: web.Request) -> web.Response:
    return error_response(501, "Durable entities are not supported by the local host.")


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
            "defaultVersion": engine.versioning.default_version,
            "versionMatchStrategy": engine.versioning.match_strategy.value,
            "versionFailureStrategy": engine.versioning.failure_strategy.value,
        }},
        "emulator": {
            "threadPoolSize": limits.threads,
            "store": engine.store.description,
            "timeSkipping": engine.clock.mode.value,
            "episodes": engine.stats["episodes"],
            "activities": engine.stats["activities"],
            "instances": len(engine.instances),
        },
    })


async def clock(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    action = request.match_info.get("action")
    if action and not engine.clock.skipping:
        return error_response(409, "The host runs in real time; start it with --time-skipping.")
    if action == "hold":
        engine.clock.hold()
    elif action == "release":
        engine.clock.release()
        engine.timers.poke()
    elif action == "advance":
        try:
            seconds = float(request.query["seconds"])
        except (KeyError, ValueError):
            return error_response(400, "Query parameter 'seconds' (a number) is required.")
        engine.clock.advance_by(seconds)
        engine.timers.poke()
    elif action is not None:
        return web.Response(status=404)
    return web.json_response({"now": engine.clock.now().isoformat(),
                              "timeSkipping": engine.clock.mode.value})


async def wait_change(request: web.Request) -> web.Response:
    """Long poll for ``LocalHost.wait``: answer as soon as the instance's change counter passes
    ``after`` (or at ``timeout``) with ``{"version": n, "status": payload or null}``."""
    engine = request.app[ENGINE]
    try:
        after = int(request.query.get("after", "-1"))
    except ValueError as exc:
        raise InvalidQuery("Query parameter 'after' must be an integer.") from exc
    limit = seconds(request, "timeout", "30")
    waiting = engine.clock.waiting() if flag(request, "waiting", True) \
        else contextlib.nullcontext()
    with waiting:  # LocalHost.wait is a waiting client unless it only watches
        inst = await engine.wait_for(request.match_info["instance_id"],
                                     lambda i: i is not None and i.version > after, limit)
    if inst is None:
        return web.json_response({"version": -1, "status": None})
    return web.json_response({"version": inst.version, "status": status_payload(inst.record)})


async def raw_history(request: web.Request) -> web.Response:
    """The stored history of an instance, unprojected (for ``python -m emulator history``)."""
    engine = request.app[ENGINE]
    inst = engine.instances.get(request.match_info["instance_id"])
    if inst is None:
        return error_response(404, f"No instance with ID '{request.match_info['instance_id']}' "
                                   "found.")
    return web.json_response({"instance": asdict(inst.record), "history": inst.history})


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
    web_app = web.Application(middlewares=[errors_middleware], client_max_size=100 * 1024 * 1024)
    web_app[ENGINE] = engine
    web_app[APP] = app
    web_app[STARTED] = time.monotonic()
    prefix = f"/{app.route_prefix}" if app.route_prefix else ""
    web_app.add_routes([
        web.get("/admin/host/status", host_status),
        web.get("/admin/emulator/clock", clock),
        web.post("/admin/emulator/clock/{action}", clock),
        web.get("/admin/emulator/instances/{instance_id}/history", raw_history),
        web.get("/admin/emulator/instances/{instance_id}/wait", wait_change),
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
