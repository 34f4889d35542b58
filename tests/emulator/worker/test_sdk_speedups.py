"""The SDK speed-ups change costs, not values: the typing mode is read at install time."""

import importlib

from emulator.worker.process.child import sdk_speedups

STRICT = "AZURE_FUNCTIONS_DURABLE_STRICT_TYPING"
CODEC = importlib.import_module("azure.functions._durable_functions")


def test_install_reads_the_typing_mode_each_time_and_uninstall_restores_the_lookup(monkeypatch):
    was_installed = "strict" in sdk_speedups._installed
    try:
        monkeypatch.setenv(STRICT, "true")
        sdk_speedups.install()
        assert CODEC._is_strict_mode() is True
        monkeypatch.setenv(STRICT, "0")
        assert CODEC._is_strict_mode() is True  # read once, not per value
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
