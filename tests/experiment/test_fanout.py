"""api/fanout.py: F1 and F2 called directly with azure.functions.HttpRequest objects.

F1 needs a real F2 to call: the `fake_host` fixture serves the real F2 on 127.0.0.1:<port>, and
F1 is pointed at it through the URL of the request it receives (as in Azure)."""

import asyncio
import json
import time

import azure.functions as func
import pytest

from api import fanout as f
from api.fanout import (
    BadRequest,
    FanoutParams,
    delay,
    delay_sync,
    delay_url,
    fanout,
    forwarded_key_headers,
    parse_delay_ms,
    parse_fanout_body,
)


def call(handler, req):
    async def go():
        try:
            return await handler(req)
        finally:
            await f.close_shared_sessions()

    resp = asyncio.run(go())
    return resp.status_code, json.loads(resp.get_body())


def f1_request(base_url, body, params=None, headers=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return func.HttpRequest(
        "POST", f"{base_url}/api/fanout", headers=headers or {}, params=params or {}, body=raw
    )


def f2_request(params):
    return func.HttpRequest("GET", "http://127.0.0.1:1/api/delay", params=params, body=b"")


# --- validation -------------------------------------------------------------------------------


def test_parse_fanout_body_accepts_the_documented_shape():
    assert parse_fanout_body({"calls": 10, "delay_ms": 0}) == FanoutParams(10, 0, None, False)
    assert parse_fanout_body(
        {"calls": 5000, "delay_ms": 60000, "max_connections": 8, "details": True}
    ) == FanoutParams(5000, 60000, 8, True)
    assert parse_fanout_body({"calls": 1, "delay_ms": 1, "f2": "sync"}).f2 == "sync"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"calls": 0, "delay_ms": 10}, "calls"),
        ({"calls": 5001, "delay_ms": 10}, "calls"),
        ({"calls": "10", "delay_ms": 10}, "calls"),
        ({"calls": 1.5, "delay_ms": 10}, "calls"),
        ({"calls": True, "delay_ms": 10}, "calls"),
        ({"calls": 10, "delay_ms": -1}, "delay_ms"),
        ({"calls": 10, "delay_ms": 60001}, "delay_ms"),
        ({"calls": 10}, "delay_ms"),
        ({"calls": 10, "delay_ms": 1, "max_connections": 0}, "max_connections"),
        ({"calls": 10, "delay_ms": 1, "details": "yes"}, "details"),
        ({"calls": 10, "delay_ms": 1, "delay": 5}, "delay"),
        ({"calls": 10, "delay_ms": 1, "f2": "blocking"}, "f2"),
        ({"calls": 10, "delay_ms": 1, "f2": ["sync"]}, "f2"),
        ([1, 2], "body"),
    ],
)
def test_parse_fanout_body_names_the_bad_field(body, field):
    with pytest.raises(BadRequest, match=field):
        parse_fanout_body(body)


@pytest.mark.parametrize("raw, ok", [("0", 0), ("60000", 60000), (" 25 ", 25)])
def test_parse_delay_ms_accepts_integers_in_bounds(raw, ok):
    assert parse_delay_ms(raw) == ok


@pytest.mark.parametrize("raw", [None, "", "1.5", "abc", "-1", "60001", "1e3"])
def test_parse_delay_ms_rejects_the_rest(raw):
    with pytest.raises(BadRequest, match="ms"):
        parse_delay_ms(raw)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://127.0.0.1:7071/api/fanout", "http://127.0.0.1:7071/api/delay"),
        (
            "https://app.azurewebsites.net/api/fanout?code=abc",
            "https://app.azurewebsites.net/api/delay",
        ),
        ("https://app.example/custom/prefix/fanout/", "https://app.example/custom/prefix/delay"),
        ("https://app.example/elsewhere", "https://app.example/api/delay"),
    ],
)
def test_delay_url_keeps_scheme_host_and_route_prefix(url, expected):
    assert delay_url(url) == expected


def test_delay_url_for_the_sync_f2():
    assert delay_url("http://h:1/api/fanout", "sync") == "http://h:1/api/delay_sync"


def test_forwarded_key_prefers_the_header_then_the_code_parameter():
    def req(headers, params):
        return func.HttpRequest(
            "POST", "http://h/api/fanout", headers=headers, params=params, body=b""
        )

    assert forwarded_key_headers(req({"x-functions-key": "h"}, {"code": "q"})) == {
        "x-functions-key": "h"
    }
    assert forwarded_key_headers(req({}, {"code": "q"})) == {"x-functions-key": "q"}
    assert forwarded_key_headers(req({}, {})) == {}


# --- F2 ---------------------------------------------------------------------------------------


def test_f2_waits_the_requested_time_and_reports_it():
    status, body = call(delay, f2_request({"ms": "120"}))
    assert status == 200
    assert body["ms"] == 120
    assert 120 <= body["elapsed_ms"] < 400
    assert body["started_at"] < body["ended_at"]


def test_f2_waits_without_blocking_the_loop():
    async def ten_at_once():
        return await asyncio.gather(*(delay(f2_request({"ms": "200"})) for _ in range(10)))

    loop_time = asyncio.run(_timed(ten_at_once()))
    assert loop_time < 0.6  # ten sequential sleeps would take 2 s


async def _timed(coro):
    t0 = asyncio.get_running_loop().time()
    await coro
    return asyncio.get_running_loop().time() - t0


@pytest.mark.parametrize("params", [{}, {"ms": "x"}, {"ms": "-5"}, {"ms": "70000"}])
def test_f2_answers_400_naming_ms(params):
    status, body = call(delay, f2_request(params))
    assert status == 400
    assert "ms" in body["error"]


# --- F1 ---------------------------------------------------------------------------------------


