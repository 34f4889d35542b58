"""Flex Consumption code deployment: one deploy through the app's SCM site, polled the way
Core Tools polls it.

``POST https://<scm host>/api/publish?RemoteBuild=false`` with the zip as body and an App
Service token (:func:`scm_scopes`) answers a deployment id;
``GET /api/deployments/<id>`` reports a :class:`DeployStatus` until it is terminal (Failed,
Success, Conflict, PartialSuccess -- the values of Core Tools' ``DeployStatus``). The platform
stores the package in the app's deployment container as ``released-package.zip`` using the
app's managed identity.

Failure answers and what happens (each replayed by tests/infra/test_onedeploy.py):

* status 3 (Failed) whose log says the platform could not write the package to the
  deployment container (:data:`STORAGE_WRITE_DENIED`; the Flex log's words are "Failed to
  upload because Azure Storage responded with Forbidden ... 403 (This request is not authorized
  to perform this operation.)", Azure/azure-functions-core-tools#4346): the app's fresh role
  assignment is still propagating; publish again, within the retry budget.
* status 3 otherwise: fail with the deployment log.
* status 5 (Conflict): another deployment is running; wait and publish again.
* status 6 (PartialSuccess): the package is in place but a later step (trigger sync) failed;
  accepted here, because the host check that follows decides whether the app is live.
* ``GET /api/deployments/<id>`` answers 404 (Kudu: "Deployment '<id>' not found."; a new
  deployment can take a moment to "come alive", Azure/azure-dev#4439): after a few polls, read
  ``/api/deployments/latest``. It is taken only when its ``id`` is ours (the SCM site answers
  ``latest`` with the pending deployment, else the one that ended last: projectkudu/kudu
  ``DeploymentController.IsLatestPendingDeployment``; VS Code's ``waitForDeploymentToComplete``
  likewise waits for ``latest.id == expectedId``). An older deployment's success is never taken
  for ours: the old code would stay live while ``pulumi up`` reports success. Not ours, or
  404 too: fail naming the likely cause.
* an empty publish answer: the id comes from Kudu's ``SCM-DEPLOYMENT-ID`` header; without it,
  from ``latest`` once that is a deployment newer than the one ``latest`` named before the
  upload (a different id, received no earlier). If ``latest`` could not be read before the
  upload, nothing proves which deployment is ours: fail.
* a status body without ``complete``: the status alone decides.

Import contract as in :mod:`deployclient`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any
from urllib.parse import urlsplit

import requests

if __package__:
    from infra.deployclient import (
        RBAC_PROPAGATION_MARKERS,
        Call,
        DeployClient,
        DeployError,
        is_transient,
        json_body,
    )
else:  # loaded as a top-level module by Pulumi's provider process (see infra/deploy.py)
    from deployclient import (  # type: ignore[no-redef]
        RBAC_PROPAGATION_MARKERS,
        Call,
        DeployClient,
        DeployError,
        is_transient,
        json_body,
    )


@dataclass(frozen=True)
class ScmCloud:
    """The token audiences for an SCM site, by the host name suffix of its cloud."""

    scm_suffix: str
    """``.scm.<suffix>`` host names (projectkudu/kudu ``PostDeploymentHelper`` lists them)."""
    app_service_scope: str
    """The App Service audience (microsoft/vscode-azuretools ``appServiceEnvironment.ts``)."""
    management_scope: str
    """The cloud's ``active_directory_resource_id`` (azure-cli ``core/cloud.py``) as a scope."""


SCM_CLOUDS = (
    ScmCloud(
        "azurewebsites.net",
        "https://appservice.azure.com/.default",
        "https://management.core.windows.net//.default",
    ),
    ScmCloud(
        "azurewebsites.us",
        "https://appservice.azure.us/.default",
        "https://management.core.usgovcloudapi.net//.default",
    ),
    ScmCloud(
        "chinacloudsites.cn",
        "https://appservice.azure.cn/.default",
        "https://management.core.chinacloudapi.cn//.default",
    ),
)


def scm_scopes(scm_url: str) -> tuple[str, str]:
    """``(preferred, fallback)`` token scopes for calls to the SCM site ``scm_url``: the App
    Service audience, then the ``management.core`` one, of the site's cloud (public Azure for
    a host name of no known cloud)."""
    host = (urlsplit(scm_url).hostname or "").lower()
    cloud = next((c for c in SCM_CLOUDS if host.endswith(f".{c.scm_suffix}")), SCM_CLOUDS[0])
    return cloud.app_service_scope, cloud.management_scope


STORAGE_WRITE_DENIED = (
    *RBAC_PROPAGATION_MARKERS,
    # The Flex deployment log's words (Azure/azure-functions-core-tools#4346):
    "Azure Storage responded with Forbidden",
    # Azure Storage's message for a 403 AuthorizationFailure, and the start of its message for
    # AuthorizationPermissionMismatch ("... using this permission.").
    "This request is not authorized to perform this operation",
)
"""Words of a deployment log saying the platform could not write the package to the
deployment container with the app's identity."""

