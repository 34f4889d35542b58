"""Flex one deploy (infra/onedeploy.py) against a scripted SCM site on 127.0.0.1: each of the
platform's documented answers ends the way Core Tools would end it."""

from __future__ import annotations

import pytest
import requests
from fake_azure import (
    PACKAGE,
    POLICY,
    STORAGE_403_LOG,
    Reply,
    deploy_result,
    done,
    log_entries,
    not_found,
)

from infra.deployclient import DeployClient, DeployError
from infra.onedeploy import DeployStatus, publish_flex, scm_scopes, scm_url_for

# ---- Flex one deploy -----------------------------------------------------------------------


def test_flex_publish_posts_the_zip_and_polls_until_success(azure, client, fake_time):
    azure.reply("POST", "/api/publish", Reply(202, '"dep-1"'))
    azure.reply(
        "GET", "/api/deployments/dep-1", Reply(200, {"complete": False, "status": 1}), done()
    )
    assert publish_flex(client, azure.url + "/", PACKAGE) == "dep-1"

    (post,) = azure.calls("POST", "/api/publish")
    assert post.query == "RemoteBuild=false&Deployer=pulumi"
    assert post.headers["Authorization"] == "Bearer token:https://appservice.azure.com/.default"
    assert post.headers["Content-Type"] == "application/zip"
    assert post.body == PACKAGE
    polls = azure.calls("GET", "/api/deployments/dep-1")
    assert len(polls) == 2
    assert polls[0].headers["Authorization"] == "Bearer token:https://appservice.azure.com/.default"
    assert fake_time.sleeps == [POLICY.poll_interval]


@pytest.mark.parametrize("answer", ['{"id": "dep-1"}', "dep-1", '"dep-1"'])
def test_flex_publish_understands_each_form_of_deployment_id(azure, client, answer):
    azure.reply("POST", "/api/publish", Reply(200, answer))
    azure.reply("GET", "/api/deployments/dep-1", done())
    assert publish_flex(client, azure.url, PACKAGE) == "dep-1"


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
    assert publish_flex(client, azure.url, PACKAGE) == "dep-1"
    assert len(azure.calls("POST", "/api/publish")) == 4
    assert fake_time.sleeps == [1, 2, 2]  # exponential, then Retry-After


def test_flex_publishes_again_on_the_platforms_own_storage_403_log(azure, client, fake_time):
    """The Flex deployment log's real words when the app's identity cannot write the deployment
    container yet (Azure/azure-functions-core-tools#4346) name no error code: the republish must
    fire on them, not only on a made-up line carrying AuthorizationPermissionMismatch."""
    azure.reply("POST", "/api/publish", Reply(202, '"dep-1"'), Reply(202, '"dep-2"'))
    azure.reply("GET", "/api/deployments/dep-1", Reply(200, deploy_result("dep-1", 3)))
    azure.reply("GET", "/api/deployments/dep-1/log", Reply(200, log_entries(*STORAGE_403_LOG)))
    azure.reply("GET", "/api/deployments/dep-2", Reply(200, deploy_result("dep-2", 4)))
    assert publish_flex(client, azure.url, PACKAGE) == "dep-2"
    assert len(azure.calls("POST", "/api/publish")) == 2
    assert fake_time.sleeps == [POLICY.delay(1)]


def test_flex_deployment_failure_reports_the_log(azure, client):
    azure.reply("POST", "/api/publish", Reply(200, '"dep-1"'))
    azure.reply("GET", "/api/deployments/dep-1", done(status=3))
    azure.reply(
        "GET",
        "/api/deployments/dep-1/log",
        Reply(200, [{"message": "Extracting"}, {"message": "ModuleNotFoundError: azure"}]),
    )
    with pytest.raises(DeployError) as error:
        publish_flex(client, azure.url, PACKAGE)
    assert "dep-1 failed (status 3 FAILED)" in str(error.value)
    assert "ModuleNotFoundError: azure" in str(error.value)
    assert len(azure.calls("POST", "/api/publish")) == 1  # not transient: no second publish


