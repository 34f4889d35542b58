"""The starter's check-status URLs for instance ids with spaces, ``%`` and non-ASCII characters:
valid URIs (RFC 3986) that lead back to the same instance, as the Durable extension's do.

The URLs are followed with ``urllib``, which sends a URL as it is (``requests`` would quietly
re-encode an invalid one and hide the defect).
"""

from __future__ import annotations

import json
import re
import urllib.request
from urllib.parse import quote, urlsplit

import pytest

from api.instance_urls import path_segment

TRIP = {"traveler": "Ada", "conference": "PyCon DE", "origin": "Paris", "destination": "Berlin",
        "departure_date": "2026-04-20", "return_date": "2026-04-23",
        "approval": {"required": True, "timeout_s": 600}}
# An RFC 3986 URI reference: only these characters, and "%" only as an escape of two hex digits.
URI = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")
IDS = ["trip with spaces", "50%41 off", "100%", "café-Zürich-東京", "a+b", "%zz"]


def assert_uri(url: str) -> None:
    assert URI.fullmatch(url), f"not a valid URI: {url!r}"
    assert urlsplit(url).scheme == "http"


def fetch(method: str, url: str, body: bytes | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            return response.status, json.loads(text) if text.strip() else {}
    except urllib.error.HTTPError as error:
        return error.code, {}


def test_path_segment_escapes_everything_but_unreserved_characters():
    assert path_segment("a b%c+d/é") == "a%20b%25c%2Bd%2F%C3%A9"
    assert path_segment("trip-1_a.b~c") == "trip-1_a.b~c"


@pytest.mark.parametrize("instance_id", IDS)
def test_the_check_status_urls_are_valid_uris_that_lead_back_to_the_instance(host, instance_id):
    with host.clock_held():
        response = host.request("POST", "/api/orchestrators/book_trip/" +
                                quote(instance_id, safe=""), json=TRIP)
        assert response.status_code == 202, response.text
        payload = response.json()
        assert payload["id"] == instance_id
        assert response.headers["Location"] == payload["statusQueryGetUri"]
        for key, template in payload.items():
            if key != "id":
                assert_uri(template.replace("{eventName}", "approval").replace("{text}", "x"))

        host.wait_until(instance_id, lambda s: s["customStatus"] == "awaiting approval")
        status, body = fetch("GET", payload["statusQueryGetUri"])
        assert status == 202 and body["instanceId"] == instance_id
        status, _ = fetch("POST", payload["sendEventPostUri"].replace("{eventName}", "approval"),
                          json.dumps({"approved": False}).encode())
        assert status == 202
        final = host.wait(instance_id)
        assert final["instanceId"] == instance_id and final["runtimeStatus"] == "Completed"
        assert final["output"]["outcome"] == "rejected", final["output"]


def test_the_terminate_url_of_an_escaped_id_terminates_that_instance(host):
    instance_id = "stop me 100%"
    with host.clock_held():
        payload = host.request("POST", "/api/orchestrators/book_trip/" +
                               quote(instance_id, safe=""), json=TRIP).json()
        host.wait_until(instance_id, lambda s: s["customStatus"] == "awaiting approval")
        status, _ = fetch("POST", payload["terminatePostUri"].replace("{text}", "test%20done"))
        assert status == 202
        assert host.wait(instance_id)["runtimeStatus"] == "Terminated"


def test_a_second_start_of_an_escaped_id_still_answers_409(host):
    """The starter's status check must ask about this id, not the id its escapes decode to."""
    instance_id = "dup 50%41"
    path = "/api/orchestrators/book_trip/" + quote(instance_id, safe="")
    with host.clock_held():
        assert host.request("POST", path, json=TRIP).status_code == 202
        host.wait_until(instance_id, lambda s: s["customStatus"] == "awaiting approval")
        again = host.request("POST", path, json=TRIP)
        assert again.status_code == 409, again.text
        host.terminate(instance_id, "test done")
