"""The gRPC endpoint's lifetime: a ``grpc.aio`` server on the host's event loop, serving the
sidecar service on a local port (0 picks a free one), started and stopped by the host."""

from __future__ import annotations

import grpc

from ..worker.sdk2.messages import pb_grpc
from ..worker.workitems import TaskHubs, WorkItemDispatcher
from .hubs import HubService
from .operations import ManagementOperations
from .servicer import SidecarServicer

__all__ = ["GrpcEndpoint", "GrpcEndpointError"]


class GrpcEndpointError(RuntimeError):
    """The endpoint could not listen (the port is taken or invalid)."""


class GrpcEndpoint:
    """``await start()`` -> the bound port; ``rpc_base_url`` is what client bindings carry.

    One hub (``operations``, ``work_items``) answering to any ``taskhub`` header, or ``hubs``:
    each call goes to the hub its header names (a scheduler host's task hubs)."""

    def __init__(self, operations: ManagementOperations | None = None, *,
                 host: str = "127.0.0.1", port: int = 0,
                 work_items: WorkItemDispatcher | None = None,
                 hubs: TaskHubs[HubService] | None = None) -> None:
        self.host, self.requested_port = host, port
        self.port: int | None = None
        # No SO_REUSEPORT (gRPC's default): a second host must not share a taken port.
        self._server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        if hubs is None:
            hubs = TaskHubs.only(HubService(operations, work_items))
        pb_grpc.add_TaskHubSidecarServiceServicer_to_server(SidecarServicer(hubs), self._server)

    @property
    def rpc_base_url(self) -> str:
        if self.port is None:
            raise GrpcEndpointError("The gRPC endpoint has not started.")
        return f"http://{self.host}:{self.port}"

    async def start(self) -> int:
        try:
            port = self._server.add_insecure_port(f"{self.host}:{self.requested_port}")
        except RuntimeError as exc:
            raise GrpcEndpointError(
                f"Cannot listen for gRPC on {self.host}:{self.requested_port}: {exc}") from exc
        if port == 0:
            raise GrpcEndpointError(
                f"Cannot listen for gRPC on {self.host}:{self.requested_port}.")
        await self._server.start()
        self.port = port
        return port

    async def stop(self, grace: float | None = 1.0) -> None:
        await self._server.stop(grace)
