"""The worker process runs each kind of invocation as the in-process host does: same converters,
same answers, the app's exceptions reported with type, message and stack, logs forwarded."""

from __future__ import annotations

import gc
import json
import logging
import threading
import warnings
from datetime import UTC, datetime

import pytest

from emulator.http.payloads import client_binding
from emulator.protocol.entities import EntityId, Request, batch_trigger_json
from emulator.protocol.history import execution_started, orchestrator_started
from emulator.store.base import InstanceRecord
from emulator.worker.invoke import invoke_entity, orchestrator_state, trigger_json
from emulator.worker.loader import load_app
from emulator.worker.process import FunctionFailed, PoolClosed

from .conftest import BASIC

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def in_process():
    return load_app(BASIC)


def test_the_index_describes_every_function(start_pool):
    running = start_pool()
    by_name = {f["name"]: f for f in running.functions}
    assert by_name["echo"]["trigger"] == "activityTrigger"
    assert by_name["echo"]["durable_name"] == "echo"
    assert by_name["double"]["is_async"] is True
    assert by_name["where"]["wants_context"] is True
    assert by_name["chain"]["trigger"] == "orchestrationTrigger"
    assert by_name["counter"]["trigger"] == "entityTrigger"
    assert by_name["hello"]["route"] == "hello/{name}"
    assert by_name["hello"]["methods"] == ["GET"]
    assert by_name["hello"]["auth_level"] == "anonymous"
    assert by_name["data"]["client_param"] == "client"
    assert by_name["data"]["is_async"] is True


def test_activities_sync_and_async_round_trip_their_json(start_pool):
    running = start_pool()
    assert running.call("activity", "echo", b'{"a": [1, 2.5, null, "x"]}').text == \
        '{"a": [1, 2.5, null, "x"]}'
    assert running.call("activity", "double", b"21").text == "42"
    assert running.call("activity", "echo", b"null").text == "null"
    info = json.loads(running.call("activity", "where", b"0").text)
    assert info["function"] == "where"
    assert info["cwd"] == str(BASIC)
    assert info["pid"] in running.pids()


def test_an_activity_exception_comes_back_with_type_message_and_stack(start_pool):
    running = start_pool()
    with pytest.raises(FunctionFailed) as failed:
        running.call("activity", "explode", b'"boom"')
    assert failed.value.type_name == "ValueError"
    assert failed.value.message == "boom"
    assert "raise ValueError(message)" in failed.value.stack
    assert running.call("activity", "echo", b"1").text == "1"  # the worker carries on


def test_an_orchestrator_episode_answers_the_same_state_as_in_process(start_pool, in_process):
    running = start_pool()
    record = InstanceRecord("i1", "chain", "e1", "Running", "\"5\"", "2026-01-01T00:00:00Z",
                            "2026-01-01T00:00:00Z")
    history = [orchestrator_started(NOW),
               execution_started(NOW, name="chain", instance_id="i1", execution_id="e1",
                                 input_json="\"5\"")]
    trigger = trigger_json(record, history)
    state = json.loads(running.call("orchestrator", "chain", trigger.encode()).text)
    handler = in_process.code_of(in_process.orchestrator("chain"))
    assert state == orchestrator_state(handler, trigger)
    assert state["actions"][0][0]["functionName"] == "echo"


def test_an_entity_batch_answers_the_same_result_as_in_process(start_pool, in_process):
    running = start_pool()
    requests = [Request("r1", "add", json.dumps("5")), Request("r2", "add", json.dumps("2"))]
    trigger = batch_trigger_json(EntityId("counter", "k"), True, "10", requests)
    out = json.loads(running.call("entity", "counter", trigger.encode()).text)
    mine = json.loads(invoke_entity(in_process.code_of(in_process.entity("counter")), trigger))
    assert out["entityState"] == mine["entityState"] == "17"
    assert [r["result"] for r in out["results"]] == [r["result"] for r in mine["results"]] \
        == ["15", "17"]


def test_http_functions_get_the_request_and_answer_status_headers_body(start_pool):
    running = start_pool()
    reply = running.call("http", "hello", b"", {
        "method": "GET", "url": "http://localhost/api/hello/ann?x=1", "headers": {},
        "params": {"x": "1"}, "route_params": {"name": "ann"}})
    assert reply.fields["status"] == 201
    assert reply.fields["headers"]["X-Worker"] == str(running.pids()[0])
    assert reply.body == b"hello ann 1"
    binding = json.dumps(client_binding("http://127.0.0.1:7071", "MyHub"))
    reply = running.call("http", "data", b'{"k": 1}', {
        "method": "POST", "url": "http://localhost/api/data", "headers": {},
        "client": binding})
    assert reply.fields["status"] == 200
    assert json.loads(reply.body) == {"body": {"k": 1}, "hub": "MyHub"}


def test_an_http_body_reaches_the_function_as_bytes_even_when_it_is_not_utf8(start_pool):
    running = start_pool()
    reply = running.call("http", "length", b"\xff\xfe{", {
        "method": "POST", "url": "http://localhost/api/length"})
    assert reply.fields["status"] == 200 and reply.body == b"3"


def test_logs_and_prints_of_the_app_reach_the_host_logs(start_pool, caplog):
    running = start_pool()
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="emulator.worker")  # a host may have raised it
    got = threading.Event()

    class Seen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "printed hi" in record.getMessage():
                got.set()

    seen = Seen()
    logging.getLogger("emulator.worker").addHandler(seen)
    try:
        running.call("activity", "talk", b'"hi"')
        assert got.wait(10), "the printed line never reached the host"
    finally:
        logging.getLogger("emulator.worker").removeHandler(seen)
    talk = [r for r in caplog.records if r.name == "basic.talk"]
    assert talk and talk[0].levelno == logging.WARNING
    assert talk[0].getMessage() == "said hi"
    assert talk[0].worker_pid == running.pids()[0]


def test_an_unknown_function_fails_the_call_not_the_worker(start_pool):
    running = start_pool()
    with pytest.raises(FunctionFailed, match="no function named 'nope'"):
        running.call("activity", "nope", b"1")
    assert running.call("activity", "echo", b"2").text == "2"


def test_a_blocking_call_after_the_pool_loop_closed_raises_pool_closed_cleanly(start_pool):
    # An orchestrator thread that outlives the host calls into a pool whose loop is closed: it
    # once failed with RuntimeError and left the call's coroutine unawaited (a RuntimeWarning
    # at garbage collection, seen in tests/emulator/http/test_body_limit.py).
    running = start_pool()
    running.close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(PoolClosed):
            running.pool.invoke_blocking("activity", "hello", None, b'"x"', None)
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]
