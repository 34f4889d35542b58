"""pytest fixtures for apps on the local host (``pytest_plugins = ["emulator.pytest_plugin"]``);
they live in ``emulator.testing.pytest_plugin``."""

from .testing.pytest_plugin import local_host

__all__ = ["local_host"]
