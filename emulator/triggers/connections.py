"""Storage connections as the Functions host resolves a binding's ``connection`` setting.

A binding names a connection (``connection="MyStorage"``; empty means ``AzureWebJobsStorage``).
The host looks up ``AzureWebJobs<name>`` first, then ``<name>`` (``ConnectionStrings:<name>``
included), as ``GetWebJobsConnectionStringSection`` does. What it finds is either

- a connection string (``AccountName=...;AccountKey=...``, explicit ``BlobEndpoint`` etc., a
  ``SharedAccessSignature``, or ``UseDevelopmentStorage=true``: Azurite's well-known account on
  127.0.0.1 ports 10000/10001/10002, unless the local host started an Azurite of its own and
  passes its endpoints as ``development``), or
- an identity-based section: ``<name>__serviceUri`` (for the one service the binding uses),
  ``<name>__blobServiceUri`` / ``__queueServiceUri`` / ``__tableServiceUri``, or
  ``<name>__accountName``; with ``<name>__credential=managedidentity`` (+ ``__clientId``), or
  ``__tenantId`` + ``__clientId`` + ``__clientSecret`` (a service principal), else the
  ``DefaultAzureCredential`` chain, as the host's Azure component factory builds them.

``StorageAccount`` builds the asyncio clients of the three services from that; ``StorageAccounts``
resolves each connection of a host once, so that an identity-based account's credential (its
token cache and HTTP session) is shared by all its clients and closed with the host.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

DEV_ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public, documented; not a secret).
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
DEV_ENDPOINTS = {"blob": "http://127.0.0.1:10000/devstoreaccount1",
                 "queue": "http://127.0.0.1:10001/devstoreaccount1",
                 "table": "http://127.0.0.1:10002/devstoreaccount1"}
DEFAULT_CONNECTION = "AzureWebJobsStorage"


class Service(Enum):
    BLOB = "blob"
    QUEUE = "queue"
    TABLE = "table"


class StorageConnectionError(LookupError):
    """The connection setting is missing or unusable; the message names the setting."""


class CredentialKind(Enum):
    ACCOUNT_KEY = "account key"
    SAS = "shared access signature"
    MANAGED_IDENTITY = "managed identity"
    CLIENT_SECRET = "client secret"
    DEFAULT = "DefaultAzureCredential"


@dataclass(frozen=True)
class StorageAccount:
    connection: str  # the setting name as the binding wrote it
    endpoints: dict[Service, str]
    credential_kind: CredentialKind
    account_name: str | None = None
    account_key: str | None = None
    sas: str | None = None
    identity: dict[str, str] = field(default_factory=dict)
    # the identity credential, made on first use and kept (key and SAS credentials are plain)
    _identity_credential: list[Any] = field(default_factory=list, init=False, repr=False,
                                            compare=False)

    def endpoint(self, service: Service) -> str:
        url = self.endpoints.get(service)
        if not url:
            raise StorageConnectionError(
                f"connection '{self.connection}' has no {service.value} endpoint (set "
                f"{self.connection}__{service.value}ServiceUri or use a connection string)")
        return url

    def credential(self) -> Any:
        """The credential for the asyncio clients: a key or a SAS (a fresh object each call), or
        this account's one identity credential (made on first use; ``close`` closes it)."""
        kind = self.credential_kind
        if kind == CredentialKind.ACCOUNT_KEY:
            from azure.core.credentials import AzureNamedKeyCredential
            return AzureNamedKeyCredential(self.account_name, self.account_key)
        if kind == CredentialKind.SAS:
            from azure.core.credentials import AzureSasCredential
            return AzureSasCredential(self.sas)
        if not self._identity_credential:
            self._identity_credential.append(self._new_identity_credential())
        return self._identity_credential[0]

    async def close(self) -> None:
        """Close the identity credential if one was made (its HTTP session); clients made
        afterwards get a new one."""
        while self._identity_credential:
            await self._identity_credential.pop().close()

    def _new_identity_credential(self) -> Any:
        from azure.identity import aio as identity
        kind = self.credential_kind
        client_id = self.identity.get("clientid")
        if kind == CredentialKind.MANAGED_IDENTITY:
            return identity.ManagedIdentityCredential(client_id=client_id)
        if kind == CredentialKind.CLIENT_SECRET:
            return identity.ClientSecretCredential(self.identity["tenantid"], client_id,
                                                   self.identity["clientsecret"])
        return identity.DefaultAzureCredential(managed_identity_client_id=client_id)

    def _key_credential(self) -> Any:
        # blob/queue clients take a dict of name and key; tables take AzureNamedKeyCredential
        if self.credential_kind == CredentialKind.ACCOUNT_KEY:
            return {"account_name": self.account_name, "account_key": self.account_key}
        if self.credential_kind == CredentialKind.SAS:
            return self.sas
        return self.credential()

    def queue_service(self, **kwargs: Any) -> Any:
        from azure.storage.queue.aio import QueueServiceClient
        return QueueServiceClient(self.endpoint(Service.QUEUE), credential=self._key_credential(),
                                  **kwargs)

    def blob_service(self, **kwargs: Any) -> Any:
        from azure.storage.blob.aio import BlobServiceClient
        return BlobServiceClient(self.endpoint(Service.BLOB), credential=self._key_credential(),
                                 **kwargs)

    def table_service(self, **kwargs: Any) -> Any:
        from azure.data.tables.aio import TableServiceClient
        return TableServiceClient(self.endpoint(Service.TABLE), credential=self.credential(),
                                  **kwargs)

    def describe(self) -> str:
        shown = ", ".join(f"{s.value} {u}" for s, u in self.endpoints.items())
        return f"{self.connection}: {shown} ({self.credential_kind.value})"


