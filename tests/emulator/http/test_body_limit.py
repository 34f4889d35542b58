"""Request bodies up to the Functions host's limit: the ``FUNCTIONS_REQUEST_BODY_SIZE_LIMIT`` app
setting in bytes, 104857600 (100 MB) by default (azure-functions-host
``HttpRequestSizeMiddleware``), 413 with a JSON message above it - for the app's HTTP functions
and every body of the durable HTTP API alike - while JSON keeps its depth limit. Tested at the
boundary with a small limit from the setting; the default is checked with a declared length,
never by sending 100 MB; the memory a large body costs is measured.
"""

from __future__ import annotations

import gc
import json
import socket
import tracemalloc
from urllib.parse import urlsplit

import pytest

from emulator.http.readers import DEFAULT_BODY_LIMIT, request_body_limit
from emulator.testing import LocalHost

from ..conftest import APPS

BODIES_APP = APPS / "bodies"

BASE = "/runtime/webhooks/durabletask"
LIMIT = 1000
ROUTES = {  # a route that reads a body -> what it answers for an accepted one
    "http function": ("/api/echo_body", 200),
    "start": (f"{BASE}/orchestrators/echo_input", 202),
    "entity signal": (f"{BASE}/entities/counter/k?op=add", 202),
}


@pytest.fixture()
def small():
    """The app on a host whose app settings set a 1000-byte limit. (Per test: in one process
    the settings of a running host are the environment, which the default host must not see.)"""
    with LocalHost(BODIES_APP, settings={"FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": str(LIMIT)}) \
            as running:
        yield running


@pytest.fixture()
def host():
    """The app on a host with the default limit."""
    with LocalHost(BODIES_APP) as running:
        yield running


def _json_of_size(size: int) -> bytes:
    body = b'"' + b"x" * (size - 2) + b'"'
    assert len(body) == size
    return body


def declared(host: LocalHost, path: str, length: int) -> tuple[int, dict]:
    """POST declaring ``Content-Length: length`` and sending no body: the answer must come from
    the headers alone (a host that waited for the body would time out here)."""
    where = urlsplit(host.base_url)
    with socket.create_connection((where.hostname, where.port), timeout=30) as conn:
        conn.sendall(f"POST {path} HTTP/1.1\r\nHost: {where.netloc}\r\nContent-Type: "
                     f"application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
                     .encode())
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body) if body.strip() else {}


def test_the_limit_follows_the_app_setting_and_defaults_to_the_hosts_100_mb():
    assert DEFAULT_BODY_LIMIT == 104_857_600
    assert request_body_limit({}) == DEFAULT_BODY_LIMIT
    assert request_body_limit({"FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": "2048"}) == 2048
    assert request_body_limit({"FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": "many"}) == DEFAULT_BODY_LIMIT


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_body_of_exactly_the_limit_is_taken_and_one_byte_more_answers_413(small, route):
    path, accepted = ROUTES[route]
    headers = {"Content-Type": "application/json"}
    response = small.request("POST", path, data=_json_of_size(LIMIT), headers=headers)
    assert response.status_code == accepted, response.text
    response = small.request("POST", path, data=_json_of_size(LIMIT + 1), headers=headers)
    assert response.status_code == 413, response.text
    assert "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT" in response.json()["Message"]


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_chunked_body_without_a_length_is_stopped_at_the_limit(small, route):
    path, _ = ROUTES[route]
    chunks = (b"x" * 100 for _ in range(11))  # 1100 bytes, no Content-Length
    response = small.request("POST", path, data=chunks,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text


def test_a_declared_length_over_the_limit_is_refused_before_reading(small):
    status, body = declared(small, f"{BASE}/orchestrators/echo_input", LIMIT + 1)
    assert status == 413 and "limit is 1000 bytes" in body["Message"]


def test_the_default_limit_is_the_hosts_100_mb(host):
    """Declared, not sent: one byte over the default answers 413 from the headers."""
    status, body = declared(host, f"{BASE}/orchestrators/echo_input", DEFAULT_BODY_LIMIT + 1)
    assert status == 413 and "104857600" in body["Message"]


def test_json_over_16_mib_is_taken_as_in_the_real_host_and_depth_is_still_limited(host):
    big = {"blob": "x" * (17 * 1024 * 1024)}
    response = host.request("POST", f"{BASE}/orchestrators/echo_input", json=big)
    assert response.status_code == 202, response.text
    status = host.wait(response.json()["id"])
    assert status["runtimeStatus"] == "Completed" and len(status["output"]["blob"]) == \
        len(big["blob"])
    deep = b"[" * 65 + b"]" * 65
    response = host.request("POST", f"{BASE}/orchestrators/echo_input", data=deep,
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "nested too deeply" in response.text


@pytest.fixture()
def in_process_host():
    with LocalHost(BODIES_APP, worker="in-process") as running:
        yield running


def test_a_large_body_is_not_copied_over_and_over(in_process_host):
    """Reading a body costs one transient extra copy (its chunks joined once) and nothing keeps
    it afterwards; JSON is decoded, parsed and re-encoded holding at most two forms at once.
    Measured for the whole process, the client's own copy of what it sends included (http.client
    joins headers and body): about 2 x the body for an HTTP function, 3 x for JSON (4 x before:
    aiohttp's reader kept its copy while the text and the parsed value were built). In process:
    a worker process adds the copy its pipe holds while the body crosses it."""
    host = in_process_host
    size = 8 * 1024 * 1024
    raw = b"x" * size
    as_json = b'{"blob": "' + raw + b'"}'
    peaks = []
    tracemalloc.start()
    try:
        response = host.request("POST", "/api/echo_body", data=raw)
        peaks.append(tracemalloc.get_traced_memory()[1] / size)
        gc.collect()
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        # An orchestrator that does not exist: the edge reads and parses the body, then the
        # engine refuses it - the engine's own copies of a stored input are not measured.
        refused = host.request("POST", f"{BASE}/orchestrators/no_such_orchestrator",
                               data=as_json, headers={"Content-Type": "application/json"})
        peaks.append((tracemalloc.get_traced_memory()[1] - baseline) / size)
    finally:
        tracemalloc.stop()
    assert response.status_code == 200 and response.json() == {"length": size}
    assert refused.status_code == 400 and "no_such_orchestrator" in refused.text
    assert peaks[0] < 2.5, f"HTTP function: peak {peaks[0]:.2f} x the body"
    assert peaks[1] < 3.5, f"JSON body: peak {peaks[1]:.2f} x the body"