def test_flex_deployment_that_never_completes_times_out(azure, client, fake_time):
    azure.reply("POST", "/api/publish", Reply(200, '"dep-1"'))
    azure.reply("GET", "/api/deployments/dep-1", Reply(200, {"complete": False, "status": 2}))
    with pytest.raises(DeployError, match=r"dep-1 did not finish within 10 s; see .*/log"):
        publish_flex(client, azure.url, PACKAGE)
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
        publish_flex(client, azure.url, PACKAGE)
    message = str(error.value)
    assert expected in message
    assert f"POST {azure.url}/api/publish?RemoteBuild=false&Deployer=pulumi -> {status}" in message
    assert "Response: nope" in message
    # A 401 is asked once more with the fallback audience (see the audience tests below).
    assert len(azure.calls("POST", "/api/publish")) == (2 if status == 401 else 1)


@pytest.mark.parametrize(
    "status, ends",
    [
        (DeployStatus.SUCCESS, "returns"),
        (DeployStatus.PARTIAL_SUCCESS, "returns"),  # the host check that follows decides
        (DeployStatus.FAILED, "raises"),
    ],
)
def test_every_terminal_status_stops_polling_even_without_complete(azure, client, status, ends):
    """Some answers carry a terminal status but no `complete` flag: the status decides."""
    azure.reply("POST", "/api/publish", Reply(200, '"dep-1"'))
    azure.reply(
        "GET",
        "/api/deployments/dep-1",
        Reply(200, {"status": 2}),
        Reply(200, {"id": "dep-1", "status": int(status)}),
    )
    azure.reply("GET", "/api/deployments/dep-1/log", Reply(200, [{"message": "step"}]))
    if ends == "returns":
        assert publish_flex(client, azure.url, PACKAGE) == "dep-1"
    else:
        with pytest.raises(DeployError, match="status 3 FAILED"):
            publish_flex(client, azure.url, PACKAGE)
    assert len(azure.calls("GET", "/api/deployments/dep-1")) == 2
    assert len(azure.calls("POST", "/api/publish")) == 1


def test_conflict_waits_and_publishes_again(azure, client, fake_time):
    azure.reply("POST", "/api/publish", Reply(200, '"dep-1"'), Reply(200, '"dep-2"'))
    azure.reply("GET", "/api/deployments/dep-1", done(status=5))
    azure.reply("GET", "/api/deployments/dep-2", done(deployment_id="dep-2"))
    assert publish_flex(client, azure.url, PACKAGE) == "dep-2"
    assert len(azure.calls("POST", "/api/publish")) == 2
    assert fake_time.sleeps == [POLICY.delay(1)]


def test_unknown_status_values_keep_polling_until_the_deadline(azure, client, fake_time):
    azure.reply("POST", "/api/publish", Reply(200, '"dep-1"'))
    azure.reply("GET", "/api/deployments/dep-1", Reply(200, {"status": "weird"}))
    with pytest.raises(DeployError, match="did not finish within 10 s"):
        publish_flex(client, azure.url, PACKAGE)


# ---- which deployment is ours ---------------------------------------------------------------
# Kudu answers `latest` with the pending deployment, else the one that ended last
# (projectkudu/kudu DeploymentController.IsLatestPendingDeployment), and an unknown id with
# 404 {"Message": "Deployment '<id>' not found."}. A new deployment can answer 404 for a
# moment after the upload (Azure/azure-dev#4439).

OLD = deploy_result("dep-old", 4, received="2026-12-05T09:00:00Z", end="2026-12-05T09:01:00Z")


def test_an_older_successful_deployment_is_not_taken_for_ours(azure, client, fake_time):
    """Our id stays unknown; `latest` is yesterday's successful deployment. Taking it would
    report success while the old code stays live."""
    azure.reply("POST", "/api/publish", Reply(202, '"dep-new"'))
    azure.reply("GET", "/api/deployments/dep-new", not_found("dep-new"))
    azure.reply("GET", "/api/deployments/latest", Reply(200, OLD))
    with pytest.raises(DeployError) as error:
        publish_flex(client, azure.url, PACKAGE)
    message = str(error.value)
    assert "dep-new is unknown to the SCM site (404 on 3 polls)" in message
    assert "the latest deployment is dep-old (status 4 SUCCESS" in message
    assert "the new package is not live" in message
    assert len(azure.calls("GET", "/api/deployments/dep-new")) == 3
    assert len(azure.calls("POST", "/api/publish")) == 1


