"""Conference trip booking: a saga with retries, a fallback, compensation and an approval gate.

``book_trip`` books the conference ticket, the flight (or a train when the flight cannot be had)
and the hotel, one after the other. A step that fails for good undoes the steps already done, in
reverse order. With ``approval.required`` the bookings are held until an ``approval`` event says
yes, and undone on "no" or after ``approval.timeout_s``. ``book_trips`` runs several trips as
sub-orchestrations and reports the expenses.

Control flow only: the decisions live in ``booking_rules``, the I/O in ``activities/booking.py``.
Custom status shows the current step, e.g. ``booking flight, attempt 2`` or ``awaiting approval``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from activities import names
from orchestrators import booking_rules as rules
from orchestrators.names import BOOK_TRIP, BOOK_TRIPS
from orchestrators.patterns import StepFailed, all_settled, call_with_backoff, error_message

APPROVAL_EVENT = "approval"

# The durable Blueprint (not azure.functions.Blueprint): only it knows orchestration triggers.
bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context", orchestration=BOOK_TRIP)
def book_trip(context: df.DurableOrchestrationContext):
    """Book one trip; returns ``booking_rules.trip_outcome`` (see docs/app.md for the shape)."""
    trip = rules.parse_trip_request(context.get_input())
    held: list[dict[str, Any]] = []
    fallback = None
    try:
        held.append((yield from _book(context, trip, rules.TICKET)))
        try:
            held.append((yield from _book(context, trip, rules.FLIGHT)))
        except StepFailed as failure:
            reason = rules.fallback_reason(failure)
            if reason is None:
                raise
            fallback = {"from": rules.FLIGHT, "to": rules.TRAIN, "reason": reason,
                        "error": failure.reason}
            held.append((yield from _book(context, trip, rules.TRAIN)))
        held.append((yield from _book(context, trip, rules.HOTEL)))
    except StepFailed as failure:
        failed = rules.failure_record(failure.step, failure.reason, activity=failure.activity,
                                      attempts=failure.attempts, permanent=failure.permanent)
        return (yield from _undo(context, trip, held, rules.FAILED, fallback, failed))

    if trip["approval"]["required"]:
        timeout_s = trip["approval"]["timeout_s"]
        decision = yield from _await_approval(context, timeout_s)
        if decision is None:
            failed = rules.failure_record(rules.APPROVAL, f"no approval within {timeout_s:g} s")
            return (yield from _undo(context, trip, held, rules.APPROVAL_TIMED_OUT, fallback,
                                     failed))
        if not decision.approved:
            failed = rules.failure_record(rules.APPROVAL, decision.reason)
            return (yield from _undo(context, trip, held, rules.REJECTED, fallback, failed))

    context.set_custom_status(rules.BOOKED)
    return rules.trip_outcome(trip, rules.BOOKED, held, fallback=fallback)


def _book(context: df.DurableOrchestrationContext, trip: dict[str, Any], step: str):
    """One booking step with backoff; StepFailed carries ``step`` for the output."""
    payload = {"trip": trip, "key": f"{context.instance_id}:{step}"}
    try:
        return (yield from call_with_backoff(
            context, rules.STEP_ACTIVITIES[step], payload, rules.STEP_POLICIES[step],
            on_attempt=lambda n: context.set_custom_status(f"booking {step}, attempt {n}")))
    except StepFailed as failure:
        failure.step = step
        raise


def _await_approval(context: df.DurableOrchestrationContext, timeout_s: float):
    """Wait for the approval event or the deadline, whichever comes first.

    Returns the decision, or None on timeout. The losing timer is cancelled: an uncancelled
    timer keeps the instance Running until it fires.
    """
    context.set_custom_status("awaiting approval")
    deadline = context.current_utc_datetime + timedelta(seconds=timeout_s)
    event = context.wait_for_external_event(APPROVAL_EVENT)
    timeout = context.create_timer(deadline)
    winner = yield context.task_any([event, timeout])
    if winner is timeout:
        return None
    timeout.cancel()
    return rules.parse_approval(event.result)


def _undo(context, trip, held, outcome, fallback, failure):
    """Compensate: cancel the held bookings newest first, then build the outcome.

    A cancellation that fails for good is recorded (``compensation_failures``) and the others
    still run: one stuck refund must not leave the rest booked.
    """
    compensated, stuck = [], []
    for booking in rules.compensation_order(held):
        kind = booking["kind"]
        payload = {"trip": trip, "key": f"{context.instance_id}:cancel:{kind}",
                   "booking": {"kind": kind, "reference": booking["reference"]}}
        try:
            yield from call_with_backoff(
                context, names.CANCEL_BOOKING, payload, rules.CANCEL_POLICY,
                on_attempt=lambda n, kind=kind: context.set_custom_status(
                    f"cancelling {kind}, attempt {n}"))
            compensated.append(booking)
        except StepFailed as error:
            stuck.append({**booking, "error": error.reason})
    context.set_custom_status(f"{outcome}, compensated {len(compensated)} of {len(held)}")
    return rules.trip_outcome(trip, outcome, held, fallback=fallback, failure=failure,
                              compensated=compensated, compensation_failures=stuck)


@bp.orchestration_trigger(context_name="context", orchestration=BOOK_TRIPS)
def book_trips(context: df.DurableOrchestrationContext):
    """Book several trips in parallel (one ``book_trip`` sub-orchestration each), then report.

    Input ``{"trips": [trip, ...]}``. Output ``{"trips": [<book_trip output>, ...], "report":
    <report_expenses output>}``; a trip whose sub-orchestration itself failed appears with
    ``outcome: "error"``. The report is made even when some trips were not booked.
    """
    trips = rules.parse_trips_request(context.get_input())["trips"]
    context.set_custom_status(f"booking {len(trips)} trip(s)")
    children = [
        context.call_sub_orchestrator(BOOK_TRIP, trip, f"{context.instance_id}:trip-{i}")
        for i, trip in enumerate(trips)
    ]
    outcomes = []
    for trip, settled in zip(trips, (yield from all_settled(context, children)), strict=True):
        if settled.ok:
            outcomes.append(settled.value)
        else:
            outcomes.append({"outcome": "error", "traveler": trip["traveler"],
                             "conference": trip["conference"], "bookings": [],
                             "error": error_message(settled.error)})
    context.set_custom_status("reporting expenses")
    report = yield context.call_activity(names.REPORT_EXPENSES, {"trips": outcomes})
    context.set_custom_status("done")
    return {"trips": outcomes, "report": report}
