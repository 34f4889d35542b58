"""host.json ``extensions.queues`` and ``extensions.blobs`` as the storage extensions read them.

``QueuesOptions`` mirrors the queue extension's class of the same name: ``batchSize`` 16
(1-32), ``newBatchThreshold`` unset means ``(batchSize / 2) * processors`` (the extension's
``SkuUtility.ProcessorCount``), ``maxPollingInterval`` 1 minute (at least 100 ms),
``visibilityTimeout`` 0 (the delay before a failed message is visible again),
``maxDequeueCount`` 5 (at least 1), ``messageEncoding`` ``base64`` or ``none``. Durations are
.NET TimeSpan strings (``"00:00:02"``) or, as host.json v1 allowed, milliseconds. Keys are read
case-insensitively, as the .NET configuration binder does. A bad value is an ``OptionsError``
naming the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any

from .schedule import parse_timespan

MAX_BATCH_SIZE = 32
MIN_POLLING_INTERVAL = timedelta(milliseconds=100)


class OptionsError(ValueError):
    """A host.json value the extension would refuse; the message names the key."""


class MessageEncoding(Enum):
    BASE64 = "base64"
    NONE = "none"


def _section(host_json: Mapping[str, Any], name: str) -> dict[str, Any]:
    extensions = {k.lower(): v for k, v in (host_json.get("extensions") or {}).items()}
    section = extensions.get(name) or {}
    if not isinstance(section, dict):
        raise OptionsError(f"host.json: extensions.{name} must be an object")
    return {k.lower(): v for k, v in section.items()}


def _duration(key: str, value: Any) -> timedelta:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(milliseconds=value)
    parsed = parse_timespan(str(value))
    if parsed is None:
        raise OptionsError(f"host.json: extensions.{key} '{value}' is not a TimeSpan "
                           f"(hh:mm:ss)")
    return parsed


def _int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise OptionsError(f"host.json: extensions.{key} must be a whole number, not {value!r}")
    try:
        return int(value)
    except ValueError:
        raise OptionsError(f"host.json: extensions.{key} must be a whole number, "
                           f"not {value!r}") from None


@dataclass(frozen=True)
class QueuesOptions:
    batch_size: int = 16
    new_batch_threshold: int = 8
    max_polling_interval: timedelta = timedelta(minutes=1)
    visibility_timeout: timedelta = timedelta(0)
    max_dequeue_count: int = 5
    message_encoding: MessageEncoding = MessageEncoding.BASE64

    @classmethod
    def from_host_json(cls, host_json: Mapping[str, Any],
                       processors: int | None = None) -> QueuesOptions:
        section = _section(host_json, "queues")
        batch = _int("queues.batchSize", section.get("batchsize", 16))
        if not 1 <= batch <= MAX_BATCH_SIZE:
            raise OptionsError(f"host.json: extensions.queues.batchSize must be 1-"
                               f"{MAX_BATCH_SIZE}, not {batch}")
        if "newbatchthreshold" in section:
            threshold = _int("queues.newBatchThreshold", section["newbatchthreshold"])
            if threshold < 0:
                raise OptionsError("host.json: extensions.queues.newBatchThreshold must not "
                                   "be negative")
        else:
            threshold = (batch // 2) * (processors or os.cpu_count() or 1)
        polling = _duration("queues.maxPollingInterval",
                            section.get("maxpollinginterval", "00:01:00"))
        if polling < MIN_POLLING_INTERVAL:
            raise OptionsError("host.json: extensions.queues.maxPollingInterval must not be "
                               "less than 00:00:00.1")
        visibility = _duration("queues.visibilityTimeout",
                               section.get("visibilitytimeout", "00:00:00"))
        dequeue = _int("queues.maxDequeueCount", section.get("maxdequeuecount", 5))
        if dequeue < 1:
            raise OptionsError("host.json: extensions.queues.maxDequeueCount must not be less "
                               "than 1")
        encoding_text = str(section.get("messageencoding", "base64")).lower()
        try:
            encoding = MessageEncoding(encoding_text)
        except ValueError:
            raise OptionsError(f"host.json: extensions.queues.messageEncoding must be base64 "
                               f"or none, not {encoding_text!r}") from None
        return cls(batch, threshold, polling, visibility, dequeue, encoding)


@dataclass(frozen=True)
class BlobsOptions:
    """``extensions.blobs.maxDegreeOfParallelism`` (default 8 * processors) and
    ``poisonBlobThreshold`` (failed tries before the blob goes to the poison queue; default:
    the queues' maxDequeueCount, as in the blob extension)."""

    max_degree_of_parallelism: int
    poison_blob_threshold: int

    @classmethod
    def from_host_json(cls, host_json: Mapping[str, Any], queues: QueuesOptions,
                       processors: int | None = None) -> BlobsOptions:
        section = _section(host_json, "blobs")
        parallel = _int("blobs.maxDegreeOfParallelism", section.get(
            "maxdegreeofparallelism", 8 * (processors or os.cpu_count() or 1)))
        if parallel < 1:
            raise OptionsError("host.json: extensions.blobs.maxDegreeOfParallelism must be at "
                               "least 1")
        threshold = _int("blobs.poisonBlobThreshold",
                         section.get("poisonblobthreshold", queues.max_dequeue_count))
        if threshold < 1:
            raise OptionsError("host.json: extensions.blobs.poisonBlobThreshold must be at "
                               "least 1")
        return cls(parallel, threshold)
