"""A scheduler host (no app: ``python -m emulator scheduler``'s server) on a loop in its own
thread, for durabletask's blocking ``TaskHubGrpcWorker`` / ``TaskHubGrpcClient``."""

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator

import grpc
import pytest
from durabletask import client, worker
from durabletask.internal import orchestrator_service_pb2 as pb
from durabletask.internal import orchestrator_service_pb2_grpc as stubs

from emulator.host.scheduler import SchedulerServer
from emulator.host.server import HostOptions


class RunningScheduler:
    def __init__(self, state: str = ":memory:", time_skipping: bool = False,
                 task_hubs: tuple[str, ...] = ("default",)) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        options = HostOptions(port=0, grpc_port=0, state=state, worker="in-process",
                              time_skipping=time_skipping, blocked_loop_seconds=0)
        self.server = SchedulerServer(options, task_hubs)

        async def start() -> None:
            self.server.prepare()
            await self.server.start()
        self.call(start())
        self.address = f"127.0.0.1:{self.server.grpc_port}"
        self.base_url = f"http://127.0.0.1:{self.server.port}"

    def call(self, coroutine, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def on_loop(self, fn, timeout: float = 30):
        async def run():
            return fn()
        return self.call(run(), timeout)

    @property
    def dispatcher(self):
        """The default (first) hub's."""
        return self.server.hubs[0].dispatcher

    def client(self, taskhub: str | None = None) -> client.TaskHubGrpcClient:
        """A durabletask client of ``taskhub`` (the ``taskhub`` header, as
        durabletask-azuremanaged sends it; None: no header)."""
        return client.TaskHubGrpcClient(host_address=self.address,
                                        metadata=_hub_metadata(taskhub))

    def stop(self) -> None:
        self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


def _hub_metadata(taskhub: str | None) -> list[tuple[str, str]] | None:
    return None if taskhub is None else [("taskhub", taskhub)]


@contextlib.contextmanager
def started_worker(address: str, *, orchestrators: tuple[Callable, ...] = (),
                   activities: tuple[Callable, ...] = (), entities: tuple[Callable, ...] = (),
                   filtered: bool = False,
                   taskhub: str | None = None) -> Iterator[worker.TaskHubGrpcWorker]:
    """A durabletask worker with these functions, connected to ``address`` for the block;
    ``filtered``: it sends work-item filters naming them; ``taskhub``: the hub it names in
    its ``taskhub`` header (None: no header, the default hub)."""
    with worker.TaskHubGrpcWorker(host_address=address,
                                  metadata=_hub_metadata(taskhub)) as w:
        for fn in orchestrators:
            w.add_orchestrator(fn)
        for fn in activities:
            w.add_activity(fn)
        for fn in entities:
            w.add_entity(fn)
        if filtered:
            w.use_work_item_filters()
        w.start()
        yield w


STREAM_SECONDS = 30  # a missing work item ends a test (DEADLINE_EXCEEDED), never hangs it


@contextlib.contextmanager
def raw_worker(address: str, filters: pb.WorkItemFilters | None = None):
    """A worker of the test's own for the block (it answers work items itself): the sidecar
    service's stub and its work-item stream, sent with ``filters``; leaving the block ends the
    stream and closes the channel, as a worker that goes away does."""
    channel = grpc.insecure_channel(address)
    stub = stubs.TaskHubSidecarServiceStub(channel)
    request = pb.GetWorkItemsRequest()
    if filters is not None:
        request.workItemFilters.CopyFrom(filters)
    stream = stub.GetWorkItems(request, timeout=STREAM_SECONDS)
    try:
        yield stub, stream
    finally:
        stream.cancel()
        channel.close()


def next_item(stream) -> pb.WorkItem:
    """The stream's next work item (health pings skipped)."""
    for item in stream:
        if not item.HasField("healthPing"):
            return item
    raise AssertionError("the stream ended")


@contextlib.contextmanager
def scheduler_running(**options) -> Iterator[RunningScheduler]:
    """A scheduler host (``RunningScheduler``'s options) for the block."""
    running = RunningScheduler(**options)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def scheduler():
    with scheduler_running() as running:
        yield running


@pytest.fixture
def two_hubs():
    """A scheduler host with the task hubs ``a`` (the default) and ``b``."""
    with scheduler_running(task_hubs=("a", "b")) as running:
        yield running
