"""Booking providers: one small interface, a deterministic simulator (default) and a REST client.

Errors are part of the interface. Providers raise :class:`TransientProviderError` for failures
worth retrying, and :class:`NoRouteError` / :class:`SoldOutError` for answers that retrying cannot
change. The orchestrator only sees the exception *type name* in the activity's failure message,
so these class names are a contract (``orchestrators/booking_rules.py`` matches on them).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol


class TransientProviderError(Exception):
    """The provider could not answer now (timeout, 5xx, throttling): retry later."""


class NoRouteError(Exception):
    """The provider serves no such route: retrying will not help, another mode of travel might."""


class SoldOutError(Exception):
    """Nothing left to book for these dates: retrying will not help."""


@dataclass(frozen=True)
class BookingRequest:
    """One booking call.

    ``key`` is stable across retries of the same step (instance id + step), so a provider can
    deduplicate a retry whose first attempt did go through (idempotency key). ``attempt`` is
    1-based. ``script`` is the request's ``simulate`` entry for this step (simulator only).
    """

    kind: str
    trip: dict[str, Any]
    key: str
    attempt: int = 1
    script: dict[str, Any] = field(default_factory=dict)


class BookingProvider(Protocol):
    """What the booking activities need from a provider."""

    def book(self, request: BookingRequest) -> dict[str, Any]:
        """Book and return ``{"kind", "reference", "cost", "currency", "description"}``."""
        ...

    def cancel(self, request: BookingRequest, reference: str) -> None:
        """Cancel a booking made with ``book``. Cancelling twice is not an error."""
        ...


_PRICES_EUR = {  # (base, spread): cost = base + a stable pseudo-random part below spread
    "ticket": (450, 200),
    "flight": (120, 380),
    "train": (60, 140),
    "hotel": (90, 110),  # per night
}
_PREFIXES = {"ticket": "TK", "flight": "FL", "train": "TR", "hotel": "HT"}


def _stable_int(*parts: str) -> int:
    """A number derived from ``parts`` that is the same in every process (unlike ``hash``)."""
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:8], "big")


class SimulatedProvider:
    """A deterministic provider: same request, same answer, in any process.

    The request's ``script`` makes every path reproducible: ``fail_times: n`` fails the first n
    attempts with :class:`TransientProviderError`; ``no_route: true`` raises
    :class:`NoRouteError`; ``sold_out: true`` raises :class:`SoldOutError`. Prices and references
    derive from the trip and the idempotency key, so retries return the same booking.
    """

    def book(self, request: BookingRequest) -> dict[str, Any]:
        self._play_script(request)
        trip = request.trip
        base, spread = _PRICES_EUR[request.kind]
        unit = base + _stable_int(request.kind, trip["origin"], trip["destination"],
                                  trip["departure_date"]) % spread
        if request.kind == "hotel":
            nights = max(1, (date.fromisoformat(trip["return_date"])
                             - date.fromisoformat(trip["departure_date"])).days)
            cost, description = unit * nights, f"{nights} night(s) in {trip['destination']}"
        elif request.kind == "ticket":
            cost, description = unit, f"{trip['conference']} pass for {trip['traveler']}"
        else:
            cost = unit * 2  # outbound and return
            description = (f"{request.kind} {trip['origin']} <-> {trip['destination']}, "
                           f"{trip['departure_date']} / {trip['return_date']}")
        reference = f"{_PREFIXES[request.kind]}-{_stable_int(request.key) % 16**8:08X}"
        return {"kind": request.kind, "reference": reference, "cost": float(cost),
                "currency": "EUR", "description": description}

    def cancel(self, request: BookingRequest, reference: str) -> None:
        self._play_script(request)

    @staticmethod
    def _play_script(request: BookingRequest) -> None:
        script = request.script
        if script.get("no_route"):
            raise NoRouteError(f"no {request.kind} route from {request.trip['origin']} to "
                               f"{request.trip['destination']}")
        if script.get("sold_out"):
            raise SoldOutError(f"{request.kind} sold out for {request.trip['departure_date']}")
        if request.attempt <= script.get("fail_times", 0):
            raise TransientProviderError(
                f"{request.kind} provider timed out (simulated failure {request.attempt} of "
                f"{script['fail_times']})")


class RestProvider:
    """A provider reached over HTTP with ``requests``.

    Contract: ``POST {base}/bookings/{kind}`` with ``{"trip": ...}`` and an ``Idempotency-Key``
    header answers 200/201 with ``{"reference", "cost", "currency"[, "description"]}``; 404 or
    422 with ``{"error": "no_route"}`` means no route, 409 means sold out; 408, 429 and 5xx are
    transient. ``DELETE {base}/bookings/{kind}/{reference}`` cancels (404 counts as cancelled).
    """

    def __init__(self, base_url: str, timeout_s: float = 10.0, api_key: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.api_key = api_key

    def book(self, request: BookingRequest) -> dict[str, Any]:
        response = self._call("POST", f"/bookings/{request.kind}", request,
                              json={"trip": _public_trip(request.trip)})
        if response.status_code in (404, 422) and _error_code(response) == "no_route":
            raise NoRouteError(f"no {request.kind} route: {response.text[:200]}")
        if response.status_code == 409:
            raise SoldOutError(f"{request.kind} sold out: {response.text[:200]}")
        response.raise_for_status()
        body = response.json()
        return {"kind": request.kind, "reference": str(body["reference"]),
                "cost": float(body["cost"]), "currency": str(body.get("currency", "EUR")),
                "description": str(body.get("description", ""))}

    def cancel(self, request: BookingRequest, reference: str) -> None:
        response = self._call("DELETE", f"/bookings/{request.kind}/{reference}", request)
        if response.status_code != 404:
            response.raise_for_status()

    def _call(self, method: str, path: str, request: BookingRequest, **kwargs: Any):
        import requests  # imported here: the simulator path needs no HTTP stack

        headers = {"Idempotency-Key": request.key}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            response = requests.request(method, self.base_url + path, headers=headers,
                                        timeout=self.timeout_s, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as error:
            raise TransientProviderError(f"{method} {path}: {error}") from error
        if response.status_code in (408, 429) or response.status_code >= 500:
            raise TransientProviderError(f"{method} {path}: HTTP {response.status_code}")
        return response


def _public_trip(trip: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in trip.items() if k not in ("simulate", "approval")}


def _error_code(response: Any) -> str | None:
    try:
        return response.json().get("error")
    except ValueError:
        return None


def provider_from_settings(settings: dict[str, str] | None = None) -> BookingProvider:
    """The provider named by the ``BOOKING_PROVIDER`` app setting: ``simulator`` (default) or
    ``rest`` (needs ``BOOKING_API_URL``; optional ``BOOKING_API_KEY``)."""
    settings = os.environ if settings is None else settings
    kind = settings.get("BOOKING_PROVIDER", "simulator").strip().lower() or "simulator"
    if kind == "simulator":
        return SimulatedProvider()
    if kind == "rest":
        url = settings.get("BOOKING_API_URL", "").strip()
        if not url:
            raise ValueError("BOOKING_PROVIDER=rest needs the BOOKING_API_URL app setting")
        return RestProvider(url, api_key=settings.get("BOOKING_API_KEY") or None)
    raise ValueError(f"BOOKING_PROVIDER must be 'simulator' or 'rest', got {kind!r}")
