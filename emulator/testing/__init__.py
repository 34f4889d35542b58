"""Run an app on the local host from tests: ``LocalHost`` starts it, drives it and stops it.

The public test API; ``emulator.pytest_plugin`` holds its pytest fixtures.
"""

from .local_host import (
    REPO_ROOT,
    TERMINAL,
    LocalHost,
    LocalHostError,
    child_env,
    start_listening,
)

__all__ = ["REPO_ROOT", "TERMINAL", "LocalHost", "LocalHostError", "child_env", "start_listening"]