def test_a_deployment_that_answers_404_a_moment_then_shows_as_latest_is_followed(
    azure, client, fake_time
):
    """Our id answers 404 (the deployment is not "alive" yet, or its worker recycled); `latest`
    is ours, still deploying, then done."""
    azure.reply("POST", "/api/publish", Reply(202, '"dep-new"'))
    azure.reply("GET", "/api/deployments/dep-new", not_found("dep-new"))
    azure.reply(
        "GET",
        "/api/deployments/latest",
        Reply(200, OLD),  # before the upload
        Reply(200, deploy_result("dep-new", 2)),
        Reply(200, deploy_result("dep-new", 4)),
    )
    assert publish_flex(client, azure.url, PACKAGE) == "dep-new"


def test_a_failed_latest_that_is_ours_reports_its_log(azure, client, fake_time):
    azure.reply("POST", "/api/publish", Reply(202, '"dep-new"'))
    azure.reply("GET", "/api/deployments/dep-new", not_found("dep-new"))
    azure.reply("GET", "/api/deployments/latest", Reply(200, deploy_result("dep-new", 3)))
    azure.reply(
        "GET",
        "/api/deployments/dep-new/log",
        Reply(200, log_entries("Starting deployment pipeline.", "ModuleNotFoundError: azure")),
    )
    with pytest.raises(DeployError, match="(?s)dep-new failed .status 3 FAILED.*ModuleNotFound"):
        publish_flex(client, azure.url, PACKAGE)


def test_empty_publish_answer_waits_for_a_deployment_newer_than_the_one_before_the_upload(
    azure, client, fake_time
):
    """No id in the answer: `latest` still names the old deployment for a moment; only a
    deployment with another id, received later, is ours."""
    azure.reply("POST", "/api/publish", Reply(202, ""))
    azure.reply(
        "GET",
        "/api/deployments/latest",
        Reply(200, OLD),  # before the upload
        Reply(200, OLD),  # after it, not registered yet
        Reply(200, deploy_result("dep-new", 1, received="2026-12-06T17:00:00Z")),
    )
    azure.reply("GET", "/api/deployments/dep-new", Reply(200, deploy_result("dep-new", 4)))
    assert publish_flex(client, azure.url, PACKAGE) == "dep-new"
    assert len(azure.calls("GET", "/api/deployments/dep-new")) == 1


def test_empty_publish_answer_takes_the_id_from_kudus_deployment_id_header(azure, client):
    """Kudu names the deployment in an `SCM-DEPLOYMENT-ID` header (projectkudu/kudu
    PushDeploymentController; VS Code's deploy reads it too)."""
    azure.reply("POST", "/api/publish", Reply(202, "", {"SCM-DEPLOYMENT-ID": "dep-new"}))
    azure.reply("GET", "/api/deployments/latest", Reply(200, OLD))
    azure.reply("GET", "/api/deployments/dep-new", Reply(200, deploy_result("dep-new", 4)))
    assert publish_flex(client, azure.url, PACKAGE) == "dep-new"


def test_empty_publish_answer_on_a_site_without_deployments_takes_the_first_one(azure, client):
    azure.reply("POST", "/api/publish", Reply(202, ""))
    azure.reply(
        "GET",
        "/api/deployments/latest",
        not_found("latest"),  # before the upload: none yet
        Reply(200, deploy_result("dep-new", 4)),
    )
    azure.reply("GET", "/api/deployments/dep-new", Reply(200, deploy_result("dep-new", 4)))
    assert publish_flex(client, azure.url, PACKAGE) == "dep-new"


def test_empty_publish_answer_with_no_new_deployment_fails_at_the_deadline(
    azure, client, fake_time
):
    azure.reply("POST", "/api/publish", Reply(202, ""))
    azure.reply("GET", "/api/deployments/latest", Reply(200, OLD))
    with pytest.raises(DeployError, match="no new deployment appeared within 10 s .latest: "
                       "still dep-old"):
        publish_flex(client, azure.url, PACKAGE)


