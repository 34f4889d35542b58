"""Fixtures for the local host's own tests: small apps under ``apps/``, hosts on free ports."""

import logging
import threading
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
def in_process_host():
    """The protocol app imported into the host's own process, so a test can reach its module
    (``app_module``), e.g. to change its code under a running instance."""
    with LocalHost(PROTOCOL_APP, time_skipping=True, worker="in-process") as running:
        yield running


@pytest.fixture(scope="module")
def app_module(in_process_host):
    return in_process_host.server.app.module


class EmulatorLines(logging.Handler):
    """Collects the ``emulator`` logger's lines (from any thread) and tells when one arrives:
    for tests that wait on a line the host logs while something else is stuck."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.arrived = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.arrived:
            self.records.append(record)
            self.arrived.notify_all()

    def messages(self) -> list[str]:
        with self.arrived:
            return [r.getMessage() for r in self.records]

    def wait_for(self, text: str, timeout: float = 20) -> logging.LogRecord:
        """The first line containing ``text``, once logged; fails after ``timeout`` s."""
        with self.arrived:
            found = self.arrived.wait_for(
                lambda: next((r for r in self.records if text in r.getMessage()), None),
                timeout)
        assert found, f"no line with {text!r}: {self.messages()}"
        return found


@pytest.fixture
def emulator_lines():
    """Every line of the ``emulator`` logger, debug level included, while the test runs."""
    handler = EmulatorLines()
    logger = logging.getLogger("emulator")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)
