"""The HTTP side of code deployment: one client for the Azure calls a deployment makes, with
the retries the platform's documented failure answers call for.

* **Linux Consumption, run from package**: ``PUT`` the zip as a block blob (Storage token);
  the app's ``WEBSITE_RUN_FROM_PACKAGE`` points at it; then ``POST .../syncfunctiontriggers``
  on Resource Manager so the platform learns the (new) triggers.
* **Flex Consumption, one deploy**: in :mod:`onedeploy` (it uses this client's transport).
* **Both plans, proof the code is live**: :meth:`DeployClient.verify_host` asks Resource
  Manager for the Functions host's status (``.../hostruntime/admin/host/status``) and for the
  functions it indexed (``.../functions``), as Core Tools and ``az`` do after a publish, and
  fails with the host's own errors when it is not running or lists none.

Tokens: Resource Manager calls use the Resource Manager audience; calls to the app's SCM (Kudu)
site use the App Service audience of the site's cloud, as the VS Code Azure tools do since
microsoft/vscode-azuretools#2258 ("ARM tokens are deprecated for App Service (Kudu) endpoint
calls and will break") and Azure Pipelines behind a flag
(microsoft/azure-pipelines-tasks-common-packages#642). When that token cannot be had (no consent
yet for the signed-in client, the VS Code change's caveat) or the site answers 401 to it, the
call falls back to the audience az, Core Tools and azd send to Kudu today: the cloud's
``management.core`` resource (azure-cli ``active_directory_resource_id``; Core Tools' token is
``az account get-access-token``'s; microsoft/vscode-azuretools#1670 reports the
``management.azure.com`` audience failing on Kudu in sovereign clouds): a :class:`Call` names
both (``scope`` and ``fallback_scope``; :func:`onedeploy.scm_scopes` picks them per cloud).

Retries: right after a role assignment is created, Azure answers 403
``AuthorizationPermissionMismatch`` for minutes (RBAC propagation). While a new host starts
(or cannot yet reach its storage), Resource Manager answers calls that go to the host with
400 ``Encountered an error (ServiceUnavailable) from host runtime`` (Core Tools retries it,
Azure/azure-functions-core-tools#3008). Those, throttling (429), timeouts and 5xx are retried
with capped exponential backoff, within one budget of about ten minutes. 401, other 403s and
404s are configuration errors: they fail at once with a message saying what to check.

Import contract: this module imports only the standard library and ``requests`` (and, lazily,
``azure.identity``) -- never the ``infra`` package; see :mod:`deploy`.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import requests

if __package__:
    from infra.deployanswers import (
        function_names,
        host_errors,
        json_body,
        not_live,
        redact,
        retry_after,
    )
else:  # top-level `deployclient` in Pulumi's processes (see infra/__main__.py)
    from deployanswers import (  # type: ignore[no-redef]
        function_names,
        host_errors,
        json_body,
        not_live,
        redact,
        retry_after,
    )

ARM_SCOPE = "https://management.azure.com/.default"
STORAGE_SCOPE = "https://storage.azure.com/.default"
STORAGE_API_VERSION = "2023-11-03"
WEB_API_VERSION = "2024-04-01"
HOST_STATUS_API_VERSION = "2022-03-01"


_RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
RBAC_PROPAGATION_MARKERS = (
    "AuthorizationPermissionMismatch",
    "AuthorizationFailure",
    "BlobUploadFailedException",
)
HOST_STARTING_MARKER = "Encountered an error (ServiceUnavailable) from host runtime"
"""Resource Manager's 400 answer while the Functions host is (re)starting."""

TokenSource = Callable[[str], str]
"""Returns a bearer token for an OAuth scope such as :data:`ARM_SCOPE`."""


class DeployError(Exception):
    """A deployment call failed for good. The message names the call, the answer and a fix."""


