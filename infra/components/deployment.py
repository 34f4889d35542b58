"""Code deployment as Pulumi resources: the package goes out during ``pulumi up``.

Each step is a :class:`PackageDeployment` dynamic resource whose provider
(:class:`deploy.PackageDeployProvider`) runs in the ``pulumi up`` process's environment with the
same Azure identity. Its inputs carry the package's SHA-256, so a step runs again exactly when
the package (or its target) changes.

* Flex Consumption: :class:`CodeDeployment` one-deploys the zip after the app exists.
* Both plans: the step then checks that the host runs and lists the app's functions, and
  fails ``pulumi up`` with the host's message if not.
* Linux Consumption: :class:`PackageUpload` puts the zip in the deployment container under a
  content-addressed name *before* the app is created or updated (the app's
  ``WEBSITE_RUN_FROM_PACKAGE`` points at it, so the app never points at a missing blob); after
  the app, :class:`CodeDeployment` syncs the triggers. On a new package the new blob is
  uploaded, the app is switched over, and only then the old blob is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi_azure_native import authorization, web

from infra import deploy, onedeploy, roles
from infra.components.storage import Storage

ARM_URL = "https://management.azure.com"


class PackageDeployment(pulumi.dynamic.Resource, module="deploy", name="PackageDeployment"):
    """One deployment step (``operation`` in :mod:`deploy`)."""

    deployed_sha256: pulumi.Output[str]
    deployment_id: pulumi.Output[str | None]
    functions: pulumi.Output[list[str] | None]

    def __init__(
        self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            deploy.PackageDeployProvider(),
            name,
            {**props, "deployed_sha256": None, "deployment_id": None, "functions": None},
            opts,
        )


@dataclass(frozen=True)
class Package:
    """The zip built by ``make package``, as the program saw it."""

    path: Path
    sha256: str

    @property
    def blob_name(self) -> str:
        """Content-addressed: a new package is a new blob, so the app switches atomically."""
        return f"app-{self.sha256[:16]}.zip"


class PackageUpload(pulumi.ComponentResource):
    """Linux Consumption: upload the package blob with the deployer's identity.

    The identity running ``pulumi up`` gets Storage Blob Data Contributor on the deployment
    container only (shared keys are off, so this is the only way in); the upload retries while
    that fresh assignment propagates.
    """

    def __init__(
        self,
        name: str,
        package: Package,
        storage: Storage,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("dfpy:infra:PackageUpload", name, None, opts)
        deployer = authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        )
        container_id = storage.deployment_container.id
        self.deployer_role = authorization.RoleAssignment(
            f"{name}-deployer-blob-contributor",
            principal_id=deployer.object_id,
            role_definition_id=container_id.apply(
                lambda scope: roles.role_definition_id(scope, roles.STORAGE_BLOB_DATA_CONTRIBUTOR)
            ),
            scope=container_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.blob_url = pulumi.Output.concat(
            storage.deployment_container_url, "/", package.blob_name
        )
        self.upload = PackageDeployment(
            f"{name}-blob",
            {
                "operation": deploy.BLOB_UPLOAD,
                "blob_url": self.blob_url,
                "package_path": str(package.path),
                "package_sha256": package.sha256,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.deployer_role]),
        )
        self.register_outputs({"blob_url": self.blob_url})


class CodeDeployment(pulumi.ComponentResource):
    """After the app exists: one deploy (Flex) or trigger sync (Linux Consumption)."""

    def __init__(
        self,
        name: str,
        *,
        flex: bool,
        package: Package,
        app: web.WebApp,
        expected: tuple[str, ...] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("dfpy:infra:CodeDeployment", name, None, opts)
        props: dict[str, Any] = {
            "arm_url": ARM_URL,
            "app_id": app.id,
            "expected_functions": list(expected),
        }
        if flex:
            props["operation"] = deploy.FLEX_PUBLISH
            props["scm_url"] = pulumi.Output.all(
                app.default_host_name, app.enabled_host_names
            ).apply(lambda hosts: onedeploy.scm_url_for(hosts[0], hosts[1]))
        else:
            props["operation"] = deploy.SYNC_TRIGGERS
        self.step = PackageDeployment(
            f"{name}-{props['operation']}",
            {**props, "package_path": str(package.path), "package_sha256": package.sha256},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[app]),
        )
        self.deployed_sha256 = self.step.deployed_sha256
        self.functions = self.step.functions
        self.register_outputs({"deployed_sha256": self.deployed_sha256})
