"""The HTTP functions on the local host: the durable starter (202 and every 400) and F1/F2."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

TRIP = {"traveler": "Ada", "conference": "PyCon DE", "origin": "Paris", "destination": "Berlin",
        "departure_date": "2026-04-20", "return_date": "2026-04-23"}
CHECK_STATUS_KEYS = {"id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri",
                     "purgeHistoryDeleteUri"}




def post(host, path, body=None, **kwargs):
    return host.request("POST", path, json=body, **kwargs)


def test_the_starter_answers_202_with_the_check_status_payload(host):
    response = post(host, "/api/orchestrators/process_sites",
                    {"count": 3, "connect_ms": 1, "work_ms": 1})
    assert response.status_code == 202
    payload = response.json()
    assert CHECK_STATUS_KEYS <= set(payload)
    assert response.headers["Location"] == payload["statusQueryGetUri"]
    assert f"/instances/{payload['id']}/raiseEvent/{{eventName}}" in payload["sendEventPostUri"]
    status = host.wait(payload["id"])
    assert status["runtimeStatus"] == "Completed" and status["output"]["processed"] == 3
    # Started through the SDK client, the input shows as JSON text; it is the normalized input.
    stored = status["input"]  # SDK 1.x's start_new input shows as a JSON string, 2.x's as is
    assert (json.loads(stored) if isinstance(stored, str) else stored)["max_width"] == 1000


def test_a_chosen_instance_id_is_used_and_a_running_one_is_not_started_twice(host):
    request = {**TRIP, "approval": {"required": True, "timeout_s": 600}}
    with host.clock_held():
        first = post(host, "/api/orchestrators/book_trip/trip-ada-2026", request)
        assert first.status_code == 202 and first.json()["id"] == "trip-ada-2026"
        host.wait_until("trip-ada-2026", lambda s: s["customStatus"] == "awaiting approval")
        again = post(host, "/api/orchestrators/book_trip/trip-ada-2026", request)
        assert again.status_code == 409 and again.json()["field"] == "instance_id"
        host.terminate("trip-ada-2026", "test done")


def test_a_storm_of_starts_for_one_id_answers_one_202_and_409s_never_500(host):
    """Every request passes the status check before the first start lands (check-then-start
    race); the runtime's "already exists" must come back as 409."""
    request = {**TRIP, "approval": {"required": True, "timeout_s": 600}}
    path = "/api/orchestrators/book_trip/storm-1"
    with host.clock_held(), ThreadPoolExecutor(24) as pool:
        codes = sorted(pool.map(lambda _: post(host, path, request).status_code, range(48)))
        assert codes.count(202) == 1 and set(codes) == {202, 409}, codes
        host.terminate("storm-1", "test done")


@pytest.mark.parametrize("body", [b'{"count": NaN}', b'{"count": Infinity}', b'{"count": 1e400}',
                                  b"[" * 100_000 + b"]" * 100_000])
def test_non_strict_or_absurdly_deep_json_answers_400(host, body):
    response = host.request("POST", "/api/orchestrators/process_sites", data=body,
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["field"] == "body"


@pytest.mark.parametrize("path, body, field", [
    ("/api/orchestrators/no_such_thing", {}, "name"),
    ("/api/orchestrators/book_trip/@entity", TRIP, "instance_id"),
    ("/api/orchestrators/book_trip/a%3Fb", TRIP, "instance_id"),
    ("/api/orchestrators/book_trip/a%23b", TRIP, "instance_id"),
    ("/api/orchestrators/book_trip/a%5Cb", TRIP, "instance_id"),
    ("/api/orchestrators/book_trip/" + "x" * 257, TRIP, "instance_id"),
    ("/api/orchestrators/book_trip/%C2%85", TRIP, "instance_id"),  # C1 control (NEL)
    ("/api/orchestrators/process_sites", {"count": -5}, "count"),
    ("/api/orchestrators/process_sites", {"count": 3, "connect_ms": "slow"}, "connect_ms"),
    ("/api/orchestrators/process_sites", None, "body"),
    ("/api/orchestrators/book_trip", {**TRIP, "return_date": "2026-04-01"}, "return_date"),
    ("/api/orchestrators/book_trip", {k: v for k, v in TRIP.items() if k != "origin"},
     "origin"),
    ("/api/orchestrators/book_trips", {"trips": [TRIP, {**TRIP, "traveler": 3}]},
     "trips[1].traveler"),
    ("/api/orchestrators/backup_site_content", {"root": "/etc"}, "root"),
    ("/api/orchestrators/backup_site_content", {"root": "../.."}, "root"),
    ("/api/orchestrators/backup_site_content", {"root": "no-such-dir"}, "root"),
])
def test_bad_requests_answer_400_naming_the_field(host, path, body, field):
    response = post(host, path, body)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["field"] == field
    assert response.json()["error"]


# Every HTTP function of the app that reads a body (the starter, F1), with bodies that Python's
# json module refuses with RecursionError rather than ValueError, or accepts though strict JSON
# does not: each must answer 400 with a JSON message, never 500.
BODY_ROUTES = ["/api/orchestrators/process_sites", "/api/fanout"]
HOSTILE_BODIES = {"deep arrays": b"[" * 100_000 + b"]" * 100_000,
                  "deep objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
                  "unbalanced": b"[" * 100_000,
                  "NaN": b'{"calls": NaN, "delay_ms": 1}', "1e400": b'{"calls": 1e400}',
                  "not UTF-8": b'{"calls": 1, "delay_ms": "\xff"}'}


@pytest.mark.parametrize("route", BODY_ROUTES)
@pytest.mark.parametrize("kind", sorted(HOSTILE_BODIES))
def test_hostile_json_bodies_answer_400_with_a_json_message(host, route, kind):
    response = host.request("POST", route, data=HOSTILE_BODIES[kind],
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert "JSON" in response.json()["error"]


def test_invalid_json_answers_400(host):
    response = host.request("POST", "/api/orchestrators/process_sites", data=b"{count: 3",
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


def test_f2_waits_and_f1_fans_out_to_it(host):
    delay = host.request("GET", "/api/delay?ms=20")
    assert delay.status_code == 200
    fanout = post(host, "/api/fanout", {"calls": 20, "delay_ms": 50})
    assert fanout.status_code == 200, fanout.text
    assert host.request("GET", "/api/delay?ms=-1").status_code == 400
    assert post(host, "/api/fanout", {"calls": 0, "delay_ms": 1}).status_code == 400
