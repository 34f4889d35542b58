"""Blob, queue and table bindings against Azurite, and connection resolution."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime

import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient

from emulator.triggers.bindings import BindingError, BindingKind, BindingSpec, StorageBindings
from emulator.triggers.connections import (
    DEV_ENDPOINTS,
    CredentialKind,
    Service,
    StorageAccounts,
    StorageConnectionError,
    resolve_connection,
)
from emulator.triggers.contract import DataType, TypedValue
from emulator.triggers.queue_source import QueueWatcher


def spec(**data) -> BindingSpec:
    return BindingSpec.from_dict({"connection": "Store", **data})


@pytest.fixture
def bindings(azurite):
    return StorageBindings(settings={"Store": azurite.connection_string})


def uid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:10]


def test_blob_in_and_out(azurite, bindings):
    container = uid("b")
    out = spec(type="blob", direction="out", name="out", path=f"{container}/{{name}}.txt")
    inp = spec(type="blob", direction="in", name="inp", path=f"{container}/{{queueTrigger}}")
    inp_text = spec(type="blob", direction="in", name="t", path=f"{container}/a.txt",
                    dataType="string")
    assert out.kind == BindingKind.BLOB_OUTPUT and inp.kind == BindingKind.BLOB_INPUT

    async def go():
        await bindings.write(out, {"name": "a"}, TypedValue(DataType.STRING, "hello"))
        got = await bindings.read(inp, {"queueTrigger": "a.txt"})
        missing = await bindings.read(inp, {"queueTrigger": "nope.txt"})
        text = await bindings.read(inp_text, {})
        return got, missing, text

    got, missing, text = asyncio.run(go())
    assert got == TypedValue(DataType.BYTES, b"hello")
    assert missing is None
    assert text == TypedValue(DataType.STRING, "hello")
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    assert service.get_blob_client(container, "a.txt").download_blob().readall() == b"hello"


def test_queue_output_one_and_many_base64_and_watcher(azurite):
    name = uid("o")
    watcher = QueueWatcher()
    woken = []
    watcher.subscribe(name, lambda: woken.append(name))
    bindings = StorageBindings(settings={"Store": azurite.connection_string}, watcher=watcher)
    out = spec(type="queue", direction="out", name="q", queueName=name)

    async def go():
        await bindings.write(out, {}, TypedValue(DataType.STRING, "one"))
        await bindings.write(out, {}, TypedValue(DataType.JSON, json.dumps(
            ["two", {"id": None, "body": "three"}])))

    asyncio.run(go())
    q = QueueClient.from_connection_string(azurite.connection_string, name)
    bodies = [base64.b64decode(m.content).decode() for m in q.peek_messages(32)]
    assert bodies == ["one", "two", "three"]
    assert woken == [name, name]


def test_table_out_then_in(azurite, bindings):
    table = uid("t")
    out = spec(type="table", direction="out", name="row", tableName=table, partitionKey="p")
    one = spec(type="table", direction="in", name="one", tableName=table, partitionKey="p",
               rowKey="{id}")
    some = spec(type="table", direction="in", name="rows", tableName=table, partitionKey="p",
                filter="n gt 1", take=2)

    async def go():
        await bindings.write(out, {}, TypedValue(DataType.JSON, json.dumps(
            [{"RowKey": str(i), "n": i} for i in range(5)])))
        await bindings.write(out, {}, TypedValue(DataType.STRING, json.dumps(
            {"RowKey": "0", "n": 10})))  # upsert replaces
        first = await bindings.read(one, {"id": "0"})
        missing = await bindings.read(one, {"id": "zz"})
        filtered = await bindings.read(some, {})
        return first, missing, filtered

    first, missing, filtered = asyncio.run(go())
    entity = json.loads(first.value)
    assert entity["PartitionKey"] == "p" and entity["RowKey"] == "0" and entity["n"] == 10
    assert "Timestamp" in entity
    assert json.loads(missing.value) is None
    rows = json.loads(filtered.value)
    assert len(rows) == 2 and all(r["n"] > 1 for r in rows)


def test_table_entity_without_keys_is_a_clear_error(bindings):
    out = spec(type="table", direction="out", name="row", tableName=uid("t"))
    with pytest.raises(BindingError, match="needs PartitionKey and RowKey"):
        asyncio.run(bindings.write(out, {}, TypedValue(DataType.JSON, '{"a": 1}')))


# -- connections -------------------------------------------------------------------------------

def test_connection_strings():
    dev = resolve_connection(None, {"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    assert dev.endpoint(Service.QUEUE) == DEV_ENDPOINTS["queue"]
    assert dev.credential_kind == CredentialKind.ACCOUNT_KEY
    moved = resolve_connection(None, {"AzureWebJobsStorage": "UseDevelopmentStorage=true"},
                               development={"queue": "http://127.0.0.1:5/devstoreaccount1"})
    assert moved.endpoint(Service.QUEUE) == "http://127.0.0.1:5/devstoreaccount1"
    acct = resolve_connection("Store", {
        "Store": "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=a2V5;"
                 "EndpointSuffix=core.windows.net"})
    assert acct.endpoint(Service.BLOB) == "https://acme.blob.core.windows.net"
    # AzureWebJobs<name> wins over <name>
    pref = resolve_connection("Store", {"AzureWebJobsStore": "UseDevelopmentStorage=true",
                                        "Store": "AccountName=x;AccountKey=eA=="})
    assert pref.account_name == "devstoreaccount1"
    sas = resolve_connection("S", {"S": "BlobEndpoint=https://a.blob.core.windows.net/;"
                                        "SharedAccessSignature=sv=1&sig=x"})
    assert sas.credential_kind == CredentialKind.SAS
    with pytest.raises(StorageConnectionError, match="needs AccountName and AccountKey"):
        resolve_connection("S", {"S": "AccountName=x"})


def test_identity_based_connections():
    mi = resolve_connection("Store", {
        "Store__queueServiceUri": "https://acme.queue.core.windows.net",
        "Store__credential": "managedidentity", "Store__clientId": "abc"})
    assert mi.endpoint(Service.QUEUE) == "https://acme.queue.core.windows.net"
    assert mi.credential_kind == CredentialKind.MANAGED_IDENTITY
    assert type(mi.credential()).__name__ == "ManagedIdentityCredential"
    with pytest.raises(StorageConnectionError, match="no blob endpoint"):
        mi.endpoint(Service.BLOB)
    by_name = resolve_connection(None, {"AzureWebJobsStorage__accountName": "acme"})
    assert by_name.endpoint(Service.TABLE) == "https://acme.table.core.windows.net"
    assert by_name.credential_kind == CredentialKind.DEFAULT
    one = resolve_connection("C", {"C__serviceUri": "https://acme.blob.core.windows.net",
                                   "C__tenantId": "t", "C__clientId": "c",
                                   "C__clientSecret": "s"})
    assert one.endpoint(Service.BLOB) == "https://acme.blob.core.windows.net"
    assert one.credential_kind == CredentialKind.CLIENT_SECRET
    with pytest.raises(StorageConnectionError, match="connection 'Missing' is not set"):
        resolve_connection("Missing", {})


class ClosedCredentials:
    """azure.identity's asyncio ManagedIdentityCredential, recording each instance's close."""

    def __init__(self, monkeypatch) -> None:
        from azure.identity import aio

        self.made: list = []
        self.closed: list = []
        outer = self

        class Recording(aio.ManagedIdentityCredential):
            def __init__(self, **kwargs) -> None:
                super().__init__(**kwargs)
                outer.made.append(self)

            async def close(self) -> None:
                outer.closed.append(self)
                await super().close()

        monkeypatch.setattr(aio, "ManagedIdentityCredential", Recording)


IDENTITY_SETTINGS = {"Store__queueServiceUri": "https://acme.queue.core.windows.net",
                     "Store__blobServiceUri": "https://acme.blob.core.windows.net",
                     "Store__credential": "managedidentity"}


def test_an_identity_account_has_one_credential_for_all_its_clients_closed_with_it(monkeypatch):
    # One credential per account: one token cache and one HTTP session, not one per binding
    # call (each would fetch its own token), and closed when the host's accounts are.
    credentials = ClosedCredentials(monkeypatch)
    accounts = StorageAccounts(IDENTITY_SETTINGS)

    async def scenario() -> None:
        account = accounts.get("Store")
        assert accounts.get("Store") is account
        async with account.queue_service() as queues, account.blob_service() as blobs:
            assert queues.credential is blobs.credential is credentials.made[0]
        assert credentials.closed == []  # closing a client leaves the account's credential
        await accounts.close()

    asyncio.run(scenario())
    assert len(credentials.made) == 1
    assert credentials.closed == credentials.made


def test_bindings_and_trigger_host_share_the_accounts_and_close_them_on_stop(monkeypatch):
    from emulator.triggers.host import TriggerHost

    credentials = ClosedCredentials(monkeypatch)

    async def scenario() -> None:
        host = TriggerHost([], {}, None, lambda: datetime.now(UTC), settings=IDENTITY_SETTINGS)
        host.start()
        for _ in range(3):  # three output bindings' calls: one account, one credential
            async with host.bindings.account(spec(name="out", type="queue")).queue_service():
                pass
        await host.stop()

    asyncio.run(scenario())
    assert len(credentials.made) == 1
    assert credentials.closed == credentials.made


def test_an_unusable_connection_is_not_remembered():
    accounts = StorageAccounts({})
    with pytest.raises(StorageConnectionError, match="connection 'Store' is not set"):
        accounts.get("Store")
    accounts.settings = {"Store": "UseDevelopmentStorage=true"}
    assert accounts.get("Store").account_name == "devstoreaccount1"
