"""The entity routes of the durable HTTP API (``entities/{entityName?}/{entityKey?}``).

Shapes and status codes of the extension's ``HttpApiHandler`` (``emulator/ENTITIES.md``): read an
entity's state, list entities, signal one; plus the local host's route for the .NET client's
``CleanEntityStorageAsync``, which the extension does not serve over HTTP.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..protocol import jsonsafe
from ..protocol.entities import EntityId, EntityProtocolError, input_from_http
from ..runtime.operations import EntityRequestError, Operations
from .errors import error_response, json_response
from .hubs import hub, operations_of
from .paging import InvalidContinuationToken, query_fingerprint
from .readers import flag, integer, read_body, timestamp

EMPTY_KEY = "$"


def _bad_request(message: str) -> web.Response:
    return error_response(400, message)


def _entity_id(name: str | None, key: str) -> EntityId:
    try:
        return EntityId.of(name, key)
    except EntityProtocolError as exc:
        raise EntityRequestError(str(exc)) from exc


async def entity_route(request: web.Request) -> web.StreamResponse:
    ops = operations_of(request)
    name = request.match_info.get("name") or None
    key = request.match_info.get("key", "")
    try:
        if request.method == "GET":
            if key:
                return _read(ops, name, key)
            return _list(request, ops, name)
        if request.method in ("POST", "DELETE"):
            return await _signal(request, ops, name, key)
    except EntityRequestError as exc:
        return _bad_request(str(exc))
    return web.Response(status=404)


def _read(ops: Operations, name: str | None, key: str) -> web.Response:
    record = ops.read_entity(_entity_id(name, "" if key == EMPTY_KEY else key))
    if record is None:
        return web.Response(status=404)
    state = jsonsafe.normalise(record.state) if record.state is not None else "null"
    return web.Response(status=200, text=state, content_type="application/json")


def _list(request: web.Request, ops: Operations, name: str | None) -> web.Response:
    top = integer(request, "top", 100, minimum=1)
    fetch_state = flag(request, "fetchState", False)
    last_from = timestamp(request, "lastOperationTimeFrom")
    last_to = timestamp(request, "lastOperationTimeTo")
    records = ops.query_entities(name, last_from, last_to)
    # Keyset paging by entity id with a signed token, as for instances (paging.py).
    query = query_fingerprint({"entities": (name or "").lower(),
                               "from": request.query.get("lastOperationTimeFrom"),
                               "to": request.query.get("lastOperationTimeTo")})
    token = request.headers.get("x-ms-continuation-token")
    if token and token != "null":
        try:
            _, after = hub(request).entity_tokens.decode(token, query)
        except InvalidContinuationToken as exc:
            raise EntityRequestError(str(exc)) from exc
        records = [r for r in records if r.entity_id > after]
    chunk = records[:top]
    headers = {}
    if len(records) > top:
        headers["x-ms-continuation-token"] = hub(request).entity_tokens.encode(
            ("", chunk[-1].entity_id), query)
    return json_response([entity_status(record, fetch_state) for record in chunk],
                         headers=headers)


def entity_status(record: Any, fetch_state: bool) -> dict[str, Any]:
    """``DurableEntityStatus``."""
    entity = EntityId.parse(record.entity_id)
    state = None
    if fetch_state and record.state is not None:
        try:
            state = jsonsafe.loads(jsonsafe.normalise(record.state))
        except jsonsafe.JsonInputError:
            state = record.state  # not JSON: the raw text, as DurableEntityStatus falls back
    return {"entityId": entity.to_json(), "lastOperationTime": record.last_operation,
            "state": state}


async def _signal(request: web.Request, ops: Operations, name: str | None,
                  key: str) -> web.Response:
    entity = _entity_id(name, key)
    operation = "delete" if request.method == "DELETE" else request.query.get("op", "")
    body = await read_body(request)
    try:
        input_text = input_from_http(body, request.content_type)
    except EntityProtocolError as exc:
        raise EntityRequestError(str(exc)) from exc
    ops.signal_entity(entity, operation, input_text)
    return web.Response(status=202)


async def clean_storage(request: web.Request) -> web.Response:
    ops = operations_of(request)
    result = ops.clean_entities(flag(request, "removeEmptyEntities", True),
                        flag(request, "releaseOrphanedLocks", True))
    return json_response(result)


def entity_routes(base: str) -> list[web.RouteDef]:
    handler = entity_route
    return [
        web.route("*", f"{base}/entities", handler),
        web.route("*", f"{base}/entities/", handler),
        web.route("*", f"{base}/entities/{{name}}", handler),
        web.route("*", f"{base}/entities/{{name}}/", handler),
        web.route("*", f"{base}/entities/{{name}}/{{key}}", handler),
    ]


def admin_routes() -> list[web.RouteDef]:
    return [web.post("/admin/emulator/entities/clean", clean_storage)]
