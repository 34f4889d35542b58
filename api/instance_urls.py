"""Instance ids in the URLs the app builds through the durable client of the 1.x SDK.

The SDK puts an instance id into URLs as it is: ``create_check_status_response`` replaces the
binding's ``INSTANCEID`` placeholder with the raw id, and ``get_status`` / ``start_new`` append
it to a path. An id with a space, ``%`` or non-ASCII characters then yields URLs that are not
valid URIs, and ``%41`` in an id comes back from the host as ``A``: another instance. The
Durable extension escapes the id in the URLs it builds itself (``HttpApiHandler
.GetClientResponseLinks``: ``WebUtility.UrlEncode``) and decodes the path of every request it
serves (``WebUtility.UrlDecode``), so an id percent-encoded here (RFC 3986, UTF-8) reaches the
runtime unchanged - in Azure and on the local host.

The 2.x SDK escapes the id itself in the URLs it builds and talks to the host over gRPC, where
an id is a plain string: there the id goes to the client as it is (``client_id``), or it would
name another instance (``50%2541`` for ``50%41``).
"""

from __future__ import annotations

import json
from importlib.metadata import version
from urllib.parse import quote

import azure.durable_functions as df
import azure.functions as func


def path_segment(instance_id: str) -> str:
    """``instance_id`` as one URL path segment: everything but RFC 3986's unreserved characters
    percent-encoded (``+`` too: the extension's decoder reads a bare ``+`` as a space)."""
    return quote(instance_id, safe="")


SDK_ESCAPES_IDS = int(version("azure-functions-durable").split(".")[0]) >= 2


def client_id(instance_id: str) -> str:
    """What the durable client must be given to address ``instance_id``: the id as one escaped
    path segment on the 1.x SDK (which puts it into URLs as it is), the id itself on 2.x."""
    return instance_id if SDK_ESCAPES_IDS else path_segment(instance_id)


def management_payload(client: df.DurableOrchestrationClient, req: func.HttpRequest | None,
                       instance_id: str) -> dict[str, str]:
    """The instance's management URLs (the SDK's ``get_client_response_links``) with the id
    escaped in every URL; ``id`` stays the id itself."""
    payload = client.get_client_response_links(req, client_id(instance_id))
    payload["id"] = instance_id
    return payload


def check_status_response(client: df.DurableOrchestrationClient, req: func.HttpRequest,
                          instance_id: str) -> func.HttpResponse:
    """``create_check_status_response`` with valid URIs: 202, the management payload as JSON,
    ``Location`` = its ``statusQueryGetUri``, ``Retry-After: 10`` (the extension's answer)."""
    payload = management_payload(client, req, instance_id)
    return func.HttpResponse(
        json.dumps(payload), status_code=202, mimetype="application/json",
        headers={"Location": payload["statusQueryGetUri"], "Retry-After": "10"})
