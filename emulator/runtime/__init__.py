"""The asyncio engine: instances, orchestrations, activities, entities, timers, the clock, waiting
clients, limits and the management operations.

The host builds it (``build_engine``); the edges use it through ``Operations``. Imports every
layer below it (protocol, store, core, worker); nothing above it (views, http, host, testing).
"""

from .assembly import build_engine
from .clock import TimeSkipping, make_clock
from .engine import Engine
from .limits import Limits
from .operations import Operations

__all__ = ["Engine", "Limits", "Operations", "TimeSkipping", "build_engine", "make_clock"]
