"""Hostile input at the HTTP edge: numbers, times, JSON, tokens - and work that never returns.

Each class of input gets the answer a careful server gives (400 naming the parameter, 413 for a
body too large) before anything is created, and the host keeps working afterwards.
"""

import json
import logging
import os
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest

from emulator.testing import LocalHost

from ..conftest import APPS

BASE = "/runtime/webhooks/durabletask"
TIMEOUT_APP = APPS / "timeouts"


def _count(host):
    return len(host.request("GET", f"{BASE}/instances?top=100000").json())


def _strict(response):
    """The body, parsed by a strict JSON parser (no NaN, no Infinity)."""
    def refuse(constant):
        raise AssertionError(f"invalid JSON served: {constant}")
    return json.loads(response.text, parse_constant=refuse)


# -- numbers ---------------------------------------------------------------------------------
BAD_NUMBERS = ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "1e309", "-1", "1e12",
               "9" * 400, "0x10", "ten", ""]


@pytest.mark.parametrize("value", BAD_NUMBERS)
@pytest.mark.parametrize("parameter", ["timeout", "pollingInterval"])
def test_bad_wait_numbers_answer_400_and_start_nothing(host, parameter, value):
    before = _count(host)
    query = {"timeout": "5", "pollingInterval": "1", parameter: value}
    response = host.request("POST", f"{BASE}/orchestrators/chain?timeout={quote(query['timeout'])}"
                                    f"&pollingInterval={quote(query['pollingInterval'])}",
                            json=json.dumps("x"))
    assert response.status_code == 400, response.text
    assert parameter in response.text
    assert _count(host) == before


@pytest.mark.parametrize("interval", ["0", "0.0", "1e-300"])
def test_a_zero_polling_interval_answers_without_spinning(host, interval):
    response = host.request("POST", f"{BASE}/orchestrators/chain?timeout=20"
                                    f"&pollingInterval={interval}", json=json.dumps("z"))
    assert response.status_code == 200, response.text
    assert response.json()["output"] == ["z-a", "z-b", "z-c"]


@pytest.mark.parametrize("value", BAD_NUMBERS + ["0", "2147483648", "1.5"])
def test_bad_page_sizes_answer_400(host, value):
    response = host.request("GET", f"{BASE}/instances?top={quote(value)}")
    assert response.status_code == 400 and "top" in response.text


@pytest.mark.parametrize("value", BAD_NUMBERS)
@pytest.mark.parametrize("parameter", ["timeout", "after"])
def test_bad_numbers_on_the_wait_route_answer_400(host, parameter, value):
    if parameter == "after" and value == "-1":
        return  # "after=-1" is the route's own "any version"
    response = host.request("GET", f"/admin/emulator/instances/x/wait?{parameter}="
                                   f"{quote(value)}")
    assert response.status_code == 400 and parameter in response.text


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "-1", "1e300", "9" * 400, ""])
def test_bad_clock_moves_answer_400_and_the_engine_keeps_running(host, value):
    before = host.now()
    response = host.request("POST", f"/admin/emulator/clock/advance?seconds={quote(value)}")
    assert response.status_code == 400 and "seconds" in response.text
    assert host.now() >= before
    instance_id = host.start("sleeper", 2)  # a 2-hour timer: the clock still skips
    assert host.wait(instance_id)["runtimeStatus"] == "Completed"


# -- times -----------------------------------------------------------------------------------
def _in_zone(moment: datetime, hours: float) -> str:
    """``moment`` written in the zone UTC+hours, query-encoded ('+' as %2B)."""
    return quote(moment.astimezone(timezone(timedelta(hours=hours))).isoformat())


@pytest.fixture(scope="module")
def two_eras(host):
    """Two finished instances created two (skipped) hours apart, and a time between them."""
    first = host.start("chain", "era-1", instance_id="era-1")
    host.wait(first)
    host.advance(7200)
    second = host.start("chain", "era-2", instance_id="era-2")
    host.wait(second)
    created = {i: datetime.fromisoformat(host.status(i)["createdTime"].replace("Z", "+00:00"))
               for i in (first, second)}
    return first, second, created[first] + (created[second] - created[first]) / 2


@pytest.mark.parametrize("hours", [5, -3, 0, 5.75])
def test_list_filters_convert_offsets(host, two_eras, hours):
    first, second, between = two_eras
    until = host.request("GET", f"{BASE}/instances?instanceIdPrefix=era-&createdTimeTo="
                                f"{_in_zone(between, hours)}").json()
    since = host.request("GET", f"{BASE}/instances?instanceIdPrefix=era-&createdTimeFrom="
                                f"{_in_zone(between, hours)}").json()
    assert [i["instanceId"] for i in until] == [first]
    assert [i["instanceId"] for i in since] == [second]


