"""Durable entities end to end on the local host: orchestrators, the SDK's client, the HTTP API."""

import pytest

from emulator.http.payloads import WEBHOOK_PATH
from emulator.testing import LocalHost

from ..conftest import APPS

ENTITY_APP = APPS / "entities"
ENTITIES = f"{WEBHOOK_PATH}/entities"


@pytest.fixture(scope="module")
def host():
    with LocalHost(ENTITY_APP) as running:
        yield running


def output_of(host, name, input=None):
    status = host.wait(host.start(name, input))
    assert status["runtimeStatus"] == "Completed", status
    return status["output"]


# -- from orchestrators ---------------------------------------------------------------------------
def test_call_entity_chain_returns_each_result_in_order(host):
    assert output_of(host, "add_and_get", {"key": "chain", "count": 5, "amount": 2}) == 10
    assert host.entity_state("Counter", "chain") == 10
    counters = host.request("GET", "/admin/host/status").json()["emulator"]
    assert counters["entity_operations"] >= 6 and counters["entity_batches"] >= 1


def test_signals_then_a_call_from_one_orchestrator_are_delivered_in_order(host):
    assert output_of(host, "signal_then_get", "ordered") == 12


def test_history_records_each_request_and_response(host):
    instance_id = host.start("add_and_get", {"key": "history", "count": 1})
    host.wait(instance_id)
    events = host.raw_history(instance_id)["history"]
    sent = [e for e in events if e["EventType"] == 14]
    assert [(e["EventId"], e["Name"], e["InstanceId"]) for e in sent] == \
        [(0, "op", "@counter@history"), (1, "op", "@counter@history")]
    responses = [e["Name"] for e in events if e["EventType"] == 15]
    import json

    assert responses == [json.loads(e["Input"])["id"] for e in sent]


def test_the_sdk_sees_the_lower_cased_name_and_the_key(host):
    assert output_of(host, "call_op", {"key": "MixedKey", "op": "whoami"}) == \
        ["counter", "MixedKey"]


def test_a_failing_operation_raises_in_the_caller_and_the_entity_keeps_working(host):
    result = output_of(host, "call_failing", "failing")
    # The error text is the exception's message; the failed operation's own set_state stays,
    # as in Azure for Python entities (no rollback out of process).
    assert result == {"error": "boom at 0", "after": 1000}


