"""Trip booking end to end on the local host: retries, fallback, compensation, approval, fan-in.

Time skipping makes backoff waits and approval timeouts instant; tests that must observe a wait
(custom status during a retry, approval by event) hold the clock.
"""

import json

from activities import names

TRIP = {"traveler": "Ada", "conference": "PyCon DE", "origin": "Paris", "destination": "Berlin",
        "departure_date": "2026-04-20", "return_date": "2026-04-23"}




def trip(**extra):
    return {**TRIP, **extra}


def call_input(event):
    """The activity input of a TaskCompleted/TaskFailed history event (stored as ``["<json>"]``)."""
    return json.loads(json.loads(event["Input"])[0])


def book(host, request):
    status = host.wait(host.start("book_trip", request), timeout=30)
    assert status["runtimeStatus"] == "Completed", status
    return status


def test_transient_flight_failures_are_retried_with_growing_waits(host):
    status = book(host, trip(simulate={"flight": {"fail_times": 2}}))
    output = status["output"]
    assert output["outcome"] == "booked" and output["fallback"] is None
    assert [b["kind"] for b in output["bookings"]] == ["ticket", "flight", "hotel"]
    assert output["total_cost"] == round(sum(b["cost"] for b in output["bookings"]), 2)
    assert status["customStatus"] == "booked"

    history = host.history(status["instanceId"])
    attempts = [call_input(e)["attempt"] for e in history
                if e.get("FunctionName") == names.BOOK_FLIGHT]
    assert attempts == [1, 2, 3]
    timers = [e["FireAt"] for e in history if e["EventType"] == "TimerCreated"]
    assert len(timers) == 2  # one wait after each failure


def test_custom_status_shows_the_attempt_in_progress(host):
    with host.clock_held():
        instance_id = host.start("book_trip", trip(simulate={"flight": {"fail_times": 2}}))
        host.wait_until(instance_id, lambda s: s["customStatus"] == "booking flight, attempt 1")
        host.advance(5)  # the first backoff
        host.wait_until(instance_id, lambda s: s["customStatus"] == "booking flight, attempt 2")
        assert host.status(instance_id)["runtimeStatus"] == "Running"
    assert host.wait(instance_id)["output"]["outcome"] == "booked"


def test_three_failed_flights_fall_back_to_the_train(host):
    output = book(host, trip(simulate={"flight": {"fail_times": 3}}))["output"]
    assert output["outcome"] == "booked"
    assert [b["kind"] for b in output["bookings"]] == ["ticket", "train", "hotel"]
    assert output["fallback"]["reason"] == "retries_exhausted"


def test_no_route_falls_back_to_the_train_without_retrying(host):
    status = book(host, trip(simulate={"flight": {"no_route": True}, "train": {"fail_times": 1}}))
    output = status["output"]
    assert [b["kind"] for b in output["bookings"]] == ["ticket", "train", "hotel"]
    assert output["fallback"] == {"from": "flight", "to": "train", "reason": "no_route",
                                  "error": "NoRouteError: no flight route from Paris to Berlin"}
    history = host.history(status["instanceId"])
    assert sum(e.get("FunctionName") == names.BOOK_FLIGHT for e in history) == 1
    assert sum(e.get("FunctionName") == names.BOOK_TRAIN for e in history) == 2


def test_a_sold_out_hotel_cancels_what_was_booked_in_reverse_order(host):
    status = book(host, trip(simulate={"hotel": {"sold_out": True}}))
    output = status["output"]
    assert output["outcome"] == "failed" and output["bookings"] == [] and output["total_cost"] == 0
    assert output["failure"]["step"] == "hotel" and output["failure"]["permanent"] is True
    assert "SoldOutError" in output["failure"]["error"]
    assert [b["kind"] for b in output["compensated"]] == ["flight", "ticket"]

    cancelled = [e["Result"]["kind"] for e in host.history(status["instanceId"])
                 if e.get("FunctionName") == names.CANCEL_BOOKING]
    assert cancelled == ["flight", "ticket"]  # the order the cancellations really ran
    assert status["customStatus"] == "failed, compensated 2 of 2"


