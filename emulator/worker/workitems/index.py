"""The function index of a host with no app: every name is a function some worker may run.

In the Durable Task Scheduler the names of orchestrations, activities and entities are whatever
the connected workers registered; the scheduler never refuses a name (an item nobody takes
waits). ``OpenIndex`` answers every lookup with a function of that name, so the runtime
schedules any name, and gives no functionTimeout (workers bound their own calls).
"""

from __future__ import annotations

from pathlib import Path

from ..index import ActivityFunction, EntityFunction, FunctionIndex, OrchestratorFunction
from ..sdk2.detect import SdkGeneration

__all__ = ["OpenIndex", "open_index"]


class OpenIndex(FunctionIndex):
    """A ``FunctionIndex`` that has every orchestrator, activity and entity."""

    def orchestrator(self, name: str) -> OrchestratorFunction:
        return OrchestratorFunction(name, name)

    def activity(self, name: str) -> ActivityFunction:
        return ActivityFunction(name, name, is_async=True, input_param="input",
                                wants_context=False)

    def entity(self, name: str) -> EntityFunction:
        return EntityFunction(name.lower(), name.lower())


def open_index(folder: Path, hub_name: str = "default") -> OpenIndex:
    """The index of a scheduler host (``folder``: where relative paths resolve)."""
    host_json = {"version": "2.0", "functionTimeout": "-1",
                 "extensions": {"durableTask": {"hubName": hub_name}}}
    return OpenIndex(folder, [], {}, {}, {}, host_json, sdk=SdkGeneration.V2)
