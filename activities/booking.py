"""Booking activities: each books or cancels one thing through the configured provider.

Input (from ``orchestrators/booking.py``): ``{"trip": <normalized trip request>, "key": <stable
idempotency key>, "attempt": <1-based>}``; cancellation adds ``"booking"``. Failures raise (see
``activities/providers.py`` for which types mean "retry" and which mean "give up"). These are
plain ``def`` functions on purpose: the REST provider uses blocking ``requests``, and sync
activities run on the worker's thread pool instead of blocking the event loop.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df

from activities import names
from activities.expenses import summarize_expenses
from activities.providers import BookingRequest, provider_from_settings

# The durable Blueprint (not azure.functions.Blueprint): only it knows activity triggers.
bp = df.Blueprint()
log = logging.getLogger(__name__)


def _request(kind: str, payload: dict[str, Any]) -> BookingRequest:
    trip = payload["trip"]
    return BookingRequest(kind=kind, trip=trip, key=payload["key"],
                          attempt=int(payload.get("attempt", 1)),
                          script=trip.get("simulate", {}).get(kind, {}))


def _book(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    request = _request(kind, payload)
    log.info("booking %s for %s (attempt %d)", kind, request.trip["traveler"], request.attempt)
    return provider_from_settings().book(request)


@bp.activity_trigger(input_name="payload", activity=names.BOOK_TICKET)
def book_conference_ticket(payload: dict) -> dict:
    """Book the conference pass. Returns the booking (kind, reference, cost, currency)."""
    return _book("ticket", payload)


@bp.activity_trigger(input_name="payload", activity=names.BOOK_FLIGHT)
def book_flight(payload: dict) -> dict:
    """Book a return flight; raises NoRouteError when no airline serves the route."""
    return _book("flight", payload)


@bp.activity_trigger(input_name="payload", activity=names.BOOK_TRAIN)
def book_train(payload: dict) -> dict:
    """Book a return train journey (the flight's fallback)."""
    return _book("train", payload)


@bp.activity_trigger(input_name="payload", activity=names.BOOK_HOTEL)
def book_hotel(payload: dict) -> dict:
    """Book the hotel for every night between departure and return; SoldOutError if full."""
    return _book("hotel", payload)


@bp.activity_trigger(input_name="payload", activity=names.CANCEL_BOOKING)
def cancel_booking(payload: dict) -> dict:
    """Cancel one booking (compensation). Returns the cancelled booking's kind and reference.

    The simulator's ``simulate.cancel`` script applies, so failing compensations are testable.
    """
    booking, trip = payload["booking"], payload["trip"]
    request = BookingRequest(kind=booking["kind"], trip=trip, key=payload["key"],
                             attempt=int(payload.get("attempt", 1)),
                             script=trip.get("simulate", {}).get("cancel", {}))
    log.info("cancelling %s %s (attempt %d)", booking["kind"], booking["reference"],
             request.attempt)
    provider_from_settings().cancel(request, booking["reference"])
    return {"kind": booking["kind"], "reference": booking["reference"]}


@bp.activity_trigger(input_name="payload", activity=names.REPORT_EXPENSES)
def report_expenses(payload: dict) -> dict:
    """Fan-in of ``book_trips``: total the booked costs and list the trips that were not booked.

    Input ``{"trips": [<book_trip output>, ...]}``; output: see ``summarize_expenses``.
    """
    report = summarize_expenses(payload["trips"])
    log.info("expense report: %d trip(s), total %s %s", report["trips"], report["total_cost"],
             report["currency"])
    return report
