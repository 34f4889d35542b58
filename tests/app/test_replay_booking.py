"""book_trip replayed against built histories (no host): the actions it emits at each step."""

from datetime import timedelta

from activities import names

TRIP = {"traveler": "Ada", "conference": "PyCon", "origin": "Paris", "destination": "Berlin",
        "departure_date": "2026-05-10", "return_date": "2026-05-12"}
TICKET = {"kind": "ticket", "reference": "TK-1", "cost": 500.0, "currency": "EUR",
          "description": ""}
FLIGHT = {**TICKET, "kind": "flight", "reference": "FL-1", "cost": 200.0}
FLAKY = "TransientProviderError: timeout"


def _until_flight(history):
    """Ticket booked, first flight attempt scheduled."""
    return (history.scheduled(0, names.BOOK_TICKET).episode(timedelta(seconds=1))
            .completed(0, TICKET).scheduled(1, names.BOOK_FLIGHT))


def test_first_episode_books_the_ticket_with_attempt_one(replay, make_history):
    state = replay("book_trip", make_history(TRIP))
    [action] = state["actions"]
    assert action["functionName"] == names.BOOK_TICKET
    assert '"attempt": 1' in action["input"] and '"key": "trip-1:ticket"' in action["input"]
    assert state["custom_status"] == "booking ticket, attempt 1" and not state["done"]


def test_a_failed_flight_waits_on_a_durable_timer_with_growing_delays(replay, make_history):
    history = _until_flight(make_history(TRIP)).episode(timedelta(seconds=1))
    history.failed(1, names.BOOK_FLIGHT, FLAKY)
    state = replay("book_trip", history)
    timer = state["actions"][-1]
    assert timer["actionType"] == 5  # CreateTimer
    assert timer["fireAt"].startswith("2026-01-05T09:00:07")  # failure time + 5 s

    first_fire = history.now + timedelta(seconds=5)
    history.timer_created(2, first_fire).episode(timedelta(seconds=5))
    history.timer_fired(2, first_fire).scheduled(3, names.BOOK_FLIGHT)
    history.episode(timedelta(seconds=1)).failed(3, names.BOOK_FLIGHT, FLAKY)
    state = replay("book_trip", history)
    assert state["actions"][-1]["fireAt"].startswith("2026-01-05T09:00:18")  # failure at :08 + 10 s
    assert state["custom_status"] == "booking flight, attempt 2"


def test_no_route_falls_back_to_the_train_at_once(replay, make_history):
    history = _until_flight(make_history(TRIP)).episode(timedelta(seconds=1))
    history.failed(1, names.BOOK_FLIGHT, "NoRouteError: no flight route from Paris to Berlin")
    state = replay("book_trip", history)
    assert state["actions"][-1]["functionName"] == names.BOOK_TRAIN
    assert '"attempt": 1' in state["actions"][-1]["input"]


def test_a_sold_out_hotel_cancels_flight_then_ticket(replay, make_history):
    history = _until_flight(make_history(TRIP)).episode(timedelta(seconds=1))
    history.completed(1, FLIGHT).scheduled(2, names.BOOK_HOTEL).episode(timedelta(seconds=1))
    history.failed(2, names.BOOK_HOTEL, "SoldOutError: hotel sold out")
    state = replay("book_trip", history)
    assert state["actions"][-1]["functionName"] == names.CANCEL_BOOKING
    assert '"reference": "FL-1"' in state["actions"][-1]["input"]

    history.scheduled(3, names.CANCEL_BOOKING).episode(timedelta(seconds=1))
    history.completed(3, {"kind": "flight", "reference": "FL-1"})
    state = replay("book_trip", history)
    assert '"reference": "TK-1"' in state["actions"][-1]["input"]

    history.scheduled(4, names.CANCEL_BOOKING).episode(timedelta(seconds=1))
    history.completed(4, {"kind": "ticket", "reference": "TK-1"})
    state = replay("book_trip", history)
    assert state["done"]
    output = state["output"]
    assert output["outcome"] == "failed" and output["bookings"] == []
    assert output["failure"]["step"] == "hotel" and output["failure"]["permanent"] is True
    assert [b["reference"] for b in output["compensated"]] == ["FL-1", "TK-1"]


def test_book_trips_reports_even_when_a_child_orchestration_itself_failed(replay, make_history):
    trips = {"trips": [TRIP, {**TRIP, "traveler": "Bob"}]}
    history = make_history(trips, "book_trips")
    state = replay("book_trips", history)
    assert [(a["actionType"], a["instanceId"]) for a in state["actions"]] == [
        (2, "trip-1:trip-0"), (2, "trip-1:trip-1")]

    history.sub_created(0, "book_trip", "trip-1:trip-0")
    history.sub_created(1, "book_trip", "trip-1:trip-1").episode(timedelta(seconds=2))
    history.sub_failed(1, "book_trip", "KeyError: 'boom'")
    assert replay("book_trips", history)["actions"][-1]["actionType"] == 2  # still waiting

    booked = {"outcome": "booked", "traveler": "Ada", "conference": "PyCon",
              "bookings": [TICKET], "total_cost": 500.0}
    history.episode(timedelta(seconds=1)).sub_completed(0, booked)
    state = replay("book_trips", history)
    report_call = state["actions"][-1]
    assert report_call["functionName"] == names.REPORT_EXPENSES
    assert '"outcome": "error"' in report_call["input"]
    assert '"error": "KeyError: \'boom\'"' in report_call["input"]
    assert state["custom_status"] == "reporting expenses"
