"""Stopping the trigger host against a real Azurite: the queue and blob listeners end at once, a
listener woken just before the stop included, and every storage client they opened is closed;
an executor that refuses work (the process is exiting) ends a listener without an outage line."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.core.pipeline.transport import AioHttpTransport

from emulator.triggers.host import TriggerHost
from emulator.worker.index import TriggeredFunction

OUTAGE = "its storage is not reachable"
ENDED = "its listener ends: the host is shutting down"


class RecordingAccount:
    """A storage account whose service clients use transports the test can look at."""

    def __init__(self, account: Any) -> None:
        self.account = account
        self.transports: list[AioHttpTransport] = []

    def _transport(self) -> AioHttpTransport:
        transport = AioHttpTransport()
        self.transports.append(transport)
        return transport

    def queue_service(self, **kwargs: Any) -> Any:
        return self.account.queue_service(transport=self._transport(), **kwargs)

    def blob_service(self, **kwargs: Any) -> Any:
        return self.account.blob_service(transport=self._transport(), **kwargs)

    def open_sessions(self) -> list[Any]:
        return [t.session for t in self.transports if t.session is not None]


class NoticedWake(asyncio.Event):
    """A listener's wake event that tells when the listener starts waiting on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = asyncio.Event()

    async def wait(self) -> bool:
        self.waiting.set()
        return await super().wait()


class LogLines(logging.Handler):
    """The ``emulator`` lines; ``first`` waits on the loop for one that holds any of the texts."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.DEBUG)
        self.loop = loop
        self.lines: list[str] = []
        self.arrived = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self.loop.call_soon_threadsafe(self.arrived.set)

    async def first(self, *texts: str) -> str:
        while True:
            found = [line for line in self.lines if any(text in line for text in texts)]
            if found:
                return found[0]
            self.arrived.clear()
            await self.arrived.wait()


def trigger(kind: str, queue_name: str) -> TriggeredFunction:
    if kind == "queue":
        binding = {"name": "arg", "type": "queueTrigger", "queueName": queue_name}
    else:
        binding = {"name": "arg", "type": "blobTrigger", "path": f"{queue_name}/{{name}}"}
    return TriggeredFunction(f"on_{kind}", binding["type"], "arg", binding, [], None, False,
                             False)


async def run_nothing(*args):
    return {}


def watched_host(azurite, kind: str, queue_name: str) -> tuple[TriggerHost, Any, Any]:
    """A trigger host with one listener whose clients and waits the test sees."""
    host = TriggerHost([trigger(kind, queue_name)], {}, run_nothing, lambda: datetime.now(UTC),
                       settings={"AzureWebJobsStorage": azurite.connection_string})
    (listener,) = [*host.queues, *host.blobs]
    listener.account = account = RecordingAccount(listener.account)
    listener._wake = wake = NoticedWake()  # the wait the stop has to end
    return host, account, wake


@pytest.fixture
def emulator_log():
    logger = logging.getLogger("emulator")
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    handlers: list[LogLines] = []

    def attach(loop: asyncio.AbstractEventLoop) -> LogLines:
        handlers.append(LogLines(loop))
        logger.addHandler(handlers[-1])
        return handlers[-1]

    yield attach
    for handler in handlers:
        logger.removeHandler(handler)
    logger.setLevel(previous)


@pytest.mark.parametrize("kind", ["queue", "blob"])
def test_a_stop_right_after_a_wake_ends_the_listener_and_closes_its_client(
        azurite, queue_name, kind, emulator_log):
    async def scenario():
        lines = emulator_log(asyncio.get_running_loop())
        host, account, wake = watched_host(azurite, kind, queue_name)
        host.start()
        await wake.waiting.wait()
        assert account.open_sessions(), "the listener polls through an open client"
        wake.set()  # as a queue or blob output binding of this host does
        async with asyncio.timeout(10):
            await host.stop()
        assert account.open_sessions() == []
        assert not [line for line in lines.lines if OUTAGE in line]

    asyncio.run(scenario())


def test_an_executor_that_refuses_work_ends_the_listener_without_an_outage_line(
        azurite, queue_name, emulator_log):
    """At interpreter exit every executor refuses new work, and each aiohttp request needs the
    loop's (for its netrc lookup): that is the process ending, not storage being down."""
    async def scenario():
        loop = asyncio.get_running_loop()
        lines = emulator_log(loop)
        host, account, wake = watched_host(azurite, "queue", queue_name)
        host.start()
        await wake.waiting.wait()
        refusing = ThreadPoolExecutor(1)
        refusing.shutdown()
        loop.set_default_executor(refusing)
        wake.set()
        line = await asyncio.wait_for(lines.first(ENDED, OUTAGE), 10)
        assert ENDED in line and "cannot schedule new futures after shutdown" in line
        assert account.open_sessions() == []
        async with asyncio.timeout(10):
            await host.stop()
        assert not [line for line in lines.lines if OUTAGE in line]

    asyncio.run(scenario())
