"""The expense report of ``book_trips``: a pure fold over the trips' outcomes (see
``orchestrators.booking_rules.trip_outcome`` for their shape)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any


def summarize_expenses(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """Total what was booked, by traveler and by kind, and list the trips that were not booked.

    Only trips whose ``outcome`` is ``booked`` cost anything: failed, rejected or timed-out trips
    were compensated. Sums use Decimal so cents add up exactly; amounts are returned as numbers
    rounded to cents. All bookings are expected in one currency; a mix raises ValueError rather
    than adding euros to dollars.
    """
    total = Decimal(0)
    by_traveler: dict[str, Decimal] = defaultdict(Decimal)
    by_kind: dict[str, Decimal] = defaultdict(Decimal)
    currencies: set[str] = set()
    not_booked = []
    for index, trip in enumerate(outcomes):
        if trip.get("outcome") != "booked":
            failure = trip.get("failure") or {}
            not_booked.append({
                "index": index,
                "traveler": trip.get("traveler"),
                "conference": trip.get("conference"),
                "outcome": trip.get("outcome", "error"),
                "reason": failure.get("error") or trip.get("error"),
            })
            continue
        for booking in trip["bookings"]:
            amount = Decimal(str(booking["cost"]))
            currencies.add(booking["currency"])
            total += amount
            by_traveler[trip["traveler"]] += amount
            by_kind[booking["kind"]] += amount
    if len(currencies) > 1:
        raise ValueError(f"bookings in several currencies: {sorted(currencies)}")

    def money(value: Decimal) -> float:
        return float(value.quantize(Decimal("0.01")))

    return {
        "trips": len(outcomes),
        "booked": len(outcomes) - len(not_booked),
        "not_booked": not_booked,
        "total_cost": money(total),
        "currency": currencies.pop() if currencies else None,
        "by_traveler": {name: money(v) for name, v in sorted(by_traveler.items())},
        "by_kind": {kind: money(v) for kind, v in sorted(by_kind.items())},
    }
