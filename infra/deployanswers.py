"""Reading what Azure answers during a deployment: JSON bodies, ``Retry-After``, the Functions
host's function list and errors, and the message when the new code is not live.

Import contract: the standard library and ``requests`` only, like ``deployclient`` (Pulumi's
provider process imports these modules as top-level siblings of ``deploy``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests


def redact(url: str) -> str:
    """Drop query strings that could carry a signature (SAS); keep the rest for the reader."""
    base, _, query = url.partition("?")
    return url if "sig=" not in query else f"{base}?<redacted>"


def retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


def json_body(response: requests.Response) -> dict[str, Any]:
    """The response's JSON object, or ``{}``."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def function_names(body: Mapping[str, Any]) -> list[str]:
    """Names from a ``.../functions`` list (entries are named ``<app>/<function>``)."""
    values = body.get("value") if isinstance(body.get("value"), list) else []
    return sorted(
        str(v.get("name", "")).rsplit("/", 1)[-1] for v in values if isinstance(v, dict)
    )


def host_errors(status: Mapping[str, Any]) -> str:
    errors = status.get("errors") or []
    text = "; ".join(str(e) for e in errors) if isinstance(errors, list) else str(errors)
    return text or "(the host reported no error text)"


def not_live(
    app_id: str, state: str, status: Mapping[str, Any], names: list[str] | None,
    missing: list[str],
) -> str:
    if names is None:
        return (f"the Functions host of {app_id} is not running (state {state or 'unknown'}): "
                f"{host_errors(status)}")
    if not names:
        return (f"the Functions host of {app_id} runs but lists no functions: the package "
                f"deployed, but the app did not index (an import error is the usual cause; "
                f"see the FunctionAppLogs table in Log Analytics). Host says: "
                f"{host_errors(status)}")
    return (f"the Functions host of {app_id} lists {', '.join(names)} but not "
            f"{', '.join(missing)}. Host says: {host_errors(status)}")
