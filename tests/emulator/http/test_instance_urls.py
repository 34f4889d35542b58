"""The local host's own management URLs (the webhook start's check-status payload) for instance
ids with spaces, ``%`` and non-ASCII characters: valid URIs that lead back to the instance.

Followed with ``urllib``, which sends a URL as it is. (The app's starter builds its URLs through
the SDK; tests/app/test_instance_urls.py covers those.)
"""

from __future__ import annotations

import json
import re
import urllib.request
from urllib.parse import quote

import pytest

from emulator.http.payloads import WEBHOOK_PATH

URI = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")


def fetch(method: str, url: str, body: bytes | None = None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
        return (response.status, json.loads(text) if text.strip() else {},
                dict(response.headers))


@pytest.mark.parametrize("instance_id", ["with space", "50%41", "100%", "café-東京", "a+b"])
def test_the_webhook_start_answers_valid_uris_that_lead_back_to_the_instance(host, instance_id):
    response = host.request("POST", f"{WEBHOOK_PATH}/orchestrators/waiter/"
                            f"{quote(instance_id, safe='')}", json=None)
    assert response.status_code == 202, response.text
    payload = response.json()
    assert payload["id"] == instance_id
    for key, url in payload.items():
        if key != "id":
            url = url.replace("{eventName}", "go").replace("{text}", "x")
            assert URI.fullmatch(url), f"{key} is not a valid URI: {url!r}"
    host.wait_until(instance_id, lambda s: s["runtimeStatus"] == "Running")
    status, body, headers = fetch("GET", payload["statusQueryGetUri"])
    assert status == 202 and body["instanceId"] == instance_id
    assert URI.fullmatch(headers["Location"]), headers["Location"]
    status, _, _ = fetch("POST", payload["sendEventPostUri"].replace("{eventName}", "go"), b"1")
    assert status == 202
    assert host.wait(instance_id)["runtimeStatus"] == "Completed"
