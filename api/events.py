"""Event-driven starters: a scheduled backup (timer) and booking requests from a queue.

``scheduled_backup`` (timer trigger)
    Runs on the ``BACKUP_SCHEDULE`` app setting, an NCRONTAB expression with six fields
    (``{second} {minute} {hour} {day} {month} {day-of-week}``, e.g. ``0 0 2 * * *`` for 02:00
    every day) and backs up ``BACKUP_ROOT`` (default: the app folder) by starting
    ``backup_site_content``. Off unless the setting is set: a timer trigger needs its schedule
    when the host indexes the app, and the Functions host does not index a function whose
    ``%BACKUP_SCHEDULE%`` names a missing setting (``'%BACKUP_SCHEDULE%' does not resolve to a
    value``), so the function is registered only when the setting has a value. The schedule stays
    a ``%BACKUP_SCHEDULE%`` reference: the host reads the value itself.
    Each occurrence starts one instance, ``scheduled-backup-<occurrence>`` (e.g.
    ``scheduled-backup-20261207T020000Z``): the occurrence is the schedule status's ``Next``,
    which the host passes with ``use_monitor`` (the occurrence firing now, also when it fires
    late as ``past_due``). A re-fired occurrence (host restarted mid-invocation) finds its
    instance and starts nothing.

``booking_request`` (queue trigger)
    Reads the ``booking-requests`` queue on the host storage (``AzureWebJobsStorage``, a
    connection string or the identity-based ``AzureWebJobsStorage__queueServiceUri``). Each
    message is one ``book_trip`` input, checked with the same ``parse_trip_request`` as the HTTP
    starter, and started as the instance named by the message id: a redelivered message finds
    its instance and books nothing twice. An invalid message raises
    :class:`BookingRequestRejected` after a log line naming the message id and the reason; the
    host then retries it and, after ``maxDequeueCount`` deliveries (host.json
    ``extensions.queues``, default 5), moves it to ``booking-requests-poison``.

Both start through :func:`start_once`: an instance in a state listed in :data:`RESTARTABLE` may
be replaced; any other existing instance (pending, running, suspended, completed) is left alone.
"""

from __future__ import annotations

import enum
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from activities.backup import BackupConfigError, allowed_base
from api.json_body import InvalidBody, parse_body
from api.starters import instance_id_problem
from orchestrators.booking_rules import parse_trip_request
from orchestrators.inputs import InputError
from orchestrators.names import BACKUP_SITE_CONTENT, BOOK_TRIP

log = logging.getLogger(__name__)

BACKUP_SCHEDULE_SETTING = "BACKUP_SCHEDULE"
SCHEDULED_BACKUP_PREFIX = "scheduled-backup-"
BOOKING_QUEUE = "booking-requests"
BOOKING_POISON_QUEUE = f"{BOOKING_QUEUE}-poison"
BOOKING_QUEUE_CONNECTION = "AzureWebJobsStorage"
"""The host's own storage: ``AzureWebJobsStorage`` (connection string, Azurite locally) or its
identity-based form ``AzureWebJobsStorage__queueServiceUri`` (Azure, see infra/)."""

RESTARTABLE = frozenset({"Failed", "Terminated", "Canceled"})
"""Existing instances a new start may replace; in any other state the work was already started
(or done), so the start is skipped."""


class StartOutcome(enum.Enum):
    STARTED = "started"
    ALREADY_STARTED = "already started"


@dataclass(frozen=True)
class StartResult:
    outcome: StartOutcome
    instance_id: str
    existing_status: str | None = None
    """The runtime status of the instance found in place of a new start (``active`` when the
    runtime refused a racing start without saying which state it found)."""


class BookingRequestRejected(ValueError):
    """A queue message that is not a valid booking request. Raised out of the function, so the
    invocation fails and the host retries, then moves the message to the poison queue."""

    def __init__(self, message_id: str | None, reason: str) -> None:
        self.message_id = message_id
        self.reason = reason
        super().__init__(f"booking request {message_id}: {reason}")


# ---- decisions ----------------------------------------------------------------------------


def backup_schedule(settings: Mapping[str, str]) -> str | None:
    """The scheduled backup's NCRONTAB expression, or None when it is off (unset or blank)."""
    value = (settings.get(BACKUP_SCHEDULE_SETTING) or "").strip()
    return value or None


def occurrence_of(timer: func.TimerRequest, now: datetime) -> datetime:
    """The schedule occurrence this invocation stands for.

    The host's schedule status (``use_monitor``) holds it as ``Next``, written before the
    invocation: the occurrence now firing, or the missed one when ``past_due``. Without a usable
    status, ``now`` rounded to the second (the timer fires on the second of its occurrence).
    """
    status = getattr(timer, "schedule_status", None) or {}  # not on the abstract TimerRequest
    text = status.get("Next") if isinstance(status, dict) else None
    if isinstance(text, str) and text:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is not None and moment.year > 1:  # DateTime.MinValue: nothing recorded
            return moment.astimezone(UTC) if moment.tzinfo else moment
    return (now + timedelta(microseconds=500_000)).replace(microsecond=0)


def scheduled_backup_id(occurrence: datetime) -> str:
    """``scheduled-backup-20261207T020000Z`` (``Z`` only when the time zone is known as UTC)."""
    suffix = "Z" if occurrence.tzinfo is not None and occurrence.utcoffset() == timedelta(0) \
        else ""
    return f"{SCHEDULED_BACKUP_PREFIX}{occurrence:%Y%m%dT%H%M%S}{suffix}"


