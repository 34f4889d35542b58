"""The task hubs of a scheduler host: their names, and which hub a request is for.

The Durable Task Scheduler emulator serves one task hub named ``default``, or the hubs its
``DTS_TASK_HUB_NAMES`` lists; each is a world of its own (instances, work items, entities,
history). A durabletask-azuremanaged client or worker names its hub in the ``taskhub`` gRPC
metadata header; the management API and the dashboard take the ``taskHub`` query parameter,
as the Durable Functions HTTP API does.

- ``parse_hub_names`` reads a comma-separated list (the ``--task-hubs`` flag, the variable)
  and refuses an empty, malformed or repeated name with a message naming it.
- ``TaskHubs`` maps the declared names to whatever an edge serves per hub and picks one for a
  request: the named hub (names match case-insensitively, as Azure resource names do), the
  first declared hub when the request names none (a plain durabletask sidecar client sends no
  header), and ``UnknownTaskHub`` for a name not declared - the edge turns it into its status
  (gRPC NOT_FOUND with the emulator's own "Task hub not found: NAME" detail, HTTP 404).
- ``TaskHubs.only`` serves one hub under any name: a Functions host, whose 2.x SDK client
  sends the app's hub name and is never refused for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

__all__ = ["DEFAULT_HUB", "HubNameError", "TaskHubs", "UnknownTaskHub", "parse_hub_names"]

DEFAULT_HUB = "default"  # the Scheduler emulator image's one hub
# Ours, not the service's rule: a hub's name is also part of its state file's name.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

T = TypeVar("T")


class HubNameError(ValueError):
    """A list of task hub names that cannot be served (the message says which name, why)."""


class UnknownTaskHub(LookupError):
    """A request named a task hub the host does not serve."""

    def __init__(self, name: str, declared: Iterable[str]) -> None:
        self.name = name
        # The detail begins as the Scheduler emulator's own NotFound answer does.
        super().__init__(f"Task hub not found: {name} (this host serves: "
                         f"{', '.join(declared)}; declare more with --task-hubs or "
                         "DTS_TASK_HUB_NAMES)")

    def __str__(self) -> str:
        return str(self.args[0])


def parse_hub_names(text: str) -> tuple[str, ...]:
    """The names of ``text`` ("a,b,c"; spaces around a name are dropped), in order."""
    names = [part.strip() for part in text.split(",")]
    seen: dict[str, str] = {}
    for name in names:
        if not name:
            raise HubNameError(f"an empty task hub name in {text!r}")
        if not _NAME.fullmatch(name):
            raise HubNameError(f"invalid task hub name {name!r} (up to 64 letters, digits, "
                               "'-' and '_', starting with a letter or digit)")
        if name.lower() in seen:
            raise HubNameError(f"task hub {name!r} is named twice (names are "
                               "case-insensitive)")
        seen[name.lower()] = name
    return tuple(names)


class TaskHubs(Generic[T]):
    """What an edge serves for each declared hub, in declaration order; the first is the
    default hub."""

    def __init__(self, hubs: dict[str, T], *, strict: bool = True) -> None:
        if not hubs:
            raise ValueError("a host serves at least one task hub")
        self._hubs = dict(hubs)
        self._spelling = {name.lower(): name for name in hubs}  # names match in any case
        self._strict = strict

    @classmethod
    def only(cls, served: T, name: str = DEFAULT_HUB) -> TaskHubs[T]:
        """One hub that answers to any name (a Functions host)."""
        return cls({name: served}, strict=False)

    @property
    def names(self) -> list[str]:
        return list(self._hubs)

    @property
    def default_name(self) -> str:
        return next(iter(self._hubs))

    @property
    def default(self) -> T:
        return next(iter(self._hubs.values()))

    def select(self, name: str | None) -> T:
        """The hub ``name`` asks for; None or "": the default hub. Raises UnknownTaskHub."""
        return self._hubs[self.canonical(name)]

    def canonical(self, name: str | None) -> str:
        """The declared spelling of the hub ``name`` selects (as ``select``)."""
        if not name or not self._strict:
            return self.default_name
        try:
            return self._spelling[name.lower()]
        except KeyError:
            raise UnknownTaskHub(name, self._hubs) from None

    def items(self) -> Iterator[tuple[str, T]]:
        return iter(self._hubs.items())

    def __len__(self) -> int:
        return len(self._hubs)
