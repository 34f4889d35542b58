"""Fixtures for the infra tests: Pulumi mocks that record every resource, and a runner for
the Pulumi program under those mocks (offline, no Pulumi CLI, no Azure)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `pytest` run without `python -m`
    sys.path.insert(0, str(REPO_ROOT))
HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:  # the helpers next to the tests (fake_azure, rest_models)
    sys.path.append(HERE)

import pulumi  # noqa: E402
from pulumi.runtime import mocks as pulumi_mocks  # noqa: E402

PROJECT = "durable-functions-python"
SUBSCRIPTION = "00000000-0000-0000-0000-0000000000aa"
UAMI_PRINCIPAL_ID = "11111111-1111-1111-1111-111111111111"
UAMI_CLIENT_ID = "22222222-2222-2222-2222-222222222222"
PKG_PRINCIPAL_ID = "44444444-4444-4444-4444-444444444444"
DEPLOYER_OBJECT_ID = "33333333-3333-3333-3333-333333333333"
INSIGHTS_CONNECTION = "InstrumentationKey=abc;IngestionEndpoint=https://example.invalid/"


@dataclass
class Created:
    """One resource the program registered: type token, logical name, inputs (wire names),
    the outputs the mock answered, and the URNs it depends on."""

    typ: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    id: str
    urn: str = ""
    dependencies: list[str] = field(default_factory=list)


class AzureMocks(pulumi.runtime.Mocks):
    """Answers like azure-native would for the resources this program creates."""

    def __init__(self) -> None:
        self.created: list[Created] = []
        self.calls: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        outputs = dict(args.inputs)
        # azure-native resources answer their Azure name as `name`; autonamed ones here get
        # their logical name (the real provider would append a random suffix).
        name = (
            outputs.get("name") or outputs.get("containerName") or outputs.get("taskHubName")
        ) or args.name
        outputs.setdefault("name", name)
        provider = args.typ.split(":")[1] if args.typ.startswith("azure-native:") else "x"
        resource_id = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/{provider}/{name}"
        if args.typ == "azure-native:storage:StorageAccount":
            outputs["primaryEndpoints"] = {
                kind: f"https://{name}.{kind}.core.windows.net/"
                for kind in ("blob", "queue", "table")
            }
        elif args.typ == "azure-native:managedidentity:UserAssignedIdentity":
            principal = PKG_PRINCIPAL_ID if args.name.endswith("-pkg") else UAMI_PRINCIPAL_ID
            outputs.update(principalId=principal, clientId=UAMI_CLIENT_ID)
        elif args.typ == "azure-native:applicationinsights:Component":
            outputs["connectionString"] = INSIGHTS_CONNECTION
        elif args.typ == "azure-native:web:WebApp":
            outputs["defaultHostName"] = f"{name}.azurewebsites.net"
            outputs["enabledHostNames"] = [
                f"{name}.azurewebsites.net",
                f"{name}.scm.azurewebsites.net",
            ]
            identity = outputs.get("identity") or {}
            ids = identity.get("userAssignedIdentities")
            if isinstance(ids, list):  # azure-native v3: a list in, a map out
                outputs["identity"] = {
                    **identity,
                    "userAssignedIdentities": {
                        i: {"principalId": UAMI_PRINCIPAL_ID, "clientId": UAMI_CLIENT_ID}
                        for i in ids
                    },
                }
        elif args.typ == "azure-native:durabletask:Scheduler":
            outputs["properties"] = {
                **(outputs.get("properties") or {}),
                "endpoint": f"https://{name}.westeurope.durabletask.io",
                "provisioningState": "Succeeded",
            }
        elif args.typ == "azure-native:durabletask:TaskHub":
            outputs["properties"] = {
                "dashboardUrl": f"https://dashboard.durabletask.io/?taskHub={name}",
                "provisioningState": "Succeeded",
            }
        elif args.typ.startswith("pulumi-python:dynamic"):
            # What PackageDeployProvider.create answers.
            outputs["deployed_sha256"] = args.inputs.get("package_sha256")
            outputs["functions"] = ["hello"]
        self.created.append(Created(args.typ, args.name, dict(args.inputs), outputs, resource_id))
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        self.calls.append(args.token)
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": "deployer-app",
                "objectId": DEPLOYER_OBJECT_ID,
                "subscriptionId": SUBSCRIPTION,
                "tenantId": "tenant",
            }
        return {}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also recording each resource's URN and dependencies."""

    def __init__(self, mocks: AzureMocks) -> None:
        super().__init__(mocks)
        self.dependencies: dict[tuple[str, str], list[str]] = {}
        self.urns: dict[tuple[str, str], str] = {}

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        self.dependencies[(request.type, request.name)] = list(request.dependencies)
        self.urns[(request.type, request.name)] = response.urn
        return response