def parse_booking_message(message: func.QueueMessage) -> dict[str, Any]:
    """The ``book_trip`` input a queue message carries; :class:`BookingRequestRejected` if the
    message id cannot be an instance id, the body is not strict JSON, or the trip is invalid."""
    if message.id is None or (problem := instance_id_problem(message.id)):
        raise BookingRequestRejected(message.id, f"message id unusable as instance id: "
                                                 f"{problem or 'missing'}")
    try:
        body = parse_body(message.get_body())
    except InvalidBody as error:
        raise BookingRequestRejected(message.id, f"body is not valid JSON: {error}") from None
    try:
        return parse_trip_request(body)
    except InputError as error:
        reason = str(error) if error.field else f"body {error.message}"
        raise BookingRequestRejected(message.id, f"invalid booking: {reason}") from None


async def start_once(client: df.DurableOrchestrationClient, name: str, instance_id: str,
                     orchestration_input: Any) -> StartResult:
    """Start ``name`` as ``instance_id`` unless an instance with that id already exists in a
    state outside :data:`RESTARTABLE`. A start that loses a race with another start of the same
    id (the runtime answers "already exists") counts as already started.

    The 1.x SDK puts ``instance_id`` into the request URL unescaped; the ids used here are
    URL-safe as they are (queue message ids are GUIDs, occurrence ids letters and digits)."""
    status = await client.get_status(instance_id)
    existing = status.runtime_status.name if status and status.runtime_status else None
    if existing is not None and existing not in RESTARTABLE:
        return StartResult(StartOutcome.ALREADY_STARTED, instance_id, existing)
    try:
        await client.start_new(name, instance_id, orchestration_input)
    except Exception as error:  # the SDK raises plain Exceptions for every refusal
        if not _already_exists(error):
            raise
        return StartResult(StartOutcome.ALREADY_STARTED, instance_id, "active")
    return StartResult(StartOutcome.STARTED, instance_id, existing)


def _already_exists(error: Exception) -> bool:
    """The runtime's refusal to start an id that is still active (the extension answers 500 with
    this message, the local host 409; the SDK raises both as a plain Exception), as the HTTP
    starter reads it."""
    return "already exists" in str(error)


# ---- the functions ------------------------------------------------------------------------


async def scheduled_backup(timer: func.TimerRequest, client) -> None:
    """Start this occurrence's backup of ``BACKUP_ROOT``, once."""
    occurrence = occurrence_of(timer, datetime.now(UTC))
    instance_id = scheduled_backup_id(occurrence)
    if timer.past_due:
        log.warning("scheduled backup: occurrence %s is past due (missed while the app was "
                    "stopped or busy); running it now as %s", occurrence.isoformat(), instance_id)
    root = allowed_base()
    if not root.is_dir():
        log.error("scheduled backup %s not started: BACKUP_ROOT %s is not a directory",
                  instance_id, root)
        raise BackupConfigError(f"BACKUP_ROOT {str(root)!r} is not a directory; the scheduled "
                                f"backup {instance_id} was not started")
    result = await start_once(client, BACKUP_SITE_CONTENT, instance_id, {})
    if result.outcome is StartOutcome.STARTED:
        log.info("scheduled backup: started %s instance %s for occurrence %s, root %s%s",
                 BACKUP_SITE_CONTENT, instance_id, occurrence.isoformat(), root,
                 f" (replacing a {result.existing_status} one)" if result.existing_status
                 else "")
    else:
        log.info("scheduled backup: occurrence %s already has instance %s (%s); not started "
                 "again", occurrence.isoformat(), instance_id, result.existing_status)


async def booking_request(message: func.QueueMessage, client) -> None:
    """Start ``book_trip`` for one ``booking-requests`` message, once per message id."""
    try:
        trip = parse_booking_message(message)
    except BookingRequestRejected as rejected:
        log.error("booking request %s rejected (delivery %s): %s. The host retries it and "
                  "moves it to %s after maxDequeueCount deliveries", rejected.message_id,
                  message.dequeue_count, rejected.reason, BOOKING_POISON_QUEUE)
        raise
    result = await start_once(client, BOOK_TRIP, message.id, trip)
    if result.outcome is StartOutcome.STARTED:
        log.info("booking request %s: started %s for %s to %s (delivery %s)", message.id,
                 BOOK_TRIP, trip["traveler"], trip["conference"], message.dequeue_count)
    else:
        log.info("booking request %s: %s instance already exists (%s); not booked again "
                 "(delivery %s)", message.id, BOOK_TRIP, result.existing_status,
                 message.dequeue_count)


def register(blueprint: df.Blueprint, settings: Mapping[str, str]) -> None:
    """Add the booking starter and, when ``BACKUP_SCHEDULE`` is set, the scheduled backup."""
    blueprint.queue_trigger(arg_name="message", queue_name=BOOKING_QUEUE,
                            connection=BOOKING_QUEUE_CONNECTION)(
        blueprint.durable_client_input(client_name="client")(booking_request))
    if backup_schedule(settings):
        blueprint.timer_trigger(arg_name="timer", schedule=f"%{BACKUP_SCHEDULE_SETTING}%",
                                run_on_startup=False, use_monitor=True)(
            blueprint.durable_client_input(client_name="client")(scheduled_backup))


# The durable Blueprint: only it provides the durable client binding. Indexed once, at import,
# with the app settings of the process (the platform restarts the app when a setting changes).
bp = df.Blueprint()
register(bp, os.environ)
