"""Draining a storage queue: the local host's queue trigger against a bare consumer.

    python -m benchmarks.queue_drain                 # 2,000 messages, medians of 3 pairs
    python -m benchmarks.queue_drain --messages 500 --repeat 1 --layer listener

One Azurite (queue service) serves both sides in the same run. Each pair fills a fresh queue
with N base64 messages, then drains it once through the local host and once with the bare
consumer, alternating which goes first. The figure is messages per second; the target is the
host at >= 0.8x the bare rate.

- bare: ``azure-storage-queue``'s asyncio client, receiving 32 at a time (the service's limit)
  and deleting each message of a batch concurrently: the best plain consumer, not a strawman.
- host (``--layer host``, the default): the local host serving an app with one trivial
  queue-triggered function (``benchmarks/trigger_app``), from message in to message deleted.
  Its host.json sets ``batchSize`` 32, the batch the bare consumer takes (with the default 16
  the host makes twice the receive calls: 0.79-0.89x here).
- listener (``--layer listener``): the queue source alone with a trivial ``Invoke`` (no app):
  the listener's own cost.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from emulator.host.azurite import Azurite
from emulator.triggers import Outcome, QueueListener, QueuesOptions, resolve_connection

TARGET = 0.8
APP = Path(__file__).parent / "trigger_app"


async def fill(conn: str, queue: str, count: int) -> None:
    from azure.storage.queue.aio import QueueClient
    async with QueueClient.from_connection_string(conn, queue) as client:
        await client.create_queue()
        body = base64.b64encode(b'{"n": 1}').decode()
        sem = asyncio.Semaphore(32)

        async def one() -> None:
            async with sem:
                await client.send_message(body)

        await asyncio.gather(*(one() for _ in range(count)))


async def drain_bare(conn: str, queue: str, count: int) -> float:
    from azure.storage.queue.aio import QueueClient
    done = 0
    start = time.perf_counter()
    async with QueueClient.from_connection_string(conn, queue) as client:
        while done < count:
            batch = [m async for m in client.receive_messages(messages_per_page=32,
                                                               max_messages=32,
                                                               visibility_timeout=600)]
            for message in batch:
                base64.b64decode(message.content)
            await asyncio.gather(*(client.delete_message(m) for m in batch))
            done += len(batch)
    return time.perf_counter() - start


async def drain_listener(conn: str, queue: str, count: int) -> float:
    account = resolve_connection(None, {"AzureWebJobsStorage": conn})
    finished = asyncio.Event()
    seen = 0

    async def invoke(call: object) -> Outcome:
        nonlocal seen
        seen += 1
        return Outcome.ok()

    options = QueuesOptions(max_polling_interval=timedelta(seconds=1))
    listener = QueueListener("drain", queue, account, options, invoke)
    start = time.perf_counter()
    task = asyncio.create_task(listener.run())
    try:
        while listener.stats.processed < count:
            await asyncio.sleep(0.005)
        finished.set()
        return time.perf_counter() - start
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def drain_host(conn: str, queue: str, count: int) -> float:
    """Through the local host in a process of its own: from the moment it serves (its listener
    starts then) until its triggers view counts every message processed."""
    from emulator.testing import LocalHost
    settings = {"AzureWebJobsStorage": conn, "DRAIN_QUEUE": queue}
    with LocalHost(APP, settings=settings, subprocess=True) as host:
        start = time.perf_counter()
        while True:
            state = host.request("GET", "/admin/emulator/triggers",
                                 params={"depths": "false"}).json()
            if state["queues"][0]["processed"] >= count:
                return time.perf_counter() - start
            time.sleep(0.05)


def measure(layer: str, conn: str, count: int, first_host: bool) -> tuple[float, float]:
    sides: list[tuple[str, Callable[[str], Awaitable[float] | float]]] = [
        ("host", (lambda q: drain_host(conn, q, count)) if layer == "host"
         else (lambda q: drain_listener(conn, q, count))),
        ("bare", lambda q: drain_bare(conn, q, count)),
    ]
    if not first_host:
        sides.reverse()
    times: dict[str, float] = {}
    for name, run in sides:
        queue = "drain" + uuid.uuid4().hex[:12]
        asyncio.run(fill(conn, queue, count))
        result = run(queue)
        times[name] = asyncio.run(result) if asyncio.iscoroutine(result) else result
    return times["host"], times["bare"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.queue_drain")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--layer", choices=("host", "listener"), default="host")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.repeat < 1:
        parser.error("--messages and --repeat must be at least 1")
    with tempfile.TemporaryDirectory(prefix="drain-") as tmp, \
            Azurite(Path(tmp) / "azurite", queue=True) as azurite:
        pairs = [measure(args.layer, azurite.connection_string, args.messages, i % 2 == 0)
                 for i in range(args.repeat)]
    host_s = statistics.median(p[0] for p in pairs)
    bare_s = statistics.median(p[1] for p in pairs)
    host_rate, bare_rate = args.messages / host_s, args.messages / bare_s
    ratio = host_rate / bare_rate
    result = {"what": f"drain {args.messages} queue messages ({args.layer})",
              "host_msgs_per_s": host_rate, "bare_msgs_per_s": bare_rate, "ratio": ratio,
              "target": TARGET, "pairs_s": pairs}
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        verdict = "ok" if ratio >= TARGET else "BELOW TARGET"
        print(f"{result['what']}: host {host_rate:,.0f} msg/s, bare {bare_rate:,.0f} msg/s, "
              f"{ratio:.2f}x (target >= {TARGET}x) {verdict}")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
