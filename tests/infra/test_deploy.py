"""The deployment client's Linux Consumption calls, the host check after a deploy, and the
dynamic provider (infra/deployclient.py, infra/deploy.py) against a scripted local HTTP server
bound to 127.0.0.1: requests, retries, and the errors users see."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_azure import (
    APP_ID,
    HOST_STARTING,
    PACKAGE,
    POLICY,
    Reply,
    deploy_result,
    done,
    host_is_live,
    not_found,
)

from infra import deploy, deployclient
from infra.deployclient import DeployClient, DeployError, RetryPolicy

# ---- Linux Consumption ---------------------------------------------------------------------


def test_upload_puts_a_block_blob_with_a_storage_token(azure, client):
    azure.reply("PUT", "/deployments/app-1.zip", Reply(201))
    client.upload_blob(f"{azure.url}/deployments/app-1.zip", PACKAGE)
    (put,) = azure.calls("PUT", "/deployments/app-1.zip")
    assert put.headers["Authorization"] == "Bearer token:https://storage.azure.com/.default"
    assert put.headers["x-ms-blob-type"] == "BlockBlob"
    assert put.headers["x-ms-version"] == deployclient.STORAGE_API_VERSION
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
    assert second.query == f"api-version={deployclient.WEB_API_VERSION}"
    assert second.headers["Authorization"] == "Bearer token:https://management.azure.com/.default"
    assert second.body == b""


def test_sas_signatures_never_appear_in_errors(azure, client):
    azure.reply("PUT", "/deployments/app.zip", Reply(400, "bad"))
    with pytest.raises(DeployError) as error:
        client.upload_blob(f"{azure.url}/deployments/app.zip?sv=1&sig=SECRET", PACKAGE)
    assert "SECRET" not in str(error.value)


def test_sync_retries_while_the_host_runtime_is_unavailable(azure, client, fake_time):
    """Azure/azure-functions-core-tools#3008: ARM answers 400 "(ServiceUnavailable) from host
    runtime" while a new host starts or its roles propagate; that is worth waiting for."""
    path = f"{APP_ID}/syncfunctiontriggers"
    azure.reply("POST", path, Reply(400, HOST_STARTING), Reply(400, HOST_STARTING), Reply(200))
    client.sync_triggers(azure.url, APP_ID)
    assert len(azure.calls("POST", path)) == 3
    assert fake_time.sleeps == [POLICY.delay(1), POLICY.delay(2)]


def test_sync_gives_up_on_host_runtime_errors_after_the_budget(azure, client):
    path = f"{APP_ID}/syncfunctiontriggers"
    azure.reply("POST", path, Reply(400, HOST_STARTING))
    with pytest.raises(DeployError, match=r"after 4 attempts.*ServiceUnavailable"):
        client.sync_triggers(azure.url, APP_ID)


def test_other_bad_requests_are_not_retried(azure, client):
    path = f"{APP_ID}/syncfunctiontriggers"
    azure.reply("POST", path, Reply(400, '{"Message": "Encountered an error (BadRequest)"}'))
    with pytest.raises(DeployError, match="HTTP 400"):
        client.sync_triggers(azure.url, APP_ID)
    assert len(azure.calls("POST", path)) == 1


# ---- the host check after a deploy ---------------------------------------------------------

STATUS = f"{APP_ID}/hostruntime/admin/host/status"
FUNCTIONS = f"{APP_ID}/functions"


def test_host_check_waits_for_the_host_then_returns_its_functions(azure, client, fake_time):
    azure.reply(
        "GET",
        STATUS,
        Reply(400, HOST_STARTING),
        Reply(200, {"state": "Initialized"}),
        Reply(200, {"state": "Running", "version": "4.1"}),
    )
    azure.reply(
        "GET",
        FUNCTIONS,
        Reply(200, {"value": []}),  # triggers not synced yet
        Reply(200, {"value": [{"name": "func-x/hello"}, {"name": "func-x/book_trip"}]}),
    )
    assert client.verify_host(azure.url, APP_ID, ["hello"]) == ["book_trip", "hello"]
    (first,) = azure.calls("GET", STATUS)[:1]
    assert first.query == "api-version=2022-03-01"
    assert first.headers["Authorization"] == "Bearer token:https://management.azure.com/.default"


