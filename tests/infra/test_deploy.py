"""The deployment client and the dynamic provider (infra/deploy.py) against a scripted local
HTTP server bound to 127.0.0.1: requests, retries, and the errors users see."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from infra import deploy
from infra.deploy import DeployClient, DeployError, RetryPolicy

PACKAGE = b"PK\x03\x04 not really a zip, but bytes to ship"
APP_ID = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Web/sites/func-x"


@dataclass
class Reply:
    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


class FakeAzure:
    """Answers scripted replies per (method, path); the last reply of a route repeats."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.seen: list[Seen] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.seen.append(
                    Seen(self.command, url.path, url.query, dict(self.headers.items()), body)
                )
                queue = fake.routes.get((self.command, url.path)) or [Reply(404, "no route")]
                reply = queue.pop(0) if len(queue) > 1 else queue[0]
                time.sleep(reply.delay)
                payload = reply.body
                if not isinstance(payload, bytes | str):
                    payload = json.dumps(payload)
                data = payload.encode() if isinstance(payload, str) else payload
                try:
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def reply(self, method: str, path: str, *replies: Reply) -> None:
        self.routes[(method, path)] = list(replies)

    def calls(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if (s.method, s.path) == (method, path)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeTime:
    """``sleep`` and ``clock`` for the client: records waits and advances time instantly."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def azure():
    server = FakeAzure()
    yield server
    server.close()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


POLICY = RetryPolicy(
    attempts=4, first_delay=1, max_delay=3, request_timeout=5, poll_interval=2, poll_timeout=10
)


@pytest.fixture
def client(fake_time) -> DeployClient:
    session = requests.Session()
    session.trust_env = False  # loopback only, whatever proxy the environment sets
    return DeployClient(
        lambda scope: f"token:{scope}",
        retry=POLICY,
        session=session,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    )


def done(status: int = 4) -> Reply:
    return Reply(200, {"id": "dep-1", "complete": True, "status": status})


# ---- Flex one deploy -----------------------------------------------------------------------


def test_flex_publish_posts_the_zip_and_polls_until_success(azure, client, fake_time):
    azure.reply("POST", "/api/publish", Reply(202, '"dep-1"'))
    azure.reply(
        "GET", "/api/deployments/dep-1", Reply(200, {"complete": False, "status": 1}), done()
    )
    assert client.publish_flex(azure.url + "/", PACKAGE) == "dep-1"

    (post,) = azure.calls("POST", "/api/publish")
    assert post.query == "RemoteBuild=false&Deployer=pulumi"
    assert post.headers["Authorization"] == "Bearer token:https://management.azure.com/.default"
    assert post.headers["Content-Type"] == "application/zip"
    assert post.body == PACKAGE
    polls = azure.calls("GET", "/api/deployments/dep-1")
    assert len(polls) == 2
    assert polls[0].headers["Authorization"].startswith("Bearer token:https://management")
    assert fake_time.sleeps == [POLICY.poll_interval]


@pytest.mark.parametrize("answer", ['{"id": "dep-1"}', "dep-1", '"dep-1"'])
def test_flex_publish_understands_each_form_of_deployment_id(azure, client, answer):
    azure.reply("POST", "/api/publish", Reply(200, answer))
    azure.reply("GET", "/api/deployments/dep-1", done())
    assert client.publish_flex(azure.url, PACKAGE) == "dep-1"


def test_flex_publish_retries_transient_answers_with_backoff(azure, client, fake_time):
    azure.reply(
        "POST",
        "/api/publish",
        Reply(503, "busy"),
        Reply(409, "deployment in progress"),
        Reply(429, "slow down", {"Retry-After": "2"}),
        Reply(200, '"dep-1"'),
    )
    azure.reply("GET", "/api/deployments/dep-1", done())
    assert client.publish_flex(azure.url, PACKAGE) == "dep-1"
    assert len(azure.calls("POST", "/api/publish")) == 4
    assert fake_time.sleeps == [1, 2, 2]  # exponential, then Retry-After


def test_flex_publish_again_when_the_app_identity_cannot_write_yet(azure, client, fake_time):
    """Right after the role assignment, the platform's copy to the deployment container fails;
    publishing again once the role has propagated succeeds."""
    azure.reply("POST", "/api/publish", Reply(200, '"dep-1"'), Reply(200, '"dep-2"'))
    azure.reply("GET", "/api/deployments/dep-1", done(status=3))
    azure.reply(
        "GET",
        "/api/deployments/dep-1/log",
        Reply(200, [{"message": "BlobUploadFailedException: 403 AuthorizationPermissionMismatch"}]),
    )
    azure.reply("GET", "/api/deployments/dep-2", done())
    assert client.publish_flex(azure.url, PACKAGE) == "dep-2"
    assert len(azure.calls("POST", "/api/publish")) == 2


def test_flex_deployment_failure_reports_the_log(azure, client):
    azure.reply("POST", "/api/publish", Reply(200, '"dep-1"'))
    azure.reply("GET", "/api/deployments/dep-1", done(status=3))
    azure.reply(
        "GET",
        "/api/deployments/dep-1/log",
        Reply(200, [{"message": "Extracting"}, {"message": "ModuleNotFoundError: azure"}]),
    )
    with pytest.raises(DeployError) as error:
        client.publish_flex(azure.url, PACKAGE)
    assert "dep-1 failed (status 3)" in str(error.value)
    assert "ModuleNotFoundError: azure" in str(error.value)
    assert len(azure.calls("POST", "/api/publish")) == 1  # not transient: no second publish


def test_flex_deployment_that_never_completes_times_out(azure, client, fake_time):
    azure.reply("POST", "/api/publish", Reply(200, '"dep-1"'))
    azure.reply("GET", "/api/deployments/dep-1", Reply(200, {"complete": False, "status": 2}))
    with pytest.raises(DeployError, match=r"dep-1 did not finish within 10 s; see .*/log"):
        client.publish_flex(azure.url, PACKAGE)
    assert fake_time.now >= POLICY.poll_timeout


@pytest.mark.parametrize(
    "status, expected",
    [
        (401, "access token was rejected: sign in again (`az login`)"),
        (403, "access denied: the identity running `pulumi up` needs Contributor"),
        (404, "is the app on the Flex Consumption plan?"),
        (400, "HTTP 400"),
    ],
)
def test_flex_publish_configuration_errors_fail_at_once(azure, client, status, expected):
    azure.reply("POST", "/api/publish", Reply(status, "nope"))
    with pytest.raises(DeployError) as error:
        client.publish_flex(azure.url, PACKAGE)
    message = str(error.value)
    assert expected in message
    assert f"POST {azure.url}/api/publish?RemoteBuild=false&Deployer=pulumi -> {status}" in message
    assert "Response: nope" in message
    assert len(azure.calls("POST", "/api/publish")) == 1


# ---- Linux Consumption ---------------------------------------------------------------------


def test_upload_puts_a_block_blob_with_a_storage_token(azure, client):
    azure.reply("PUT", "/deployments/app-1.zip", Reply(201))
    client.upload_blob(f"{azure.url}/deployments/app-1.zip", PACKAGE)
    (put,) = azure.calls("PUT", "/deployments/app-1.zip")
    assert put.headers["Authorization"] == "Bearer token:https://storage.azure.com/.default"
    assert put.headers["x-ms-blob-type"] == "BlockBlob"
    assert put.headers["x-ms-version"] == deploy.STORAGE_API_VERSION
    assert put.headers["Content-MD5"] == base64.b64encode(hashlib.md5(PACKAGE).digest()).decode()
    assert put.body == PACKAGE


def test_upload_waits_for_a_fresh_role_assignment(azure, client, fake_time):
    denied = Reply(403, "denied", {"x-ms-error-code": "AuthorizationPermissionMismatch"})
    azure.reply("PUT", "/deployments/app-1.zip", denied, denied, Reply(201))
    client.upload_blob(f"{azure.url}/deployments/app-1.zip", PACKAGE)
    assert len(azure.calls("PUT", "/deployments/app-1.zip")) == 3
    assert fake_time.sleeps == [1, 2]


def test_upload_gives_up_after_the_retry_budget_with_a_hint(azure, client, fake_time):
    denied = Reply(403, "denied", {"x-ms-error-code": "AuthorizationPermissionMismatch"})
    azure.reply("PUT", "/deployments/app-1.zip", denied)
    with pytest.raises(DeployError) as error:
        client.upload_blob(f"{azure.url}/deployments/app-1.zip", PACKAGE)
    message = str(error.value)
    assert "package upload failed after 4 attempts" in message
    assert "403 AuthorizationPermissionMismatch" in message
    assert "Storage Blob Data Contributor" in message
    assert fake_time.sleeps == [1, 2, 3]  # capped at max_delay


def test_upload_to_a_missing_container_is_not_retried(azure, client):
    azure.reply("PUT", "/missing/app.zip", Reply(404, "", {"x-ms-error-code": "ContainerNotFound"}))
    with pytest.raises(DeployError, match="ContainerNotFound: not found: the storage account"):
        client.upload_blob(f"{azure.url}/missing/app.zip", PACKAGE)
    assert len(azure.calls("PUT", "/missing/app.zip")) == 1


def test_timeouts_are_retried_then_reported(azure, fake_time):
    azure.reply("PUT", "/deployments/slow.zip", Reply(201, delay=1.0))
    session = requests.Session()
    session.trust_env = False
    client = DeployClient(
        lambda scope: "t",
        retry=RetryPolicy(attempts=2, first_delay=0, request_timeout=0.2),
        session=session,
        sleep=fake_time.sleep,
    )
    with pytest.raises(
        DeployError, match=r"package upload: PUT .*/slow.zip timed out \(2 attempts\)"
    ):
        client.upload_blob(f"{azure.url}/deployments/slow.zip", PACKAGE)
    assert len(azure.calls("PUT", "/deployments/slow.zip")) == 2


def test_connection_refused_is_reported(fake_time):
    session = requests.Session()
    session.trust_env = False
    client = DeployClient(
        lambda scope: "t", retry=RetryPolicy(attempts=1), session=session, sleep=fake_time.sleep
    )
    with pytest.raises(DeployError, match="could not connect"):
        client.upload_blob("http://127.0.0.1:9/deployments/app.zip", PACKAGE)


def test_no_azure_sign_in_is_reported_before_any_request(azure):
    def no_credential(scope: str) -> str:
        raise RuntimeError("DefaultAzureCredential failed to retrieve a token")

    client = DeployClient(no_credential, retry=POLICY)
    with pytest.raises(DeployError) as error:
        client.sync_triggers(azure.url, APP_ID)
    assert "could not get an Azure token for https://management.azure.com/.default" in str(
        error.value
    )
    assert "az login" in str(error.value)
    assert azure.seen == []


def test_delete_blob_tolerates_a_blob_that_is_gone(azure, client):
    azure.reply("DELETE", "/deployments/old.zip", Reply(404))
    client.delete_blob(f"{azure.url}/deployments/old.zip")
    assert (
        azure.calls("DELETE", "/deployments/old.zip")[0]
        .headers["Authorization"]
        .endswith("storage.azure.com/.default")
    )


def test_sync_triggers_posts_to_resource_manager(azure, client):
    path = f"{APP_ID}/syncfunctiontriggers"
    azure.reply("POST", path, Reply(500, "host not ready"), Reply(204))
    client.sync_triggers(azure.url, APP_ID)
    first, second = azure.calls("POST", path)
    assert second.query == f"api-version={deploy.WEB_API_VERSION}"
    assert second.headers["Authorization"] == "Bearer token:https://management.azure.com/.default"
    assert second.body == b""


def test_sas_signatures_never_appear_in_errors(azure, client):
    azure.reply("PUT", "/deployments/app.zip", Reply(400, "bad"))
    with pytest.raises(DeployError) as error:
        client.upload_blob(f"{azure.url}/deployments/app.zip?sv=1&sig=SECRET", PACKAGE)
    assert "SECRET" not in str(error.value)


def test_scm_url_prefers_the_enabled_scm_host_name():
    assert (
        deploy.scm_url_for(
            "a.azurewebsites.net", ["a.azurewebsites.net", "a.scm.azurewebsites.net"]
        )
        == "https://a.scm.azurewebsites.net"
    )
    assert (
        deploy.scm_url_for("a-b1c2.westeurope-01.azurewebsites.net", None)
        == "https://a-b1c2.scm.westeurope-01.azurewebsites.net"
    )


# ---- the dynamic provider ------------------------------------------------------------------


@pytest.fixture
def zip_file(tmp_path: Path) -> tuple[str, str]:
    path = tmp_path / "app.zip"
    path.write_bytes(PACKAGE)
    return str(path), hashlib.sha256(PACKAGE).hexdigest()


def flex_props(azure, zip_file, **overrides) -> dict[str, Any]:
    path, sha = zip_file
    return {
        "operation": deploy.FLEX_PUBLISH,
        "scm_url": azure.url,
        "package_path": path,
        "package_sha256": sha,
        **overrides,
    }


class LocalProvider(deploy.PackageDeployProvider):
    """The provider with its client pointed at the fake server's identity and clock."""

    def __init__(self, client: DeployClient) -> None:
        self.client = client

    def _client(self) -> DeployClient:
        return self.client


def test_provider_create_runs_the_step_and_records_the_hash(azure, client, zip_file):
    azure.reply("POST", "/api/publish", Reply(200, '"dep-9"'))
    azure.reply("GET", "/api/deployments/dep-9", done())
    result = LocalProvider(client).create(flex_props(azure, zip_file))
    assert result.outs["deployed_sha256"] == zip_file[1]
    assert result.outs["deployment_id"] == "dep-9"
    assert azure.calls("POST", "/api/publish")[0].body == PACKAGE


def test_provider_redeploys_only_when_the_package_or_target_changes(azure, client, zip_file):
    provider = LocalProvider(client)
    olds = flex_props(azure, zip_file)
    assert not provider.diff("id", olds, dict(olds)).changes
    assert not provider.diff("id", olds, {**olds, "package_path": "/elsewhere/app.zip"}).changes
    changed = provider.diff("id", olds, {**olds, "package_sha256": "0" * 64})
    assert changed.changes and not changed.replaces
    assert provider.diff("id", olds, {**olds, "scm_url": "https://other"}).changes


def test_a_new_package_blob_replaces_the_old_one(zip_file, client):
    path, sha = zip_file
    olds = {
        "operation": deploy.BLOB_UPLOAD,
        "blob_url": "https://a/app-1.zip",
        "package_path": path,
        "package_sha256": sha,
    }
    news = {**olds, "blob_url": "https://a/app-2.zip", "package_sha256": "f" * 64}
    diff = LocalProvider(client).diff("id", olds, news)
    assert diff.changes
    assert set(diff.replaces) == {"blob_url", "package_sha256"}
    assert diff.delete_before_replace is False  # upload the new blob before deleting the old


def test_provider_update_and_delete(azure, client, zip_file):
    path, sha = zip_file
    props = {
        "operation": deploy.BLOB_UPLOAD,
        "blob_url": f"{azure.url}/deployments/app-2.zip",
        "package_path": path,
        "package_sha256": sha,
    }
    azure.reply("PUT", "/deployments/app-2.zip", Reply(201))
    azure.reply("DELETE", "/deployments/app-2.zip", Reply(202))
    provider = LocalProvider(client)
    assert provider.update("id", {}, props).outs["deployed_sha256"] == sha
    provider.delete("id", props)
    assert [s.method for s in azure.seen] == ["PUT", "DELETE"]


def test_flex_and_sync_steps_have_nothing_to_delete(azure, client, zip_file):
    LocalProvider(client).delete("id", flex_props(azure, zip_file))
    assert azure.seen == []


def test_a_package_changed_since_planning_is_refused(azure, client, zip_file, tmp_path):
    Path(zip_file[0]).write_bytes(b"rebuilt in the meantime")
    with pytest.raises(DeployError, match="changed after the program read it"):
        LocalProvider(client).create(flex_props(azure, zip_file))
    assert azure.seen == []


def test_a_missing_package_is_reported(azure, client, zip_file):
    props = flex_props(azure, zip_file, package_path="/nonexistent/app.zip")
    with pytest.raises(DeployError, match="cannot read the deployment package /nonexistent"):
        LocalProvider(client).create(props)


def test_default_retry_budget_covers_role_assignment_propagation():
    """Role assignments can take up to about ten minutes to apply; a call that keeps failing
    transiently is retried for about that long, with waits capped at a minute."""
    policy = RetryPolicy()
    waits = [policy.delay(attempt) for attempt in range(1, policy.attempts)]
    assert 9 * 60 <= sum(waits) <= 12 * 60
    assert max(waits) == policy.max_delay == 60
    assert waits == sorted(waits)
