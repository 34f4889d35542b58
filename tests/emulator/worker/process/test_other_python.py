"""An app in a virtual environment of another Python (3.13, azure-functions 2.x) runs in workers
started with that interpreter: indexing, activities, orchestrator episodes, HTTP functions."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from emulator.protocol.history import execution_started, orchestrator_started
from emulator.store.base import InstanceRecord
from emulator.worker.invoke import trigger_json

from .conftest import BASIC, OTHER_VERSION


def test_the_app_runs_on_the_other_interpreter(start_pool, other_python):
    running = start_pool(BASIC, _PYTHON=other_python)
    worker = running.pool.workers[0]
    assert worker.python_version.startswith(OTHER_VERSION + ".")
    info = json.loads(running.call("activity", "where", b"0").text)
    assert info["python"].startswith(OTHER_VERSION + ".")
    assert running.call("activity", "double", b"4").text == "8"
    now = datetime(2026, 1, 1, tzinfo=UTC)
    record = InstanceRecord("i1", "chain", "e1", "Running", '"3"', "2026-01-01T00:00:00Z",
                            "2026-01-01T00:00:00Z")
    history = [orchestrator_started(now),
               execution_started(now, name="chain", instance_id="i1", execution_id="e1",
                                 input_json='"3"')]
    state = json.loads(running.call("orchestrator", "chain",
                                    trigger_json(record, history).encode()).text)
    assert state["actions"][0][0]["functionName"] == "echo"
    reply = running.call("http", "hello", b"", {
        "method": "GET", "url": "http://localhost/api/hello/bo", "route_params": {"name": "bo"}})
    assert reply.body == b"hello bo "