def test_host_in_error_fails_with_the_hosts_own_message(azure, client):
    error = "Microsoft.Azure.WebJobs.Host: Storage account connection string is invalid."
    azure.reply("GET", STATUS, Reply(200, {"state": "Error", "errors": [error]}))
    with pytest.raises(DeployError) as raised:
        client.verify_host(azure.url, APP_ID)
    assert "failed to start" in str(raised.value)
    assert error in str(raised.value)


def test_host_that_lists_no_functions_fails_naming_the_likely_cause(azure, client, fake_time):
    azure.reply("GET", STATUS, Reply(200, {"state": "Running", "errors": None}))
    azure.reply("GET", FUNCTIONS, Reply(200, {"value": []}))
    with pytest.raises(DeployError, match="runs but lists no functions.*import error"):
        client.verify_host(azure.url, APP_ID)
    assert fake_time.now >= POLICY.poll_timeout


def test_host_missing_an_expected_function_is_reported(azure, client):
    azure.reply("GET", STATUS, Reply(200, {"state": "Running"}))
    azure.reply("GET", FUNCTIONS, Reply(200, {"value": [{"name": "func-x/hello"}]}))
    with pytest.raises(DeployError, match="lists hello but not book_trip"):
        client.verify_host(azure.url, APP_ID, ["hello", "book_trip"])


def test_host_that_never_starts_reports_its_last_answer(azure, client):
    azure.reply("GET", STATUS, Reply(200, {"state": "Offline", "errors": ["host is offline"]}))
    with pytest.raises(DeployError, match=r"not running \(state Offline\): host is offline"):
        client.verify_host(azure.url, APP_ID)


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
        "arm_url": azure.url,
        "app_id": APP_ID,
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
    azure.reply("GET", "/api/deployments/dep-9", done(deployment_id="dep-9"))
    host_is_live(azure)
    result = LocalProvider(client).create(flex_props(azure, zip_file))
    assert result.outs["deployed_sha256"] == zip_file[1]
    assert result.outs["deployment_id"] == "dep-9"
    assert result.outs["functions"] == ["hello"]
    (post,) = azure.calls("POST", "/api/publish")
    assert post.body == PACKAGE
    # The SCM site gets an App Service token, Resource Manager its own audience.
    assert post.headers["Authorization"] == "Bearer token:https://appservice.azure.com/.default"
    (status,) = azure.calls("GET", f"{APP_ID}/hostruntime/admin/host/status")
    assert status.headers["Authorization"] == "Bearer token:https://management.azure.com/.default"


def test_a_deploy_whose_host_does_not_come_up_fails_the_step(azure, client, zip_file):
    """Proof the code is live: a deployment the platform calls a success, but whose host
    lists no functions, fails `pulumi up` instead of reporting success."""
    azure.reply("POST", "/api/publish", Reply(200, '"dep-1"'))
    azure.reply("GET", "/api/deployments/dep-1", done())
    azure.reply("GET", STATUS, Reply(200, {"state": "Running"}))
    azure.reply("GET", FUNCTIONS, Reply(200, {"value": []}))
    with pytest.raises(DeployError, match="lists no functions"):
        LocalProvider(client).create(flex_props(azure, zip_file))


def test_an_older_deployment_never_records_the_new_package_as_deployed(azure, client, zip_file):
    """The new deployment stays unknown (404) while `latest` is an older success and the old
    code's host is live with the same functions: the step fails, so `deployed_sha256` does not
    claim the new package."""
    azure.reply("POST", "/api/publish", Reply(202, '"dep-new"'))
    azure.reply("GET", "/api/deployments/dep-new", not_found("dep-new"))
    azure.reply("GET", "/api/deployments/latest", Reply(200, deploy_result("dep-old", 4)))
    host_is_live(azure)
    with pytest.raises(DeployError, match="the latest deployment is dep-old"):
        LocalProvider(client).create(flex_props(azure, zip_file))


def test_sync_step_syncs_then_checks_the_host(azure, client, zip_file):
    azure.reply("POST", f"{APP_ID}/syncfunctiontriggers", Reply(200))
    host_is_live(azure, functions=("hello", "book_trip"))
    props = {
        "operation": deploy.SYNC_TRIGGERS,
        "arm_url": azure.url,
        "app_id": APP_ID,
        "package_path": zip_file[0],
        "package_sha256": zip_file[1],
        "expected_functions": ["book_trip"],
    }
    outs = LocalProvider(client).create(props).outs
    assert outs["functions"] == ["book_trip", "hello"]
    assert [s.path for s in azure.seen] == [f"{APP_ID}/syncfunctiontriggers", STATUS, FUNCTIONS]


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