@dataclass
class StackRun:
    """The result of one program run under mocks."""

    outputs: dict[str, Any]
    created: list[Created]
    calls: list[str]

    def of_type(self, suffix: str) -> list[Created]:
        """Resources whose type token ends with ``suffix`` (e.g. ``web:WebApp``)."""
        return [c for c in self.created if c.typ.endswith(suffix)]

    def one(self, suffix: str, name_suffix: str | None = None) -> Created:
        """The one resource of a type; with ``name_suffix``, the one whose logical name ends
        with it; without, the one whose name does not end in ``-pkg`` if there are two."""
        found = self.of_type(suffix)
        if name_suffix is not None:
            found = [c for c in found if c.name.endswith(name_suffix)]
        elif len(found) > 1:
            found = [c for c in found if not c.name.endswith("-pkg")]
        assert len(found) == 1, f"expected one {suffix}, got {[c.name for c in found]}"
        return found[0]

    def depends_on(self, resource: Created, other: Created) -> bool:
        return other.urn in resource.dependencies


@pytest.fixture(autouse=True)
def event_loop_for_pulumi():
    """Pulumi's mocks and ``@pulumi.runtime.test`` use the main thread's current event loop;
    an earlier ``asyncio.run`` (other test folders) leaves none set, so give each test one."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.set_event_loop(None)
    loop.close()


@pytest.fixture
def fake():
    """The ids and values the mocks answer with, for assertions."""
    return SimpleNamespace(
        subscription=SUBSCRIPTION,
        uami_principal_id=UAMI_PRINCIPAL_ID,
        uami_client_id=UAMI_CLIENT_ID,
        package_principal_id=PKG_PRINCIPAL_ID,
        deployer_object_id=DEPLOYER_OBJECT_ID,
        insights_connection=INSIGHTS_CONNECTION,
    )


@pytest.fixture
def package_zip(tmp_path: Path) -> Path:
    """A stand-in deployment package: the program only reads and hashes it."""
    path = tmp_path / "app.zip"
    path.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip
    return path


@pytest.fixture
def run_stack(package_zip: Path) -> Callable[..., StackRun]:
    """Run the Pulumi program under mocks with the given stack config (plain key names)."""

    def run(config: dict[str, str] | None = None, location: str | None = "westeurope") -> StackRun:
        from infra import program

        values = {"packagePath": str(package_zip), **(config or {})}
        mocks = AzureMocks()
        monitor = RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(
            mocks, project=PROJECT, stack="dev", preview=False, monitor=monitor
        )
        all_config = {f"{PROJECT}:{key}": value for key, value in values.items()}
        if location:
            all_config["azure-native:location"] = location
        pulumi.runtime.set_all_config(all_config)
        resolved: dict[str, Any] = {}

        @pulumi.runtime.test
        def program_run():
            outputs = program.run()
            return pulumi.Output.all(
                **{key: pulumi.Output.from_input(value) for key, value in outputs.items()}
            ).apply(resolved.update)

        program_run()
        for created in mocks.created:
            created.urn = monitor.urns.get((created.typ, created.name), "")
            created.dependencies = monitor.dependencies.get((created.typ, created.name), [])
        return StackRun(resolved, mocks.created, mocks.calls)

    return run


@pytest.fixture
def azure():
    """A scripted SCM/Resource Manager/Storage server on 127.0.0.1 (tests/infra/fake_azure.py)."""
    from fake_azure import FakeAzure

    server = FakeAzure()
    yield server
    server.close()


@pytest.fixture
def fake_time():
    from fake_azure import FakeTime

    return FakeTime()


@pytest.fixture
def client(fake_time):
    """A deployment client with a fake identity and clock, talking to loopback only."""
    import requests
    from fake_azure import POLICY

    from infra.deployclient import DeployClient

    session = requests.Session()
    session.trust_env = False  # loopback only, whatever proxy the environment sets
    return DeployClient(
        lambda scope: f"token:{scope}",
        retry=POLICY,
        session=session,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    )


@pytest.fixture(scope="session")
def repo_packages(tmp_path_factory):
    """The repository's real deployment package, built once per session from
    requirements.lock for each Durable backend (``{"azureStorage": Path, "dts": Path}``).

    The first build downloads Linux cp311 wheels from PyPI into the wheel cache; later builds
    install from the cache."""
    from infra import package as pkg

    out = tmp_path_factory.mktemp("repo-package")
    return {
        backend: pkg.build_package(REPO_ROOT, out / f"app-{backend}.zip", durable_backend=backend)
        for backend in pkg.DURABLE_BACKENDS
    }
