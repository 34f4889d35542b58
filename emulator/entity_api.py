"""The entity routes of the durable HTTP API (``entities/{entityName?}/{entityKey?}``).

Shapes and status codes of the extension's ``HttpApiHandler`` (``emulator/ENTITIES.md``): read an
entity's state, list entities, signal one; plus the local host's route for the .NET client's
``CleanEntityStorageAsync``, which the extension does not serve over HTTP.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web

from .entity_host import EntityHost, EntityRequestError, page
from .entity_protocol import EntityId, EntityProtocolError, input_from_http
from .history import parse_ts

ENTITIES = web.AppKey("entities", EntityHost)
EMPTY_KEY = "$"


def _bad_request(message: str) -> web.Response:
    return web.json_response({"Message": message}, status=400)


def _entity_id(name: str, key: str) -> EntityId:
    try:
        return EntityId.of(name, key)
    except EntityProtocolError as exc:
        raise EntityRequestError(str(exc)) from exc


def _bool(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    if value is None:
        return default
    if value.lower() not in ("true", "false"):
        raise EntityRequestError(f"Query parameter '{name}' must be true or false, not "
                                 f"{value!r}.")
    return value.lower() == "true"


def _time(request: web.Request, name: str) -> datetime | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        return parse_ts(value if value.endswith("Z") or "+" in value else value + "Z")
    except ValueError as exc:
        raise EntityRequestError(f"Query parameter '{name}' is not a valid date/time: "
                                 f"{value!r}") from exc


async def entity_route(request: web.Request) -> web.StreamResponse:
    host = request.app[ENTITIES]
    name = request.match_info.get("name") or None
    key = request.match_info.get("key", "")
    try:
        if request.method == "GET":
            if key:
                return _read(host, name, key)
            return _list(request, host, name)
        if request.method in ("POST", "DELETE"):
            return await _signal(request, host, name, key)
    except EntityRequestError as exc:
        return _bad_request(str(exc))
    return web.Response(status=404)


def _read(host: EntityHost, name: str | None, key: str) -> web.Response:
    record = host.read(_entity_id(name, "" if key == EMPTY_KEY else key))
    if record is None:
        return web.Response(status=404)
    return web.Response(status=200, text=record.state if record.state is not None else "null",
                        content_type="application/json")


def _list(request: web.Request, host: EntityHost, name: str | None) -> web.Response:
    try:
        top = int(request.query.get("top", "100"))
        if top <= 0:
            raise ValueError
    except ValueError as exc:
        raise EntityRequestError("Query parameter 'top' must be a positive integer.") from exc
    fetch_state = _bool(request, "fetchState", False)
    records = host.query(name, _time(request, "lastOperationTimeFrom"),
                         _time(request, "lastOperationTimeTo"))
    chunk, token = page(records, top, request.headers.get("x-ms-continuation-token"))
    body = [entity_status(record, fetch_state) for record in chunk]
    headers = {"x-ms-continuation-token": token} if token else {}
    return web.json_response(body, headers=headers)


def entity_status(record: Any, fetch_state: bool) -> dict[str, Any]:
    """``DurableEntityStatus``."""
    entity = EntityId.parse(record.entity_id)
    state = None
    if fetch_state and record.state is not None:
        try:
            state = json.loads(record.state)
        except json.JSONDecodeError:
            state = record.state
    return {"entityId": entity.to_json(), "lastOperationTime": record.last_operation,
            "state": state}


async def _signal(request: web.Request, host: EntityHost, name: str | None,
                  key: str) -> web.Response:
    entity = _entity_id(name, key)
    operation = "delete" if request.method == "DELETE" else request.query.get("op", "")
    body = await request.read()
    try:
        input_text = input_from_http(body, request.content_type)
    except EntityProtocolError as exc:
        raise EntityRequestError(str(exc)) from exc
    host.signal(entity, operation, input_text)
    return web.Response(status=202)


async def clean_storage(request: web.Request) -> web.Response:
    host = request.app[ENTITIES]
    try:
        result = host.clean(_bool(request, "removeEmptyEntities", True),
                            _bool(request, "releaseOrphanedLocks", True))
    except EntityRequestError as exc:
        return _bad_request(str(exc))
    return web.json_response(result)


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
