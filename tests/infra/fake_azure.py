"""A scripted stand-in for Azure's SCM (Kudu) and Resource Manager endpoints, bound to
127.0.0.1, plus a fake clock: the deployment client's tests replay the platform's answers."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from infra.deployclient import RetryPolicy

PACKAGE = b"PK\x03\x04 not really a zip, but bytes to ship"
APP_ID = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Web/sites/func-x"
POLICY = RetryPolicy(
    attempts=4, first_delay=1, max_delay=3, request_timeout=5, poll_interval=2, poll_timeout=10
)
HOST_STARTING = (
    '{"Code":"BadRequest","Message":"Encountered an error (ServiceUnavailable) from host '
    'runtime.","Target":null,"Details":[{"Message":"Encountered an error (ServiceUnavailable) '
    'from host runtime."}]}'
)



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


def done(status: int = 4, deployment_id: str = "dep-1") -> Reply:
    return Reply(200, {"id": deployment_id, "complete": True, "status": status})


def deploy_result(
    deployment_id: str,
    status: int,
    *,
    received: str = "2026-12-06T17:00:00.0000000Z",
    end: str | None = "2026-12-06T17:00:40.0000000Z",
    site: str = "func-x",
) -> dict[str, Any]:
    """A deployment as the SCM site's ``/api/deployments/<id>`` answers it: the field names of
    Kudu's ``DeployResult`` (projectkudu/kudu, Kudu.Contracts/Deployment/DeployResult.cs; the
    same fields azd reads in Azure/azure-dev cli/azd/pkg/azsdk/funcapp_host_client.go
    ``PublishResponse``)."""
    complete = status in (3, 4, 5, 6)
    return {
        "id": deployment_id,
        "status": status,
        "status_text": "",
        "author_email": "N/A",
        "author": "N/A",
        "deployer": "pulumi",
        "message": "OneDeploy",
        "progress": "",
        "received_time": received,
        "start_time": received,
        "end_time": end if complete else None,
        "last_success_end_time": end if status == 4 else None,
        "complete": complete,
        "active": status == 4,
        "is_temp": False,
        "is_readonly": True,
        "url": f"https://func-x.scm.azurewebsites.net/api/deployments/{deployment_id}",
        "log_url": f"https://func-x.scm.azurewebsites.net/api/deployments/{deployment_id}/log",
        "site_name": site,
    }


def log_entries(*messages: str) -> list[dict[str, Any]]:
    """A deployment log as ``/api/deployments/<id>/log`` answers it: Kudu's ``LogEntry`` fields
    (projectkudu/kudu, Kudu.Contracts/Deployment/LogEntry.cs)."""
    return [
        {
            "log_time": f"2026-12-06T17:00:{index:02d}.0000000Z",
            "id": f"log-{index}",
            "message": message,
            "type": 0,
            "details_url": None,
        }
        for index, message in enumerate(messages)
    ]


def not_found(deployment_id: str) -> Reply:
    """Kudu's 404 for an unknown deployment id: ASP.NET Web API's error body with
    ``Error_DeploymentNotFound`` (projectkudu/kudu, Kudu.Services/Resources.resx)."""
    return Reply(404, {"Message": f"Deployment '{deployment_id}' not found."})


STORAGE_403_LOG = (
    # The Flex deployment log when the app's identity cannot write the deployment container,
    # verbatim from Azure/azure-functions-core-tools#4346 (account name elided there too).
    "Created blob uri: https://xxx.blob.core.windows.net/app-package-xxx/released-package.zip",
    "Token Endpoint: http://169.254.255.2:8081/msi/token?api-version=1.0"
    "&resource=https://xxx.blob.core.windows.net",
    "Received Token using system assigned identity",
    "Failed to upload because Azure Storage responded with Forbidden : Response status code "
    "does not indicate success: 403 (This request is not authorized to perform this "
    "operation.)..",
    "Failed to upload blob package to storage account with Error: Response status code does "
    "not indicate success: 403 (This request is not authorized to perform this operation.).",
)


def host_is_live(azure: FakeAzure, app_id: str = APP_ID, functions=("hello",)) -> None:
    """Script Resource Manager's answers for a running host that lists ``functions``."""
    azure.reply("GET", f"{app_id}/hostruntime/admin/host/status", Reply(200, {"state": "Running"}))
    azure.reply(
        "GET",
        f"{app_id}/functions",
        Reply(200, {"value": [{"name": f"func-x/{name}"} for name in functions]}),
    )
