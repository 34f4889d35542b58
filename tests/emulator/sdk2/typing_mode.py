"""The SDK speed-up's typing-mode scenario, shared by the 1.x and the 2.x SDK tests
(``tests/emulator/worker/test_sdk_speedups.py``, ``test_codec_mode.py`` here): ``install`` reads
``AZURE_FUNCTIONS_DURABLE_STRICT_TYPING`` once per host start, ``uninstall`` restores the codec's
own lookup per value."""

import importlib
from collections.abc import Callable

from emulator.worker.process.child import sdk_speedups

STRICT = "AZURE_FUNCTIONS_DURABLE_STRICT_TYPING"
CODEC = importlib.import_module("azure.functions._durable_functions")


def read_once_per_install(monkeypatch, on_installed: Callable[[], None] = lambda: None,
                          while_installed: Callable[[], None] = lambda: None) -> None:
    """Install with the mode on, change the variable (still on: read once), install again (now
    off), uninstall (the variable read per value again); the speed-up's state is restored.
    ``on_installed`` runs after the first install, ``while_installed`` before the second."""
    was_installed = "strict" in sdk_speedups._installed
    try:
        monkeypatch.setenv(STRICT, "true")
        sdk_speedups.install()
        on_installed()
        assert CODEC._is_strict_mode() is True
        monkeypatch.setenv(STRICT, "0")
        assert CODEC._is_strict_mode() is True  # read once, not per value
        while_installed()
        sdk_speedups.install()  # the next host start reads it again
        assert CODEC._is_strict_mode() is False
        sdk_speedups.uninstall()
        monkeypatch.setenv(STRICT, "yes")
        assert CODEC._is_strict_mode() is True  # the codec's own lookup again
    finally:
        monkeypatch.delenv(STRICT, raising=False)
        if was_installed:
            sdk_speedups.install()
        else:
            sdk_speedups.uninstall()