def test_when_the_fallback_fails_too_only_the_ticket_is_cancelled(host):
    output = book(host, trip(simulate={"flight": {"no_route": True},
                                       "train": {"sold_out": True}}))["output"]
    assert output["outcome"] == "failed" and output["failure"]["step"] == "train"
    assert output["fallback"]["reason"] == "no_route"
    assert [b["kind"] for b in output["compensated"]] == ["ticket"]


def test_cancellations_that_never_succeed_are_reported(host):
    output = book(host, trip(simulate={"hotel": {"sold_out": True},
                                       "cancel": {"fail_times": 20}}))["output"]
    assert output["compensated"] == []
    assert [b["kind"] for b in output["compensation_failures"]] == ["flight", "ticket"]
    assert all("TransientProviderError" in b["error"] for b in output["compensation_failures"])


def _awaiting_approval(host, request):
    instance_id = host.start("book_trip", request)
    host.wait_until(instance_id, lambda s: s["customStatus"] == "awaiting approval")
    return instance_id


APPROVAL = {"required": True, "timeout_s": 3600}


def test_approval_by_event_keeps_the_bookings(host):
    with host.clock_held():
        instance_id = _awaiting_approval(host, trip(approval=APPROVAL))
        host.raise_event(instance_id, "approval", {"approved": True})
        status = host.wait(instance_id)
    assert status["output"]["outcome"] == "booked"
    assert len(status["output"]["bookings"]) == 3


def test_approval_sent_as_json_text_like_the_python_client_does(host):
    with host.clock_held():
        instance_id = _awaiting_approval(host, trip(approval=APPROVAL))
        # DurableOrchestrationClient.raise_event encodes twice: the event data is a JSON string.
        response = host.request(
            "POST", f"/runtime/webhooks/durabletask/instances/{instance_id}/raiseEvent/approval",
            data=json.dumps(json.dumps({"approved": True})),
            headers={"Content-Type": "application/json"})
        assert response.status_code == 202
        status = host.wait(instance_id)
    assert status["output"]["outcome"] == "booked"


def test_rejection_compensates_everything(host):
    with host.clock_held():
        instance_id = _awaiting_approval(host, trip(approval=APPROVAL))
        host.raise_event(instance_id, "approval", {"approved": False})
        output = host.wait(instance_id)["output"]
    assert output["outcome"] == "rejected" and output["failure"]["error"] == "rejected by approver"
    assert [b["kind"] for b in output["compensated"]] == ["hotel", "flight", "ticket"]


def test_no_answer_before_the_timeout_compensates_everything(host):
    status = book(host, trip(approval={"required": True, "timeout_s": 7200}))
    output = status["output"]
    assert output["outcome"] == "approval_timed_out" and output["bookings"] == []
    assert [b["kind"] for b in output["compensated"]] == ["hotel", "flight", "ticket"]
    created = [e for e in host.history(status["instanceId"]) if e["EventType"] == "TimerCreated"]
    assert len(created) == 1  # the approval deadline; no retries happened


def test_parallel_trips_report_expenses_including_the_failed_one(host):
    trips = [trip(traveler="Ada"), trip(traveler="Bob", simulate={"hotel": {"sold_out": True}}),
             trip(traveler="Cy", destination="Lisbon", simulate={"flight": {"no_route": True}})]
    status = host.wait(host.start("book_trips", {"trips": trips}), timeout=60)
    assert status["runtimeStatus"] == "Completed", status
    outcomes, report = status["output"]["trips"], status["output"]["report"]
    assert [t["outcome"] for t in outcomes] == ["booked", "failed", "booked"]
    assert report["trips"] == 3 and report["booked"] == 2
    assert [(t["index"], t["traveler"]) for t in report["not_booked"]] == [(1, "Bob")]
    assert report["total_cost"] == round(outcomes[0]["total_cost"] + outcomes[2]["total_cost"], 2)
    assert set(report["by_traveler"]) == {"Ada", "Cy"}
    assert "train" in report["by_kind"]  # Cy went by train
    children = [e for e in host.history(status["instanceId"])
                if e["EventType"] == "SubOrchestrationInstanceCompleted"]
    assert len(children) == 3
