"""Triggered functions of a real ``FunctionApp`` run through the runner: arguments as the
Python worker builds them, outputs written only after success, manual (admin) calls."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import timedelta

import azure.functions as func
import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient

from emulator.triggers import QueueListener, QueuesOptions, StorageBindings
from emulator.triggers.runner import TriggeredRunner, UnknownFunction
from emulator.worker.loader import _triggered_function
from emulator.worker.pool import AbandonablePool
from emulator.worker.triggered import invoke_triggered


def build_app(prefix: str):
    app = func.FunctionApp()
    seen = {}

    @app.queue_trigger(arg_name="msg", queue_name=f"{prefix}in", connection="Store")
    @app.blob_output(arg_name="out", path=f"{prefix}out/{{ref}}.txt", connection="Store")
    @app.queue_output(arg_name="$return", queue_name=f"{prefix}next", connection="Store")
    def on_message(msg: func.QueueMessage, out: func.Out[str]) -> str:
        body = msg.get_json()
        seen["msg"] = msg
        if body.get("fail"):
            out.set("never written")
            raise ValueError("invalid request")
        out.set(f"hello {body['who']}")
        return json.dumps({"done": body["ref"]})

    @app.timer_trigger(arg_name="timer", schedule="0 0 2 * * *")
    @app.blob_input(arg_name="config", path=f"{prefix}out/cfg.txt", connection="Store")
    async def nightly(timer: func.TimerRequest, config: str) -> None:
        seen["timer"] = (timer.past_due, config)

    @app.blob_trigger(arg_name="blob", path=f"{prefix}out/{{name}}", connection="Store")
    def on_blob(blob: func.InputStream) -> None:
        seen["blob"] = (blob.name, blob.read())

    @app.service_bus_queue_trigger(arg_name="m", queue_name="orders", connection="SB")
    def on_bus(m: func.ServiceBusMessage) -> None:
        seen["bus"] = m.get_body()

    return app, seen


def runner_for(app, azurite) -> TriggeredRunner:
    """The runner over the app's index entries, running code as the in-process worker does."""
    entries, code = [], {}
    for f in app.get_functions():
        entry = _triggered_function(f.get_function_name(), f.get_trigger(),
                                    f.get_user_function(), f.get_bindings())
        entries.append(entry)
        code[entry.name] = f.get_user_function()
    pool = AbandonablePool(2, "test-functions")

    async def run(function, call, inputs, client_binding):
        return await invoke_triggered(function, code[function.name], call, inputs,
                                      client_binding, None, pool, None)

    bindings = StorageBindings(settings={"Store": azurite.connection_string})
    return TriggeredRunner(entries, run, bindings)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_queue_message_to_blob_and_queue_outputs(azurite, account):
    prefix = "r" + uuid.uuid4().hex[:8]
    app, seen = build_app(prefix)
    runner = runner_for(app, azurite)
    incoming = QueueClient.from_connection_string(azurite.connection_string, f"{prefix}in")
    incoming.create_queue()
    incoming.send_message(b64(json.dumps({"ref": "a1", "who": "ada"})))
    incoming.send_message(b64(json.dumps({"ref": "b2", "who": "bob", "fail": True})))
    opts = QueuesOptions(max_dequeue_count=1, max_polling_interval=timedelta(milliseconds=200))
    listener = QueueListener("on_message", f"{prefix}in", account, opts, runner)

    async def go():
        task = asyncio.create_task(listener.run())
        try:
            for _ in range(500):
                if listener.stats.processed == 1 and listener.stats.poisoned == 1:
                    break
                await asyncio.sleep(0.02)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(go())
    assert listener.stats.processed == 1 and listener.stats.poisoned == 1
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string) \
        .get_container_client(f"{prefix}out")
    assert [b.name for b in blobs.list_blobs()] == ["a1.txt"]   # the failed run wrote nothing
    assert blobs.download_blob("a1.txt").readall() == b"hello ada"
    nxt = QueueClient.from_connection_string(azurite.connection_string, f"{prefix}next")
    assert [json.loads(base64.b64decode(m.content)) for m in nxt.peek_messages()] == \
        [{"done": "a1"}]
    failed = [r for r in runner.recent if not r["succeeded"]]
    assert failed and "ValueError: invalid request" in failed[0]["error"]


def test_manual_calls(azurite):
    prefix = "m" + uuid.uuid4().hex[:8]
    app, seen = build_app(prefix)
    runner = runner_for(app, azurite)
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    service.create_container(f"{prefix}out").upload_blob("cfg.txt", b"config!")

    async def go():
        for name, given in (("nightly", None), ("on_blob", f"{prefix}out/cfg.txt"),
                            ("on_bus", "a bus message"),
                            ("on_message", {"ref": "m1", "who": "eve"})):
            outcome = await runner(await runner.manual_call(name, given))
            assert outcome.succeeded, (name, outcome)
        with pytest.raises(UnknownFunction):
            await runner.manual_call("nope", "")
        with pytest.raises(LookupError, match="does not exist"):
            await runner.manual_call("on_blob", f"{prefix}out/missing.txt")

    asyncio.run(go())
    assert seen["timer"] == (False, "config!")
    assert seen["blob"] == (f"{prefix}out/cfg.txt", b"config!")
    assert seen["bus"] == b"a bus message"
    assert seen["msg"].dequeue_count == 1 and seen["msg"].get_json()["who"] == "eve"
    assert service.get_blob_client(f"{prefix}out", "m1.txt").download_blob().readall() == \
        b"hello eve"
