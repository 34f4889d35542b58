"""The blob trigger's polling source against Azurite: once per new or changed blob, receipts
kept across restarts, retries then the poison queue; and blob path patterns."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import timedelta

import azure.functions as func
import pytest
from azure.functions.blob import BlobConverter
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient

from emulator.triggers.blob_source import (
    EVENT_GRID_NOTE,
    HOSTS_CONTAINER,
    POISON_QUEUE,
    BlobListener,
)
from emulator.triggers.contract import Outcome
from emulator.triggers.expressions import BlobPathPattern, ExpressionError, fill
from emulator.triggers.options import BlobsOptions

OPTS = BlobsOptions(max_degree_of_parallelism=4, poison_blob_threshold=3)


@pytest.fixture
def container(azurite):
    name = "c" + uuid.uuid4().hex[:10]
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    return service.create_container(name)


def as_stream(call) -> func.InputStream:
    datum = func.meta.Datum(call.value.value, call.value.type.value)
    meta = {k: func.meta.Datum(v.value, v.type.value) for k, v in call.metadata.items()}
    return BlobConverter.decode(datum, trigger_metadata=meta)


class Runs:
    def __init__(self, fail=False):
        self.calls = []
        self.fail = fail

    async def __call__(self, call):
        self.calls.append(call)
        return Outcome.failed("nope") if self.fail else Outcome.ok()


def scan(listener: BlobListener) -> int:
    async def go():
        async with listener.account.blob_service() as service:
            listener._container = service.get_container_client(listener.pattern.container)
            listener._hosts = service.get_container_client(HOSTS_CONTAINER)
            await listener._ensure_hosts_container()
            return await listener.scan()
    return asyncio.run(go())


def test_new_and_changed_blobs_run_once_across_restarts(account, container):
    container.upload_blob("in/a.txt", b"alpha")
    container.upload_blob("other/b.txt", b"not matched")
    runs = Runs()
    path = f"{container.container_name}/in/{{name}}.txt"
    listener = BlobListener("f", path, account, OPTS, runs, host_id="testhost")
    scan(listener)
    scan(listener)
    assert len(runs.calls) == 1
    stream = as_stream(runs.calls[0])
    assert stream.read() == b"alpha"
    assert stream.name == f"{container.container_name}/in/a.txt"
    assert stream.length == 5 and stream.uri.endswith("/in/a.txt")
    assert runs.calls[0].binding_data["name"] == "a"
    # a restarted host (new listener, same storage) does not run it again
    restarted = BlobListener("f", path, account, OPTS, runs, host_id="testhost")
    scan(restarted)
    assert len(runs.calls) == 1
    # a changed blob (new ETag) runs once more
    container.upload_blob("in/a.txt", b"alpha 2", overwrite=True)
    scan(restarted)
    scan(restarted)
    assert [as_stream(c).read() for c in runs.calls] == [b"alpha", b"alpha 2"]


def test_a_receipt_without_completed_runs_again(account, container, azurite):
    """The host died while the function ran: the receipt exists but is not completed."""
    blob = container.upload_blob("x.bin", b"\x00\x01")
    etag = blob.get_blob_properties().etag
    hosts = BlobServiceClient.from_connection_string(azurite.connection_string) \
        .get_container_client(HOSTS_CONTAINER)
    try:
        hosts.create_container()
    except Exception:
        pass
    from emulator.triggers.blob_source import receipt_name
    hosts.upload_blob(receipt_name("h2", "Host.Functions.f", etag, container.container_name,
                                   "x.bin"), b"")
    runs = Runs()
    listener = BlobListener("f", f"{container.container_name}/{{name}}", account, OPTS, runs,
                            host_id="h2")
    scan(listener)
    assert len(runs.calls) == 1
    props = hosts.get_blob_client(receipt_name("h2", "Host.Functions.f", etag,
                                               container.container_name, "x.bin")) \
        .get_blob_properties()
    assert props.metadata == {"Completed": "true"}


def test_failures_retry_then_poison_queue(account, container, azurite):
    container.upload_blob("broken.json", b"{")
    runs = Runs(fail=True)
    listener = BlobListener("f", f"{container.container_name}/{{name}}.json", account, OPTS,
                            runs, host_id="h3")
    for _ in range(5):
        scan(listener)
    assert len(runs.calls) == 3 and listener.stats.poisoned == 1
    poison = QueueClient.from_connection_string(azurite.connection_string, POISON_QUEUE)
    bodies = [json.loads(base64.b64decode(m.content)) for m in poison.peek_messages(32)]
    mine = [b for b in bodies if b["ContainerName"] == container.container_name]
    assert mine and mine[0]["BlobName"] == "broken.json" and mine[0]["Type"] == "BlobTrigger"
    assert mine[0]["FunctionId"] == "Host.Functions.f"


def test_run_loop_and_wake(account, container):
    runs = Runs()
    listener = BlobListener("f", f"{container.container_name}/{{name}}", account, OPTS, runs,
                            host_id="h4", poll_interval=timedelta(seconds=30))

    async def go():
        task = asyncio.create_task(listener.run())
        try:
            await asyncio.sleep(0.5)
            container.upload_blob("late.txt", b"hi")
            listener.wake()
            for _ in range(200):
                if runs.calls:
                    break
                await asyncio.sleep(0.02)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(go())
    assert len(runs.calls) == 1


# -- patterns and templates -------------------------------------------------------------------

def test_patterns():
    p = BlobPathPattern.parse("samples/{name}")
    assert p.match("a/b/c.txt") == {"name": "a/b/c.txt"}
    q = BlobPathPattern.parse("images/{folder}/{file}.png")
    assert q.match("x/y/z.png") == {"folder": "x", "file": "y/z"}
    assert q.match("x/y/z.jpg") is None
    assert q.literal_prefix() == ""
    assert BlobPathPattern.parse("c/in/{name}").literal_prefix() == "in/"
    assert BlobPathPattern.parse("%C%/{name}", {"C": "cont"}).container == "cont"
    assert BlobPathPattern.parse("c/{{x}}-{name}").match("{x}-1") == {"name": "1"}
    with pytest.raises(ExpressionError, match="must be literal"):
        BlobPathPattern.parse("{c}/{name}")


def test_templates():
    data = {"name": "a", "queueTrigger": "hello", "body": {"id": 7}}
    assert fill("out/{name}.txt", data) == "out/a.txt"
    assert fill("{QUEUETRIGGER}", data) == "hello"
    assert fill("x/{body.id}", data) == "x/7"
    assert len(fill("{rand-guid}", {})) == 36
    with pytest.raises(ExpressionError, match="No value for named parameter 'missing'"):
        fill("{missing}", data)


def test_event_grid_note_names_flex():
    assert "Flex Consumption accepts only the Event Grid source" in EVENT_GRID_NOTE
