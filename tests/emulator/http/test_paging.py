"""Continuation tokens live as long as the state they page through: a token taken before a host
restart on the same SQLite state file gives the next page after it; forged, altered, foreign
(another state file, another list, a ``:memory:`` host's previous run) or re-filtered tokens
are still refused with 400."""

import sqlite3

import pytest

from emulator.http.paging import ContinuationTokens, InvalidContinuationToken, query_fingerprint
from emulator.http.payloads import WEBHOOK_PATH
from emulator.store import MemoryStore, SqliteStore
from emulator.testing import LocalHost

from ..conftest import APPS, PROTOCOL_APP

ENTITY_APP = APPS / "entities"
INSTANCES = f"{WEBHOOK_PATH}/instances?instanceIdPrefix=page-&top=2"
COUNTERS = f"{WEBHOOK_PATH}/entities/counter?top=2"
TOKEN = "x-ms-continuation-token"


def _ids(response):
    assert response.status_code == 200, response.text
    return [i["instanceId"] for i in response.json()]


def _first_page(host):
    response = host.request("GET", INSTANCES)
    return _ids(response), response.headers[TOKEN]


def _started(host, count=5):
    ids = [host.start("chain", str(n), instance_id=f"page-{n}") for n in range(count)]
    for instance_id in ids:
        host.wait(instance_id)
    return ids


def test_a_token_taken_before_a_restart_gives_the_next_page_on_the_same_state_file(tmp_path):
    state = str(tmp_path / "state.db")
    with LocalHost(PROTOCOL_APP, state=state) as host:
        ids = _started(host)
        first, token = _first_page(host)
    assert first == ids[:2]
    with LocalHost(PROTOCOL_APP, state=state) as host:
        second = host.request("GET", INSTANCES, headers={TOKEN: token})
        assert _ids(second) == ids[2:4]
        third = host.request("GET", INSTANCES, headers={TOKEN: second.headers[TOKEN]})
        assert _ids(third) == ids[4:] and TOKEN not in third.headers
        # Still refused: altered, forged, or presented with other filters.
        for forged in [token[:-3], token + "A", "MTAw", token[:5] + ("B" if token[5] == "A"
                                                                       else "A") + token[6:]]:
            response = host.request("GET", INSTANCES, headers={TOKEN: forged})
            assert response.status_code == 400, forged
        other = host.request("GET", f"{WEBHOOK_PATH}/instances?instanceIdPrefix=pag&top=2",
                             headers={TOKEN: token})
        assert other.status_code == 400 and "continuation token" in other.json()["Message"]


def test_an_entity_token_survives_a_restart_but_is_no_instance_token(tmp_path):
    state = str(tmp_path / "state.db")
    with LocalHost(ENTITY_APP, state=state) as host:
        for number in range(4):
            host.signal_entity("Counter", f"k{number}", "add", number)
        host.wait_entity("Counter", "k3", lambda value: value == 3)
        first = host.request("GET", COUNTERS)
        token = first.headers[TOKEN]
    with LocalHost(ENTITY_APP, state=state) as host:
        second = host.request("GET", COUNTERS, headers={TOKEN: token})
        assert second.status_code == 200, second.text
        assert [e["entityId"]["key"] for e in first.json() + second.json()] == \
            ["k0", "k1", "k2", "k3"]
        as_instance = host.request("GET", f"{WEBHOOK_PATH}/instances", headers={TOKEN: token})
        assert as_instance.status_code == 400


def test_a_token_of_another_state_file_is_refused(tmp_path):
    with LocalHost(PROTOCOL_APP, state=str(tmp_path / "a.db")) as host:
        _started(host, 3)
        _, token = _first_page(host)
    with LocalHost(PROTOCOL_APP, state=str(tmp_path / "b.db")) as host:
        _started(host, 3)
        assert host.request("GET", INSTANCES, headers={TOKEN: token}).status_code == 400


def test_a_memory_host_keeps_its_key_for_its_own_run_only():
    with LocalHost(PROTOCOL_APP) as host:
        ids = _started(host, 3)
        _, token = _first_page(host)
        assert _ids(host.request("GET", INSTANCES, headers={TOKEN: token})) == ids[2:]
    with LocalHost(PROTOCOL_APP) as host:
        _started(host, 3)
        assert host.request("GET", INSTANCES, headers={TOKEN: token}).status_code == 400


def test_the_secret_is_kept_in_the_file_and_added_to_files_without_one(tmp_path):
    path = str(tmp_path / "state.db")
    store = SqliteStore(path)
    secret = store.secret()
    store.close()
    assert len(secret) == 32
    reopened = SqliteStore(path)
    assert reopened.secret() == secret
    reopened.close()
    reader = SqliteStore(path, read_only=True)
    assert reader.secret() == secret
    reader.close()
    db = sqlite3.connect(path)  # a file written before the secret existed
    db.execute("DELETE FROM meta WHERE key='secret'")
    db.commit()
    db.close()
    adopted = SqliteStore(path)
    added = adopted.secret()
    adopted.close()
    assert added != secret and len(added) == 32
    again = SqliteStore(path)
    assert again.secret() == added
    again.close()
    assert MemoryStore().secret() != MemoryStore().secret()


def test_tokens_are_bound_to_their_secret_and_purpose():
    query = query_fingerprint({})
    secret = b"s" * 32
    token = ContinuationTokens(secret, "instances").encode(("t", "id"), query)
    assert ContinuationTokens(secret, "instances").decode(token, query) == ("t", "id")
    for other in [ContinuationTokens(secret, "entities"),
                  ContinuationTokens(b"t" * 32, "instances")]:
        with pytest.raises(InvalidContinuationToken):
            other.decode(token, query)
