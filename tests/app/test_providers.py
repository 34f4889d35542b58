"""The booking providers: the scriptable simulator and the REST client (against a local stub)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from activities.providers import (
    BookingRequest,
    NoRouteError,
    RestProvider,
    SimulatedProvider,
    SoldOutError,
    TransientProviderError,
    provider_from_settings,
)

TRIP = {"traveler": "Ada", "conference": "PyCon", "origin": "Paris", "destination": "Berlin",
        "departure_date": "2026-05-10", "return_date": "2026-05-13"}


def _request(kind, attempt=1, **script):
    return BookingRequest(kind=kind, trip=TRIP, key=f"instance-1:{kind}", attempt=attempt,
                          script=script)


def test_the_simulator_is_deterministic_and_prices_hotels_per_night():
    sim = SimulatedProvider()
    first, again = sim.book(_request("hotel")), SimulatedProvider().book(_request("hotel", 3))
    assert first == again  # same request and key, same booking, whatever the attempt
    assert first["reference"].startswith("HT-") and first["description"].startswith("3 night")
    assert first["cost"] % 3 == 0
    other = sim.book(BookingRequest("hotel", TRIP, key="instance-2:hotel"))
    assert other["reference"] != first["reference"]


def test_fail_times_fails_exactly_the_first_attempts():
    sim = SimulatedProvider()
    for attempt in (1, 2):
        with pytest.raises(TransientProviderError, match=f"{attempt} of 2"):
            sim.book(_request("flight", attempt, fail_times=2))
    assert sim.book(_request("flight", 3, fail_times=2))["kind"] == "flight"


def test_no_route_and_sold_out_are_permanent_errors():
    with pytest.raises(NoRouteError):
        SimulatedProvider().book(_request("flight", no_route=True))
    with pytest.raises(SoldOutError):
        SimulatedProvider().book(_request("hotel", 5, sold_out=True))


def test_provider_selection_by_app_setting():
    assert isinstance(provider_from_settings({}), SimulatedProvider)
    rest = provider_from_settings({"BOOKING_PROVIDER": "rest",
                                   "BOOKING_API_URL": "http://127.0.0.1:1/"})
    assert isinstance(rest, RestProvider) and rest.base_url == "http://127.0.0.1:1"
    with pytest.raises(ValueError, match="BOOKING_API_URL"):
        provider_from_settings({"BOOKING_PROVIDER": "rest"})
    with pytest.raises(ValueError, match="simulator"):
        provider_from_settings({"BOOKING_PROVIDER": "carrier-pigeon"})


class _Stub(BaseHTTPRequestHandler):
    """Answers by destination: Nowhere -> no route, Full -> sold out, Flaky -> 503."""

    seen: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Stub.seen.append((self.path, self.headers["Idempotency-Key"], body))
        destination = body["trip"]["destination"]
        status, payload = {
            "Nowhere": (404, {"error": "no_route"}),
            "Full": (409, {"error": "sold_out"}),
            "Flaky": (503, {}),
        }.get(destination, (201, {"reference": "R-1", "cost": "99.5", "currency": "EUR"}))
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture()
def stub_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_rest_provider_maps_http_answers_to_the_error_contract(stub_url):
    rest = RestProvider(stub_url, timeout_s=5)
    booking = rest.book(_request("flight"))
    assert booking == {"kind": "flight", "reference": "R-1", "cost": 99.5, "currency": "EUR",
                       "description": ""}
    path, key, body = _Stub.seen[-1]
    assert (path, key) == ("/bookings/flight", "instance-1:flight")
    assert "simulate" not in body["trip"] and body["trip"]["origin"] == "Paris"
    for destination, error in (("Nowhere", NoRouteError), ("Full", SoldOutError),
                               ("Flaky", TransientProviderError)):
        trip = {**TRIP, "destination": destination}
        with pytest.raises(error):
            rest.book(BookingRequest("flight", trip, key="k"))


def test_rest_provider_treats_an_unreachable_service_as_transient():
    with pytest.raises(TransientProviderError):
        RestProvider("http://127.0.0.1:9", timeout_s=2).book(_request("flight"))
