"""Code deployment: a small HTTP client for the three deployment calls, and the Pulumi dynamic
provider that runs them during ``pulumi up``.

The calls:

* **Flex Consumption, one deploy**: ``POST https://<scm host>/api/publish?RemoteBuild=false``
  with the zip as body and an Azure Resource Manager token; the answer is a deployment id,
  polled at ``/api/deployments/<id>`` until ``complete`` (status 4 = success, 3 = failed). The
  platform stores the package in the app's deployment container as ``released-package.zip``
  (the only name Flex loads) using the app's managed identity.
* **Linux Consumption, run from package**: ``PUT`` the zip as a block blob (Storage token), the
  app's ``WEBSITE_RUN_FROM_PACKAGE`` points at that blob, then ``POST .../syncfunctiontriggers``
  on Resource Manager so the platform learns the (new) triggers.

Retries: right after a role assignment is created, Azure answers 403
``AuthorizationPermissionMismatch`` for minutes (RBAC propagation); one deploy reports the same
as a failed deployment (``BlobUploadFailedException``). Those, throttling (429), timeouts and
5xx are retried with capped exponential backoff. 401, other 403s and 404s are configuration
errors: they fail at once with a message saying what to check.

Import contract: this module imports only the standard library, ``requests``, ``pulumi.dynamic``
and (lazily) ``azure.identity`` -- never the ``infra`` package. Pulumi pickles
:class:`PackageDeployProvider` by reference to its module, and the dynamic-provider process
imports that module as the top-level name ``deploy`` from ``infra/``; see ``infra/__main__.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

ARM_SCOPE = "https://management.azure.com/.default"
STORAGE_SCOPE = "https://storage.azure.com/.default"
STORAGE_API_VERSION = "2023-11-03"
WEB_API_VERSION = "2024-04-01"

FLEX_PUBLISH = "flex-publish"
BLOB_UPLOAD = "blob-upload"
SYNC_TRIGGERS = "sync-triggers"

_RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_RBAC_PROPAGATION_MARKERS = (
    "AuthorizationPermissionMismatch",
    "AuthorizationFailure",
    "BlobUploadFailedException",
)
_DEPLOY_FAILED, _DEPLOY_SUCCEEDED = 3, 4

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
    propagation.
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
class _Call:
    what: str
    method: str
    url: str
    scope: str
    hint_403: str
    hint_404: str
    retry_when: Callable[[requests.Response], bool]


def _is_transient(response: requests.Response) -> bool:
    return response.status_code in _RETRYABLE_STATUS or _mentions_rbac_propagation(response)


def _mentions_rbac_propagation(response: requests.Response) -> bool:
    code = response.headers.get("x-ms-error-code", "")
    return any(marker in code or marker in response.text for marker in _RBAC_PROPAGATION_MARKERS)


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

    # ---- Flex Consumption ------------------------------------------------------------------

    def publish_flex(self, scm_url: str, package: bytes) -> str:
        """One-deploy ``package`` to the Flex app whose SCM site is ``scm_url``.

        Returns the deployment id once the platform reports success; raises
        :class:`DeployError` when it reports failure, does not finish within
        ``poll_timeout``, or the publish call itself fails.
        """
        scm_url = scm_url.rstrip("/")
        call = _Call(
            what="Flex one deploy",
            method="POST",
            url=f"{scm_url}/api/publish?RemoteBuild=false&Deployer=pulumi",
            scope=ARM_SCOPE,
            hint_403="the identity running `pulumi up` needs Contributor (or Website "
            "Contributor) on the function app",
            hint_404="is the app on the Flex Consumption plan? /api/publish only exists there",
            retry_when=lambda r: _is_transient(r) or r.status_code == 409,
        )
        for attempt in range(1, self._retry.attempts + 1):
            response = self._send(call, data=package, headers={"Content-Type": "application/zip"})
            deployment_id = _deployment_id(response)
            state, log = self._wait_for_deployment(scm_url, deployment_id)
            if state == _DEPLOY_SUCCEEDED:
                return deployment_id
            transient = any(marker in log for marker in _RBAC_PROPAGATION_MARKERS)
            if not transient or attempt == self._retry.attempts:
                raise DeployError(
                    f"Flex one deploy {deployment_id} failed (status {state}). "
                    f"Deployment log:\n{log or '(empty)'}"
                )
            # The app's identity could not write the deployment container yet: its role
            # assignment is still propagating. Publish again.
            self._sleep(self._retry.delay(attempt))
        raise AssertionError("unreachable")

    def _wait_for_deployment(self, scm_url: str, deployment_id: str) -> tuple[int, str]:
        status_url = f"{scm_url}/api/deployments/{deployment_id}"
        deadline = self._clock() + self._retry.poll_timeout
        call = _Call(
            what="Flex deployment status",
            method="GET",
            url=status_url,
            scope=ARM_SCOPE,
            hint_403="the identity running `pulumi up` cannot read the app's deployments",
            hint_404="",
            retry_when=lambda r: _is_transient(r) or r.status_code == 404,
        )
        while True:
            body = _json(self._send(call))
            if body.get("complete"):
                state = int(body.get("status", -1))
                log = "" if state == _DEPLOY_SUCCEEDED else self._deployment_log(status_url)
                return state, log or str(body.get("status_text", ""))
            if self._clock() >= deadline:
                raise DeployError(
                    f"Flex deployment {deployment_id} did not finish within "
                    f"{self._retry.poll_timeout:.0f} s; see {status_url}/log"
                )
            self._sleep(self._retry.poll_interval)

    def _deployment_log(self, status_url: str) -> str:
        """The deployment's log messages, best effort (the failure is reported anyway)."""
        try:
            response = self._session.get(
                f"{status_url}/log",
                headers={"Authorization": f"Bearer {self._tokens(ARM_SCOPE)}"},
                timeout=self._retry.request_timeout,
            )
            entries = response.json() if response.ok else []
        except (requests.RequestException, ValueError):
            return ""
        if not isinstance(entries, list):
            return ""
        return "\n".join(str(e.get("message", "")) for e in entries if isinstance(e, dict))

    # ---- Linux Consumption -----------------------------------------------------------------

    def upload_blob(self, blob_url: str, package: bytes) -> None:
        """Upload ``package`` as the block blob ``blob_url`` (single PUT, up to 5000 MiB)."""
        md5 = base64.b64encode(hashlib.md5(package, usedforsecurity=False).digest()).decode()
        call = _Call(
            what="package upload",
            method="PUT",
            url=blob_url,
            scope=STORAGE_SCOPE,
            hint_403="the identity running `pulumi up` needs Storage Blob Data Contributor on "
            "the deployment container (this program assigns it; it can take up to 10 minutes "
            "to apply)",
            hint_404="the storage account or the deployment container does not exist",
            retry_when=_is_transient,
        )
        self._send(
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
        call = _Call(
            what="old package delete",
            method="DELETE",
            url=blob_url,
            scope=STORAGE_SCOPE,
            hint_403="the identity running `pulumi up` needs Storage Blob Data Contributor",
            hint_404="",
            retry_when=_is_transient,
        )
        self._send(call, headers={"x-ms-version": STORAGE_API_VERSION}, ok_statuses={404})

    def sync_triggers(self, arm_url: str, app_id: str) -> None:
        """Ask the platform to re-read the app's triggers (needed after a package URL change)."""
        call = _Call(
            what="trigger sync",
            method="POST",
            url=f"{arm_url.rstrip('/')}{app_id}/syncfunctiontriggers?api-version={WEB_API_VERSION}",
            scope=ARM_SCOPE,
            hint_403="the identity running `pulumi up` needs Contributor on the function app",
            hint_404=f"no function app {app_id}",
            retry_when=_is_transient,
        )
        self._send(call, headers={"Content-Length": "0"})

    # ---- transport -------------------------------------------------------------------------

    def _token(self, call: _Call) -> str:
        try:
            return self._tokens(call.scope)
        except Exception as exc:  # azure-identity raises several unrelated types
            raise DeployError(
                f"{call.what}: could not get an Azure token for {call.scope}: sign in with "
                "`az login` or set AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET "
                f"({type(exc).__name__}: {exc})"
            ) from exc

    def _send(
        self,
        call: _Call,
        *,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        ok_statuses: frozenset[int] | set[int] = frozenset(),
    ) -> requests.Response:
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
                if attempt == attempts or not call.retry_when(response):
                    raise DeployError(_describe_failure(call, response, attempt))
                retry_after = _retry_after(response)
                if retry_after is not None:
                    self._sleep(min(retry_after, self._retry.max_delay))
                    continue
            self._sleep(self._retry.delay(attempt))
        raise AssertionError("unreachable")


def _describe_failure(call: _Call, response: requests.Response, attempts: int) -> str:
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
    return (
        f"{call.what} failed{tried}: {call.method} {_redact(call.url)} -> {status}"
        f"{f' {code}' if code else ''}: {reason}. Response: {detail or '(empty)'}"
    )


def _redact(url: str) -> str:
    """Drop query strings that could carry a signature (SAS); keep the rest for the reader."""
    base, _, query = url.partition("?")
    return url if "sig=" not in query else f"{base}?<redacted>"


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _deployment_id(response: requests.Response) -> str:
    """The publish answer is the id as a JSON string, plain text, or ``{"id": ...}``;
    ``latest`` when the answer is empty (Kudu's alias for the newest deployment)."""
    text = response.text.strip()
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = text
    if isinstance(body, dict):
        body = body.get("id")
    return str(body).strip().strip('"') if body else "latest"


def scm_url_for(default_host_name: str, enabled_host_names: list[str] | None) -> str:
    """The app's SCM (Kudu) base URL: the ``.scm.`` name among the enabled host names, else the
    default host name with ``.scm`` after its first label (the documented naming rule, which
    also holds for regional names like ``app-x.westeurope-01.azurewebsites.net``)."""
    for name in enabled_host_names or []:
        if ".scm." in name:
            return f"https://{name}"
    first, _, rest = default_host_name.partition(".")
    return f"https://{first}.scm.{rest}"


# --------------------------------------------------------------------------------------------
# The Pulumi dynamic provider


_STEP_KEYS = {
    FLEX_PUBLISH: ("scm_url", "package_sha256"),
    BLOB_UPLOAD: ("blob_url", "package_sha256"),
    SYNC_TRIGGERS: ("arm_url", "app_id", "package_sha256"),
}
"""The inputs whose change means "deploy again"; a changed package path alone does not."""


def read_package(path: str, expected_sha256: str) -> bytes:
    """The package bytes, checked against the hash the program planned with."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DeployError(f"cannot read the deployment package {path}: {exc}") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise DeployError(
            f"{path} changed after the program read it (sha256 {actual[:12]}, planned "
            f"{expected_sha256[:12]}); run `pulumi up` again"
        )
    return data


def run_step(props: Mapping[str, Any], client: DeployClient) -> dict[str, Any]:
    """Perform the deployment step described by ``props``; return the extra outputs."""
    operation = props["operation"]
    if operation == FLEX_PUBLISH:
        package = read_package(props["package_path"], props["package_sha256"])
        return {"deployment_id": client.publish_flex(props["scm_url"], package)}
    if operation == BLOB_UPLOAD:
        package = read_package(props["package_path"], props["package_sha256"])
        client.upload_blob(props["blob_url"], package)
        return {}
    if operation == SYNC_TRIGGERS:
        client.sync_triggers(props["arm_url"], props["app_id"])
        return {}
    raise DeployError(f"unknown deployment operation {operation!r}")


class PackageDeployProvider(ResourceProvider):
    """CRUD for one deployment step (``props["operation"]``).

    * create / update: run the step; outputs are the inputs plus ``deployed_sha256``.
    * diff: a step is re-run only when its target or ``package_sha256`` changes, so a
      ``pulumi up`` with an unchanged package deploys nothing. A changed blob is a replacement:
      the new blob is uploaded first, the app is pointed at it, then the old blob is deleted.
    * delete: removes the uploaded blob; a one deploy or a trigger sync has nothing to undo.
    """

    def _client(self) -> DeployClient:
        return DeployClient(default_token_source())

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = {
            **props,
            **run_step(props, self._client()),
            "deployed_sha256": props["package_sha256"],
        }
        target = props.get("scm_url") or props.get("blob_url") or props.get("app_id")
        return CreateResult(id_=f"{props['operation']}:{target}", outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = _STEP_KEYS.get(news.get("operation", ""), ()) + ("operation",)
        changed = [key for key in keys if olds.get(key) != news.get(key)]
        replaces = changed if news.get("operation") == BLOB_UPLOAD else []
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        outs = {**news, **run_step(news, self._client()), "deployed_sha256": news["package_sha256"]}
        return UpdateResult(outs=outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if props.get("operation") == BLOB_UPLOAD:
            self._client().delete_blob(props["blob_url"])