MISSING_POLLS = 3
"""Polls answered 404 before asking whether ``latest`` is this deployment."""


class DeployStatus(IntEnum):
    """Kudu's deployment status values (Core Tools ``DeployStatus``)."""

    UNKNOWN = -1
    PENDING = 0
    BUILDING = 1
    DEPLOYING = 2
    FAILED = 3
    SUCCESS = 4
    CONFLICT = 5
    PARTIAL_SUCCESS = 6

    @classmethod
    def of(cls, value: object) -> DeployStatus:
        try:
            return cls(int(value))  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return cls.UNKNOWN


TERMINAL = frozenset(
    {DeployStatus.FAILED, DeployStatus.SUCCESS, DeployStatus.CONFLICT, DeployStatus.PARTIAL_SUCCESS}
)


@dataclass(frozen=True)
class Deployment:
    """One deployment as ``/api/deployments/<id>`` reports it (Kudu's ``DeployResult``)."""

    id: str
    status: DeployStatus
    received: datetime | None
    status_text: str = ""

    @classmethod
    def of(cls, body: Mapping[str, Any], default_id: str = "") -> Deployment:
        return cls(
            id=str(body.get("id") or default_id),
            status=DeployStatus.of(body.get("status")),
            received=_timestamp(body.get("received_time")),
            status_text=str(body.get("status_text") or ""),
        )

    def is_newer_than(self, before: Deployment | None) -> bool:
        """Whether this deployment started after ``before`` (the newest one before the
        upload; None when there was none)."""
        if not self.id:
            return False  # a recycled SCM worker answers `latest` with `{}`
        if before is None:
            return True
        if self.id == before.id:
            return False
        return not (self.received and before.received and self.received < before.received)


UNREADABLE = Deployment("", DeployStatus.UNKNOWN, None)
"""``latest`` before the upload could not be read (not even a 404)."""


def publish_flex(client: DeployClient, scm_url: str, package: bytes) -> str:
    """One-deploy ``package`` to the Flex app whose SCM site is ``scm_url``.

    Returns the deployment id once the platform reports Success (or PartialSuccess) for this
    upload; raises :class:`DeployError` with the deployment log otherwise.
    """
    scm_url = scm_url.rstrip("/")
    call = Call(
        what="Flex one deploy",
        method="POST",
        url=f"{scm_url}/api/publish?RemoteBuild=false&Deployer=pulumi",
        scope=scm_scopes(scm_url)[0],
        fallback_scope=scm_scopes(scm_url)[1],
        hint_403="the identity running `pulumi up` needs Contributor (or Website "
        "Contributor) on the function app",
        hint_404="is the app on the Flex Consumption plan? /api/publish only exists there",
        retry_when=lambda r: is_transient(r) or r.status_code == 409,
    )
    attempts = client.retry.attempts
    for attempt in range(1, attempts + 1):
        before = _latest_before_upload(client, scm_url)
        response = client.send(call, data=package, headers={"Content-Type": "application/zip"})
        deployment_id = _deployment_id(response) or _new_deployment_id(client, scm_url, before)
        deployment, log = _wait_for_deployment(client, scm_url, deployment_id)
        status = deployment.status
        if status in (DeployStatus.SUCCESS, DeployStatus.PARTIAL_SUCCESS):
            return deployment.id
        again = status == DeployStatus.CONFLICT or any(
            marker in log for marker in STORAGE_WRITE_DENIED
        )
        if not again or attempt == attempts:
            tried = f" after {attempt} publishes" if attempt > 1 else ""
            raise DeployError(
                f"Flex one deploy {deployment.id} failed{tried} (status {int(status)} "
                f"{status.name}). Deployment log:\n{log or '(empty)'}"
            )
        # Conflict: another deployment runs. Storage authorization errors: the app's
        # identity cannot write the deployment container yet (role still propagating).
        client.sleep(client.retry.delay(attempt))
    raise AssertionError("unreachable")


def _status_call(scm_url: str, deployment_id: str) -> Call:
    return Call(
        what="Flex deployment status",
        method="GET",
        url=f"{scm_url}/api/deployments/{deployment_id}",
        scope=scm_scopes(scm_url)[0],
        fallback_scope=scm_scopes(scm_url)[1],
        hint_403="the identity running `pulumi up` cannot read the app's deployments",
        hint_404="",
        retry_when=is_transient,
    )


def _wait_for_deployment(
    client: DeployClient, scm_url: str, deployment_id: str
) -> tuple[Deployment, str]:
    """Poll deployment ``deployment_id`` until its status is terminal: ``(deployment, log)``."""
    call = _status_call(scm_url, deployment_id)
    deadline = client.clock() + client.retry.poll_timeout
    missing = 0
    while True:
        response = client.send(call, ok_statuses={404})
        deployment: Deployment | None = None
        if response.status_code == 404:
            missing += 1
            if missing >= MISSING_POLLS:
                deployment = _latest_if_ours(client, scm_url, deployment_id, missing)
        else:
            deployment = Deployment.of(json_body(response), deployment_id)
        if deployment is not None and deployment.status in TERMINAL:
            ok = deployment.status == DeployStatus.SUCCESS
            log = "" if ok else _log(client, scm_url, deployment.id)
            return deployment, log or deployment.status_text
        if client.clock() >= deadline:
            raise DeployError(
                f"Flex deployment {deployment_id} did not finish within "
                f"{client.retry.poll_timeout:.0f} s; see {call.url}/log"
            )
        client.sleep(client.retry.poll_interval)


