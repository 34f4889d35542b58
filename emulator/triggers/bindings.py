"""The non-durable bindings: blob input/output, queue output, table input/output.

``BindingSpec`` is one binding as the app's index declares it (``get_dict_repr()``: type,
direction, name and the binding's own keys). ``StorageBindings`` does the storage side for a
host: ``read`` produces an input's value before the function runs, ``write`` stores an output's
value after it succeeded, both as the worker protocol's typed values (the worker's converters
turn them into ``InputStream``, ``str``, ``func.Out`` values and back). Paths and names are
binding templates filled from the trigger's binding data (``{name}``, ``{queueTrigger}``,
``{rand-guid}``, ``%SETTING%``).

As the extensions do: a missing input blob is null; an output blob, queue or table is created
when missing; queue output writes one message per item of a list and honours
``messageEncoding``; table input with a row key reads one entity, else queries the partition
(with ``filter`` and ``take``); table output upserts (replace) an entity or a list of them.
Service connections come from ``StorageAccounts`` (connection strings or identity-based), each
resolved once per host.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from .connections import StorageAccount, StorageAccounts
from .contract import DataType, TypedValue
from .expressions import fill
from .options import QueuesOptions
from .queue_source import QueueWatcher, check_queue_name, encode_message


class BindingError(ValueError):
    """A binding cannot be read or written as declared; the message names the binding."""


class BindingKind(Enum):
    BLOB_INPUT = "blob in"
    BLOB_OUTPUT = "blob out"
    QUEUE_OUTPUT = "queue out"
    TABLE_INPUT = "table in"
    TABLE_OUTPUT = "table out"


@dataclass(frozen=True)
class BindingSpec:
    name: str
    type: str
    direction: str  # "in" / "out" / "inout"
    props: dict[str, Any]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BindingSpec:
        direction = data.get("direction", "in")
        direction = str(getattr(direction, "name", direction)).lower()
        props = {k: v for k, v in data.items() if k not in ("name", "type", "direction")}
        return cls(str(data["name"]), str(data["type"]), direction, props)

    def get(self, key: str, default: Any = None) -> Any:
        lowered = {k.lower(): v for k, v in self.props.items()}
        return lowered.get(key.lower(), default)

    @property
    def kind(self) -> BindingKind | None:
        outward = self.direction == "out"
        return {("blob", False): BindingKind.BLOB_INPUT, ("blob", True): BindingKind.BLOB_OUTPUT,
                ("queue", True): BindingKind.QUEUE_OUTPUT,
                ("table", False): BindingKind.TABLE_INPUT,
                ("table", True): BindingKind.TABLE_OUTPUT}.get((self.type, outward))


def _entity_json(entity: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in entity.items():
        out[key] = value.isoformat() if isinstance(value, datetime) else value
    meta = getattr(entity, "metadata", None) or {}
    if meta.get("timestamp") is not None:
        out["Timestamp"] = meta["timestamp"].isoformat()
    return out


def _as_text(value: TypedValue) -> str:
    return value.value if isinstance(value.value, str) else value.value.decode("utf-8")


class StorageBindings:
    def __init__(self, *, settings: Mapping[str, str] | None = None,
                 development: Mapping[str, str] | None = None,
                 queues: QueuesOptions | None = None, watcher: QueueWatcher | None = None,
                 blob_written: Callable[[str], None] | None = None,
                 accounts: StorageAccounts | None = None) -> None:
        self.settings = settings
        self.accounts = accounts or StorageAccounts(settings, development=development)
        self.queues = queues or QueuesOptions()
        self.watcher = watcher
        self.blob_written = blob_written
        self._created: set[tuple[str, str]] = set()

    def account(self, spec: BindingSpec) -> StorageAccount:
        return self.accounts.get(spec.get("connection"))

    def _fill(self, spec: BindingSpec, key: str, data: Mapping[str, Any]) -> str:
        template = spec.get(key)
        if not template:
            raise BindingError(f"binding '{spec.name}' ({spec.type}) has no {key}")
        return fill(str(template), data, settings=self.settings)

    # -- inputs --------------------------------------------------------------------------------

    async def read(self, spec: BindingSpec, data: Mapping[str, Any]) -> TypedValue | None:
        kind = spec.kind
        if kind == BindingKind.BLOB_INPUT:
            return await self._read_blob(spec, data)
        if kind == BindingKind.TABLE_INPUT:
            return await self._read_table(spec, data)
        raise BindingError(f"binding '{spec.name}' ({spec.type}, {spec.direction}) is not an "
                           f"input this host reads")

    async def _read_blob(self, spec: BindingSpec, data: Mapping[str, Any]) -> TypedValue | None:
        from azure.core.exceptions import ResourceNotFoundError
        container, _, blob = self._fill(spec, "path", data).partition("/")
        async with self.account(spec).blob_service() as service:
            try:
                downloader = await service.get_blob_client(container, blob).download_blob()
                content = await downloader.readall()
            except ResourceNotFoundError:
                return None
        if str(spec.get("dataType", "")).lower() == "string":
            return TypedValue(DataType.STRING, content.decode("utf-8"))
        return TypedValue(DataType.BYTES, content)

    async def _read_table(self, spec: BindingSpec, data: Mapping[str, Any]) -> TypedValue:
        from azure.core.exceptions import ResourceNotFoundError
        table = self._fill(spec, "tableName", data)
        partition = fill(str(spec.get("partitionKey")), data, settings=self.settings) \
            if spec.get("partitionKey") else None
        row = fill(str(spec.get("rowKey")), data, settings=self.settings) \
            if spec.get("rowKey") else None
        take = spec.get("take")
        query = spec.get("filter")
        async with self.account(spec).table_service() as service:
            client = service.get_table_client(table)
            if partition is not None and row is not None:
                try:
                    entity = await client.get_entity(partition, row)
                except ResourceNotFoundError:
                    return TypedValue(DataType.JSON, "null")
                return TypedValue(DataType.JSON, json.dumps(_entity_json(entity)))
            clauses = []
            if partition is not None:
                clauses.append("PartitionKey eq '" + partition.replace("'", "''") + "'")
            if query:
                clauses.append(f"({fill(str(query), data, settings=self.settings)})")
            rows: list[dict[str, Any]] = []
            try:
                pages = (client.query_entities(" and ".join(clauses)) if clauses
                         else client.list_entities())
                async for entity in pages:
                    rows.append(_entity_json(entity))
                    if take and len(rows) >= int(take):
                        break
            except ResourceNotFoundError:
                rows = []
        return TypedValue(DataType.JSON, json.dumps(rows))

    # -- outputs -------------------------------------------------------------------------------

    async def write(self, spec: BindingSpec, data: Mapping[str, Any],
                    value: TypedValue | None) -> None:
        if value is None:
            return  # the function left the output unset
        kind = spec.kind
        if kind == BindingKind.BLOB_OUTPUT:
            await self._write_blob(spec, data, value)
        elif kind == BindingKind.QUEUE_OUTPUT:
            await self._write_queue(spec, data, value)
        elif kind == BindingKind.TABLE_OUTPUT:
            await self._write_table(spec, data, value)
        else:
            raise BindingError(f"binding '{spec.name}' ({spec.type}, {spec.direction}) is not "
                               f"an output this host writes")

    async def _write_blob(self, spec: BindingSpec, data: Mapping[str, Any],
                          value: TypedValue) -> None:
        from azure.core.exceptions import ResourceExistsError
        path = self._fill(spec, "path", data)
        container, _, blob = path.partition("/")
        if not blob:
            raise BindingError(f"binding '{spec.name}': blob path '{path}' names no blob")
        payload = value.value.encode("utf-8") if isinstance(value.value, str) else value.value
        async with self.account(spec).blob_service() as service:
            if ("blob", container) not in self._created:
                try:
                    await service.create_container(container)
                except ResourceExistsError:
                    pass
                self._created.add(("blob", container))
            await service.get_blob_client(container, blob).upload_blob(payload, overwrite=True)
        if self.blob_written is not None:
            self.blob_written(container)

    async def _write_queue(self, spec: BindingSpec, data: Mapping[str, Any],
                           value: TypedValue) -> None:
        from azure.core.exceptions import ResourceExistsError
        name = check_queue_name(self._fill(spec, "queueName", data).lower())
        if value.type == DataType.JSON:
            parsed = json.loads(_as_text(value))
            items = parsed if isinstance(parsed, list) else [parsed]
            payloads = [item["body"] if isinstance(item, dict) and "body" in item
                        else item if isinstance(item, str) else json.dumps(item)
                        for item in items]
        else:
            payloads = [value.value]
        async with self.account(spec).queue_service() as service:
            client = service.get_queue_client(name)
            if ("queue", name) not in self._created:
                try:
                    await client.create_queue()
                except ResourceExistsError:
                    pass
                self._created.add(("queue", name))
            for payload in payloads:
                await client.send_message(encode_message(payload, self.queues.message_encoding))
        if self.watcher is not None:
            self.watcher.notify(name)

    async def _write_table(self, spec: BindingSpec, data: Mapping[str, Any],
                           value: TypedValue) -> None:
        from azure.core.exceptions import ResourceExistsError
        from azure.data.tables import UpdateMode
        table = self._fill(spec, "tableName", data)
        parsed = json.loads(_as_text(value))
        entities = parsed if isinstance(parsed, list) else [parsed]
        partition = spec.get("partitionKey")
        row = spec.get("rowKey")
        async with self.account(spec).table_service() as service:
            if ("table", table) not in self._created:
                try:
                    await service.create_table(table)
                except ResourceExistsError:
                    pass
                self._created.add(("table", table))
            client = service.get_table_client(table)
            for entity in entities:
                if not isinstance(entity, dict):
                    raise BindingError(f"binding '{spec.name}': a table entity must be a JSON "
                                       f"object, not {type(entity).__name__}")
                entity = dict(entity)
                if partition and "PartitionKey" not in entity:
                    entity["PartitionKey"] = fill(str(partition), data, settings=self.settings)
                if row and "RowKey" not in entity:
                    entity["RowKey"] = fill(str(row), data, settings=self.settings)
                if "PartitionKey" not in entity or "RowKey" not in entity:
                    raise BindingError(f"binding '{spec.name}': the entity needs PartitionKey "
                                       f"and RowKey (in the entity or on the binding)")
                await client.upsert_entity(entity, mode=UpdateMode.REPLACE)
