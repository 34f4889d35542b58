"""The event starters called directly, as the worker calls them: ``QueueMessage`` (the worker's
own class, with ``dequeue_count``) and ``TimerRequest`` objects, and a fake durable client that
keeps instances like the runtime (get_status answers no status for an unknown id; start_new
refuses an active id)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import azure.durable_functions as df
import pytest
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus
from azure.functions.queue import QueueMessage
from azure.functions.timer import TimerRequest

from activities.backup import BackupConfigError
from api import events
from api.events import BookingRequestRejected, StartOutcome

TRIP = {"traveler": "Ada", "conference": "PyCon DE", "origin": "Paris", "destination": "Berlin",
        "departure_date": "2026-04-20", "return_date": "2026-04-23"}
ACTIVE = ("Pending", "Running", "Suspended", "ContinuedAsNew")


class FakeClient:
    """The slice of ``DurableOrchestrationClient`` the starters use."""

    def __init__(self, statuses: dict[str, str] | None = None, race: bool = False) -> None:
        self.statuses = dict(statuses or {})
        self.started: list[tuple[str, str, object]] = []
        self.race = race  # another start of the same id wins between get_status and start_new

    async def get_status(self, instance_id: str):
        status = self.statuses.get(instance_id)
        return SimpleNamespace(runtime_status=OrchestrationRuntimeStatus[status] if status
                               else None)

    async def start_new(self, name: str, instance_id: str, client_input=None) -> str:
        if self.race or self.statuses.get(instance_id) in ACTIVE:
            raise Exception(f"An Orchestration instance with the ID {instance_id} already "
                            "exists.")
        self.statuses[instance_id] = "Pending"
        self.started.append((name, instance_id, client_input))
        return instance_id


def message(body, *, id="b7c4e3f0-0d1e-4d6f-9a38-0c2f1a6d5e01", dequeue_count=1):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return QueueMessage(id=id, body=raw, dequeue_count=dequeue_count, pop_receipt="r")


def run(coroutine):
    return asyncio.run(coroutine)


# ---- booking requests ---------------------------------------------------------------------


def test_a_booking_request_starts_book_trip_as_the_message_id(caplog):
    client = FakeClient()
    with caplog.at_level(logging.INFO, logger="api.events"):
        run(events.booking_request(message(TRIP), client))
    [(name, instance_id, trip)] = client.started
    assert (name, instance_id) == ("book_trip", "b7c4e3f0-0d1e-4d6f-9a38-0c2f1a6d5e01")
    assert trip["traveler"] == "Ada" and trip["approval"] == {"required": False,
                                                              "timeout_s": 86400}
    assert "booking request b7c4e3f0-0d1e-4d6f-9a38-0c2f1a6d5e01: started book_trip for Ada" \
        in caplog.text


@pytest.mark.parametrize("existing", ["Pending", "Running", "Suspended", "Completed",
                                      "ContinuedAsNew"])
def test_a_redelivered_message_does_not_book_twice(existing, caplog):
    client = FakeClient({"m-1": existing})
    with caplog.at_level(logging.INFO, logger="api.events"):
        run(events.booking_request(message(TRIP, id="m-1", dequeue_count=2), client))
    assert client.started == []
    assert f"booking request m-1: book_trip instance already exists ({existing}); not booked " \
           "again (delivery 2)" in caplog.text


@pytest.mark.parametrize("existing", sorted(events.RESTARTABLE))
def test_a_failed_or_terminated_instance_is_booked_again(existing):
    client = FakeClient({"m-1": existing})
    run(events.booking_request(message(TRIP, id="m-1", dequeue_count=2), client))
    assert [started[1] for started in client.started] == ["m-1"]


def test_two_deliveries_racing_past_the_status_check_book_once():
    """The runtime refuses the second start of an active id ("already exists"): not an error."""
    client = FakeClient(race=True)
    result = run(events.start_once(client, "book_trip", "m-1", TRIP))
    assert (result.outcome, result.existing_status) == (StartOutcome.ALREADY_STARTED, "active")


def test_any_other_start_failure_propagates_so_the_message_is_retried():
    class Down(FakeClient):
        async def start_new(self, *args, **kwargs):
            raise Exception("The operation failed with an unexpected status code 503")

    with pytest.raises(Exception, match="503"):
        run(events.booking_request(message(TRIP), Down()))


@pytest.mark.parametrize("body, reason", [
    (b"{not json", "body is not valid JSON"),
    (b"", "invalid booking: body must be a JSON object"),
    (b'{"traveler": NaN}', "body is not valid JSON: NaN is not a JSON value"),
    (b"\xff\xfe", "body is not valid JSON"),
    ({**TRIP, "origin": "Berlin"}, "invalid booking: destination: must differ from origin"),
    ({**TRIP, "departure_date": "soon"}, "invalid booking: departure_date: is required"),
    ({**TRIP, "seat": "12A"}, "invalid booking: seat: unknown field"),
    ([TRIP], "invalid booking: body must be a JSON object"),
])
def test_an_invalid_request_raises_with_a_log_line_naming_the_message_and_reason(
        body, reason, caplog):
    client = FakeClient()
    with caplog.at_level(logging.ERROR, logger="api.events"), \
            pytest.raises(BookingRequestRejected) as rejected:
        run(events.booking_request(message(body, id="m-bad", dequeue_count=3), client))
    assert client.started == []
    assert rejected.value.message_id == "m-bad" and reason in rejected.value.reason
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith(f"booking request m-bad rejected (delivery 3): {reason}")
    assert "booking-requests-poison after maxDequeueCount" in record.getMessage()


def test_a_message_id_that_cannot_be_an_instance_id_is_rejected():
    with pytest.raises(BookingRequestRejected, match="message id unusable as instance id"):
        run(events.booking_request(message(TRIP, id="a/b"), FakeClient()))


# ---- scheduled backup ---------------------------------------------------------------------


def timer(next_occurrence: str | None = "2026-12-07T02:00:00+00:00", past_due=False):
    status = {"Last": "0001-01-01T00:00:00", "LastUpdated": "0001-01-01T00:00:00"}
    if next_occurrence is not None:
        status["Next"] = next_occurrence
    return TimerRequest(past_due=past_due, schedule_status=status,
                        schedule={"AdjustForDST": True})


@pytest.fixture()
def backup_root(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKUP_ROOT", str(tmp_path))
    return tmp_path


def test_each_occurrence_starts_one_backup_named_after_it(backup_root, caplog):
    client = FakeClient()
    with caplog.at_level(logging.INFO, logger="api.events"):
        run(events.scheduled_backup(timer(), client))
        run(events.scheduled_backup(timer(), client))  # the same occurrence fired again
        run(events.scheduled_backup(timer("2026-12-08T02:00:00+00:00"), client))
    assert client.started == [
        ("backup_site_content", "scheduled-backup-20261207T020000Z", {}),
        ("backup_site_content", "scheduled-backup-20261208T020000Z", {}),
    ]
    assert (f"scheduled backup: started backup_site_content instance "
            f"scheduled-backup-20261207T020000Z for occurrence 2026-12-07T02:00:00+00:00, "
            f"root {backup_root}") in caplog.text
    assert ("occurrence 2026-12-07T02:00:00+00:00 already has instance "
            "scheduled-backup-20261207T020000Z (Pending); not started again") in caplog.text


def test_a_completed_occurrence_is_not_run_again_but_a_failed_one_is(backup_root):
    client = FakeClient({"scheduled-backup-20261207T020000Z": "Completed",
                         "scheduled-backup-20261208T020000Z": "Failed"})
    run(events.scheduled_backup(timer(), client))
    run(events.scheduled_backup(timer("2026-12-08T02:00:00+00:00"), client))
    assert [started[1] for started in client.started] == ["scheduled-backup-20261208T020000Z"]


def test_a_past_due_occurrence_is_logged_and_keeps_its_own_id(backup_root, caplog):
    client = FakeClient()
    with caplog.at_level(logging.INFO, logger="api.events"):
        run(events.scheduled_backup(timer("2026-12-07T02:00:00Z", past_due=True), client))
    assert client.started[0][1] == "scheduled-backup-20261207T020000Z"
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "occurrence 2026-12-07T02:00:00+00:00 is past due" in warning.getMessage()


@pytest.mark.parametrize("status_next, now, expected", [
    ("2026-12-07T03:00:00+01:00", None, "scheduled-backup-20261207T020000Z"),
    ("2026-12-07T02:00:00.0000000Z", None, "scheduled-backup-20261207T020000Z"),
    ("2026-12-07T02:00:00", None, "scheduled-backup-20261207T020000"),  # local time, zone unknown
    (None, datetime(2026, 12, 7, 1, 59, 59, 700_000, tzinfo=UTC),
     "scheduled-backup-20261207T020000Z"),  # no status: now, to the nearest second
    ("0001-01-01T00:00:00", datetime(2026, 12, 7, 2, 0, 0, 200_000, tzinfo=UTC),
     "scheduled-backup-20261207T020000Z"),
    ("soon", datetime(2026, 12, 7, 2, 0, 0, tzinfo=UTC), "scheduled-backup-20261207T020000Z"),
])
def test_the_occurrence_comes_from_the_schedule_status(status_next, now, expected):
    occurrence = events.occurrence_of(timer(status_next), now or datetime.now(UTC))
    assert events.scheduled_backup_id(occurrence) == expected


def test_a_missing_backup_root_fails_the_invocation_and_starts_nothing(tmp_path, monkeypatch,
                                                                      caplog):
    monkeypatch.setenv("BACKUP_ROOT", str(tmp_path / "gone"))
    client = FakeClient()
    with caplog.at_level(logging.ERROR, logger="api.events"), \
            pytest.raises(BackupConfigError, match="is not a directory"):
        run(events.scheduled_backup(timer(), client))
    assert client.started == []
    assert "scheduled backup scheduled-backup-20261207T020000Z not started: BACKUP_ROOT" \
        in caplog.text


# ---- registration -------------------------------------------------------------------------


def indexed(settings: dict[str, str]) -> dict[str, dict]:
    """The event functions as the worker indexes them, for the given app settings."""
    blueprint = df.Blueprint()
    events.register(blueprint, settings)
    app = df.DFApp()
    app.register_functions(blueprint)
    return {f.get_function_name(): json.loads(f.get_function_json())["bindings"]
            for f in app.get_functions()}


def trigger(bindings: list[dict]) -> dict:
    [found] = [b for b in bindings if b["type"].endswith("Trigger")]
    return found


@pytest.mark.parametrize("settings", [{}, {"BACKUP_SCHEDULE": ""}, {"BACKUP_SCHEDULE": "  "}])
def test_the_scheduled_backup_is_off_unless_the_schedule_is_set(settings):
    assert set(indexed(settings)) == {"booking_request"}


def test_the_scheduled_backup_reads_its_schedule_from_the_setting_with_the_monitor_on():
    functions = indexed({"BACKUP_SCHEDULE": "0 0 2 * * *"})
    assert trigger(functions["scheduled_backup"]) == {
        "direction": "IN", "type": "timerTrigger", "name": "timer",
        "schedule": "%BACKUP_SCHEDULE%", "runOnStartup": False, "useMonitor": True}
    assert {"type": "durableClient", "name": "client", "direction": "IN"} in \
        functions["scheduled_backup"]


def test_the_booking_starter_reads_booking_requests_on_the_host_storage():
    bindings = indexed({})["booking_request"]
    assert trigger(bindings) == {"direction": "IN", "type": "queueTrigger", "name": "message",
                                 "queueName": "booking-requests",
                                 "connection": "AzureWebJobsStorage"}
    assert any(b["type"] == "durableClient" for b in bindings)


def test_the_app_registers_the_booking_starter_and_the_timer_only_with_its_setting(tmp_path):
    """function_app itself, imported in a clean interpreter per setting."""
    import subprocess
    import sys
    from pathlib import Path

    repo_root = Path(__file__).resolve().parents[2]
    script = ("import json, function_app; print(json.dumps(sorted("
              "f.get_function_name() for f in function_app.app.get_functions())))")
    names = {}
    for schedule in ("", "0 30 1 * * Sun"):
        env = {"PATH": "/usr/bin:/bin", "BACKUP_SCHEDULE": schedule, "HOME": str(tmp_path)}
        done = subprocess.run([sys.executable, "-c", script], cwd=repo_root, env=env,
                              capture_output=True, text=True, timeout=120, check=True)
        names[schedule] = set(json.loads(done.stdout.splitlines()[-1]))
    assert "booking_request" in names[""] and "scheduled_backup" not in names[""]
    assert names["0 30 1 * * Sun"] - names[""] == {"scheduled_backup"}


def test_host_json_states_the_queue_contract_the_starter_and_docs_rely_on():
    """Five deliveries before the poison queue; base64 messages (what `az storage message put`
    senders and the Python SDK must produce, see docs/app.md)."""
    from pathlib import Path

    host = json.loads((Path(__file__).resolve().parents[2] / "host.json").read_text())
    assert host["extensions"]["queues"] == {"maxDequeueCount": 5, "messageEncoding": "base64"}


# ---- from the payloads the host sends, through the worker's own converters -------------------


def test_a_queue_trigger_payload_as_the_worker_decodes_it_starts_one_booking():
    """The host sends the body and the metadata (Id, DequeueCount, times as JSON); the SDK's
    converter builds the QueueMessage the function receives."""
    from azure.functions import meta
    from azure.functions.queue import QueueMessageInConverter

    delivered = QueueMessageInConverter.decode(
        meta.Datum(json.dumps(TRIP), "string"),
        trigger_metadata={
            "Id": meta.Datum("6f1c2b9e-0000-4000-8000-00000000beef", "string"),
            "DequeueCount": meta.Datum("2", "json"),
            "PopReceipt": meta.Datum("AgAAAAMAAAAAAAAA", "string"),
            "InsertionTime": meta.Datum('"2026-12-06T17:00:00+00:00"', "json"),
            "ExpirationTime": meta.Datum('"2026-12-13T17:00:00+00:00"', "json"),
            "NextVisibleTime": meta.Datum('"2026-12-06T17:10:00+00:00"', "json"),
        })
    client = FakeClient()
    run(events.booking_request(delivered, client))
    assert [(name, iid) for name, iid, _ in client.started] == [
        ("book_trip", "6f1c2b9e-0000-4000-8000-00000000beef")]


@pytest.mark.parametrize("status, past_due, expected", [
    ({"Last": "2026-12-06T02:00:00+00:00", "Next": "2026-12-07T02:00:00+00:00",
      "LastUpdated": "2026-12-06T02:00:00+00:00"}, False, "scheduled-backup-20261207T020000Z"),
    ({"Last": "0001-01-01T00:00:00", "Next": "2026-12-07T02:00:00Z",
      "LastUpdated": "2026-12-06T17:00:00Z"}, True, "scheduled-backup-20261207T020000Z"),
])
def test_a_timer_payload_as_the_worker_decodes_it_names_its_occurrence(backup_root, status,
                                                                      past_due, expected):
    from azure.functions import meta
    from azure.functions.timer import TimerRequestConverter

    info = {"Schedule": {"AdjustForDST": True}, "ScheduleStatus": status, "IsPastDue": past_due}
    fired = TimerRequestConverter.decode(meta.Datum(json.dumps(info), "json"),
                                         trigger_metadata={})
    client = FakeClient()
    run(events.scheduled_backup(fired, client))
    assert [iid for _, iid, _ in client.started] == [expected]


def test_a_timer_without_the_monitor_status_names_the_occurrence_from_the_clock(backup_root):
    """ScheduleStatus is null when the monitor is off (sub-minute schedules turn it off)."""
    from azure.functions import meta
    from azure.functions.timer import TimerRequestConverter

    info = {"Schedule": {"AdjustForDST": True}, "ScheduleStatus": None, "IsPastDue": False}
    fired = TimerRequestConverter.decode(meta.Datum(json.dumps(info), "json"),
                                         trigger_metadata={})
    client = FakeClient()
    before = datetime.now(UTC).replace(microsecond=0)
    run(events.scheduled_backup(fired, client))
    [(_, instance_id, _)] = client.started
    moment = datetime.strptime(instance_id, "scheduled-backup-%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before <= moment <= datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