def test_empty_publish_answer_when_latest_was_unreadable_before_is_not_guessed(
    azure, client, fake_time
):
    azure.reply("GET", "/api/deployments/latest", Reply(403, "Forbidden"), Reply(200, OLD))
    azure.reply("POST", "/api/publish", Reply(202, ""))
    with pytest.raises(DeployError, match="nothing tells which deployment is this one"):
        publish_flex(client, azure.url, PACKAGE)


def test_404_for_the_deployment_and_for_latest_names_the_likely_cause(azure, client, fake_time):
    azure.reply("POST", "/api/publish", Reply(202, '"dep-1"'))
    azure.reply("GET", "/api/deployments/dep-1", not_found("dep-1"))
    azure.reply("GET", "/api/deployments/latest", not_found("latest"))
    with pytest.raises(DeployError) as error:
        publish_flex(client, azure.url, PACKAGE)
    message = str(error.value)
    assert "unknown to the SCM site (404 on 3 polls), and so is the latest deployment" in message
    assert "Storage Blob Data role" in message
    assert fake_time.now < POLICY.poll_timeout


def test_403_upload_failures_republish_until_the_budget_then_report(azure, client, fake_time):
    """The app's identity cannot write the deployment container for the whole budget: the
    platform's own log (Azure/azure-functions-core-tools#4346) ends the deployment."""
    azure.reply("POST", "/api/publish", Reply(202, '"dep-1"'))
    azure.reply("GET", "/api/deployments/dep-1", Reply(200, deploy_result("dep-1", 3)))
    azure.reply("GET", "/api/deployments/dep-1/log", Reply(200, log_entries(*STORAGE_403_LOG)))
    with pytest.raises(DeployError) as error:
        publish_flex(client, azure.url, PACKAGE)
    assert f"after {POLICY.attempts} publishes" in str(error.value)
    assert "Azure Storage responded with Forbidden" in str(error.value)
    assert len(azure.calls("POST", "/api/publish")) == POLICY.attempts


def test_scm_url_prefers_the_enabled_scm_host_name():
    assert (
        scm_url_for("a.azurewebsites.net", ["a.azurewebsites.net", "a.scm.azurewebsites.net"])
        == "https://a.scm.azurewebsites.net"
    )
    assert (
        scm_url_for("a-b1c2.westeurope-01.azurewebsites.net", None)
        == "https://a-b1c2.scm.westeurope-01.azurewebsites.net"
    )


# ---- the token audience for the SCM site -----------------------------------------------------
# The VS Code Azure tools sign Kudu calls with the App Service audience ("ARM tokens are
# deprecated for App Service (Kudu) endpoint calls and will break", microsoft/vscode-azuretools
# #2258, appservice/src/utils/appServiceEnvironment.ts); Azure Pipelines does too behind a flag
# (microsoft/azure-pipelines-tasks-common-packages#642). az, Core Tools and azd send the cloud's
# management.core resource; the management.azure.com audience failed on Kudu in sovereign clouds
# (microsoft/vscode-azuretools#1670).

APP_SERVICE = "https://appservice.azure.com/.default"
MANAGEMENT = "https://management.core.windows.net//.default"
CONSENT_REQUIRED = (
    # What `az account get-access-token` answers for a resource the Azure CLI app has no consent
    # for, verbatim from Azure/azure-cli#15056 (trace ids dropped).
    "AADSTS65001: The user or administrator has not consented to use the application with ID "
    "'04b07795-8ddb-461a-bbee-02f9e1bf7b46' named 'Microsoft Azure CLI'. Send an interactive "
    "authorization request for this user and resource."
)


def bearer(seen) -> str:
    return seen.headers["Authorization"].removeprefix("Bearer token:")


