"""The event starters against the local host's durable client: the functions are called directly
(the local host does not serve queue and timer triggers yet; see test_e2e_triggers.py for the
run through the triggers), but every start, status and history goes through the same client
binding the host hands to its functions, and the orchestrations run to the end on the host."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from pathlib import Path

import azure.durable_functions as df
from azure.durable_functions.models.utils import http_utils
from azure.functions.queue import QueueMessage
from azure.functions.timer import TimerRequest

from api import events

APP_DIR = Path(__file__).resolve().parents[2]
TRIP = {"traveler": "Grace", "conference": "EuroPython", "origin": "Lyon",
        "destination": "Prague", "departure_date": "2026-07-13", "return_date": "2026-07-19"}


def local_client(host) -> df.DurableOrchestrationClient:
    """The durable client binding a Functions host passes to a ``durableClient`` input: the
    task hub and the host's RPC base URL (``/durabletask/``) that the SDK calls."""
    hub = json.loads((APP_DIR / "host.json").read_text())["extensions"]["durableTask"]["hubName"]
    binding = {"taskHubName": hub, "creationUrls": {}, "managementUrls": {},
               "baseUrl": f"{host.base_url}/runtime/webhooks/durabletask",
               "requiredQueryStringParameters": "",
               "rpcBaseUrl": f"{host.base_url}/durabletask/", "httpBaseUrl": None}
    return df.DurableOrchestrationClient(json.dumps(binding))


def run(coroutine):
    """Run one starter call in its own event loop, then close that loop's SDK HTTP session (the
    SDK's shutdown hook), so no connection outlives the loop."""

    async def and_close():
        try:
            return await coroutine
        finally:
            await http_utils._close_session()

    return asyncio.run(and_close())


def delivery(body, message_id: str, dequeue_count: int = 1) -> QueueMessage:
    return QueueMessage(id=message_id, body=json.dumps(body).encode(),
                        dequeue_count=dequeue_count, pop_receipt="receipt")


def started_events(host, instance_id: str) -> int:
    return sum(1 for e in host.history(instance_id) if e["EventType"] == "ExecutionStarted")


def test_a_booking_request_books_once_even_when_delivered_again(host, caplog):
    message_id = str(uuid.uuid4())
    run(events.booking_request(delivery(TRIP, message_id), local_client(host)))
    status = host.wait(message_id, timeout=60)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"]["outcome"] == "booked"
    assert status["output"]["traveler"] == "Grace"

    with caplog.at_level(logging.INFO, logger="api.events"):
        run(events.booking_request(delivery(TRIP, message_id, 2), local_client(host)))
    assert f"booking request {message_id}: book_trip instance already exists (Completed)" \
        in caplog.text
    again = host.status(message_id)
    assert (again["createdTime"], again["lastUpdatedTime"]) == \
        (status["createdTime"], status["lastUpdatedTime"])
    assert started_events(host, message_id) == 1


def test_a_redelivery_while_the_booking_runs_does_not_start_it_again(host):
    message_id = str(uuid.uuid4())
    request = {**TRIP, "approval": {"required": True, "timeout_s": 3600}}
    with host.clock_held():
        run(events.booking_request(delivery(request, message_id), local_client(host)))
        host.wait_until(message_id, lambda s: s["customStatus"] == "awaiting approval")
        run(events.booking_request(delivery(request, message_id, 2), local_client(host)))
        host.raise_event(message_id, "approval", {"approved": True})
    status = host.wait(message_id, timeout=60)
    assert status["output"]["outcome"] == "booked"
    assert started_events(host, message_id) == 1


def test_an_invalid_request_creates_no_instance(host):
    message_id = str(uuid.uuid4())
    try:
        run(events.booking_request(delivery({**TRIP, "return_date": "2026-07-01"},
                                                    message_id), local_client(host)))
    except events.BookingRequestRejected as rejected:
        assert rejected.reason == "invalid booking: return_date: must not be before " \
                                  "departure_date"
    else:
        raise AssertionError("an invalid booking was accepted")
    assert host.request("GET", f"/runtime/webhooks/durabletask/instances/{message_id}") \
        .status_code == 404


def test_the_scheduled_backup_runs_each_occurrence_once(host):
    occurrence = "2026-12-07T02:00:00+00:00"
    timer = TimerRequest(past_due=False, schedule_status={"Next": occurrence})
    run(events.scheduled_backup(timer, local_client(host)))
    instance_id = "scheduled-backup-20261207T020000Z"
    status = host.wait(instance_id, timeout=60)
    assert status["runtimeStatus"] == "Completed", status
    # BACKUP_ROOT is the whole base: www/ (3 files; leak.txt links out and is skipped), empty/
    assert (status["output"]["files"], status["output"]["bytes"]) == (3, 19 + 10240 + 5000)

    run(events.scheduled_backup(TimerRequest(past_due=True,
                                                     schedule_status={"Next": occurrence}),
                                        local_client(host)))
    assert started_events(host, instance_id) == 1
