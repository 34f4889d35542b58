"""The SDK speed-ups change costs, not values: the typing mode is read at install time."""

from ..sdk2.typing_mode import read_once_per_install


def test_install_reads_the_typing_mode_each_time_and_uninstall_restores_the_lookup(monkeypatch):
    read_once_per_install(monkeypatch)
