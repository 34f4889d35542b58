"""The blob trigger source (polling): each new or changed blob runs the function once.

It follows the blob extension's polling source as it works against Azurite (no storage analytics
logs there: the container scan). Each scan lists the container under the pattern's literal
prefix; a blob whose (name, ETag) pair has no completed receipt runs the function. Receipts are
kept where the host keeps them: ``azure-webjobs-hosts/blobreceipts/<hostId>/<functionId>/
<ETag>/<container>/<blob>``, a blob whose metadata ``Completed=true`` says the run succeeded, so
a restart (or a second host on the same storage) does not run a blob twice; a changed blob has
a new ETag, hence a new receipt. A receipt without ``Completed`` (the host died while the
function ran) runs again: at-least-once.

A failed run is retried on the next scans; after ``poisonBlobThreshold`` failures the blob goes
to the ``webjobs-blobtrigger-poison`` queue with the host's message (Type, FunctionId, BlobType,
ContainerName, BlobName, ETag, base64 encoded) and its receipt is completed.

The Event Grid source (``source=EventGrid``) needs an Event Grid subscription, which only Azure
has: ``EVENT_GRID_NOTE`` is the start-up line for it, and such a function runs on this polling
source locally. Flex Consumption accepts only the Event Grid source.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .connections import StorageAccount
from .contract import DataType, Invoke, Outcome, TriggerCall, TriggerType, TypedValue
from .expressions import BlobPathPattern
from .lifecycle import wait_woken
from .options import BlobsOptions, MessageEncoding
from .queue_source import encode_message

log = logging.getLogger("emulator")

HOSTS_CONTAINER = "azure-webjobs-hosts"
POISON_QUEUE = "webjobs-blobtrigger-poison"
EVENT_GRID_NOTE = (
    "Function '{name}': the blob trigger's Event Grid source needs an Event Grid subscription, "
    "which exists only in Azure; locally it polls the container instead (Flex Consumption "
    "accepts only the Event Grid source)")


def receipt_name(host_id: str, function_id: str, etag: str, container: str, blob: str) -> str:
    return f"blobreceipts/{host_id}/{function_id}/{etag.strip(chr(34))}/{container}/{blob}"


@dataclass
class BlobStats:
    processed: int = 0
    failed: int = 0
    poisoned: int = 0
    recent: list[dict[str, Any]] = field(default_factory=list)


class BlobListener:
    """One blob-triggered function's polling listener; ``run()`` until cancelled."""

    def __init__(self, function_name: str, path: str, account: StorageAccount,
                 options: BlobsOptions, invoke: Invoke, *, host_id: str,
                 poll_interval: timedelta = timedelta(seconds=2),
                 settings: dict[str, str] | None = None) -> None:
        self.function_name = function_name
        self.function_id = f"Host.Functions.{function_name}"
        self.pattern = BlobPathPattern.parse(path, settings)
        self.account = account
        self.options = options
        self.invoke = invoke
        self.host_id = host_id
        self.poll_interval = poll_interval
        self.stats = BlobStats()
        self._done: set[tuple[str, str]] = set()
        self._failures: dict[tuple[str, str], int] = {}
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Scan now (a blob output binding of this host wrote to the container)."""
        self._wake.set()

    async def run(self) -> None:
        from azure.core.exceptions import AzureError
        async with self.account.blob_service() as service:
            self._container = service.get_container_client(self.pattern.container)
            self._hosts = service.get_container_client(HOSTS_CONTAINER)
            ready, told = False, False
            while True:
                self._wake.clear()
                try:
                    if not ready:
                        await self._ensure_hosts_container()
                        ready = True
                    await self.scan()
                    told = False
                except (AzureError, OSError) as exc:
                    if not told:
                        log.warning("Function '%s': its storage is not reachable (container "
                                    "'%s': %s); retrying", self.function_name,
                                    self.pattern.container, exc.__class__.__name__)
                        told = True
                await wait_woken(self._wake, self.poll_interval.total_seconds())

    async def _ensure_hosts_container(self) -> None:
        from azure.core.exceptions import ResourceExistsError
        try:
            await self._hosts.create_container(retry_total=0)
        except ResourceExistsError:
            pass

    async def scan(self) -> int:
        """One pass over the container; the number of blobs run."""
        from azure.core.exceptions import ResourceNotFoundError
        todo = []
        try:
            async for blob in self._container.list_blobs(
                    name_starts_with=self.pattern.literal_prefix() or None,
                    include=["metadata"], retry_total=0):
                key = (blob.name, blob.etag)
                if key in self._done:
                    continue
                captured = self.pattern.match(blob.name)
                if captured is None:
                    continue
                todo.append((blob, captured))
        except ResourceNotFoundError:
            return 0
        limit = asyncio.Semaphore(self.options.max_degree_of_parallelism)

        async def one(blob: Any, captured: dict[str, str]) -> None:
            async with limit:
                await self._consider(blob, captured)

        await asyncio.gather(*(one(b, c) for b, c in todo))
        return len(todo)

    async def _consider(self, blob: Any, captured: dict[str, str]) -> None:
        from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
        key = (blob.name, blob.etag)
        receipt = self._hosts.get_blob_client(receipt_name(
            self.host_id, self.function_id, blob.etag, self.pattern.container, blob.name))
        try:
            props = await receipt.get_blob_properties()
            if (props.metadata or {}).get("Completed", "").lower() == "true":
                self._done.add(key)
                return
        except ResourceNotFoundError:
            try:
                await receipt.upload_blob(b"", overwrite=False)
            except ResourceExistsError:
                pass
        try:
            content = await (await self._container.get_blob_client(blob.name)
                             .download_blob(etag=blob.etag, match_condition=_if_match())).readall()
        except Exception as exc:  # changed or deleted since the listing: the next scan sees it
            log.debug("Blob '%s/%s' changed before its read: %s", self.pattern.container,
                      blob.name, exc)
            return
        call = self._call(blob, captured, content)
        try:
            outcome = await self.invoke(call)
        except Exception as exc:
            outcome = Outcome.failed(f"{type(exc).__name__}: {exc}")
        self._remember(blob, outcome)
        if outcome.succeeded:
            self.stats.processed += 1
            await self._complete(receipt, key)
            return
        self.stats.failed += 1
        failures = self._failures.get(key, 0) + 1
        self._failures[key] = failures
        if failures >= self.options.poison_blob_threshold:
            await self._to_poison(blob)
            await self._complete(receipt, key)

    def _call(self, blob: Any, captured: dict[str, str], content: bytes) -> TriggerCall:
        path = f"{self.pattern.container}/{blob.name}"
        uri = f"{self._container.url}/{blob.name}"
        settings = blob.content_settings
        properties = {"Length": blob.size, "ContentLength": blob.size,
                      "ContentType": getattr(settings, "content_type", None),
                      "ETag": blob.etag, "BlobType": _blob_type(blob),
                      "LastModified": blob.last_modified.isoformat()
                      if blob.last_modified else None,
                      "Created": blob.creation_time.isoformat() if blob.creation_time else None}
        metadata = {"BlobTrigger": TypedValue(DataType.STRING, path),
                    "Uri": TypedValue(DataType.STRING, uri),
                    "Properties": TypedValue(DataType.JSON, json.dumps(properties)),
                    "Metadata": TypedValue(DataType.JSON, json.dumps(dict(blob.metadata or {})))}
        binding = {**captured, "blobTrigger": path, "uri": uri,
                   "properties": properties, "metadata": dict(blob.metadata or {})}
        return TriggerCall(self.function_name, TriggerType.BLOB,
                           TypedValue(DataType.BYTES, content), metadata, binding,
                           f"New blob detected({_blob_type(blob)}): {path}")

    async def _complete(self, receipt: Any, key: tuple[str, str]) -> None:
        await receipt.set_blob_metadata({"Completed": "true"})
        self._done.add(key)
        self._failures.pop(key, None)

    async def _to_poison(self, blob: Any) -> None:
        from azure.core.exceptions import ResourceExistsError
        log.warning("Blob '%s/%s' failed %d times in function '%s'; moving it to queue '%s'",
                    self.pattern.container, blob.name, self.options.poison_blob_threshold,
                    self.function_name, POISON_QUEUE)
        message = {"Type": "BlobTrigger", "FunctionId": self.function_id,
                   "BlobType": _blob_type(blob),
                   "ContainerName": self.pattern.container, "BlobName": blob.name,
                   "ETag": blob.etag}
        async with self.account.queue_service() as queues:
            poison = queues.get_queue_client(POISON_QUEUE)
            try:
                await poison.create_queue()
            except ResourceExistsError:
                pass
            await poison.send_message(encode_message(json.dumps(message),
                                                     MessageEncoding.BASE64))
        self.stats.poisoned += 1

    def _remember(self, blob: Any, outcome: Outcome) -> None:
        recent = self.stats.recent
        recent.append({"blob": blob.name, "etag": blob.etag, "succeeded": outcome.succeeded,
                       "error": outcome.error})
        del recent[:-20]


def _blob_type(blob: Any) -> str:
    kind = getattr(blob, "blob_type", None)
    return str(getattr(kind, "value", kind) or "BlockBlob")


def _if_match() -> Any:
    from azure.core import MatchConditions
    return MatchConditions.IfNotModified
