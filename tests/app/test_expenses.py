"""The expense report's totals."""

import pytest

from activities.expenses import summarize_expenses


def _trip(traveler, outcome, *costs):
    kinds = ["ticket", "flight", "hotel"]
    return {"outcome": outcome, "traveler": traveler, "conference": "PyCon",
            "bookings": [{"kind": kinds[i], "cost": c, "currency": "EUR"}
                         for i, c in enumerate(costs)] if outcome == "booked" else [],
            "failure": None if outcome == "booked" else {"error": "SoldOutError: full"}}


def test_totals_by_traveler_and_kind_add_up_exactly():
    report = summarize_expenses([_trip("Ada", "booked", 0.1, 0.2, 100),
                                 _trip("Bob", "booked", 0.7, 10, 5.55)])
    assert report["total_cost"] == 116.55  # 0.1 + 0.2 would be 0.30000000000000004 in floats
    assert report["by_traveler"] == {"Ada": 100.3, "Bob": 16.25}
    assert report["by_kind"] == {"flight": 10.2, "hotel": 105.55, "ticket": 0.8}
    assert report["booked"] == 2 and report["not_booked"] == []


def test_trips_not_booked_cost_nothing_and_are_listed_with_their_reason():
    report = summarize_expenses([_trip("Ada", "booked", 1, 2, 3), _trip("Bob", "failed"),
                                 {"outcome": "error", "traveler": "Cy", "conference": "X",
                                  "bookings": [], "error": "Orchestrator function failed"}])
    assert report["total_cost"] == 6.0 and report["trips"] == 3 and report["booked"] == 1
    assert [(t["index"], t["traveler"], t["outcome"], t["reason"]) for t in report["not_booked"]] \
        == [(1, "Bob", "failed", "SoldOutError: full"),
            (2, "Cy", "error", "Orchestrator function failed")]


def test_no_trips_booked_gives_zero_and_no_currency():
    report = summarize_expenses([_trip("Bob", "rejected")])
    assert report["total_cost"] == 0 and report["currency"] is None


def test_mixed_currencies_are_refused():
    trips = [_trip("Ada", "booked", 1), _trip("Bob", "booked", 1)]
    trips[1]["bookings"][0]["currency"] = "USD"
    with pytest.raises(ValueError, match="currencies"):
        summarize_expenses(trips)