def test_purge_by_filter_with_an_offset_deletes_only_what_it_says(host, two_eras):
    first, second, between = two_eras
    epoch = quote("2000-01-01T05:00:00+05:00")
    response = host.request("DELETE", f"{BASE}/instances?instanceIdPrefix=era-"
                                      f"&createdTimeFrom={epoch}"
                                      f"&createdTimeTo={_in_zone(between, 5)}")
    assert response.status_code == 200 and response.json()["instancesDeleted"] == 1
    assert host.status(first) is None and host.status(second) is not None


@pytest.mark.parametrize("value", ["2026-01-01T10:00:00 05:00", "yesterday", "2026-13-01",
                                   "0001-01-01T00:00:00+05:00"])
@pytest.mark.parametrize("method,parameter", [("GET", "createdTimeFrom"),
                                              ("GET", "createdTimeTo"),
                                              ("DELETE", "createdTimeTo")])
def test_bad_times_answer_400_and_purge_nothing(host, finished, method, parameter, value):
    query = f"{parameter}={quote(value)}"
    if parameter != "createdTimeFrom":
        query += "&createdTimeFrom=2000-01-01T00:00:00Z"
    response = host.request(method, f"{BASE}/instances?{query}")
    assert response.status_code == 400 and parameter in response.text
    assert host.status(finished) is not None


@pytest.fixture(scope="module")
def finished(host):
    instance_id = host.start("chain", "kept")
    host.wait(instance_id)
    return instance_id


# -- continuation tokens -----------------------------------------------------------------------
def test_pages_follow_their_tokens_and_forged_tokens_are_400(host):
    ids = [host.start("chain", f"page-{n}", instance_id=f"page-{n}") for n in range(5)]
    for instance_id in ids:
        host.wait(instance_id)
    seen, token = [], None
    while True:
        headers = {"x-ms-continuation-token": token} if token else {}
        response = host.request("GET", f"{BASE}/instances?instanceIdPrefix=page-&top=2",
                                headers=headers)
        assert response.status_code == 200
        seen += [i["instanceId"] for i in response.json()]
        token = response.headers.get("x-ms-continuation-token")
        if not token:
            break
    assert seen == ids
    first = host.request("GET", f"{BASE}/instances?instanceIdPrefix=page-&top=2")
    real = first.headers["x-ms-continuation-token"]
    for forged in ["MTAw", "bm90IGEgdG9rZW4=", real[:-3], "!!!", real + "A"]:
        response = host.request("GET", f"{BASE}/instances?instanceIdPrefix=page-&top=2",
                                headers={"x-ms-continuation-token": forged})
        assert response.status_code == 400, forged
    other_filter = host.request("GET", f"{BASE}/instances?instanceIdPrefix=era-&top=2",
                                headers={"x-ms-continuation-token": real})
    assert other_filter.status_code == 400


