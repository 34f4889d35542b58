"""Instance ids in the URLs the app builds through the durable client of the 1.x SDK.

The SDK puts an instance id into URLs as it is: ``create_check_status_response`` replaces the
binding's ``INSTANCEID`` placeholder with the raw id, and ``get_status`` / ``start_new`` append
it to a path. An id with a space, ``%`` or non-ASCII characters then yields URLs that are not
valid URIs, and ``%41`` in an id comes back from the host as ``A``: another instance. The
Durable extension escapes the id in the URLs it builds itself (``HttpApiHandler
.GetClientResponseLinks``: ``WebUtility.UrlEncode``) and decodes the path of every request it
serves (``WebUtility.UrlDecode``), so an id percent-encoded here (RFC 3986, UTF-8) reaches the
runtime unchanged - in Azure and on the local host.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import azure.durable_functions as df
import azure.functions as func


def path_segment(instance_id: str) -> str:
    """``instance_id`` as one URL path segment: everything but RFC 3986's unreserved characters
    percent-encoded (``+`` too: the extension's decoder reads a bare ``+`` as a space)."""
    return quote(instance_id, safe="")


def management_payload(client: df.DurableOrchestrationClient, req: func.HttpRequest | None,
                       instance_id: str) -> dict[str, str]:
    """The instance's management URLs (the SDK's ``get_client_response_links``) with the id
    escaped in every URL; ``id`` stays the id itself."""
    payload = client.get_client_response_links(req, path_segment(instance_id))
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