def default_token_source() -> TokenSource:
    """Tokens from ``DefaultAzureCredential``: ``az login``, ``AZURE_CLIENT_ID`` /
    ``AZURE_TENANT_ID`` / ``AZURE_CLIENT_SECRET``, workload or managed identity -- the same
    identities the azure-native provider accepts, so whoever runs ``pulumi up`` deploys."""
    from azure.identity import DefaultAzureCredential

    credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
    return lambda scope: credential.get_token(scope).token


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying a call that failed transiently.

    The defaults allow roughly ten minutes, the documented worst case for role assignment
    propagation; ``poll_timeout`` bounds a deployment's and a host start's wait.
    """

    attempts: int = 14
    first_delay: float = 5.0
    max_delay: float = 60.0
    request_timeout: float = 300.0
    poll_interval: float = 5.0
    poll_timeout: float = 900.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.max_delay, self.first_delay * 2 ** (attempt - 1))


@dataclass(frozen=True)
class Call:
    """One kind of request: what it is for the error message, and when to retry it."""

    what: str
    method: str
    url: str
    scope: str
    hint_403: str
    hint_404: str
    retry_when: Callable[[requests.Response], bool]
    fallback_scope: str | None = None
    """Used when no token for ``scope`` can be had, or the server answers 401 to it."""


def is_transient(response: requests.Response) -> bool:
    return response.status_code in _RETRYABLE_STATUS or mentions_rbac_propagation(response)


def mentions_rbac_propagation(response: requests.Response) -> bool:
    code = response.headers.get("x-ms-error-code", "")
    return any(marker in code or marker in response.text for marker in RBAC_PROPAGATION_MARKERS)


def host_is_starting(response: requests.Response) -> bool:
    return response.status_code == 400 and HOST_STARTING_MARKER in response.text


def transient_or_host_starting(response: requests.Response) -> bool:
    return is_transient(response) or host_is_starting(response)


class DeployClient:
    """Runs the deployment calls with retries. ``sleep`` and ``clock`` are injectable so tests
    run without waiting; ``session`` is a ``requests.Session`` (a fresh one by default)."""

    def __init__(
        self,
        tokens: TokenSource,
        *,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tokens = tokens
        self._retry = retry or RetryPolicy()
        self._session = session or requests.Session()
        self._sleep = sleep
        self._clock = clock
        self._refused_scopes: set[str] = set()

    # ---- Linux Consumption -----------------------------------------------------------------

    def upload_blob(self, blob_url: str, package: bytes) -> None:
        """Upload ``package`` as the block blob ``blob_url`` (single PUT, up to 5000 MiB)."""
        md5 = base64.b64encode(hashlib.md5(package, usedforsecurity=False).digest()).decode()
        call = Call(
            what="package upload",
            method="PUT",
            url=blob_url,
            scope=STORAGE_SCOPE,
            hint_403="the identity running `pulumi up` needs Storage Blob Data Contributor on "
            "the deployment container (this program assigns it; it can take up to 10 minutes "
            "to apply)",
            hint_404="the storage account or the deployment container does not exist",
            retry_when=is_transient,
        )
        self.send(
            call,
            data=package,
            headers={
                "x-ms-blob-type": "BlockBlob",
                "x-ms-version": STORAGE_API_VERSION,
                "Content-Type": "application/zip",
                "Content-MD5": md5,
            },
        )

    def delete_blob(self, blob_url: str) -> None:
        """Delete the blob ``blob_url``; a blob that is already gone is not an error."""
        call = Call(
            what="old package delete",
            method="DELETE",
            url=blob_url,
            scope=STORAGE_SCOPE,
            hint_403="the identity running `pulumi up` needs Storage Blob Data Contributor",
            hint_404="",
            retry_when=is_transient,
        )
        self.send(call, headers={"x-ms-version": STORAGE_API_VERSION}, ok_statuses={404})

    def sync_triggers(self, arm_url: str, app_id: str) -> None:
        """Ask the platform to re-read the app's triggers (needed after a package URL change)."""
        call = Call(
            what="trigger sync",
            method="POST",
            url=f"{arm_url.rstrip('/')}{app_id}/syncfunctiontriggers?api-version={WEB_API_VERSION}",
            scope=ARM_SCOPE,
            hint_403="the identity running `pulumi up` needs Contributor on the function app",
            hint_404=f"no function app {app_id}",
            # A host that is still starting (or whose roles are still propagating) makes
            # Resource Manager answer 400 "(ServiceUnavailable) from host runtime".
            retry_when=transient_or_host_starting,
        )
        self.send(call, headers={"Content-Length": "0"})

    # ---- both plans ------------------------------------------------------------------------

    def verify_host(
        self, arm_url: str, app_id: str, expected: Sequence[str] = ()
    ) -> list[str]:
        """Wait until the app's Functions host runs and lists its functions; return their names.

        Fails with the host's own state and errors when it reports ``Error``, never gets to
        ``Running``, or runs but lists no functions (or not every name in ``expected``) within
        ``poll_timeout``: the usual cause is an import error in the package.
        """
        base = f"{arm_url.rstrip('/')}{app_id}"
        status_call = Call(
            what="Functions host status",
            method="GET",
            url=f"{base}/hostruntime/admin/host/status?api-version={HOST_STATUS_API_VERSION}",
            scope=ARM_SCOPE,
            hint_403="the identity running `pulumi up` needs Contributor on the function app",
            hint_404=f"no function app {app_id}",
            retry_when=transient_or_host_starting,
        )
        functions_call = Call(
            what="function list",
            method="GET",
            url=f"{base}/functions?api-version={WEB_API_VERSION}",
            scope=ARM_SCOPE,
            hint_403="the identity running `pulumi up` needs Contributor on the function app",
            hint_404=f"no function app {app_id}",
            retry_when=transient_or_host_starting,
        )
        deadline = self._clock() + self._retry.poll_timeout
        while True:
            status = json_body(self.send(status_call))
            state = str(status.get("state", ""))
            if state == "Error":
                raise DeployError(
                    f"the Functions host of {app_id} failed to start: {host_errors(status)}"
                )
            names: list[str] | None = None
            missing: list[str] = []
            if state == "Running":
                names = function_names(json_body(self.send(functions_call)))
                missing = [name for name in expected if name not in names]
                if names and not missing:
                    return names
            if self._clock() >= deadline:
                raise DeployError(not_live(app_id, state, status, names, missing))
            self._sleep(self._retry.poll_interval)

    # ---- transport -------------------------------------------------------------------------

    @property
    def retry(self) -> RetryPolicy:
        return self._retry

    def sleep(self, seconds: float) -> None:
        self._sleep(seconds)

    def clock(self) -> float:
        return self._clock()

    def get_quietly(
        self, url: str, *, scope: str = ARM_SCOPE, fallback_scope: str | None = None
    ) -> requests.Response | None:
        """A best-effort GET (for logs): None on any failure."""
        call = Call("log read", "GET", url, scope, "", "", lambda _: False, fallback_scope)
        try:
            return self._session.get(
                url,
                headers={"Authorization": f"Bearer {self._token(call)}"},
                timeout=self._retry.request_timeout,
            )
        except Exception:  # noqa: BLE001 - the caller reports the main failure anyway
            return None

    def _scope(self, call: Call) -> str:
        """``call.scope``, unless it was refused before and there is a fallback."""
        if call.fallback_scope and call.scope in self._refused_scopes:
            return call.fallback_scope
        return call.scope

    def _token(self, call: Call) -> str:
        scope = self._scope(call)
        try:
            return self._tokens(scope)
        except Exception as exc:  # azure-identity raises several unrelated types
            if call.fallback_scope and scope == call.scope:
                self._refused_scopes.add(call.scope)
                return self._token(call)
            tried = f" (nor for {call.scope})" if scope != call.scope else ""
            raise DeployError(
                f"{call.what}: could not get an Azure token for {scope}{tried}: sign in with "
                "`az login` or set AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET "
                f"({type(exc).__name__}: {exc})"
            ) from exc

    def send(
        self,
        call: Call,
        *,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        ok_statuses: frozenset[int] | set[int] = frozenset(),
    ) -> requests.Response:
        """Send ``call`` with a fresh token; retry while ``call.retry_when`` says so."""
        attempts = self._retry.attempts
        for attempt in range(1, attempts + 1):
            token = self._token(call)
            try:
                response = self._session.request(
                    call.method,
                    call.url,
                    data=data,
                    headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                    timeout=self._retry.request_timeout,
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                if attempt == attempts:
                    kind = "timed out" if isinstance(exc, requests.Timeout) else "could not connect"
                    raise DeployError(
                        f"{call.what}: {call.method} {call.url} {kind} ({attempts} attempts): {exc}"
                    ) from exc
            else:
                if response.ok or response.status_code in ok_statuses:
                    return response
                if self._refused(call, response) and attempt < attempts:
                    continue  # at once, with the fallback audience
                if attempt == attempts or not call.retry_when(response):
                    raise DeployError(_describe_failure(call, response, attempt))
                asked = retry_after(response)
                if asked is not None:
                    self._sleep(min(asked, self._retry.max_delay))
                    continue
            self._sleep(self._retry.delay(attempt))
        raise AssertionError("unreachable")

    def _refused(self, call: Call, response: requests.Response) -> bool:
        """A 401 to the preferred audience: remember it, so this and later calls use the
        fallback."""
        if response.status_code != 401 or not call.fallback_scope:
            return False
        if self._scope(call) != call.scope:
            return False
        self._refused_scopes.add(call.scope)
        return True


def _describe_failure(call: Call, response: requests.Response, attempts: int) -> str:
    code = response.headers.get("x-ms-error-code")
    detail = " ".join(response.text.split())[:300]
    status = response.status_code
    reason = {
        401: "the access token was rejected: sign in again (`az login`) or check "
        "AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET",
        403: f"access denied: {call.hint_403}",
        404: f"not found: {call.hint_404}" if call.hint_404 else "not found",
    }.get(status, f"HTTP {status}")
    tried = f" after {attempts} attempts" if attempts > 1 else ""
    if status == 401 and call.fallback_scope:
        reason += f" (tried the audiences {call.scope} and {call.fallback_scope})"
    return (
        f"{call.what} failed{tried}: {call.method} {redact(call.url)} -> {status}"
        f"{f' {code}' if code else ''}: {reason}. Response: {detail or '(empty)'}"
    )
