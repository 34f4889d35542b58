"""Waiting wakes on the instance's change: LocalHost.wait and the start API's ``timeout``."""

import threading
import time

from emulator.testing import LocalHost

from ..conftest import PROTOCOL_APP

BASE = "/runtime/webhooks/durabletask"


def test_wait_is_woken_by_changes_not_by_polling():
    with LocalHost(PROTOCOL_APP) as host:
        instance_id = host.start("waiter")
        host.wait_until(instance_id, lambda s: s["customStatus"] == "waiting")
        calls = []
        host.http.hooks["response"].append(lambda response, **_: calls.append(response.url))
        timer = threading.Timer(0.5, host.raise_event, (instance_id, "go", {"n": 1}))
        timer.start()
        try:
            status = host.wait(instance_id)
        finally:
            timer.join()
        assert status["output"] == {"n": 1}
        waits = [url for url in calls if "/wait" in url]
        # One answer per change (the event's episode, at most one more), not one per 10 ms.
        assert 1 <= len(waits) <= 4, waits


def test_wait_for_an_unknown_instance_gives_up_at_the_timeout():
    with LocalHost(PROTOCOL_APP) as host:
        response = host.request("GET", "/admin/emulator/instances/nobody/wait",
                                params={"timeout": "0.2"})
        assert response.status_code == 200 and response.json() == {"version": -1,
                                                                  "status": None}


def test_start_with_a_timeout_answers_the_terminal_status():
    with LocalHost(PROTOCOL_APP) as host:
        response = host.request("POST", f"{BASE}/orchestrators/chain?timeout=30"
                                "&pollingInterval=0", json='"w"')
        assert response.status_code == 200, response.text
        assert response.json()["runtimeStatus"] == "Completed"


def test_shutdown_answers_open_long_polls_instead_of_waiting_for_their_timeout():
    host = LocalHost(PROTOCOL_APP).start_host()
    answers = []
    try:
        instance_id = host.start("waiter")
        host.wait_until(instance_id, lambda s: s["customStatus"] == "waiting")
        seen = host.status(instance_id)

        def long_poll():
            try:
                answers.append(host.request("GET", f"/admin/emulator/instances/{instance_id}/wait",
                                            params={"timeout": "600", "waiting": "false",
                                                    "after": str(10**9)}))
            except Exception as exc:  # the host cut the request off
                answers.append(exc)

        poller = threading.Thread(target=long_poll)
        poller.start()
        engine = host.server.engine
        for _ in range(1000):  # until the poll is parked in the engine (bounded)
            if engine.open_waits:
                break
            time.sleep(0.005)
        assert engine.open_waits == 1
    finally:
        host.stop_host()
    poller.join(120)
    # Without the release the runner waits for the handler until its shutdown timeout and then
    # cancels it: the client sees a dropped connection, not an answer.
    assert len(answers) == 1 and not isinstance(answers[0], Exception), answers
    assert answers[0].status_code == 200
    assert answers[0].json()["status"]["runtimeStatus"] == seen["runtimeStatus"] == "Running"
