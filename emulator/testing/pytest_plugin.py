"""pytest fixtures for apps on the local host.

Enable them with ``pytest_plugins = ["emulator.pytest_plugin"]`` in your top conftest.py::

    def test_chain(local_host):
        host = local_host("path/to/app", time_skipping=True)
        assert host.wait(host.start("chain", "x"))["runtimeStatus"] == "Completed"
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .local_host import REPO_ROOT, LocalHost


@pytest.fixture
def local_host() -> Iterator[Callable[..., LocalHost]]:
    """A factory: ``local_host(app_dir=REPO_ROOT, **options)`` starts a host, stopped after the
    test. Options are those of ``LocalHost``."""
    started: list[LocalHost] = []

    def start(app_dir: Any = REPO_ROOT, **options: Any) -> LocalHost:
        host = LocalHost(app_dir, **options).start_host()
        started.append(host)
        return host

    yield start
    for host in reversed(started):
        host.stop_host()
