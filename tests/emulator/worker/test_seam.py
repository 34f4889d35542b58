"""The worker seam: the in-process worker runs the app's functions on plain data in, plain data
out (what an out-of-process worker would send over a pipe)."""

import asyncio
import json
from types import SimpleNamespace

import azure.functions as func

from emulator.worker.loader import ActivityFunction, LoadedApp
from emulator.worker.seam import HttpReply, InProcessWorker, Worker, http_reply


def _worker(**activities) -> InProcessWorker:
    app = LoadedApp(app_dir=None, http=[], orchestrators={}, entities={}, host_json={},
                    activities={name: ActivityFunction(name, name, False, "value", False)
                                for name in activities},
                    code=dict(activities))
    return InProcessWorker(app, threads=1)


def test_the_in_process_worker_is_a_worker():
    worker: Worker = _worker()
    assert worker.app.activities == {}
    worker.close()


def test_an_activity_runs_on_json_text_and_answers_json_text():
    worker = _worker(double=lambda value: {"twice": value * 2})
    try:
        activity = worker.app.activity("double")
        result = asyncio.run(worker.run_activity(activity, "21", None))
    finally:
        worker.close()
    assert json.loads(result) == {"twice": 42}


def test_missing_functions_are_told_not_raised():
    worker = _worker()
    try:
        assert worker.entity("nobody") is None
        state, replayed, failure = worker.orchestrator("gone")(SimpleNamespace(name="gone"), [],
                                                               None)
        assert (state, replayed) == (None, None)
        assert failure == ("Orchestrator function 'gone' failed: the function no longer exists "
                           "in the app")
    finally:
        worker.close()


def test_http_replies_are_plain_data():
    assert http_reply(None) == HttpReply(204)
    assert http_reply("hi") == HttpReply(200, body=b"hi", content_type="text/plain")
    assert http_reply({"a": 1}) == HttpReply(value={"a": 1}, is_json=True)
    reply = http_reply(func.HttpResponse("no", status_code=418, mimetype="text/html"))
    assert (reply.status, reply.body) == (418, b"no")
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"


def test_the_function_index_is_plain_data():
    """What the runtime and the HTTP edge read could come from another process: no code in it."""
    import dataclasses
    import types
    from pathlib import Path

    from emulator.worker.index import FunctionIndex
    from emulator.worker.loader import load_app

    app = load_app(Path(__file__).resolve().parents[1] / "apps" / "protocol")
    index = {f.name: getattr(app, f.name) for f in dataclasses.fields(FunctionIndex)}

    def values(value):
        if dataclasses.is_dataclass(value):
            value = dataclasses.asdict(value)
        if isinstance(value, dict):
            for item in value.values():
                yield from values(item)
        elif isinstance(value, list | tuple | frozenset):
            for item in value:
                yield from values(item)
        else:
            yield value

    found = list(values(index))
    assert app.orchestrators and app.activities and found
    assert not [v for v in found if callable(v) or isinstance(v, types.ModuleType)]
    assert callable(app.code_of(next(iter(app.activities.values()))))