def parse_connection_string(text: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for piece in text.split(";"):
        piece = piece.strip()
        if not piece:
            continue
        key, sep, value = piece.partition("=")
        if not sep:
            raise StorageConnectionError(f"'{piece}' is not key=value")
        parts[key.strip().lower()] = value.strip()
    return parts


def _from_connection_string(name: str, text: str,
                            development: Mapping[str, str] | None) -> StorageAccount:
    parts = parse_connection_string(text)
    if parts.get("usedevelopmentstorage", "").lower() == "true":
        ends = dict(DEV_ENDPOINTS) | dict(development or {})
        return StorageAccount(name, {Service(s): u for s, u in ends.items()},
                              CredentialKind.ACCOUNT_KEY, DEV_ACCOUNT, DEV_KEY)
    account = parts.get("accountname")
    protocol = parts.get("defaultendpointsprotocol", "https")
    suffix = parts.get("endpointsuffix", "core.windows.net")
    endpoints: dict[Service, str] = {}
    for service in Service:
        explicit = parts.get(f"{service.value}endpoint")
        if explicit:
            endpoints[service] = explicit.rstrip("/")
        elif account:
            endpoints[service] = f"{protocol}://{account}.{service.value}.{suffix}"
    if "sharedaccesssignature" in parts:
        return StorageAccount(name, endpoints, CredentialKind.SAS, account,
                              sas=parts["sharedaccesssignature"])
    if not account or "accountkey" not in parts:
        raise StorageConnectionError(
            f"connection '{name}': the connection string needs AccountName and AccountKey, "
            f"a SharedAccessSignature, or UseDevelopmentStorage=true")
    return StorageAccount(name, endpoints, CredentialKind.ACCOUNT_KEY, account,
                          parts["accountkey"])


def _section(settings: Mapping[str, str], name: str) -> dict[str, str]:
    prefix = name.lower() + "__"
    alt = name.lower() + ":"
    out = {}
    for key, value in settings.items():
        lowered = key.lower()
        for p in (prefix, alt):
            if lowered.startswith(p):
                out[lowered[len(p):]] = value
    return out


def _from_identity(name: str, section: dict[str, str]) -> StorageAccount:
    endpoints: dict[Service, str] = {}
    account = section.get("accountname")
    for service in Service:
        uri = section.get(f"{service.value}serviceuri")
        if uri:
            endpoints[service] = uri.rstrip("/")
        elif account:
            endpoints[service] = f"https://{account}.{service.value}.core.windows.net"
    if "serviceuri" in section:  # one URI: the service is the one its host name says
        uri = section["serviceuri"].rstrip("/")
        for service in Service:
            if f".{service.value}." in uri or service not in endpoints:
                endpoints.setdefault(service, uri)
    if not endpoints:
        raise StorageConnectionError(
            f"connection '{name}' is not set: expected a connection string in '{name}' (or "
            f"'AzureWebJobs{name}'), or {name}__serviceUri / __blobServiceUri / "
            f"__queueServiceUri / __tableServiceUri / __accountName")
    credential = section.get("credential", "").lower()
    if credential == "managedidentity":
        kind = CredentialKind.MANAGED_IDENTITY
    elif {"tenantid", "clientid", "clientsecret"} <= section.keys():
        kind = CredentialKind.CLIENT_SECRET
    else:
        kind = CredentialKind.DEFAULT
    identity = {k: v for k, v in section.items() if k in ("clientid", "tenantid", "clientsecret")}
    return StorageAccount(name, endpoints, kind, account, identity=identity)


def resolve_connection(name: str | None, settings: Mapping[str, str] | None = None, *,
                       development: Mapping[str, str] | None = None) -> StorageAccount:
    """The storage account a binding's ``connection`` names (StorageConnectionError if unset)."""
    source = os.environ if settings is None else settings
    name = name or DEFAULT_CONNECTION
    lowered = {k.lower(): v for k, v in source.items()}
    for candidate in (f"AzureWebJobs{name}", name):
        for key in (f"connectionstrings:{candidate.lower()}", candidate.lower()):
            value = lowered.get(key)
            if value:
                return _from_connection_string(name, value, development)
    for candidate in (f"AzureWebJobs{name}", name):
        section = _section(source, candidate)
        if section:
            return _from_identity(name, section)
    return _from_identity(name, {})


class StorageAccounts:
    """The storage accounts of one host by connection name, each resolved once (from the
    settings given, and ``development``: the endpoints of the host's own Azurite) and closed
    together by ``close``."""

    def __init__(self, settings: Mapping[str, str] | None = None, *,
                 development: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.development = development
        self._accounts: dict[str, StorageAccount] = {}

    def get(self, name: str | None) -> StorageAccount:
        """The account a binding's ``connection`` names (StorageConnectionError if unset; an
        unusable setting is not remembered)."""
        key = name or DEFAULT_CONNECTION
        account = self._accounts.get(key)
        if account is None:
            account = resolve_connection(key, self.settings, development=self.development)
            self._accounts[key] = account
        return account

    async def close(self) -> None:
        accounts, self._accounts = list(self._accounts.values()), {}
        for account in accounts:
            await account.close()