# -- JSON ------------------------------------------------------------------------------------
HOSTILE_BODIES = {
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "deep objects": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "nan": b"[1, NaN]",
    "infinity": b'{"x": Infinity}',
    "huge float": b"1e400",
    "huge int": b"1" * 5000,
    "not utf-8": b'"\xff"',
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_BODIES))
@pytest.mark.parametrize("base", [BASE, "/durabletask"])
def test_hostile_start_bodies_answer_400_and_start_nothing(host, kind, base):
    before = _count(host)
    response = host.request("POST", f"{base}/orchestrators/chain", data=HOSTILE_BODIES[kind],
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert _count(host) == before


@pytest.mark.parametrize("kind", sorted(HOSTILE_BODIES))
def test_hostile_event_bodies_answer_400_and_the_instance_keeps_waiting(host, kind):
    with host.clock_held():
        instance_id = host.start("waiter")
        host.wait_until(instance_id, lambda s: s["customStatus"] == "waiting")
        response = host.request("POST", f"{BASE}/instances/{instance_id}/raiseEvent/go",
                                data=HOSTILE_BODIES[kind],
                                headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.text
        host.raise_event(instance_id, "go", {"fine": True})
    assert host.wait(instance_id)["output"] == {"fine": True}


# Bodies over the size limit (413): test_body_limit.py.


def test_non_finite_results_are_served_as_strict_json(host):
    instance_id = host.start("non_finite")
    host.wait(instance_id)
    status = _strict(host.request("GET", f"{BASE}/instances/{instance_id}?showHistory=true"
                                         f"&showHistoryOutput=true"))
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == [None, None] and status["customStatus"] == {"inf": None}
    _strict(host.request("GET", f"/admin/emulator/instances/{instance_id}/history"))


# -- work that never returns -------------------------------------------------------------------
@pytest.fixture(scope="module")
def timeout_host(tmp_path_factory):
    fifo = tmp_path_factory.mktemp("fifo") / "input"
    os.mkfifo(fifo)
    with LocalHost(TIMEOUT_APP, threads=2, settings={"HANG_FIFO": str(fifo)}) as running:
        yield running
        _release(fifo)


def _release(fifo):
    """Let every thread stuck on the FIFO go: open the write end once and close it."""
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass  # nobody is reading


@pytest.mark.parametrize("activity", ["hang_sync", "hang_async"])
def test_a_hanging_activity_fails_with_the_hosts_timeout_and_frees_its_slot(timeout_host,
                                                                             activity):
    host = timeout_host
    ids = [host.start("hanging", activity) for _ in range(4)]  # more than threads and slots
    message = (f"Timeout value of 00:00:01 was exceeded by function: Functions.{activity}")
    for instance_id in ids:
        status = host.wait(instance_id, timeout=60)
        reason, _, details = status["output"].partition(" \n ")  # as the SDK raises it
        assert reason == f"caught: Activity function '{activity}' failed: {message}"
        assert json.loads(details)["Message"] == message
        [failed] = [e for e in host.raw_history(instance_id)["history"]
                    if e["EventType"] == 6]  # TaskFailed
        assert failed["Reason"] == f"Activity function '{activity}' failed: {message}"
    quick = host.start("quick_chain")
    assert host.wait(quick, timeout=30)["output"] == [0, 1, 2]


@pytest.mark.parametrize("route", ["hang", "hang_async", "hang_stubborn", "late_answer"])
def test_a_hanging_http_function_answers_500_with_the_timeout_and_frees_its_slot(timeout_host,
                                                                                 route):
    host = timeout_host
    for _ in range(3):  # more than the pool's two threads
        response = host.request("GET", f"/api/{route}", timeout=30)
        assert response.status_code == 500
        assert "Timeout value of 00:00:01 was exceeded by function" in response.text
    assert host.request("GET", "/api/quick").text == "quick"


def test_an_async_function_that_blocks_the_loop_is_named_while_it_blocks(tmp_path,
                                                                        emulator_lines):
    fifo = tmp_path / "input"
    os.mkfifo(fifo)
    host = LocalHost(TIMEOUT_APP, settings={"HANG_FIFO": str(fifo)})
    host.options.blocked_loop_seconds = 0.3
    answers = []
    try:
        with host:
            caller = threading.Thread(
                target=lambda: answers.append(host.request("GET", "/api/block_loop",
                                                           timeout=60)))
            caller.start()
            warning = emulator_lines.wait_for("The event loop has been blocked", 30)
            _release(fifo)  # the function returns; the loop turns again
            caller.join(60)
            assert answers and answers[0].text == "released"
            assert host.request("GET", "/api/quick").text == "quick"
            emulator_lines.wait_for("runs again", 30)
    finally:
        _release(fifo)
    assert warning.levelno == logging.WARNING
    assert [r for r in emulator_lines.records if r.levelno == logging.WARNING
            and "has been blocked" in r.getMessage()] == [warning]  # one spell, one report
    text = warning.getMessage()
    assert "in _block_on_fifo (" in text and "called by block_loop," in text
    assert "function_app.py:" in text


# -- purge leaves nothing behind -------------------------------------------------------------
@pytest.mark.parametrize("purge", [True, False], ids=["purged parent", "terminated parent"])
def test_a_child_finishing_after_its_parent_leaves_nothing_in_the_store(tmp_path, purge):
    from emulator.store import Batch, MessageRecord, SqliteStore

    from ..conftest import PROTOCOL_APP

    state = str(tmp_path / "state.db")
    with LocalHost(PROTOCOL_APP, state=state) as host:
        parent = host.start("parent_of_waiter", instance_id="p1")
        child = "p1-child"
        host.wait_until(child, lambda s: s["customStatus"] == "waiting")
        host.terminate(parent, "stop")
        host.wait(parent)
        if purge:
            assert host.purge(parent) == 1
        host.raise_event(child, "go", {"late": True})
        assert host.wait(child)["output"] == {"late": True}
        host.purge(child)
    store = SqliteStore(state)
    snapshot = store.load()
    assert snapshot.messages == [] and snapshot.work == []
    # Rows a crash or an older host left for instances that are gone are dropped at start.
    store.commit(Batch(put_messages=[MessageRecord(10_000, "gone", {"EventType": 15})]))
    store.close()
    with LocalHost(PROTOCOL_APP, state=state):
        pass
    store = SqliteStore(state)
    assert store.load().messages == []
    store.close()
