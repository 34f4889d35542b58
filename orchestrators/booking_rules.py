"""The booking scenario's decisions, as plain functions: input rules, retry policies, when to fall
back to a train, how to read an approval, what the outcome looks like. No SDK, no I/O: the
orchestrators in ``orchestrators/booking.py`` only sequence these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from activities import names
from orchestrators.inputs import (
    InputError,
    flag,
    integer,
    number,
    reject_unknown,
    require_object,
    text,
)
from orchestrators.patterns import BackoffPolicy, StepFailed

# Exception type names raised by booking providers (see activities/providers.py) for failures
# that retrying cannot fix. Activity errors cross the wire as text, so the name is the contract.
NO_ROUTE = "NoRouteError"
SOLD_OUT = "SoldOutError"

TICKET, FLIGHT, TRAIN, HOTEL = "ticket", "flight", "train", "hotel"
CANCEL = "cancel"
APPROVAL = "approval"
STEP_ACTIVITIES = {
    TICKET: names.BOOK_TICKET,
    FLIGHT: names.BOOK_FLIGHT,
    TRAIN: names.BOOK_TRAIN,
    HOTEL: names.BOOK_HOTEL,
}

# Outcomes of one trip (the ``outcome`` field of book_trip's output).
BOOKED = "booked"
FAILED = "failed"
REJECTED = "rejected"
APPROVAL_TIMED_OUT = "approval_timed_out"

# Flights: 3 attempts, then the train (the rule). A missing route is final at once.
FLIGHT_POLICY = BackoffPolicy(
    first_interval=timedelta(seconds=5),
    coefficient=2.0,
    max_interval=timedelta(minutes=1),
    max_attempts=3,
    permanent_errors=(NO_ROUTE, SOLD_OUT),
)
# Other bookings: more patience, since there is no alternative to fall back to.
BOOKING_POLICY = BackoffPolicy(
    first_interval=timedelta(seconds=5),
    coefficient=2.0,
    max_interval=timedelta(minutes=2),
    max_attempts=5,
    permanent_errors=(NO_ROUTE, SOLD_OUT),
)
# Cancellations must eventually happen: many attempts, long waits allowed.
CANCEL_POLICY = BackoffPolicy(
    first_interval=timedelta(seconds=10),
    coefficient=2.0,
    max_interval=timedelta(minutes=10),
    max_attempts=8,
)
STEP_POLICIES = {TICKET: BOOKING_POLICY, FLIGHT: FLIGHT_POLICY, TRAIN: BOOKING_POLICY,
                 HOTEL: BOOKING_POLICY}

DEFAULT_APPROVAL_TIMEOUT_S = 24 * 3600
# Above 6 days the SDK splits a timer into a chain that cannot be cancelled; 5 days keeps the
# approval timer a single, cancellable durable timer.
MAX_APPROVAL_TIMEOUT_S = 5 * 24 * 3600
MAX_TRIPS = 50
MAX_SIMULATED_FAILURES = 20
_SIMULATE_KEYS = {
    TICKET: {"fail_times", "sold_out"},
    FLIGHT: {"fail_times", "no_route", "sold_out"},
    TRAIN: {"fail_times", "no_route", "sold_out"},
    HOTEL: {"fail_times", "sold_out"},
    CANCEL: {"fail_times"},
}
_TRIP_FIELDS = {"traveler", "conference", "origin", "destination", "departure_date",
                "return_date", "approval", "simulate"}


def parse_trip_request(raw: Any, prefix: str = "") -> dict[str, Any]:
    """Validate a trip request and return it normalized (approval and simulate filled in).

    Fields: ``traveler``, ``conference``, ``origin``, ``destination`` (strings), and
    ``departure_date`` <= ``return_date`` (ISO dates); optional ``approval``
    (``{"required": bool, "timeout_s": number}``) and ``simulate`` (per step:
    ``fail_times``, ``no_route``, ``sold_out``; see ``activities/providers.py``).
    Raises :class:`InputError` naming the first bad field.
    """
    data = require_object(raw, prefix.rstrip("."))
    reject_unknown(data, _TRIP_FIELDS, prefix)
    trip = {key: text(data, key, prefix) for key in ("traveler", "conference", "origin",
                                                     "destination")}
    if trip["origin"].casefold() == trip["destination"].casefold():
        raise InputError(prefix + "destination", "must differ from origin")
    departure = _iso_date(data, "departure_date", prefix)
    returning = _iso_date(data, "return_date", prefix)
    if returning < departure:
        raise InputError(prefix + "return_date", "must not be before departure_date")
    trip["departure_date"] = departure.isoformat()
    trip["return_date"] = returning.isoformat()

    approval = require_object(data.get("approval", {}), prefix + "approval")
    reject_unknown(approval, {"required", "timeout_s"}, prefix + "approval.")
    trip["approval"] = {
        "required": flag(approval, "required", False, prefix + "approval."),
        "timeout_s": number(approval, "timeout_s", DEFAULT_APPROVAL_TIMEOUT_S, 1,
                            MAX_APPROVAL_TIMEOUT_S, prefix + "approval."),
    }

    simulate = require_object(data.get("simulate", {}), prefix + "simulate")
    reject_unknown(simulate, set(_SIMULATE_KEYS), prefix + "simulate.")
    trip["simulate"] = {}
    for step, script in simulate.items():
        where = f"{prefix}simulate.{step}."
        script = require_object(script, where.rstrip("."))
        reject_unknown(script, _SIMULATE_KEYS[step], where)
        checked: dict[str, Any] = {}
        if "fail_times" in script:
            checked["fail_times"] = integer(script, "fail_times", 0, 0, MAX_SIMULATED_FAILURES,
                                            where)
        for key in ("no_route", "sold_out"):
            if key in script:
                checked[key] = flag(script, key, False, where)
        trip["simulate"][step] = checked
    return trip


def parse_trips_request(raw: Any) -> dict[str, Any]:
    """Validate ``{"trips": [trip, ...]}`` (1 to 50 trip requests) for ``book_trips``."""
    data = require_object(raw)
    reject_unknown(data, {"trips"})
    trips = data.get("trips")
    if not isinstance(trips, list) or not trips:
        raise InputError("trips", "is required and must be a non-empty list of trip requests")
    if len(trips) > MAX_TRIPS:
        raise InputError("trips", f"must hold at most {MAX_TRIPS} trips")
    return {"trips": [parse_trip_request(trip, f"trips[{i}].") for i, trip in enumerate(trips)]}


def _iso_date(data: dict[str, Any], key: str, prefix: str) -> date:
    value = data.get(key)
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InputError(prefix + key, "is required and must be an ISO date (YYYY-MM-DD)") from None


def fallback_reason(failure: StepFailed) -> str | None:
    """Why the flight should give way to a train, or None when the trip should fail instead.

    "no_route" when the provider says there is no flight route (known at once, no retries);
    "retries_exhausted" when every attempt failed with a transient error. Any other permanent
    error (e.g. sold out) is not something a train fixes by rule: the trip fails.
    """
    if failure.permanent:
        return "no_route" if failure.error_type == NO_ROUTE else None
    return "retries_exhausted"


@dataclass(frozen=True)
class ApprovalDecision:
    """What the approver said: ``approved`` and a short ``reason`` for the output."""

    approved: bool
    reason: str


def parse_approval(data: Any) -> ApprovalDecision:
    """Read the ``approval`` event's data: ``{"approved": true|false}``.

    The data arrives as a dict when the event was raised over HTTP with a JSON object body, and
    as the JSON *text* of the object when raised from the Python client (which encodes twice).
    Anything else rejects: an approval must be explicit.
    """
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return ApprovalDecision(False, "approval event data is not valid JSON")
    if not isinstance(data, dict) or not isinstance(data.get("approved"), bool):
        return ApprovalDecision(False, 'approval event data must be {"approved": true|false}')
    if data["approved"]:
        return ApprovalDecision(True, "approved")
    return ApprovalDecision(False, "rejected by approver")


def compensation_order(held: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bookings to cancel, newest first: undo in the reverse order of doing."""
    return list(reversed(held))


def failure_record(step: str, error: str, *, activity: str | None = None,
                   attempts: int | None = None, permanent: bool | None = None) -> dict[str, Any]:
    """The ``failure`` field of an outcome: which step failed, why, and after how many attempts
    (``activity``, ``attempts`` and ``permanent`` are None for the approval step)."""
    return {"step": step, "activity": activity, "error": error, "attempts": attempts,
            "permanent": permanent}


def trip_outcome(
    trip: dict[str, Any],
    outcome: str,
    held: list[dict[str, Any]],
    *,
    fallback: dict[str, Any] | None = None,
    failure: dict[str, Any] | None = None,
    compensated: list[dict[str, Any]] | None = None,
    compensation_failures: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """book_trip's output. ``bookings`` and ``total_cost`` count only what is still booked."""
    bookings = held if outcome == BOOKED else []
    return {
        "outcome": outcome,
        "traveler": trip["traveler"],
        "conference": trip["conference"],
        "bookings": bookings,
        "total_cost": round(sum(b["cost"] for b in bookings), 2),
        "currency": bookings[0]["currency"] if bookings else None,
        "fallback": fallback,
        "failure": failure,
        "compensated": compensated or [],
        "compensation_failures": compensation_failures or [],
    }
