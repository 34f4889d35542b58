"""The durable starter: ``POST /api/orchestrators/{name}[/{instance_id}]``.

The JSON body is the orchestration's input. Inputs are checked at the door with the same pure
``parse_*`` function the orchestrator applies to its own input, so a bad request answers 400
``{"error": ..., "field": ...}`` at once instead of starting an instance that fails later. On
success: 202 with the check-status payload (status, raise-event, terminate, purge URLs, the
instance id percent-encoded in each: ``api/instance_urls.py``) and a ``Location`` header.
An instance id that is still running answers 409 - also when two requests for one id race past
the status check: the durable runtime refuses the second start ("already exists"), and that
answer becomes the same 409.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from activities.backup import allowed_base, resolve_root
from api.instance_urls import check_status_response, client_id
from api.json_body import InvalidBody, parse_body
from orchestrators.backup_rules import parse_backup_request
from orchestrators.booking_rules import parse_trip_request, parse_trips_request
from orchestrators.inputs import InputError
from orchestrators.names import BACKUP_SITE_CONTENT, BOOK_TRIP, BOOK_TRIPS, PROCESS_SITES
from orchestrators.sites_rules import DEFAULT_MAX_WIDTH, parse_sites_request

# The durable Blueprint: only it provides the durable client binding.
bp = df.Blueprint(http_auth_level=func.AuthLevel.FUNCTION)
log = logging.getLogger(__name__)

MAX_INSTANCE_ID_LENGTH = 256
_ACTIVE = {"Running", "Pending", "ContinuedAsNew", "Suspended"}


def _validate_backup(body: Any) -> dict[str, Any]:
    request = parse_backup_request(body)
    try:
        resolve_root(request["root"], allowed_base())
    except (PermissionError, NotADirectoryError, FileNotFoundError) as error:
        raise InputError("root", str(error)) from None
    return request


def _validate_sites(body: Any) -> dict[str, Any]:
    """``max_width`` defaults to the ``PROCESS_SITES_MAX_WIDTH`` app setting when set."""
    setting = os.environ.get("PROCESS_SITES_MAX_WIDTH", "")
    default = int(setting) if setting.isdigit() and int(setting) > 0 else DEFAULT_MAX_WIDTH
    return parse_sites_request(body, default_max_width=default)


# Orchestrators that may be started over HTTP, each with its input validator.
VALIDATORS: dict[str, Callable[[Any], dict[str, Any]]] = {
    BOOK_TRIP: parse_trip_request,
    BOOK_TRIPS: parse_trips_request,
    BACKUP_SITE_CONTENT: _validate_backup,
    PROCESS_SITES: _validate_sites,
}


def instance_id_problem(instance_id: str) -> str | None:
    """Why ``instance_id`` is not acceptable to the Durable runtime, or None if it is.

    Same rules as the runtime (``DurableClient.StartNewAsync``): 1 to 256 characters, no
    ``/ \\ ? #``, no control characters (.NET ``char.IsControl``: U+0000-U+001F and
    U+007F-U+009F), no leading ``@`` (reserved for entities); and not ``.`` or ``..``, which a
    URL path cannot carry, so the instance could never be addressed.
    """
    if not instance_id or len(instance_id) > MAX_INSTANCE_ID_LENGTH:
        return f"instance id must have 1 to {MAX_INSTANCE_ID_LENGTH} characters"
    if instance_id.startswith("@"):
        return "instance id must not start with '@'"
    if any(c in "/\\?#" or ord(c) < 32 or 127 <= ord(c) <= 159 for c in instance_id):
        return "instance id must not contain '/', '\\', '?', '#' or control characters"
    if instance_id in (".", ".."):
        return "instance id must not be '.' or '..'"
    return None


def _already_exists(error: Exception) -> bool:
    """The runtime's answer to starting an id that is still active (the extension answers 500
    with this message, the local host 409; the SDK raises both as a plain Exception)."""
    return "already exists" in str(error)


def _error(status: int, message: str, **extra: Any) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps({"error": message, **extra}), status_code=status, mimetype="application/json"
    )


@bp.route(route="orchestrators/{name}", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def start_orchestration(req: func.HttpRequest, client) -> func.HttpResponse:
    """Start orchestrator ``name`` with a new instance id."""
    return await _start(req, client, req.route_params["name"], None)


@bp.route(route="orchestrators/{name}/{instance_id}", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def start_orchestration_with_id(req: func.HttpRequest, client) -> func.HttpResponse:
    """Start orchestrator ``name`` as ``instance_id`` (e.g. to make a start idempotent)."""
    return await _start(req, client, req.route_params["name"], req.route_params["instance_id"])


async def _start(
    req: func.HttpRequest, client: df.DurableOrchestrationClient, name: str, instance_id: str | None
) -> func.HttpResponse:
    validate = VALIDATORS.get(name)
    if validate is None:
        return _error(400, f"unknown orchestrator {name!r}", field="name", known=sorted(VALIDATORS))
    if instance_id is not None and (problem := instance_id_problem(instance_id)):
        return _error(400, problem, field="instance_id")

    try:
        body = parse_body(req.get_body())
    except InvalidBody as error:
        return _error(400, f"request body is not valid JSON: {error}", field="body")
    try:
        orchestration_input = validate(body)
    except InputError as error:
        return _error(
            400, str(error) if error.field else f"body {error.message}", field=error.field or "body"
        )

    if instance_id is not None:
        status = await client.get_status(client_id(instance_id))
        if status and status.runtime_status and status.runtime_status.name in _ACTIVE:
            return _error(
                409,
                f"instance {instance_id!r} already exists and is {status.runtime_status.name}",
                field="instance_id",
            )

    try:
        # The SDK puts the id into the URL as it is: escape it (api/instance_urls.py).
        instance_id = await client.start_new(
            name, None if instance_id is None else client_id(instance_id), orchestration_input)
    except Exception as error:  # the SDK raises plain Exceptions for every refusal
        if instance_id is None or not _already_exists(error):
            raise
        return _error(409, f"instance {instance_id!r} already exists and is active",
                      field="instance_id")
    log.info("started %s instance %s", name, instance_id)
    return check_status_response(client, req, instance_id)
