"""Starting Azurite on free ports: every port distinct, a port taken meanwhile chosen again, a
given port in use named. (A CI run once failed when two ``free_port`` calls in a row handed out
the same port to the blob and table services and Azurite exited with EADDRINUSE.)"""

from __future__ import annotations

import socket

import pytest

from emulator.host import azurite as azurite_module
from emulator.host.azurite import Azurite, AzuriteError
from emulator.host.child_process import free_ports
from emulator.host.func_cli import listening


def test_free_ports_are_distinct_and_free():
    ports = free_ports(3)
    assert len(set(ports)) == 3
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_handed_out_twice_is_chosen_again_and_every_service_listens(
        tmp_path, monkeypatch):
    """The CI failure, forced: the first choice gives blob and table one port."""
    handed: list[list[int]] = []

    def first_choice_repeats_a_port(count: int, host: str = "127.0.0.1") -> list[int]:
        ports = free_ports(count, host)
        if not handed:
            ports[2] = ports[0]
        handed.append(ports)
        return ports

    monkeypatch.setattr(azurite_module, "free_ports", first_choice_repeats_a_port)
    with Azurite(tmp_path, queue=True, table=True) as running:
        assert len(handed) == 2, "the repeated port was not chosen again"
        ports = [running.port, running.queue_port, running.table_port]
        assert len(set(ports)) == 3
        assert all(listening((running.host, port)) for port in ports)
    assert "EADDRINUSE" in (tmp_path / "azurite.log").read_text()


@pytest.fixture
def busy_port():
    """A port another server listens on for the test's length."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_a_port_taken_on_every_try_is_named_after_the_last_try(tmp_path, monkeypatch,
                                                                 busy_port):
    tries: list[int] = []

    def always_the_busy_port(count: int, host: str = "127.0.0.1") -> list[int]:
        tries.append(count)
        return [busy_port, *free_ports(count - 1, host)]

    monkeypatch.setattr(azurite_module, "free_ports", always_the_busy_port)
    with pytest.raises(AzuriteError, match=f"127.0.0.1:{busy_port}: the port is in use"):
        Azurite(tmp_path).start()
    assert len(tries) == azurite_module.START_ATTEMPTS


def test_a_given_port_in_use_is_named_at_once(tmp_path, monkeypatch, busy_port):
    choices: list[int] = []
    monkeypatch.setattr(azurite_module, "free_ports",
                        lambda count, host="127.0.0.1": choices.append(count)
                        or free_ports(count, host))
    with pytest.raises(AzuriteError, match=f"127.0.0.1:{busy_port}: the port is in use"):
        Azurite(tmp_path, port=busy_port).start()
    assert len(choices) == 1, "a port the caller gave cannot be chosen again"
