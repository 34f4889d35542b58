"""Which durable SDK generation an app is written for, read from its indexed functions.

The 2.x SDK (``azure-functions-durable`` >= 2, on ``durabletask``) marks each of its durable
triggers and bindings with ``durable_requires_grpc`` (``durableRequiresGrpc`` in the function
metadata the worker sends the host): the extension then speaks protobuf to the function and
hands the client binding an ``rpcBaseUrl``. 1.x triggers carry no such flag. One app uses one
SDK (both register the same binding types), so the first durable trigger or binding decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

__all__ = ["SdkGeneration", "DURABLE_BINDING_TYPES", "binding_generation", "app_generation"]

DURABLE_BINDING_TYPES = frozenset({"orchestrationTrigger", "activityTrigger", "entityTrigger",
                                   "durableClient"})


class SdkGeneration(StrEnum):
    V1 = "1.x"  # JSON orchestration trigger, HTTP management API client (azure-functions-durable 1)
    V2 = "2.x"  # protobuf triggers, gRPC client (azure-functions-durable 2, durabletask)


def binding_generation(binding: Any) -> SdkGeneration | None:
    """The generation a durable trigger/binding object asks for; None for other bindings."""
    kind = getattr(binding, "type", None)
    if kind not in DURABLE_BINDING_TYPES:
        return None
    return SdkGeneration.V2 if getattr(binding, "durable_requires_grpc", False) \
        else SdkGeneration.V1


def app_generation(functions: Iterable[Any]) -> SdkGeneration:
    """The generation of an app, from its functions (``app.get_functions()``); an app with no
    durable function is treated as 1.x (nothing differs for it)."""
    for function in functions:
        bindings = [function.get_trigger(), *function.get_bindings()]
        for binding in bindings:
            generation = binding_generation(binding)
            if generation is not None:
                return generation
    return SdkGeneration.V1
