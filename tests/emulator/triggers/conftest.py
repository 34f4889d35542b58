"""Fixtures for the trigger sources: one Azurite with blob, queue and table services."""

from __future__ import annotations

import uuid

import pytest

from emulator.triggers.connections import resolve_connection


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    from emulator.host.azurite import Azurite

    with Azurite(workdir=tmp_path_factory.mktemp("azurite"), queue=True, table=True) as az:
        yield az


@pytest.fixture(scope="module")
def account(azurite):
    return resolve_connection(None, {"AzureWebJobsStorage": azurite.connection_string})


@pytest.fixture
def queue_name():
    return "q" + uuid.uuid4().hex[:12]
