"""The booking scenario's pure decisions: input rules, fallback choice, approval reading."""

import json

import pytest

from activities import providers
from orchestrators import booking_rules as rules
from orchestrators.inputs import InputError
from orchestrators.patterns import StepFailed

TRIP = {"traveler": "Ada", "conference": "PyCon", "origin": "Paris", "destination": "Berlin",
        "departure_date": "2026-05-10", "return_date": "2026-05-13"}


def _failure(type_name, permanent):
    error = Exception(f"Activity function 'book_flight' failed:  {type_name}: nope \n {{}}")
    return StepFailed("book_flight", 1 if permanent else 3, error, permanent=permanent)


def test_a_minimal_trip_is_normalized_with_defaults():
    trip = rules.parse_trip_request(TRIP)
    assert trip["approval"] == {"required": False, "timeout_s": rules.DEFAULT_APPROVAL_TIMEOUT_S}
    assert trip["simulate"] == {}
    assert rules.parse_trip_request(trip) == trip  # idempotent: the orchestrator parses again


@pytest.mark.parametrize("change, field", [
    ({"traveler": ""}, "traveler"),
    ({"origin": 7}, "origin"),
    ({"destination": "paris"}, "destination"),
    ({"departure_date": "10/05/2026"}, "departure_date"),
    ({"return_date": "2026-05-01"}, "return_date"),
    ({"approval": {"required": "yes"}}, "approval.required"),
    ({"approval": {"required": True, "timeout_s": -5}}, "approval.timeout_s"),
    ({"approval": {"required": True, "timeout_s": 10 * 86400}}, "approval.timeout_s"),
    ({"simulate": {"flight": {"fail_times": -1}}}, "simulate.flight.fail_times"),
    ({"simulate": {"hotel": {"no_route": True}}}, "simulate.hotel.no_route"),
    ({"simulate": {"boat": {}}}, "simulate.boat"),
    ({"budget": 100}, "budget"),
])
def test_bad_trip_fields_are_named(change, field):
    with pytest.raises(InputError) as caught:
        rules.parse_trip_request({**TRIP, **change})
    assert caught.value.field == field


def test_trips_need_a_non_empty_list_and_errors_carry_the_index():
    with pytest.raises(InputError, match="trips"):
        rules.parse_trips_request({"trips": []})
    with pytest.raises(InputError) as caught:
        rules.parse_trips_request({"trips": [TRIP, {**TRIP, "origin": ""}]})
    assert caught.value.field == "trips[1].origin"


def test_fallback_to_train_on_no_route_or_exhausted_retries_only():
    assert rules.fallback_reason(_failure("NoRouteError", permanent=True)) == "no_route"
    assert rules.fallback_reason(_failure("TransientProviderError", False)) == "retries_exhausted"
    assert rules.fallback_reason(_failure("SoldOutError", permanent=True)) is None


def test_the_flight_policy_gives_up_after_three_attempts_and_never_retries_no_route():
    assert rules.FLIGHT_POLICY.max_attempts == 3
    assert rules.NO_ROUTE in rules.FLIGHT_POLICY.permanent_errors


def test_permanent_error_names_match_the_provider_exception_classes():
    assert providers.NoRouteError.__name__ == rules.NO_ROUTE
    assert providers.SoldOutError.__name__ == rules.SOLD_OUT


@pytest.mark.parametrize("data, approved", [
    ({"approved": True}, True),
    ({"approved": False}, False),
    (json.dumps({"approved": True}), True),   # as sent by the Python client
    (json.dumps({"approved": False}), False),
    ("not json", False),
    ({"approved": "yes"}, False),
    (None, False),
    ("null", False),
])
def test_approval_accepts_objects_and_json_text_and_rejects_anything_unclear(data, approved):
    assert rules.parse_approval(data).approved is approved


def test_compensation_runs_newest_first():
    held = [{"kind": "ticket"}, {"kind": "train"}, {"kind": "hotel"}]
    assert [b["kind"] for b in rules.compensation_order(held)] == ["hotel", "train", "ticket"]
    assert [b["kind"] for b in held] == ["ticket", "train", "hotel"]  # input untouched


def test_outcome_counts_only_what_stays_booked():
    trip = rules.parse_trip_request(TRIP)
    held = [{"kind": "ticket", "cost": 500.5, "currency": "EUR"},
            {"kind": "hotel", "cost": 270.25, "currency": "EUR"}]
    booked = rules.trip_outcome(trip, rules.BOOKED, held)
    assert booked["total_cost"] == 770.75 and booked["bookings"] == held
    failed = rules.trip_outcome(trip, rules.FAILED, held, compensated=list(reversed(held)))
    assert failed["total_cost"] == 0 and failed["bookings"] == []
    assert failed["compensated"] == list(reversed(held))
