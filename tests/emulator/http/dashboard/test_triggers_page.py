"""The dashboard's triggers page on a host with timer, queue, blob and Service Bus functions
(tests/emulator/apps/triggers) against Azurite: queue depth and counters, the other trigger
types, functions that are off, and "Run now" (POST /admin/functions/{name})."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import pytest
from azure.storage.queue import QueueClient

from emulator.host.azurite import Azurite
from emulator.testing import REPO_ROOT, LocalHost

TRIGGER_APP = REPO_ROOT / "tests" / "emulator" / "apps" / "triggers"


@pytest.fixture(scope="module")
def storage(tmp_path_factory):
    with Azurite(tmp_path_factory.mktemp("azurite"), queue=True, table=True) as azurite:
        yield azurite.connection_string


@pytest.fixture(scope="module")
def trigger_host(storage, tmp_path_factory):
    markers = tmp_path_factory.mktemp("markers")
    settings = {"AzureWebJobsStorage": storage, "ORDERS": "orders-" + uuid.uuid4().hex[:6],
                "MARKERS": str(markers), "NIGHTLY": "0 0 2 * * *"}
    with LocalHost(TRIGGER_APP, settings=settings, subprocess=True) as host:
        yield host, settings


def test_triggers_page_shows_state_and_runs_a_function(page, trigger_host, storage, screenshots):
    host, settings = trigger_host
    orders = QueueClient.from_connection_string(storage, settings["ORDERS"])
    orders.create_queue()
    sent = orders.send_message(base64.b64encode(json.dumps({"ref": "d1"}).encode()).decode())
    host.wait(sent.id, timeout=60)
    page.goto(f"{host.base_url}/dashboard/#/triggers")
    page.wait_for_selector('#timers tr[data-function="nightly"] td.next')
    assert "0 0 2 * * *" in page.inner_text('#timers tr[data-function="nightly"]')
    page.wait_for_selector('#queues tr[data-function="on_order"] td.processed:text-is("1")')
    # counted when the function succeeded; the delete follows: the depth reaches 0 after it
    page.wait_for_selector('#queues tr[data-function="on_order"] td.depth:text-is("0")')
    assert "Service Bus" in page.inner_text('#other-triggers tr[data-function="on_bus"]')
    page.wait_for_selector('#recent tr[data-function="on_order"]')
    # Run now: the Service Bus function with a payload typed in its row
    page.fill('#other-triggers input[data-function="on_bus"]', "clicked")
    page.click('#other-triggers button[data-function="on_bus"]')
    page.wait_for_selector('.toast.ok:has-text("on_bus: started")')
    marker = Path(settings["MARKERS"]) / "bus.txt"
    page.wait_for_selector('#recent tr[data-function="on_bus"]')
    assert marker.read_bytes() == b"clicked"
    screenshots.take(page, "triggers", full_page=True)
