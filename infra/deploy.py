"""The Pulumi dynamic provider that deploys the code during ``pulumi up``.

Each deployment step is one dynamic resource; ``props["operation"]`` says which:

* ``flex-publish`` (Flex Consumption): one deploy (:mod:`onedeploy`), then the host check.
* ``blob-upload`` (Linux Consumption): upload the package blob the app runs from.
* ``sync-triggers`` (Linux Consumption): trigger sync after the app points at the blob, then
  the host check.

The host check (:meth:`deployclient.DeployClient.verify_host`) makes ``pulumi up`` fail with
the host's own message when the code is not live, instead of reporting success.

Import contract: this module and the two it uses import only the standard library,
``requests``, ``pulumi.dynamic`` and (lazily) ``azure.identity`` -- never the rest of the
``infra`` package. Pulumi pickles :class:`PackageDeployProvider` by reference to its module,
and the dynamic-provider process imports that module as the top-level name ``deploy`` from
``infra/`` (with its siblings ``deployclient`` and ``onedeploy``); see ``infra/__main__.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

if __package__:
    from infra import onedeploy
    from infra.deployclient import DeployClient, DeployError, default_token_source
else:  # top-level `deploy` in Pulumi's processes
    import onedeploy  # type: ignore[no-redef]
    from deployclient import (  # type: ignore[no-redef]
        DeployClient,
        DeployError,
        default_token_source,
    )

FLEX_PUBLISH = "flex-publish"
BLOB_UPLOAD = "blob-upload"
SYNC_TRIGGERS = "sync-triggers"

_STEP_KEYS = {
    FLEX_PUBLISH: ("scm_url", "app_id", "package_sha256"),
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
    expected = list(props.get("expected_functions") or [])
    if operation == FLEX_PUBLISH:
        package = read_package(props["package_path"], props["package_sha256"])
        deployment_id = onedeploy.publish_flex(client, props["scm_url"], package)
        functions = client.verify_host(props["arm_url"], props["app_id"], expected)
        return {"deployment_id": deployment_id, "functions": functions}
    if operation == BLOB_UPLOAD:
        package = read_package(props["package_path"], props["package_sha256"])
        client.upload_blob(props["blob_url"], package)
        return {}
    if operation == SYNC_TRIGGERS:
        client.sync_triggers(props["arm_url"], props["app_id"])
        return {"functions": client.verify_host(props["arm_url"], props["app_id"], expected)}
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
