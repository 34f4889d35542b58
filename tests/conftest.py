"""Shared by the whole suite: the local host's pytest fixtures (``local_host``)."""

pytest_plugins = ["emulator.pytest_plugin"]
