"""Flex Consumption code deployment: one deploy through the app's SCM site, polled the way
Core Tools polls it.

``POST https://<scm host>/api/publish?RemoteBuild=false`` with the zip as body and a Resource
Manager token answers a deployment id; ``GET /api/deployments/<id>`` reports a
:class:`DeployStatus` until it is terminal (Failed, Success, Conflict, PartialSuccess -- the
values of Core Tools' ``DeployStatus``). The platform stores the package in the app's
deployment container as ``released-package.zip`` using the app's managed identity.

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
* ``GET /api/deployments/<id>`` answers 404 (the id is unknown: Azure/azure-dev#4439, after a
  failed write): after a few polls, fall back to the latest deployment and its log instead of
  polling a missing id for the whole budget; if there is none either, fail saying so.
* a status body without ``complete``: the status alone decides.

Import contract as in :mod:`deployclient`.
"""

from __future__ import annotations

import json
from enum import IntEnum

import requests

if __package__:
    from infra.deployclient import (
        ARM_SCOPE,
        RBAC_PROPAGATION_MARKERS,
        Call,
        DeployClient,
        DeployError,
        is_transient,
        json_body,
    )
else:  # loaded as a top-level module by Pulumi's provider process (see infra/deploy.py)
    from deployclient import (  # type: ignore[no-redef]
        ARM_SCOPE,
        RBAC_PROPAGATION_MARKERS,
        Call,
        DeployClient,
        DeployError,
        is_transient,
        json_body,
    )

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
"""Polls answered 404 before falling back to the latest deployment."""


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


def publish_flex(client: DeployClient, scm_url: str, package: bytes) -> str:
    """One-deploy ``package`` to the Flex app whose SCM site is ``scm_url``.

    Returns the deployment id once the platform reports Success (or PartialSuccess); raises
    :class:`DeployError` with the deployment log otherwise.
    """
    scm_url = scm_url.rstrip("/")
    call = Call(
        what="Flex one deploy",
        method="POST",
        url=f"{scm_url}/api/publish?RemoteBuild=false&Deployer=pulumi",
        scope=ARM_SCOPE,
        hint_403="the identity running `pulumi up` needs Contributor (or Website "
        "Contributor) on the function app",
        hint_404="is the app on the Flex Consumption plan? /api/publish only exists there",
        retry_when=lambda r: is_transient(r) or r.status_code == 409,
    )
    attempts = client.retry.attempts
    for attempt in range(1, attempts + 1):
        response = client.send(call, data=package, headers={"Content-Type": "application/zip"})
        deployment_id, status, log = _wait_for_deployment(
            client, scm_url, _deployment_id(response)
        )
        if status in (DeployStatus.SUCCESS, DeployStatus.PARTIAL_SUCCESS):
            return deployment_id
        again = status == DeployStatus.CONFLICT or any(
            marker in log for marker in STORAGE_WRITE_DENIED
        )
        if not again or attempt == attempts:
            tried = f" after {attempt} publishes" if attempt > 1 else ""
            raise DeployError(
                f"Flex one deploy {deployment_id} failed{tried} (status {int(status)} "
                f"{status.name}). Deployment log:\n{log or '(empty)'}"
            )
        # Conflict: another deployment runs. Storage authorization errors: the app's
        # identity cannot write the deployment container yet (role still propagating).
        client.sleep(client.retry.delay(attempt))
    raise AssertionError("unreachable")


def _wait_for_deployment(
    client: DeployClient, scm_url: str, deployment_id: str, *, fallback: bool = True
) -> tuple[str, DeployStatus, str]:
    """Poll until the deployment's status is terminal: ``(id, status, log)``."""
    status_url = f"{scm_url}/api/deployments/{deployment_id}"
    call = Call(
        what="Flex deployment status",
        method="GET",
        url=status_url,
        scope=ARM_SCOPE,
        hint_403="the identity running `pulumi up` cannot read the app's deployments",
        hint_404="",
        retry_when=is_transient,
    )
    deadline = client.clock() + client.retry.poll_timeout
    missing = 0
    while True:
        response = client.send(call, ok_statuses={404})
        if response.status_code == 404:
            missing += 1
            if missing >= MISSING_POLLS:
                return _latest_instead_of(client, scm_url, deployment_id, fallback)
        else:
            body = json_body(response)
            status = DeployStatus.of(body.get("status"))
            if status in TERMINAL:
                real_id = str(body.get("id") or deployment_id)
                log = "" if status == DeployStatus.SUCCESS else _log(client, scm_url, real_id)
                return real_id, status, log or str(body.get("status_text") or "")
        if client.clock() >= deadline:
            raise DeployError(
                f"Flex deployment {deployment_id} did not finish within "
                f"{client.retry.poll_timeout:.0f} s; see {status_url}/log"
            )
        client.sleep(client.retry.poll_interval)


def _latest_instead_of(
    client: DeployClient, scm_url: str, deployment_id: str, fallback: bool
) -> tuple[str, DeployStatus, str]:
    if fallback and deployment_id != "latest":
        try:
            real_id, status, log = _wait_for_deployment(
                client, scm_url, "latest", fallback=False
            )
        except DeployError as exc:
            raise DeployError(
                f"Flex deployment {deployment_id} is unknown to the SCM site (404), and so "
                f"is the latest deployment: the platform most likely could not store the "
                f"package in the deployment container. Check that the app's identity has a "
                f"Storage Blob Data role on it, then run `pulumi up` again. ({exc})"
            ) from exc
        note = f"(deployment {deployment_id} answered 404; latest deployment {real_id})\n"
        return real_id, status, note + log
    raise DeployError(f"Flex deployment {deployment_id} answered 404 on every poll")


def _log(client: DeployClient, scm_url: str, deployment_id: str) -> str:
    """The deployment's log messages, best effort (the failure is reported anyway)."""
    response = client.get_quietly(f"{scm_url}/api/deployments/{deployment_id}/log")
    try:
        entries = response.json() if response is not None and response.ok else []
    except ValueError:
        return ""
    if not isinstance(entries, list):
        return ""
    return "\n".join(str(e.get("message", "")) for e in entries if isinstance(e, dict))


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
