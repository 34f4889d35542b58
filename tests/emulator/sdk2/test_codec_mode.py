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

from .typing_mode import CODEC, STRICT, read_once_per_install  # noqa: E402 - after the skip


def test_install_reads_the_typing_mode_once_and_uninstall_restores_the_lookup(monkeypatch):
    def no_fallback() -> None:  # no 1.x SDK here: the codec's half only
        assert "fallback" not in sdk_speedups._installed

    def values_round_trip() -> None:
        assert CODEC.df_loads(CODEC.df_dumps({"a": 1})) == {"a": 1}

    read_once_per_install(monkeypatch, on_installed=no_fallback,
                          while_installed=values_round_trip)



def test_a_worker_process_of_a_2x_app_reads_the_typing_mode_once(monkeypatch):
    # A worker process adapts the SDK it runs (main.adapt_sdk). The 1.x-only adaptation does
    # not import with 2.x; that must not cost the 2.x app the typing-mode read.
    from emulator.worker.process.child.main import adapt_sdk

    was_installed = "strict" in sdk_speedups._installed
    sdk_speedups.uninstall()
    try:
        monkeypatch.setenv(STRICT, "true")
        adapt_sdk(speedups=True)
        monkeypatch.setenv(STRICT, "0")
        assert CODEC._is_strict_mode() is True  # read once, by the worker's adaptation
    finally:
        monkeypatch.delenv(STRICT, raising=False)
        (sdk_speedups.install if was_installed else sdk_speedups.uninstall)()
