"""With the 2.x SDK, the local host's SDK speed-up reads the ``azure.functions`` codec's typing
mode once per host start (as with 1.x): the 2.x SDK encodes every activity input through that
codec, which otherwise looks the variable up in the environment for every value."""

import importlib

import pytest

from emulator.worker.process.child import sdk_speedups

try:
    importlib.import_module(sdk_speedups._MODULE)
except ImportError:
    pass  # the 2.x SDK, as this test wants
else:
    pytest.skip("needs azure-functions-durable 2.x (1.x is installed)", allow_module_level=True)

STRICT = "AZURE_FUNCTIONS_DURABLE_STRICT_TYPING"
CODEC = importlib.import_module("azure.functions._durable_functions")


def test_install_reads_the_typing_mode_once_and_uninstall_restores_the_lookup(monkeypatch):
    was_installed = "strict" in sdk_speedups._installed
    try:
        monkeypatch.setenv(STRICT, "true")
        sdk_speedups.install()  # no 1.x SDK here: the codec's half only
        assert "fallback" not in sdk_speedups._installed
        assert CODEC._is_strict_mode() is True
        monkeypatch.setenv(STRICT, "0")
        assert CODEC._is_strict_mode() is True  # read once, not per value
        assert CODEC.df_loads(CODEC.df_dumps({"a": 1})) == {"a": 1}
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
