"""The gRPC edge for the 2.x durable SDK: durabletask's ``TaskHubSidecarService`` client RPCs
(start, status, wait, raise event, terminate, suspend/resume, rewind, restart, purge, query,
history, entities) over the runtime's operations facade. Sits beside ``http/``: it maps domain
errors to gRPC status codes as ``http/`` maps them to HTTP ones.
"""

from .facade import FacadeOperations
from .hubs import TASKHUB_HEADER, HubService
from .operations import (
    EntityPage,
    EntityView,
    FailureView,
    InstancePage,
    InstanceView,
    ManagementOperations,
)
from .server import GrpcEndpoint, GrpcEndpointError
from .servicer import SidecarServicer

__all__ = [
    # the port the runtime implements, and what it returns
    "ManagementOperations", "InstanceView", "FailureView", "EntityView", "InstancePage",
    "EntityPage",
    # the port over the runtime's operations facade
    "FacadeOperations",
    # serving it
    "GrpcEndpoint", "GrpcEndpointError", "SidecarServicer",
    # task hubs: what the endpoint serves for each, and the header naming it
    "HubService", "TASKHUB_HEADER",
]
