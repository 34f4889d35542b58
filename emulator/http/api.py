"""The HTTP front: the app's HTTP functions, readiness, and the durable management API.

One route table (``create_app``). The management API is served twice, under the public webhook
path ``/runtime/webhooks/durabletask/`` and under ``/durabletask/``, the ``rpcBaseUrl`` that the
SDK's ``DurableOrchestrationClient`` calls - the same handlers, as in the extension.
"""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import asdict

from aiohttp import web

from .. import __version__
from ..core.instance import Instance
from ..protocol.enums import ACTIVE, RuntimeStatus
from ..runtime.operations import Operations
from ..worker.index import FunctionIndex
from ..worker.workitems import TaskHubs
from . import dashboard
from .entities import admin_routes, entity_routes
from .errors import InvalidQuery, error_response, errors_middleware, json_response
from .functions import invoke_http, origin
from .hubs import HUBS, HttpHub, hub, hub_middleware, operations_of
from .keys import APP, BODY_LIMIT, STARTED
from .paging import InvalidContinuationToken, query_fingerprint
from .params import CLOCK_ADVANCE_LIMIT_SECONDS
from .payloads import RPC_PATH, WEBHOOK_PATH, check_status_payload, status_payload
from .readers import (
    clock_seconds,
    flag,
    instance_id,
    integer,
    json_body,
    request_body_limit,
    runtime_statuses,
    timestamp,
    wait_seconds,
    waiting_seconds,
)
from .triggers import TRIGGERS, TriggerAdmin, trigger_routes

DEFAULT_PAGE_SIZE = 100


# -- management API ------------------------------------------------------------------------
async def start_instance(request: web.Request) -> web.Response:
    ops = operations_of(request)
    name = request.match_info["function"]
    chosen = request.match_info.get("instance_id")
    if chosen is not None:
        instance_id(chosen)
    # Everything is checked before anything is created. The wait is woken by the instance's
    # changes, never polled, so pollingInterval is only checked (0 cannot spin).
    limit = wait_seconds(request, "timeout")
    wait_seconds(request, "pollingInterval")
    input_json = await json_body(request)
    started = ops.start_instance(name, input_json, chosen,
                                   version=request.query.get("version"))
    if limit is not None:
        with ops.client_waiting():  # a waiting client: while-waiting time skipping runs
            inst = await ops.wait_for(started, _finished, limit)
        if _finished(inst):
            return json_response(status_payload(inst.record), status=200)
    return _check_status(request, started)


def _finished(inst: Instance | None) -> bool:
    return inst is not None and inst.is_terminal


def _check_status(request: web.Request, instance_id: str) -> web.Response:
    payload = check_status_payload(origin(request), instance_id,
                                   operations_of(request).hub_name)
    return json_response(payload, status=202, headers={
        "Location": payload["statusQueryGetUri"], "Retry-After": "10"})


async def get_instance(request: web.Request) -> web.Response:
    ops = operations_of(request)
    inst = ops.instance(request.match_info["instance_id"])
    show_input = flag(request, "showInput", True)
    show_history = flag(request, "showHistory", False)
    show_output = flag(request, "showHistoryOutput", False)
    fail_500 = flag(request, "returnInternalServerErrorOnFailure", False)
    waiting = waiting_seconds(request)
    if inst is None:
        return web.Response(status=404)
    if waiting is not None and not inst.is_terminal:
        ops.lease_wait(waiting)  # a polling client waits until its next poll
    body = status_payload(inst.record, inst.history, show_input=show_input,
                          show_history=show_history, show_history_output=show_output)
    if inst.status in ACTIVE:
        return json_response(body, status=202, headers={
            "Location": str(request.url), "Retry-After": "5"})
    status = 500 if inst.status == RuntimeStatus.Failed and fail_500 else 200
    return json_response(body, status=status)


_FILTERS = ("createdTimeFrom", "createdTimeTo", "runtimeStatus", "instanceIdPrefix")


def _filtered(request: web.Request) -> list[Instance]:
    """The instances the query's filters select, oldest first: all filters are checked (400)
    before any is applied, and an instance is selected only if every filter holds."""
    created_from = timestamp(request, "createdTimeFrom")
    created_to = timestamp(request, "createdTimeTo")
    statuses = runtime_statuses(request)
    return operations_of(request).find(
        created_from=created_from, created_to=created_to, statuses=statuses,
        prefix=request.query.get("instanceIdPrefix"))


