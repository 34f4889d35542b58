"""The process: server assembly (builds the parts and wires them), the CLI, logs, the watchdog,
Azurite and child processes. May import every other layer.
"""

from .server import HostOptions, LocalHostServer

__all__ = ["HostOptions", "LocalHostServer"]
