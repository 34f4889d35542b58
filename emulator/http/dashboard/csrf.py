"""Refuse requests that other web pages make through the user's browser.

A page on another origin (another site, or another port of 127.0.0.1: ports do not make a
different *site*) can make the browser POST to the local host - a form submit or a ``no-cors``
fetch needs no permission - and so terminate or purge instances. Browsers say where such a
request comes from (``Origin``; ``Sec-Fetch-Site``), so state-changing requests to the
management API, ``/admin/`` and the dashboard are refused unless they come from the host's own
origin. Clients that are not browsers (the SDK, curl, tests) send neither header and pass.

And so that a DNS-rebinding page (``evil.example`` resolved to 127.0.0.1, which makes its
requests same-origin) can neither read nor change anything, a host listening on a loopback
address answers these paths only to loopback host names.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from aiohttp import web

from ..payloads import RPC_PATH, WEBHOOK_PATH

PROTECTED_PREFIXES = (WEBHOOK_PATH, RPC_PATH, "/admin/", "/dashboard")
UNSAFE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
TRUSTED_FETCH_SITES = frozenset({"same-origin", "none"})  # "none": typed by the user
LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "127.0.0.1", "::1"})


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def refusal(request: web.Request) -> str | None:
    """Why the request must be refused, or None when it may go on."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    name = _host_name(request.host or "").lower()
    if sockname and is_loopback(str(sockname[0])) and name not in LOOPBACK_NAMES \
            and not is_loopback(name):
        return (f"Host '{request.host}' is not a loopback name; this host only answers its "
                "management and dashboard paths on localhost (DNS rebinding protection).")
    if request.method not in UNSAFE_METHODS:
        return None
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site.lower() not in TRUSTED_FETCH_SITES:
        return (f"Cross-site request refused: {request.method} {request.path} came from "
                f"another site's page (Sec-Fetch-Site: {site}).")
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        return (f"Cross-origin request refused: {request.method} {request.path} came from "
                f"a page on {origin}, not from this host's own pages.")
    return None


@web.middleware
async def csrf_guard(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path.startswith(PROTECTED_PREFIXES):
        reason = refusal(request)
        if reason is not None:
            return web.json_response({"Message": reason}, status=403)
    return await handler(request)
