"""Fixtures for the local host's own tests: small apps under ``apps/``, hosts on free ports."""

from pathlib import Path

import pytest

from emulator.testing import LocalHost

APPS = Path(__file__).parent / "apps"
PROTOCOL_APP = APPS / "protocol"


@pytest.fixture(scope="module")
def host():
    """The protocol app on an in-process, time-skipping, in-memory host."""
    with LocalHost(PROTOCOL_APP, time_skipping=True) as running:
        yield running


@pytest.fixture(scope="module")
def app_module(host):
    return host.server.app.module
