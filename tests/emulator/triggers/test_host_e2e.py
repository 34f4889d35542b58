"""Timer, queue and blob triggers through the local host (``LocalHost``) against Azurite: the
sources feed the worker seam, bindings and the durable client work on non-HTTP triggers, the
admin endpoint runs any non-HTTP function, and a restart reports a missed occurrence past due."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.data.tables import TableClient
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient

from emulator.testing import LocalHost

APP = Path(__file__).resolve().parents[1] / "apps" / "triggers"


def b64(value) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def eventually(check, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not met in {timeout} s"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def settings(azurite, tmp_path_factory):
    markers = tmp_path_factory.mktemp("markers")
    return {"AzureWebJobsStorage": azurite.connection_string,
            "ORDERS": "orders-" + uuid.uuid4().hex[:8], "MARKERS": str(markers)}


@pytest.fixture(scope="module")
def host(settings):
    with LocalHost(APP, settings=settings, queue_lease=5) as running:
        yield running


def test_queue_to_orchestration_blob_and_table(host, settings, azurite):
    orders = QueueClient.from_connection_string(azurite.connection_string, settings["ORDERS"])
    orders.create_queue()
    sent = orders.send_message(b64({"ref": "o1", "item": "book"}))
    status = host.wait(sent.id, timeout=60)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == {"order": {"ref": "o1", "item": "book"}, "dequeueCount": 1}
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    receipt = eventually(lambda: _download(blobs, "receipts", "o1.json"), what="the receipt")
    assert json.loads(receipt)["messageId"] == sent.id
    table = TableClient.from_connection_string(azurite.connection_string, "receipts")
    row = eventually(lambda: _entity(table, "r", "o1"), what="the table row (blob trigger)")
    assert row["messageId"] == sent.id and row["bytes"] == len(receipt)
    assert orders.peek_messages() == []


def test_a_failing_message_ends_in_the_poison_queue(host, settings, azurite):
    orders = QueueClient.from_connection_string(azurite.connection_string, settings["ORDERS"])
    text = b64({"ref": "o2", "bad": True})
    orders.send_message(text)
    poison = QueueClient.from_connection_string(azurite.connection_string,
                                                settings["ORDERS"] + "-poison")
    eventually(lambda: _peek(poison) == [text], what="the poison message")
    state = host.triggers()
    queue = next(q for q in state["queues"] if q["function"] == "on_order")
    assert queue["poisoned"] == 1 and queue["failed"] == 2 and queue["poisonDepth"] == 1
    failures = [r for r in state["recent"] if r["function"] == "on_order" and
                not r["succeeded"]]
    assert failures and "order o2 is invalid" in failures[0]["error"]


def test_admin_endpoint_runs_any_non_http_function(host, settings):
    host.run_function("on_bus", "from admin")
    marker = Path(settings["MARKERS"]) / "bus.txt"
    assert eventually(lambda: marker.exists() and marker.read_bytes()) == b"from admin"
    response = host.request("POST", "/admin/functions/on_order",
                            json={"input": json.dumps({"ref": "o3", "item": "pen"})})
    assert response.status_code == 202
    assert host.request("POST", "/admin/functions/nope", json={}).status_code == 404
    bad = host.request("POST", "/admin/functions/echo", json={})
    assert bad.status_code == 400 and "orchestrator" in bad.json()["Message"]
    assert host.request("POST", "/admin/functions/on_bus", data="[1]").status_code == 400
    missing = host.request("POST", "/admin/functions/on_receipt",
                           json={"input": "receipts/none.json"})
    assert missing.status_code == 400 and "does not exist" in missing.json()["ExceptionMessage"]


def test_the_triggers_view(host):
    state = host.request("GET", "/admin/emulator/triggers").json()
    assert {q["function"] for q in state["queues"]} == {"on_order", "slow_work"}
    assert [b["function"] for b in state["blobs"]] == ["on_receipt"]
    assert state["other"][0]["function"] == "on_bus"
    assert "Service Bus" in state["other"][0]["line"]
    off = {o["function"]: o["error"] for o in state["off"]}
    assert "NIGHTLY" in off["nightly"]  # the schedule's setting is not set here


def test_timer_fires_in_skipped_time_and_past_due_after_a_restart(settings, tmp_path):
    state = str(tmp_path / "state.db")
    nightly = {**settings, "NIGHTLY": "0 0 2 * * *"}
    with LocalHost(APP, settings=nightly, state=state, time_skipping="while-waiting") as h:
        now = datetime.fromisoformat(h.now().replace("Z", "+00:00")).astimezone(UTC)
        state_view = h.request("GET", "/admin/emulator/triggers").json()
        timer = state_view["timers"][0]
        occurrence = timer["status"]["Next"]
        assert datetime.fromisoformat(occurrence.replace("Z", "+00:00")) > now
        status = h.wait(f"nightly-{occurrence}", timeout=60)
        assert status["output"]["pastDue"] is False
        fired = h.request("GET", "/admin/emulator/triggers").json()["timers"][0]["status"]
        assert fired["Last"] == occurrence  # on time: Last is the occurrence itself
    path = tmp_path / "state.timers.json"
    saved = json.loads(path.read_text())
    assert saved["nightly"]["Last"] == occurrence
    # As if the host had been down over an occurrence: the status says it ran two days ago at
    # 02:00 and was next due yesterday at 02:00. A restart runs it at once, past due.
    today = datetime.now(UTC).replace(hour=2, minute=0, second=0, microsecond=0)
    missed = (today - timedelta(days=1)).isoformat()  # as the host writes it: +00:00
    ran = (today - timedelta(days=2)).isoformat()
    path.write_text(json.dumps({"nightly": {"Last": ran, "Next": missed, "LastUpdated": ran}}))
    with LocalHost(APP, settings=nightly, state=state, time_skipping="while-waiting") as h:
        status = h.wait(f"nightly-{missed}", timeout=60)
        assert status["output"]["pastDue"] is True
        assert status["output"]["status"]["Next"] == missed


def _download(blobs, container, name):
    try:
        return blobs.get_blob_client(container, name).download_blob().readall()
    except Exception:
        return None


def _entity(table, partition, row):
    try:
        return table.get_entity(partition, row)
    except Exception:
        return None


def _peek(queue):
    try:
        return [m.content for m in queue.peek_messages(max_messages=32)]
    except Exception:
        return None


def test_storage_that_is_down_leaves_the_host_serving(tmp_path, emulator_lines):
    """AzureWebJobsStorage points at nothing (Azurite not started): one line per function, the
    host serves HTTP and Durable as before and stops promptly."""
    from emulator.host.child_process import free_port

    port = free_port()
    down = (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
            f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
            f"QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
            f"TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;")
    settings = {"AzureWebJobsStorage": down, "ORDERS": "orders", "MARKERS": str(tmp_path)}
    host = LocalHost(APP, settings=settings, log_level="info").start_host()
    try:
        emulator_lines.wait_for("its storage is not reachable")
        assert host.wait(host.start("echo", {"n": 1}))["output"] == {"n": 1}
        state = host.request("GET", "/admin/emulator/triggers").json()
        assert {q["depth"] for q in state["queues"]} == {None}
    finally:
        started = time.monotonic()
        host.stop_host()
        assert time.monotonic() - started < 10


def test_http_function_with_storage_bindings(host, settings, azurite):
    """An HTTP function's queue output, blob input (a receipt written by the queue function)
    and table input (rows written by the blob function)."""
    first = host.request("POST", "/api/orders/h1", json={"item": "lamp"})
    assert first.status_code == 200
    assert first.json() == {"previous": None, "rows": first.json()["rows"]}
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    eventually(lambda: _download(blobs, "receipts", "h1.json"), what="the queued order's receipt")
    table = TableClient.from_connection_string(azurite.connection_string, "receipts")
    eventually(lambda: _entity(table, "r", "h1"), what="the receipt's row")
    again = host.request("POST", "/api/orders/h1", json={"item": "lamp"}).json()
    assert json.loads(again["previous"])["item"] == "lamp"
    assert again["rows"] >= 1