def test_an_unknown_operation_error_names_it(host):
    instance_id = host.start("call_op", {"key": "unknown-op", "op": "nope"})
    status = host.wait(instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert "unknown operation 'nope'" in status["output"]


def test_a_yielded_signal_fails_with_a_named_error_instead_of_hanging(host):
    status = host.wait(host.start("yield_signal"))
    assert status["runtimeStatus"] == "Failed"
    assert "signal_entity without yield" in status["output"]


def test_calling_an_entity_that_does_not_exist_fails_at_once(host):
    status = host.wait(host.start("call_missing_entity"))
    assert status["runtimeStatus"] == "Failed"
    assert "The function 'nosuchentity' doesn't exist" in status["output"]
    assert "known entity functions: 'counter'" in status["output"]


# -- from clients ---------------------------------------------------------------------------------
def test_the_sdk_client_signals_and_reads_state(host):
    assert host.request("GET", "/api/state/Counter/sdk").json() == \
        {"exists": False, "state": None}
    for amount in (5, 6):
        assert host.request("POST", "/api/signal/Counter/sdk/add", json=amount) \
            .status_code == 202
    host.wait_entity("Counter", "sdk", lambda state: state == 11)
    assert host.request("GET", "/api/state/Counter/sdk").json() == {"exists": True, "state": 11}


def test_client_signals_run_in_the_order_they_were_accepted(host):
    for number in range(40):
        host.signal_entity("Log", "order", "append", number)
    assert host.wait_entity("Log", "order", lambda state: state and len(state) == 40) == \
        list(range(40))
    # Calls from an orchestration queue behind them, in order too.
    assert output_of(host, "call_op", {"name": "Log", "key": "order", "op": "append",
                                       "input": "last"}) == 41
    assert host.entity_state("Log", "order")[-1] == "last"


def test_destruct_on_exit_deletes_and_clean_storage_removes_the_row(host):
    host.signal_entity("Counter", "doomed", "add", 3)
    host.wait_entity("Counter", "doomed", lambda state: state == 3)
    response = host.request("DELETE", f"{ENTITIES}/counter/doomed")
    assert response.status_code == 202
    host.wait_entity("Counter", "doomed", lambda state: state is None)
    assert "doomed" not in [e["entityId"]["key"] for e in host.entities("counter")]
    kept = host.request("POST", "/admin/emulator/entities/clean?removeEmptyEntities=false")
    assert kept.json() == {"NumberOfOrphanedLocksRemoved": 0, "NumberOfEmptyEntitiesRemoved": 0}
    result = host.clean_entity_storage()
    assert result["NumberOfEmptyEntitiesRemoved"] >= 1
    assert result["NumberOfOrphanedLocksRemoved"] == 0
    # A signal after the deletion starts the entity afresh.
    host.signal_entity("Counter", "doomed", "add", 1)
    host.wait_entity("Counter", "doomed", lambda state: state == 1)


# -- the management API ---------------------------------------------------------------------------
def test_read_an_entity_over_http(host):
    host.signal_entity("Counter", "http", "add", 4)
    host.wait_entity("Counter", "http", lambda state: state == 4)
    response = host.request("GET", f"{ENTITIES}/Counter/http")
    assert response.status_code == 200 and response.json() == 4
    assert host.request("GET", f"{ENTITIES}/counter/never-signalled").status_code == 404


def test_signal_over_http_with_the_body_the_sdk_sends(host):
    response = host.request("POST", f"{ENTITIES}/counter/raw?op=add", data='"7"',
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 202 and response.content == b""
    host.wait_entity("Counter", "raw", lambda state: state == 7)


def test_an_empty_key_is_addressed_with_a_dollar_sign(host):
    assert host.request("POST", f"{ENTITIES}/counter?op=reset").status_code == 202
    host.wait_entity("Counter", "", lambda state: state == 0)
    assert host.request("GET", f"{ENTITIES}/counter/$").json() == 0


def test_list_entities_with_state_filters_and_pages(host):
    for number in range(5):
        host.signal_entity("Counter", f"page-{number}", "add", number)
    host.wait_entity("Counter", "page-4", lambda state: state == 4)
    first = host.request("GET", f"{ENTITIES}/counter?top=2&fetchState=true")
    assert first.status_code == 200 and len(first.json()) == 2
    token = first.headers["x-ms-continuation-token"]
    second = host.request("GET", f"{ENTITIES}/counter?top=2",
                          headers={"x-ms-continuation-token": token})
    assert second.json()[0]["state"] is None  # fetchState defaults to false
    listed = {e["entityId"]["key"]: e for e in host.entities("Counter")}
    assert {f"page-{n}" for n in range(5)} <= set(listed)
    entry = listed["page-3"]
    assert entry["entityId"] == {"name": "counter", "key": "page-3"} and entry["state"] == 3
    assert entry["lastOperationTime"].endswith("Z")
    future = host.request("GET", f"{ENTITIES}?lastOperationTimeFrom=2999-01-01T00:00:00Z")
    assert future.json() == []
    assert host.entities("other") == []


@pytest.mark.parametrize(("method", "path", "body", "message"), [
    ("POST", "/nosuch/x?op=add", None, "is not an entity function"),
    ("POST", "/counter/x?op=add", "{nope", "Could not parse JSON content"),
    ("POST", "/counter/x?op=add", "NaN", "not strict JSON"),
    ("POST", "/counter/tab%09key?op=add", None, "must not contain"),
    ("GET", "?top=0", None, "'top'"),
    ("GET", "?fetchState=maybe", None, "'fetchState'"),
])
def test_bad_entity_requests_answer_400_with_a_message(host, method, path, body, message):
    response = host.request(method, f"{ENTITIES}{path}", data=body,
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert message in response.json()["Message"]


def test_a_forged_continuation_token_is_refused(host):
    response = host.request("GET", f"{ENTITIES}/counter",
                            headers={"x-ms-continuation-token": "Zm9yZ2Vk"})
    assert response.status_code == 400 and "continuation token" in response.json()["Message"]


def test_a_state_python_wrote_with_nan_is_served_as_strict_json(host):
    host.signal_entity("Counter", "nan", "nan")
    state = host.wait_entity("Counter", "nan", lambda state: state is not None)
    assert state == {"value": None}
    listed = [e for e in host.entities("counter") if e["entityId"]["key"] == "nan"]
    assert listed[0]["state"] == {"value": None}


def test_other_methods_on_entities_answer_404(host):
    assert host.request("PUT", f"{ENTITIES}/counter/x").status_code == 404


def test_entities_survive_a_restart_on_the_same_state_file(tmp_path):
    state = str(tmp_path / "state.db")
    with LocalHost(ENTITY_APP, state=state) as first:
        first.signal_entity("Counter", "durable", "add", 9)
        first.wait_entity("Counter", "durable", lambda value: value == 9)
    with LocalHost(ENTITY_APP, state=state) as second:
        assert second.entity_state("Counter", "durable") == 9
        assert output_of(second, "add_and_get", {"key": "durable", "count": 1}) == 10
    # A 1.x app has no critical sections: its rows carry no lock (state schema 3).
    from emulator.store import SqliteStore

    reader = SqliteStore(state, read_only=True)
    assert reader.load().entities["@counter@durable"].locked_by is None
    reader.close()


def test_the_history_timeline_shows_entity_requests_and_responses(host):
    from emulator.views.timeline import format_timeline

    instance_id = host.start("signal_then_get", "timeline")
    host.wait(instance_id)
    raw = host.raw_history(instance_id)
    text = format_timeline(raw["instance"], raw["history"])
    assert "EventSent #0" in text and "@counter@timeline  signal 'add'" in text
    assert "EventSent #2" in text and "call (response " in text
    assert '{"result":"12"}' in text


def test_a_batch_past_function_timeout_fails_its_operations_as_in_azure(tmp_path):
    import json
    import shutil

    app = tmp_path / "app"
    shutil.copytree(ENTITY_APP, app)
    host_json = json.loads((app / "host.json").read_text())
    host_json["functionTimeout"] = "00:00:01"
    (app / "host.json").write_text(json.dumps(host_json))
    with LocalHost(app) as short:
        short.signal_entity("Counter", "slow", "add", 2)
        short.wait_entity("Counter", "slow", lambda state: state == 2)
        status = short.wait(short.start("call_op", {"key": "slow", "op": "spin"}))
        assert status["runtimeStatus"] == "Failed"
        assert "Timeout value of 00:00:01 was exceeded by function: Functions.Counter" \
            in status["output"]
        # The state is the one before the timed-out batch, and the entity keeps working.
        assert output_of(short, "call_op", {"key": "slow", "op": "get"}) == 2


def test_a_response_for_a_purged_caller_is_not_stored(tmp_path):
    import time

    from emulator.store import SqliteStore

    state = tmp_path / "state.db"
    flag, marker = tmp_path / "stalls-left", tmp_path / "stalled"
    flag.write_text("1")
    spec = {"flag": str(flag), "marker": str(marker), "seconds": 1.0}
    with LocalHost(ENTITY_APP, state=str(state)) as running:
        caller = running.start("call_op", {"key": "late", "op": "stall", "input": spec})
        deadline = time.monotonic() + 30
        while not marker.exists():  # the entity is running the call
            assert time.monotonic() < deadline
            time.sleep(0.01)
        running.terminate(caller, "not waiting any more")
        assert running.wait(caller)["runtimeStatus"] == "Terminated"
        assert running.purge(caller) == 1
        running.wait_entity("Counter", "late", lambda value: value == 100)
        reader = SqliteStore(str(state), read_only=True)
        assert [m for m in reader.load().messages if m.instance_id == caller] == []
        reader.close()