def test_f1_rejects_bad_input_with_400(fake_host):
    status, body = call(fanout, f1_request(fake_host.base_url, {"calls": 0, "delay_ms": 10}))
    assert (status, "calls" in body["error"]) == (400, True)
    status, body = call(fanout, f1_request(fake_host.base_url, b"not json"))
    assert status == 400 and "JSON" in body["error"]


def test_f1_runs_all_calls_at_once_beyond_aiohttps_default_cap_of_100(fake_host):
    # With aiohttp's default connector (limit=100) 150 calls of 1 s would take 2 waves. The delay
    # is long enough that a busy machine stalling the starts for a few hundred ms (a new wave
    # begins at a gap of half the delay) does not split one wave into two.
    status, body = call(
        fanout, f1_request(fake_host.base_url, {"calls": 150, "delay_ms": 1000, "details": True})
    )
    assert status == 200, body
    assert body["calls"] == 150 and body["max_connections"] is None
    assert body["target"] == f"{fake_host.base_url}/api/delay"
    assert body["fanout_ms"] >= 1000
    # All at once, shown by the calls themselves rather than by a wall-clock bound that a busy
    # machine can break: one wave, and more calls in flight together than a cap of 100 allows.
    assert body["waves"] == 1
    assert body["peak_concurrency"] > 100
    assert body["per_call_ms"]["count"] == 150
    assert (
        300
        <= body["per_call_ms"]["min"]
        <= body["per_call_ms"]["p50"]
        <= body["per_call_ms"]["p95"]
        <= body["per_call_ms"]["max"]
        <= body["fanout_ms"]
    )
    assert body["f2_ms"]["min"] >= 300
    assert len(body["details"]["start_ms"]) == 150


def test_f1_with_a_cap_runs_in_waves(fake_host):
    status, body = call(
        fanout, f1_request(fake_host.base_url, {"calls": 12, "delay_ms": 150, "max_connections": 4})
    )
    assert status == 200, body
    assert body["waves"] == 3
    assert body["peak_concurrency"] <= 4
    assert 450 <= body["fanout_ms"] < 900
    assert body["effective_concurrency"] == pytest.approx(12 * 150 / body["fanout_ms"])
    assert "details" not in body


def test_f1_forwards_its_function_key_to_f2(fake_host_with_key):
    base = fake_host_with_key.base_url
    status, body = call(
        fanout, f1_request(base, {"calls": 3, "delay_ms": 0}, params={"code": "s3cret"})
    )
    assert status == 200, body
    status, body = call(
        fanout, f1_request(base, {"calls": 3, "delay_ms": 0}, headers={"x-functions-key": "s3cret"})
    )
    assert status == 200, body


def test_f1_reports_failed_calls_as_502(fake_host_with_key):
    status, body = call(
        fanout, f1_request(fake_host_with_key.base_url, {"calls": 3, "delay_ms": 0})
    )
    assert status == 502
    assert "3 of 3 calls to F2" in body["error"] and "401" in body["error"]


def test_f1_reuses_connections_across_invocations(fake_host):
    async def twice():
        try:
            for _ in range(2):
                resp = await fanout(f1_request(fake_host.base_url, {"calls": 20, "delay_ms": 0}))
                assert resp.status_code == 200
            session, _ = f._SHARED[asyncio.get_running_loop()]
            return len(session.connector._conns)  # idle keep-alive connections kept per host
        finally:
            await f.close_shared_sessions()

    assert asyncio.run(twice()) == 1


def test_blueprint_registers_f1_and_f2_with_function_auth():
    functions = {
        fn.get_function_name(): fn
        for fn in (builder.build() for builder in f.bp._function_builders)
    }
    assert set(functions) == {"fanout", "delay", "delay_sync", "delay_cpu"}
    triggers = {name: fn.get_trigger() for name, fn in functions.items()}
    assert triggers["fanout"].route == "fanout" and triggers["delay"].route == "delay"
    assert all(t.auth_level == func.AuthLevel.FUNCTION for t in triggers.values())


def test_the_shared_session_closes_when_its_loop_shuts_down(fake_host):
    async def once():
        resp = await fanout(f1_request(fake_host.base_url, {"calls": 2, "delay_ms": 0}))
        assert resp.status_code == 200
        return f._SHARED[asyncio.get_running_loop()][0]

    session = asyncio.run(once())  # no explicit close: asyncio.run's shutdown_asyncgens does it
    assert session.closed


def test_sync_f2_blocks_for_the_requested_time():
    resp = delay_sync(f2_request({"ms": "50"}))
    body = json.loads(resp.get_body())
    assert resp.status_code == 200 and body["ms"] == 50 and body["elapsed_ms"] >= 50
    assert delay_sync(f2_request({"ms": "x"})).status_code == 400


def test_cpu_f2_computes_for_the_requested_cpu_time():
    cpu0 = time.thread_time()
    resp = f.delay_cpu(f2_request({"ms": "50"}))
    body = json.loads(resp.get_body())
    assert resp.status_code == 200 and body["ms"] == 50 and body["elapsed_ms"] >= 50
    assert time.thread_time() - cpu0 >= 0.05
    assert f.delay_cpu(f2_request({"ms": "x"})).status_code == 400
    assert delay_url("http://h:1/api/fanout", "cpu") == "http://h:1/api/delay_cpu"


def test_f1_to_the_sync_f2_runs_in_waves_of_the_thread_pool(fake_host):
    status, body = call(
        fanout, f1_request(fake_host.base_url, {"calls": 12, "delay_ms": 150, "f2": "sync"})
    )
    assert status == 200, body
    assert body["f2"] == "sync" and body["target"].endswith("/api/delay_sync")
    assert body["waves"] == 12 // fake_host.sync_threads
    assert body["peak_concurrency"] <= fake_host.sync_threads