def _position(inst: Instance) -> tuple[str, str]:
    return inst.record.created, inst.record.instance_id


async def list_instances(request: web.Request) -> web.Response:
    show_input = flag(request, "showInput", True)
    top = integer(request, "top", DEFAULT_PAGE_SIZE, minimum=1)
    query = query_fingerprint({name: request.query.get(name) for name in _FILTERS})
    token = request.headers.get("x-ms-continuation-token")
    after = None
    if token and token != "null":
        try:
            after = hub(request).tokens.decode(token, query)
        except InvalidContinuationToken as exc:
            raise InvalidQuery(f"Invalid x-ms-continuation-token header: {exc}") from None
    found = _filtered(request)
    if after is not None:  # keyset paging: purges between pages skip and repeat nothing
        found = [i for i in found if _position(i) > after]
    page = found[:top]
    headers = {}
    if len(found) > top:
        headers["x-ms-continuation-token"] = hub(request).tokens.encode(_position(page[-1]),
                                                                        query)
    body = [status_payload(i.record, show_input=show_input) for i in page]
    return json_response(body, headers=headers)


async def purge_instance(request: web.Request) -> web.Response:
    ops = operations_of(request)
    instance_id = request.match_info["instance_id"]
    if ops.instance(instance_id) is None:
        return web.Response(status=404)
    return json_response({"instancesDeleted": ops.purge_one(instance_id)})


async def purge_instances(request: web.Request) -> web.Response:
    if not request.query.get("createdTimeFrom"):
        raise InvalidQuery("Please provide value for 'createdTimeFrom' parameter.")
    ops = operations_of(request)
    deleted = ops.purge(i.id for i in _filtered(request) if i.is_terminal)
    if deleted == 0:
        return web.Response(status=404)
    return json_response({"instancesDeleted": deleted})


async def raise_event(request: web.Request) -> web.Response:
    operations = operations_of(request)
    instance_id = request.match_info["instance_id"]
    operations.get_active(instance_id)  # 404 / 410 first, as the extension checks
    if request.content_type != "application/json":
        return error_response(400, "Only application/json request content is supported")
    input_json = await json_body(request)
    operations.raise_event(instance_id, request.match_info["event"],
                           input_json if input_json is not None else "null")
    return web.Response(status=202)


async def instance_operation(request: web.Request) -> web.Response:
    operations = operations_of(request)
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
        if operations.instance(instance_id) is None:
            return web.Response(status=404)
        operations.rewind(instance_id, reason)
    else:
        return web.Response(status=404)
    return web.Response(status=202)


async def not_found(request: web.Request) -> web.Response:
    return web.Response(status=404)


# -- host and emulator admin ---------------------------------------------------------------
async def host_status(request: web.Request) -> web.Response:
    ops = operations_of(request)
    limits = ops.limits
    return json_response({
        "id": socket.gethostname(),
        "state": "Running",
        "version": f"emulator {__version__}",
        "processUptime": int((time.monotonic() - request.app[STARTED]) * 1000),
        "extensions": {"durableTask": {
            "hubName": ops.hub_name,
            "maxConcurrentActivityFunctions": limits.max_activities,
            "maxConcurrentOrchestratorFunctions": limits.max_orchestrators,
            "defaultVersion": ops.versioning.default_version,
            "versionMatchStrategy": ops.versioning.match_strategy.value,
            "versionFailureStrategy": ops.versioning.failure_strategy.value,
            # which SDK protocol the app speaks (1.x JSON, 2.x protobuf + gRPC client)
            "sdk": str(ops.app.sdk),
            "rpcBaseUrl": ops.rpc_base_url,
        }},
        "emulator": {
            "threadPoolSize": limits.threads,
            "workerProcessCount": limits.worker_processes,
            "store": ops.store_description,
            "timeSkipping": ops.clock_state().mode.value,
            "functionTimeout": ops.limits.function_timeout_text,
            **{k: v for k, v in ops.counters().items() if k != "activitiesRun"},
        },
    })


