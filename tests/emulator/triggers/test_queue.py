"""The queue trigger source against a real Azurite: at-least-once, poison, encodings, options."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

import azure.functions as func
import pytest
from azure.functions.queue import QueueMessageInConverter
from azure.storage.queue import QueueClient

from emulator.triggers.contract import Outcome
from emulator.triggers.options import MessageEncoding, OptionsError, QueuesOptions
from emulator.triggers.queue_source import (
    QueueListener,
    QueueNameError,
    QueueWatcher,
    poison_queue_name,
)

FAST = QueuesOptions(batch_size=16, new_batch_threshold=8,
                     max_polling_interval=timedelta(milliseconds=200),
                     visibility_timeout=timedelta(0), max_dequeue_count=5)


def queue(azurite, name) -> QueueClient:
    client = QueueClient.from_connection_string(azurite.connection_string, name)
    try:
        client.create_queue()
    except Exception:
        pass
    return client


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def as_message(call) -> func.QueueMessage:
    datum = func.meta.Datum(call.value.value, call.value.type.value)
    meta = {k: func.meta.Datum(v.value, v.type.value) for k, v in call.metadata.items()}
    return QueueMessageInConverter.decode(datum, trigger_metadata=meta)


async def run_listener(listener, until, timeout=20.0):
    task = asyncio.create_task(listener.run())
    try:
        await asyncio.wait_for(until(), timeout)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def eventually(check, timeout=15.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not check():
        assert loop.time() < end, "condition not met in time"
        await asyncio.sleep(0.02)


def test_messages_run_once_each_and_are_deleted_after_success(azurite, account, queue_name):
    q = queue(azurite, queue_name)
    for i in range(5):
        q.send_message(b64(f'{{"n": {i}}}'))
    seen = []

    async def invoke(call):
        seen.append(call)
        return Outcome.ok()

    listener = QueueListener("f", queue_name, account, FAST, invoke)

    async def five():
        await eventually(lambda: listener.stats.processed == 5)

    asyncio.run(run_listener(listener, five))
    assert sorted(as_message(c).get_json()["n"] for c in seen) == [0, 1, 2, 3, 4]
    msg = as_message(seen[0])
    assert msg.dequeue_count == 1 and msg.id and msg.pop_receipt
    assert msg.insertion_time and msg.expiration_time > msg.insertion_time
    assert msg.time_next_visible > msg.insertion_time
    assert seen[0].binding_data["n"] in range(5)            # JSON properties are binding data
    assert seen[0].binding_data["queueTrigger"].startswith('{"n"')
    assert q.peek_messages(max_messages=32) == []


def test_failures_retry_then_poison_with_the_original_text(azurite, account, queue_name):
    q = queue(azurite, queue_name)
    q.send_message(b64("bad request"))
    counts = []

    async def invoke(call):
        counts.append(as_message(call).dequeue_count)
        return Outcome.failed("invalid booking")

    opts = QueuesOptions(max_dequeue_count=3, max_polling_interval=timedelta(milliseconds=200),
                         new_batch_threshold=8)
    listener = QueueListener("f", queue_name, account, opts, invoke)

    async def poisoned():
        await eventually(lambda: listener.stats.poisoned == 1)

    asyncio.run(run_listener(listener, poisoned))
    assert counts == [1, 2, 3]
    poison = QueueClient.from_connection_string(azurite.connection_string,
                                                queue_name + "-poison")
    assert [m.content for m in poison.peek_messages()] == [b64("bad request")]
    assert q.peek_messages() == []


def test_undecodable_message_goes_to_poison_unrun(azurite, account, queue_name, caplog):
    q = queue(azurite, queue_name)
    q.send_message("not base64 at all!")
    runs = []

    async def invoke(call):
        runs.append(call)
        return Outcome.ok()

    listener = QueueListener("f", queue_name, account, FAST, invoke)

    async def poisoned():
        await eventually(lambda: listener.stats.poisoned == 1)

    with caplog.at_level("WARNING", logger="emulator"):
        asyncio.run(run_listener(listener, poisoned))
    assert runs == []
    assert "Message decoding has failed! Check MessageEncoding settings" in caplog.text


def test_encoding_none_reads_plain_text(azurite, account, queue_name):
    q = queue(azurite, queue_name)
    q.send_message("plain text")
    seen = []

    async def invoke(call):
        seen.append(as_message(call).get_body().decode())
        return Outcome.ok()

    opts = QueuesOptions(message_encoding=MessageEncoding.NONE,
                         max_polling_interval=timedelta(milliseconds=200))
    listener = QueueListener("f", queue_name, account, opts, invoke)

    async def one():
        await eventually(lambda: listener.stats.processed == 1)

    asyncio.run(run_listener(listener, one))
    assert seen == ["plain text"]


def test_a_host_killed_mid_batch_redelivers(azurite, account, queue_name):
    """The first listener dies while its functions run (its task is cancelled, nothing is
    deleted); a second one gets every message again once the lease runs out."""
    q = queue(azurite, queue_name)
    for i in range(4):
        q.send_message(b64(str(i)))
    started = []
    never = asyncio.Event  # created inside the loop

    async def first():
        hold = never()
        async def invoke(call):
            started.append(call)
            await hold.wait()
            return Outcome.ok()
        listener = QueueListener("f", queue_name, account, FAST, invoke,
                                 lease=timedelta(seconds=2))
        await run_listener(listener, lambda: eventually(lambda: len(started) == 4))

    asyncio.run(first())
    again = []

    async def second():
        async def invoke(call):
            again.append(as_message(call))
            return Outcome.ok()
        listener = QueueListener("f", queue_name, account, FAST, invoke)
        await run_listener(listener, lambda: eventually(lambda: listener.stats.processed == 4))

    asyncio.run(second())
    assert sorted(m.get_body().decode() for m in again) == ["0", "1", "2", "3"]
    assert {m.dequeue_count for m in again} == {2}
    assert q.peek_messages() == []


def test_over_the_limit_at_receive_goes_to_poison_unrun(azurite, account, queue_name):
    q = queue(azurite, queue_name)
    q.send_message(b64("x"))
    for _ in range(2):  # two receives without delete: dequeue count 2 on the next receive
        m = q.receive_message(visibility_timeout=1)
        q.update_message(m, visibility_timeout=0)
    runs = []

    async def invoke(call):
        runs.append(call)
        return Outcome.ok()

    opts = QueuesOptions(max_dequeue_count=1, max_polling_interval=timedelta(milliseconds=200))
    listener = QueueListener("f", queue_name, account, opts, invoke)

    async def poisoned():
        await eventually(lambda: listener.stats.poisoned == 1)

    asyncio.run(run_listener(listener, poisoned))
    assert runs == []


def test_watcher_wakes_an_idle_listener(azurite, account, queue_name):
    q = queue(azurite, queue_name)
    watcher = QueueWatcher()
    seen = []

    async def invoke(call):
        seen.append(call)
        return Outcome.ok()

    slow = QueuesOptions(max_polling_interval=timedelta(seconds=60))
    listener = QueueListener("f", queue_name, account, slow, invoke, watcher=watcher)

    async def scenario():
        # An empty queue's waits double from 100 ms (x0.8-1.2): at 3.8 s the listener is in its
        # sixth wait, which ends 1.2 s later at the earliest; only the wake answers sooner.
        await asyncio.sleep(3.8)
        q.send_message(b64("now"))
        watcher.notify(queue_name)
        loop = asyncio.get_running_loop()
        sent = loop.time()
        await eventually(lambda: seen, timeout=5)
        assert loop.time() - sent < 1.0

    asyncio.run(run_listener(listener, scenario))


def test_missing_queue_is_polled_until_it_exists(azurite, account, queue_name, caplog):
    seen = []

    async def invoke(call):
        seen.append(call)
        return Outcome.ok()

    listener = QueueListener("f", queue_name, account, FAST, invoke)

    async def later():
        await asyncio.sleep(0.3)
        queue(azurite, queue_name).send_message(b64("late"))
        await eventually(lambda: seen)

    with caplog.at_level("WARNING", logger="emulator"):
        asyncio.run(run_listener(listener, later))
    assert "does not exist yet" in caplog.text


# -- names and options -------------------------------------------------------------------------

def test_names():
    assert poison_queue_name("orders") == "orders-poison"
    assert poison_queue_name("orders-poison") is None
    assert poison_queue_name("a" * 60) is None
    with pytest.raises(QueueNameError, match="not a valid queue name"):
        QueueListener("f", "Bad_Name", None, FAST, None)


def test_options_from_host_json():
    opts = QueuesOptions.from_host_json({"extensions": {"queues": {
        "batchSize": 8, "maxPollingInterval": "00:00:02", "visibilityTimeout": "00:00:30",
        "maxDequeueCount": 2, "messageEncoding": "none"}}}, processors=2)
    assert opts == QueuesOptions(8, 8, timedelta(seconds=2), timedelta(seconds=30), 2,
                                 MessageEncoding.NONE)
    defaults = QueuesOptions.from_host_json({}, processors=1)
    assert (defaults.batch_size, defaults.new_batch_threshold, defaults.max_dequeue_count) == \
        (16, 8, 5)
    assert defaults.message_encoding == MessageEncoding.BASE64
    assert QueuesOptions.from_host_json(
        {"extensions": {"queues": {"NewBatchThreshold": 0}}}).new_batch_threshold == 0


@pytest.mark.parametrize("queues,message", [
    ({"batchSize": 33}, "batchSize must be 1-32"),
    ({"batchSize": "many"}, "batchSize must be a whole number"),
    ({"maxPollingInterval": "00:00:00.05"}, "maxPollingInterval must not be less"),
    ({"maxPollingInterval": "soon"}, "not a TimeSpan"),
    ({"maxDequeueCount": 0}, "maxDequeueCount must not be less than 1"),
    ({"messageEncoding": "utf8"}, "messageEncoding must be base64 or none"),
])
def test_bad_options(queues, message):
    with pytest.raises(OptionsError, match=message):
        QueuesOptions.from_host_json({"extensions": {"queues": queues}})


def test_a_long_run_keeps_its_lease(azurite, account, queue_name):
    """A function that runs longer than the lease is not redelivered meanwhile: the lease is
    renewed, and the message is deleted once (dequeue count stays 1)."""
    q = queue(azurite, queue_name)
    q.send_message(b64("slow"))
    seen = []

    async def invoke(call):
        seen.append(as_message(call).dequeue_count)
        await asyncio.sleep(3.5)
        return Outcome.ok()

    listener = QueueListener("f", queue_name, account, FAST, invoke, lease=timedelta(seconds=2))

    async def done():
        await eventually(lambda: listener.stats.processed == 1)

    asyncio.run(run_listener(listener, done))
    assert seen == [1]
    assert q.peek_messages() == []
