"""The entities page against the Durable extension's entities HTTP API.

Until the local host runs entities (it answers 501, see test_browser.py), the API is played by
the browser itself: ``page.route`` answers the page's entities requests the way the extension's
HttpApiHandler does (list: ``[{entityId: {name, key}, lastOperationTime, state}]``; state: the
state JSON or 404; signal: ``POST entities/{name}/{key}?op=`` answers 202).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, unquote, urlparse

from emulator.payloads import WEBHOOK_PATH


class FakeEntities:
    def __init__(self) -> None:
        self.state = {("counter", "c1"): 3, ("cart", "ada"): {"items": ["ticket"]}}
        self.signals: list[tuple[str, str, str, object]] = []

    def handle(self, route) -> None:
        request = route.request
        url = urlparse(request.url)
        parts = [unquote(p) for p in url.path.split(f"{WEBHOOK_PATH}/entities/", 1)[1]
                 .split("/") if p]
        if request.method == "GET" and len(parts) <= 1:
            rows = [{"entityId": {"name": n, "key": k}, "lastOperationTime":
                     "2026-12-01T08:00:00Z", "state": v}
                    for (n, k), v in self.state.items() if not parts or parts[0] == n]
            route.fulfill(status=200, content_type="application/json", body=json.dumps(rows))
        elif request.method == "GET":
            key = (parts[0], parts[1])
            if key in self.state:
                route.fulfill(status=200, content_type="application/json",
                              body=json.dumps(self.state[key]))
            else:
                route.fulfill(status=404, body="")
        else:
            op = parse_qs(url.query).get("op", [""])[0]
            body = request.post_data
            self.signals.append((parts[0], parts[1], op, json.loads(body) if body else None))
            if op == "add":
                self.state[(parts[0], parts[1])] += json.loads(body)
            route.fulfill(status=202, body="")


def test_list_state_and_signal(page, app_host):
    fake = FakeEntities()
    page.route(f"**{WEBHOOK_PATH}/entities/**", fake.handle)
    page.goto(f"{app_host.base_url}/dashboard/#/entities")
    page.wait_for_selector('#entities tr[data-name="counter"][data-key="c1"]')
    assert "ticket" in page.inner_text('#entities tr[data-name="cart"]')

    page.click('#entities tr[data-name="counter"] a')
    page.wait_for_selector("#entity-state:text('3')")
    page.click("#signal")
    page.fill("#f-op", "add")
    page.fill("#f-input", "{oops")
    assert page.is_disabled("dialog button[type=submit]")  # JSON checked first
    page.fill("#f-input", "4")
    page.click("dialog button[type=submit]")
    page.wait_for_selector("#entity-state:text('7')")
    assert fake.signals == [("counter", "c1", "add", 4)]
    page.wait_for_selector('#entities tr[data-name="counter"] td:text-is("7")')  # list too