def test_every_scm_call_uses_the_app_service_audience(azure, client):
    azure.reply("POST", "/api/publish", Reply(202, '"dep-1"'))
    azure.reply("GET", "/api/deployments/dep-1", Reply(200, deploy_result("dep-1", 3)))
    azure.reply("GET", "/api/deployments/dep-1/log", Reply(200, log_entries("failed")))
    with pytest.raises(DeployError):
        publish_flex(client, azure.url, PACKAGE)
    scm_calls = [s for s in azure.seen if s.path.startswith("/api/")]
    assert {bearer(s) for s in scm_calls} == {APP_SERVICE}
    assert {s.path for s in scm_calls} >= {
        "/api/deployments/latest", "/api/publish", "/api/deployments/dep-1",
        "/api/deployments/dep-1/log",
    }


def test_no_consent_for_the_app_service_audience_falls_back_to_management(azure, fake_time):
    from azure.core.exceptions import ClientAuthenticationError

    asked: list[str] = []

    def tokens(scope: str) -> str:
        asked.append(scope)
        if scope == APP_SERVICE:
            raise ClientAuthenticationError(CONSENT_REQUIRED)
        return f"token:{scope}"

    session = requests.Session()
    session.trust_env = False  # loopback only
    client = DeployClient(
        tokens, retry=POLICY, session=session, sleep=fake_time.sleep, clock=fake_time.clock
    )
    azure.reply("POST", "/api/publish", Reply(202, '"dep-1"'))
    azure.reply("GET", "/api/deployments/dep-1", Reply(200, deploy_result("dep-1", 4)))
    assert publish_flex(client, azure.url, PACKAGE) == "dep-1"
    assert {bearer(s) for s in azure.seen} == {MANAGEMENT}
    assert asked.count(APP_SERVICE) == 1  # refused once, not asked again for every poll


def test_no_token_for_either_audience_names_both(azure, fake_time):
    from azure.core.exceptions import ClientAuthenticationError

    def tokens(scope: str) -> str:
        raise ClientAuthenticationError(CONSENT_REQUIRED)

    client = DeployClient(tokens, retry=POLICY, sleep=fake_time.sleep, clock=fake_time.clock)
    with pytest.raises(DeployError) as error:
        publish_flex(client, azure.url, PACKAGE)
    assert f"could not get an Azure token for {MANAGEMENT} (nor for {APP_SERVICE})" in str(
        error.value
    )
    assert "AADSTS65001" in str(error.value)
    assert not azure.calls("POST", "/api/publish")


def test_a_401_to_the_app_service_audience_is_asked_again_with_management(azure, client):
    azure.reply("POST", "/api/publish", Reply(401, ""), Reply(202, '"dep-1"'))
    azure.reply("GET", "/api/deployments/dep-1", Reply(200, deploy_result("dep-1", 4)))
    assert publish_flex(client, azure.url, PACKAGE) == "dep-1"
    posts = azure.calls("POST", "/api/publish")
    assert [bearer(p) for p in posts] == [APP_SERVICE, MANAGEMENT]
    assert {bearer(s) for s in azure.calls("GET", "/api/deployments/dep-1")} == {MANAGEMENT}


def test_a_401_to_both_audiences_is_reported_naming_them(azure, client):
    azure.reply("POST", "/api/publish", Reply(401, ""))
    with pytest.raises(DeployError) as error:
        publish_flex(client, azure.url, PACKAGE)
    assert f"tried the audiences {APP_SERVICE} and {MANAGEMENT}" in str(error.value)


@pytest.mark.parametrize(
    "scm_url, scopes",
    [
        ("https://func-x.scm.azurewebsites.net", (APP_SERVICE, MANAGEMENT)),
        ("https://func-x.scm.westeurope-01.azurewebsites.net", (APP_SERVICE, MANAGEMENT)),
        (
            "https://func-x.scm.azurewebsites.us",
            ("https://appservice.azure.us/.default",
             "https://management.core.usgovcloudapi.net//.default"),
        ),
        (
            "https://func-x.scm.chinacloudsites.cn",
            ("https://appservice.azure.cn/.default",
             "https://management.core.chinacloudapi.cn//.default"),
        ),
    ],
)
def test_scm_audiences_follow_the_sites_cloud(scm_url, scopes):
    assert scm_scopes(scm_url) == scopes
