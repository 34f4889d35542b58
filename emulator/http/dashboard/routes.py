"""The dashboard's HTTP routes: its static files under ``/dashboard/`` and its JSON endpoints
under ``/admin/emulator/dashboard/`` (host info, a filtered instance page, an instance timeline).

Everything the dashboard *changes* goes through the public management API and the existing
``/admin/emulator/clock`` endpoints, exactly as a user's own scripts would.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from aiohttp import web

from ...views import gantt as timeline_data
from ..hubs import HUBS, hub, operations_of
from ..readers import integer, runtime_statuses, timestamp
from . import host_info

STATIC = Path(__file__).resolve().parent / "static"
UI_PATH = "/dashboard"
API_PATH = "/admin/emulator/dashboard"
MAX_TOP = 1000
# The dashboard loads nothing from elsewhere and may not be framed by other pages.
HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                                      "frame-ancestors 'none'; form-action 'self'",
           "X-Frame-Options": "DENY", "Cache-Control": "no-cache",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def routes() -> list[web.RouteDef]:
    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("file") or "index.html"
        path = (STATIC / name).resolve()
        if STATIC not in path.parents or not path.is_file():
            return web.json_response({"Message": f"No dashboard file {name!r}."}, status=404)
        content_type = "text/javascript" if path.suffix == ".js" else \
            mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return web.FileResponse(path, headers={**HEADERS, "Content-Type": content_type})

    async def redirect(request: web.Request) -> web.StreamResponse:
        query = f"?{request.query_string}" if request.query_string else ""
        raise web.HTTPFound(f"{UI_PATH}/{query}")  # ?taskHub= stays

    async def host(request: web.Request) -> web.Response:
        hubs = request.app[HUBS]
        chosen = hub(request)
        info = host_info.host(chosen.operations, _base_url(request), chosen.work_items)
        info["taskHubs"] = {"names": hubs.names, "default": hubs.default_name,
                            "selectable": len(hubs) > 1}
        return web.json_response(info)

    async def instances(request: web.Request) -> web.Response:
        # The edge's shared query readers: InvalidQuery / InvalidParameter become a 400 with
        # a message naming the parameter (errors.errors_middleware).
        query = request.query
        statuses = runtime_statuses(request)
        offset = integer(request, "offset", 0, minimum=0)
        top = integer(request, "top", 50, minimum=1, maximum=MAX_TOP)
        created_from = timestamp(request, "createdTimeFrom")
        created_to = timestamp(request, "createdTimeTo")
        page = host_info.list_instances(
            operations_of(request), name=query.get("name") or None, statuses=statuses or None,
            prefix=query.get("instanceIdPrefix") or None, created_from=created_from,
            created_to=created_to, offset=offset, top=top)
        return web.json_response(page)

    async def timeline(request: web.Request) -> web.Response:
        instance_id = request.match_info["instance_id"]
        ops = operations_of(request)
        found = host_info.instance(ops, instance_id)
        if found is None:
            return web.json_response({"Message": f"No instance with ID '{instance_id}' found."},
                                     status=404)
        record, history = found
        return web.json_response(timeline_data.build(record, history, ops.now()))

    return [
        web.get(UI_PATH, redirect),
        web.get(f"{UI_PATH}/", static),
        web.get(f"{UI_PATH}/{{file:[A-Za-z0-9_.-]+}}", static),
        web.get(f"{API_PATH}/host", host),
        web.get(f"{API_PATH}/instances", instances),
        web.get(f"{API_PATH}/instances/{{instance_id}}/timeline", timeline),
    ]