def _latest_if_ours(
    client: DeployClient, scm_url: str, deployment_id: str, missing: int
) -> Deployment:
    """``latest`` when it is deployment ``deployment_id``; otherwise a :class:`DeployError`."""
    response = client.send(_status_call(scm_url, "latest"), ok_statuses={404})
    unknown = f"Flex deployment {deployment_id} is unknown to the SCM site (404 on {missing} polls)"
    if response.status_code == 404:
        raise DeployError(
            f"{unknown}, and so is the latest deployment: the platform most likely could not "
            f"store the package in the deployment container. Check that the app's identity "
            f"has a Storage Blob Data role on it, then run `pulumi up` again."
        )
    latest = Deployment.of(json_body(response))
    if latest.id == deployment_id:
        return latest
    raise DeployError(
        f"{unknown}; the latest deployment is {latest.id or '(none)'} (status "
        f"{int(latest.status)} {latest.status.name}, received {latest.received or 'unknown'}), "
        f"not this one, so the new package is not live. The platform most likely could not "
        f"store it in the deployment container: check that the app's identity has a Storage "
        f"Blob Data role on it, then run `pulumi up` again. See {scm_url}/api/deployments"
    )


def _latest_before_upload(client: DeployClient, scm_url: str) -> Deployment | None:
    """The newest deployment before an upload: None when the site has none yet (404),
    :data:`UNREADABLE` when it could not be read (the upload goes ahead: its answer usually
    names the new deployment, and a refused upload reports its own error)."""
    try:
        response = client.send(_status_call(scm_url, "latest"), ok_statuses={404})
    except DeployError:
        return UNREADABLE
    return None if response.status_code == 404 else Deployment.of(json_body(response))


def _new_deployment_id(client: DeployClient, scm_url: str, before: Deployment | None) -> str:
    """The publish answer carried no id: the id of ``latest`` once it is newer than
    ``before``."""
    if before is UNREADABLE:
        raise DeployError(
            f"the SCM site answered the upload without a deployment id, and its latest "
            f"deployment could not be read before the upload, so nothing tells which "
            f"deployment is this one; see {scm_url}/api/deployments"
        )
    call = _status_call(scm_url, "latest")
    deadline = client.clock() + client.retry.poll_timeout
    while True:
        response = client.send(call, ok_statuses={404})
        if response.status_code != 404:
            latest = Deployment.of(json_body(response))
            if latest.is_newer_than(before):
                return latest.id
        if client.clock() >= deadline:
            seen = f"still {before.id}" if before else "none"
            raise DeployError(
                f"the SCM site answered the upload without a deployment id, and no new "
                f"deployment appeared within {client.retry.poll_timeout:.0f} s (latest: "
                f"{seen}); see {scm_url}/api/deployments"
            )
        client.sleep(client.retry.poll_interval)


def _log(client: DeployClient, scm_url: str, deployment_id: str) -> str:
    """The deployment's log messages, best effort (the failure is reported anyway)."""
    preferred, fallback = scm_scopes(scm_url)
    response = client.get_quietly(
        f"{scm_url}/api/deployments/{deployment_id}/log", scope=preferred, fallback_scope=fallback
    )
    try:
        entries = response.json() if response is not None and response.ok else []
    except ValueError:
        return ""
    if not isinstance(entries, list):
        return ""
    return "\n".join(str(e.get("message", "")) for e in entries if isinstance(e, dict))


def _deployment_id(response: requests.Response) -> str:
    """The publish answer's deployment id: the body (a JSON string, as Azure/azure-dev reads
    it, plain text, or ``{"id": ...}``), else Kudu's ``SCM-DEPLOYMENT-ID`` header
    (projectkudu/kudu ``PushDeploymentController``); ``""`` when neither names one."""
    text = response.text.strip()
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = text
    if isinstance(body, dict):
        body = body.get("id")
    found = str(body).strip().strip('"') if body else ""
    return found or response.headers.get("SCM-DEPLOYMENT-ID", "").strip()


def _timestamp(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def scm_url_for(default_host_name: str, enabled_host_names: list[str] | None) -> str:
    """The app's SCM (Kudu) base URL: the ``.scm.`` name among the enabled host names, else the
    default host name with ``.scm`` after its first label (the documented naming rule, which
    also holds for regional names like ``app-x.westeurope-01.azurewebsites.net``)."""
    for name in enabled_host_names or []:
        if ".scm." in name:
            return f"https://{name}"
    first, _, rest = default_host_name.partition(".")
    return f"https://{first}.scm.{rest}"
