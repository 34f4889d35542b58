"""The trigger sources at the HTTP edge: run a non-HTTP function now, and the triggers' state.

- ``POST /admin/functions/{name}`` with ``{"input": ...}`` runs a timer-, queue-, blob- or
  other-triggered function at once, as Core Tools does: 202 with no body; the run happens in the
  background (its lines in the host log, its outcome in the triggers view). 404 for a function
  the app does not have, 400 for an HTTP or Durable function (call its route, or start the
  orchestration), a body that is not a JSON object, or an input the trigger cannot take (a blob
  path that names no blob).
- ``GET /admin/emulator/triggers``: next timer occurrences, queue depths and poison counts,
  blob listeners, functions that are off and why, recent invocations (the dashboard reads it).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from aiohttp import web

from ..protocol.triggers import TypedValue
from ..worker.index import FunctionIndex
from .errors import error_response, json_response
from .keys import APP


class TriggerAdmin(Protocol):
    async def run_now(self, name: str, given: Any) -> None: ...

    async def snapshot(self, depths: bool = True) -> dict[str, Any]: ...

    # the storage bindings of HTTP functions (blob, queue, table), read before and written after
    async def read_inputs(self, bindings: list[dict[str, Any]],
                          data: dict[str, Any]) -> dict[str, TypedValue | None]: ...

    async def write_outputs(self, bindings: list[dict[str, Any]], data: dict[str, Any],
                            outputs: dict[str, TypedValue | None]) -> None: ...


TRIGGERS = web.AppKey("triggers", TriggerAdmin)


def _durable_or_http(app: FunctionIndex, name: str) -> str | None:
    lowered = name.lower()
    if any(f.name.lower() == lowered for f in app.http):
        return "an HTTP function: call its route"
    for kind, table in (("an orchestrator", app.orchestrators), ("an activity", app.activities),
                        ("an entity", app.entities)):
        if any(f.function_name.lower() == lowered for f in table.values()):
            return f"{kind} function: Durable Functions runs it"
    return None


async def run_function(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    app = request.app[APP]
    if name.lower() not in app.triggered:
        why = _durable_or_http(app, name)
        if why:
            return error_response(400, f"'{name}' is {why}, not a function to run with "
                                       f"POST /admin/functions/{{name}}")
        return error_response(404, f"The app has no function named '{name}'")
    raw = await request.read()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return error_response(400, "The body must be a JSON object such as {\"input\": ...}")
    if not isinstance(body, dict):
        return error_response(400, "The body must be a JSON object such as {\"input\": ...}")
    try:
        await request.app[TRIGGERS].run_now(name, body.get("input"))
    except LookupError as exc:  # a blob path that names no blob, and the like
        return error_response(400, f"Cannot run '{name}' with this input", str(exc))
    return web.Response(status=202)


async def trigger_state(request: web.Request) -> web.Response:
    """``?depths=false`` leaves the queue depths out (no storage calls: for frequent polls)."""
    depths = request.query.get("depths", "true").lower() != "false"
    return json_response(await request.app[TRIGGERS].snapshot(depths))


def trigger_routes() -> list[web.RouteDef]:
    return [web.post("/admin/functions/{name}", run_function),
            web.get("/admin/emulator/triggers", trigger_state)]


__all__ = ["TRIGGERS", "TriggerAdmin", "trigger_routes"]
