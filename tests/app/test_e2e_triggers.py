"""The event starters through the local host's own triggers, as under ``func start``: booking
requests put on the ``booking-requests`` queue of Azurite (base64, the trigger's default
``messageEncoding``) and the scheduled backup fired by its timer in skipped time.

Runs once the local host serves queue and timer triggers (the ``emulator.triggers`` package);
skipped before. Uses only the host's public testing API and the Storage SDK. The host runs in a
child process: the app reads ``BACKUP_SCHEDULE`` when it is imported, and a fresh process imports
it with this test's settings. Time skips only while the test waits ("while-waiting"): a daily
timer on an always-skipping idle host would fire day after day.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("emulator.triggers")

from azure.storage.queue import (  # noqa: E402
    BinaryBase64DecodePolicy,
    BinaryBase64EncodePolicy,
    QueueClient,
)

from emulator.testing import LocalHost  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
TRIP = {"traveler": "Ada", "conference": "PyCon DE", "origin": "Paris", "destination": "Berlin",
        "departure_date": "2026-04-20", "return_date": "2026-04-23"}
SCHEDULE = "0 0 2 * * *"  # 02:00 every day


@contextlib.contextmanager
def azurite_with_queues(workdir: Path):
    """Azurite with its queue service (the triggers' ``Azurite(queue=True)``) and the booking
    queue created; yields the connection string the queue trigger and the backup share."""
    try:  # where the layers put it, else where it was
        from emulator.host.azurite import Azurite
    except ImportError:
        from emulator.azurite import Azurite

    with Azurite(workdir, queue=True) as azurite:
        QueueClient.from_connection_string(azurite.connection_string,
                                           "booking-requests").create_queue()
        yield azurite.connection_string


@pytest.fixture(scope="module")
def storage(tmp_path_factory):
    with azurite_with_queues(tmp_path_factory.mktemp("azurite-queues")) as connection:
        yield connection


def app_settings(storage: str, backup_base: Path, schedule: str = SCHEDULE) -> dict[str, str]:
    """The app's settings; an empty ``schedule`` leaves the scheduled backup off."""
    return {"AzureWebJobsStorage": storage, "BACKUP_STORAGE_CONNECTION": storage,
            "BACKUP_ROOT": str(backup_base), "BACKUP_SCHEDULE": schedule,
            "BACKUP_CONTAINER": "scheduled", "BOOKING_PROVIDER": "simulator"}


@pytest.fixture(scope="module")
def triggered_host(storage, backup_base):
    with LocalHost(REPO_ROOT, time_skipping="while-waiting", subprocess=True,
                   settings=app_settings(storage, backup_base)) as host:
        yield host


def queue(storage: str, name: str) -> QueueClient:
    """The queue with the encoding the Functions queue trigger expects by default (base64)."""
    return QueueClient.from_connection_string(storage, name,
                                              message_encode_policy=BinaryBase64EncodePolicy(),
                                              message_decode_policy=BinaryBase64DecodePolicy())


def test_a_queued_booking_request_is_booked_as_its_message_id(triggered_host, storage):
    sent = queue(storage, "booking-requests").send_message(json.dumps(TRIP).encode())
    status = triggered_host.wait(sent.id, timeout=120)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"]["outcome"] == "booked"


def test_an_invalid_request_ends_in_the_poison_queue(triggered_host, storage):
    bad = queue(storage, "booking-requests").send_message(b'{"traveler": "Ada"}')
    poison = queue(storage, "booking-requests-poison")
    deadline = time.monotonic() + 300  # 5 deliveries; the listener backs off up to 1 min when idle
    while time.monotonic() < deadline:
        try:
            bodies = [m.content for m in poison.peek_messages(max_messages=32)]
        except Exception:  # the host creates the poison queue on first use
            bodies = []
        if b'{"traveler": "Ada"}' in bodies:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the invalid request did not reach booking-requests-poison")
    response = triggered_host.request("GET", f"/runtime/webhooks/durabletask/instances/{bad.id}")
    assert response.status_code == 404


def test_the_scheduled_backup_fires_at_its_occurrence_in_skipped_time(triggered_host):
    """Waiting on the next occurrence's instance skips the clock to 02:00, where it fires."""
    now = datetime.fromisoformat(triggered_host.now().replace("Z", "+00:00")).astimezone(UTC)
    next_run = now.replace(hour=2, minute=0, second=0, microsecond=0)
    if next_run <= now:
        next_run += timedelta(days=1)
    instance_id = f"scheduled-backup-{next_run:%Y%m%dT%H%M%S}Z"
    status = triggered_host.wait(instance_id, timeout=120)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"]["files"] == 3



def started_events(host, instance_id: str) -> int:
    return sum(1 for e in host.history(instance_id) if e["EventType"] == "ExecutionStarted")


def test_a_host_killed_mid_batch_books_each_request_exactly_once(tmp_path, backup_base):
    """SIGKILL the host while it takes a batch of booking requests, start it again on the same
    state and queue: every request is booked, each exactly once (at-least-once delivery, one
    instance per message id). Its own Azurite: the module's host must not take these messages."""
    with azurite_with_queues(tmp_path / "azurite") as connection:
        sender = queue(connection, "booking-requests")
        ids = [sender.send_message(json.dumps({**TRIP, "traveler": f"T{n}"}).encode()).id
               for n in range(40)]
        options = {"state": str(tmp_path / "state.sqlite"), "subprocess": True,
                   "settings": app_settings(connection, backup_base, schedule="")}
        first = LocalHost(REPO_ROOT, **options).start_host()
        try:
            first.wait_until(ids[0], lambda status: True, timeout=120)  # the batch has begun
        finally:
            first.kill()
        with LocalHost(REPO_ROOT, **options) as second:
            for message_id in ids:
                status = second.wait(message_id, timeout=120)
                assert status["runtimeStatus"] == "Completed", status
                assert status["output"]["outcome"] == "booked"
                assert started_events(second, message_id) == 1