async def clock(request: web.Request) -> web.Response:
    ops = operations_of(request)
    action = request.match_info.get("action")
    if action and not ops.clock_state().skipping:
        return error_response(409, "The host runs in real time; start it with --time-skipping.")
    if action == "hold":
        ops.hold_clock()
    elif action == "release":
        ops.release_clock()
    elif action == "advance":
        ops.advance_clock(
            clock_seconds(request, CLOCK_ADVANCE_LIMIT_SECONDS).total_seconds())
    elif action is not None:
        return web.Response(status=404)
    return json_response({"now": ops.now().isoformat(),
                          "timeSkipping": ops.clock_state().mode.value})


async def wait_change(request: web.Request) -> web.Response:
    """Long poll for ``LocalHost.wait``: answer as soon as the instance's change counter passes
    ``after`` (or at ``timeout``) with ``{"version": n, "status": payload or null}``."""
    ops = operations_of(request)
    after = integer(request, "after", -1, minimum=-1, maximum=2**63 - 1)
    limit = wait_seconds(request, "timeout", "30")
    waiting = ops.client_waiting() if flag(request, "waiting", True) \
        else contextlib.nullcontext()
    with waiting:  # LocalHost.wait is a waiting client unless it only watches
        inst = await ops.wait_for(request.match_info["instance_id"],
                                     lambda i: i is not None and i.version > after, limit)
    if inst is None:
        return json_response({"version": -1, "status": None})
    return json_response({"version": inst.version, "status": status_payload(inst.record)})


async def raw_history(request: web.Request) -> web.Response:
    """The stored history of an instance, unprojected (for ``python -m emulator history``)."""
    ops = operations_of(request)
    inst = ops.instance(request.match_info["instance_id"])
    if inst is None:
        return error_response(404, f"No instance with ID '{request.match_info['instance_id']}' "
                                   "found.")
    return json_response({"instance": asdict(inst.record), "history": inst.history})


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
        *entity_routes(base),
        web.route("*", f"{base}/{{tail:.*}}", not_found),
    ]


def create_app(ops: Operations | TaskHubs[HttpHub], app: FunctionIndex,
               triggers: TriggerAdmin | None = None) -> web.Application:
    """The aiohttp application of the local host; the runtime's loops run with it.

    ``ops``: the one runtime of a Functions host, or a scheduler host's task hubs (each request
    picks one with ``?taskHub=``, ``hubs.py``)."""
    hubs = ops if isinstance(ops, TaskHubs) else TaskHubs.only(HttpHub.of(ops), ops.hub_name)
    body_limit = request_body_limit()  # app settings are applied by now
    web_app = web.Application(middlewares=[errors_middleware, hub_middleware],
                              client_max_size=body_limit)
    web_app[BODY_LIMIT] = body_limit
    web_app[HUBS] = hubs
    web_app[APP] = app
    web_app[STARTED] = time.monotonic()
    if triggers is not None:
        web_app[TRIGGERS] = triggers
    prefix = f"/{app.route_prefix}" if app.route_prefix else ""
    dashboard.setup(web_app)  # before the app's catch-all route
    web_app.add_routes([
        web.get("/admin/host/status", host_status),
        web.get("/admin/emulator/clock", clock),
        web.post("/admin/emulator/clock/{action}", clock),
        web.get("/admin/emulator/instances/{instance_id}/history", raw_history),
        web.get("/admin/emulator/instances/{instance_id}/wait", wait_change),
        *admin_routes(),
        *(trigger_routes() if triggers is not None else []),
        *_management_routes(WEBHOOK_PATH),
        *_management_routes(RPC_PATH),
        web.route("*", f"{prefix}/{{tail:.*}}", invoke_http),
    ])
    runtimes = [hub.operations for _, hub in hubs.items()]

    async def runtime_ctx(_: web.Application):
        started = []
        try:
            for runtime in runtimes:
                await runtime.start()
                started.append(runtime)
            yield
        finally:
            for runtime in reversed(started):
                await runtime.stop()

    async def release_waiters(_: web.Application) -> None:
        for runtime in runtimes:
            runtime.release_waiters()  # long polls answer before the runner waits for handlers

    web_app.cleanup_ctx.append(runtime_ctx)
    web_app.on_shutdown.append(release_waiters)
    return web_app
