"""The queue trigger source: polls a storage queue and runs a function per message.

It follows the queue extension's ``QueueListener`` and ``QueueProcessor``:

- messages are fetched ``batchSize`` at a time, invisible for ``LEASE`` and renewed once half
  of it has passed while the function runs (the Functions host leases for 10 minutes; the local
  host for 30 seconds by default, so a message held by a killed host comes back in half a
  minute, not ten; ``--queue-lease 600`` restores the host's figure); a new batch is fetched
  once the messages in flight drop to ``newBatchThreshold``; an empty queue backs off (randomized,
  doubling from 100 ms to ``maxPollingInterval``); a message the same host puts on the queue
  wakes the listener at once (``QueueWatcher``, as the extension's shared queue watcher);
- at-least-once: a message is deleted only after its function succeeded. A failed message is
  made visible again after ``visibilityTimeout``; once its dequeue count reaches
  ``maxDequeueCount`` it is copied to ``<queue>-poison`` (created if missing) and deleted; a
  message seen with a dequeue count already above the limit (a host died while running it) goes
  to the poison queue without a run. A host killed mid-batch deletes nothing: the messages come
  back when their lease runs out;
- ``messageEncoding`` ``base64``: a message that is not base64 is moved to the poison queue
  with the extension's warning ("Message decoding has failed! ..."), unrun.

The trigger value is the message text (``string``; ``bytes`` when not UTF-8) with the metadata
the host sends (Id, DequeueCount, InsertionTime, ExpirationTime, NextVisibleTime, PopReceipt),
which the worker turns into ``azure.functions.QueueMessage``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .connections import StorageAccount
from .contract import DataType, Invoke, Outcome, TriggerCall, TriggerType, TypedValue
from .lifecycle import wait_woken
from .options import MIN_POLLING_INTERVAL, MessageEncoding, QueuesOptions

log = logging.getLogger("emulator")

HOST_LEASE = timedelta(minutes=10)  # QueueListener's visibility timeout for a running message
LEASE = timedelta(seconds=30)  # the local host's default (see the module docstring)
POISON_SUFFIX = "-poison"
_QUEUE_NAME = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


class QueueNameError(ValueError):
    pass


def check_queue_name(name: str) -> str:
    if not _QUEUE_NAME.match(name):
        raise QueueNameError(
            f"'{name}' is not a valid queue name: 3-63 lower-case letters, digits and single "
            f"dashes, starting and ending with a letter or digit")
    return name


def poison_queue_name(queue: str) -> str | None:
    """``<queue>-poison``; none for a queue that is a poison queue or too long for the suffix."""
    if queue.endswith(POISON_SUFFIX) or len(queue) + len(POISON_SUFFIX) > 63:
        return None
    return queue + POISON_SUFFIX


def encode_message(payload: str | bytes, encoding: MessageEncoding) -> str:
    """The queue message text for a payload, as the host writes it (queue output, poison)."""
    if encoding == MessageEncoding.BASE64:
        raw = payload.encode("utf-8") if isinstance(payload, str) else payload
        return base64.b64encode(raw).decode("ascii")
    return payload if isinstance(payload, str) else payload.decode("utf-8")


class DecodingError(ValueError):
    pass


def decode_message(text: str, encoding: MessageEncoding) -> bytes:
    if encoding == MessageEncoding.NONE:
        return text.encode("utf-8")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise DecodingError(str(exc)) from exc


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def trigger_call(function_name: str, message: Any, body: bytes, queue: str = "") -> TriggerCall:
    """The call for one received message (``message``: the SDK's ``QueueMessage``)."""
    try:
        text: str | None = body.decode("utf-8")
        value = TypedValue(DataType.STRING, text)
    except UnicodeDecodeError:
        text, value = None, TypedValue(DataType.BYTES, body)
    metadata = {"Id": TypedValue(DataType.STRING, message.id),
                "DequeueCount": TypedValue(DataType.JSON, json.dumps(message.dequeue_count)),
                "PopReceipt": TypedValue(DataType.STRING, message.pop_receipt)}
    for key, when in (("InsertionTime", message.inserted_on),
                      ("ExpirationTime", message.expires_on),
                      ("NextVisibleTime", message.next_visible_on)):
        if when is not None:
            metadata[key] = TypedValue(DataType.STRING, _iso(when))
    binding: dict[str, Any] = {"queueTrigger": text, "id": message.id,
                               "dequeueCount": message.dequeue_count,
                               "popReceipt": message.pop_receipt,
                               "insertionTime": _iso(message.inserted_on),
                               "expirationTime": _iso(message.expires_on),
                               "nextVisibleTime": _iso(message.next_visible_on)}
    if text is not None:
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):  # a JSON object's properties are binding data too
            binding = {**{k: v for k, v in parsed.items() if isinstance(k, str)}, **binding}
    return TriggerCall(function_name, TriggerType.QUEUE, value, metadata, binding,
                       f"New queue message detected on '{queue}'.")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


class QueueWatcher:
    """Tells the listeners of this host that a message was put on a queue (no waiting)."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Callable[[], None]]] = {}

    def subscribe(self, queue: str, wake: Callable[[], None]) -> None:
        self._listeners.setdefault(queue, []).append(wake)

    def notify(self, queue: str) -> None:
        for wake in self._listeners.get(queue, ()):
            wake()


@dataclass
class QueueStats:
    processed: int = 0
    failed: int = 0
    poisoned: int = 0
    in_flight: int = 0
    recent: list[dict[str, Any]] = field(default_factory=list)


class QueueListener:
    """One queue-triggered function's listener; ``run()`` until cancelled."""

    def __init__(self, function_name: str, queue_name: str, account: StorageAccount,
                 options: QueuesOptions, invoke: Invoke, *, watcher: QueueWatcher | None = None,
                 lease: timedelta = LEASE, client_options: dict[str, Any] | None = None) -> None:
        self.function_name = function_name
        self.queue_name = check_queue_name(queue_name)
        self.poison_name = poison_queue_name(queue_name)
        self.account = account
        self.options = options
        self.invoke = invoke
        self.lease = lease
        self.stats = QueueStats()
        self._client_options = client_options or {}
        self._wake = asyncio.Event()
        self._slot = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._leased: dict[str, tuple[Any, float]] = {}
        self._poison_ready = False
        self._missing_logged = False
        if watcher is not None:
            watcher.subscribe(queue_name, self.wake)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        service = self.account.queue_service(**self._client_options)
        async with service:
            self._queue = service.get_queue_client(self.queue_name)
            self._poison = (service.get_queue_client(self.poison_name)
                            if self.poison_name else None)
            renewals = asyncio.get_running_loop().create_task(self._renew_leases())
            try:
                await self._poll()
            finally:
                renewals.cancel()
                for task in list(self._in_flight):
                    task.cancel()
                if self._in_flight:
                    await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _poll(self) -> None:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        delay = MIN_POLLING_INTERVAL.total_seconds()
        ceiling = self.options.max_polling_interval.total_seconds()
        while True:
            while len(self._in_flight) > self.options.new_batch_threshold:
                self._slot.clear()
                await self._slot.wait()
            self._wake.clear()
            try:
                # no SDK retries here (its backoff starts at 15 s): the poll itself retries
                batch = [m async for m in self._queue.receive_messages(
                    messages_per_page=self.options.batch_size,
                    max_messages=self.options.batch_size,
                    visibility_timeout=int(self.lease.total_seconds()), retry_total=0)]
                if self._missing_logged:
                    log.info("Queue '%s' (function '%s') is available now", self.queue_name,
                             self.function_name)
                self._missing_logged = False
            except ResourceNotFoundError:
                if not self._missing_logged:
                    log.warning("Queue '%s' (function '%s') does not exist yet; polling until "
                                "it does", self.queue_name, self.function_name)
                    self._missing_logged = True
                batch = []
            except (AzureError, OSError) as exc:
                if not self._missing_logged:
                    log.warning("Function '%s': its storage is not reachable (queue '%s': %s); "
                                "retrying", self.function_name, self.queue_name,
                                _first_line(exc))
                    self._missing_logged = True
                batch = []
            for message in batch:
                task = asyncio.get_running_loop().create_task(self._process(message))
                self._in_flight.add(task)
                self.stats.in_flight = len(self._in_flight)
                task.add_done_callback(self._done)
            if batch:
                delay = MIN_POLLING_INTERVAL.total_seconds()
                continue
            if await wait_woken(self._wake, delay * random.uniform(0.8, 1.2)):
                delay = MIN_POLLING_INTERVAL.total_seconds()
            else:
                delay = min(ceiling, delay * 2)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self.stats.in_flight = len(self._in_flight)
        self._slot.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("Queue '%s': processing a message failed: %s", self.queue_name,
                      task.exception())

    async def _process(self, message: Any) -> None:
        opts = self.options
        if message.dequeue_count > opts.max_dequeue_count:  # BeginProcessingMessageAsync
            await self._to_poison(message)
            return
        try:
            body = decode_message(message.content, opts.message_encoding)
        except DecodingError:
            log.warning("Message decoding has failed! Check MessageEncoding settings. "
                        "MessageId=%s.", message.id)
            await self._to_poison(message)
            return
        call = trigger_call(self.function_name, message, body, self.queue_name)
        outcome = await self._invoke(message, call)
        self._remember(message, outcome)
        if outcome.succeeded:
            self.stats.processed += 1
            await self._delete(message)
        elif self._poison is not None and message.dequeue_count >= opts.max_dequeue_count:
            self.stats.failed += 1
            await self._to_poison(message)
        elif self._poison is not None:
            self.stats.failed += 1
            await self._release(message)
        else:  # no poison queue: leave it invisible, as the extension does
            self.stats.failed += 1

    async def _invoke(self, message: Any, call: TriggerCall) -> Outcome:
        """Run the function with the message's lease kept by ``_renew_leases``."""
        self._leased[message.id] = (message, asyncio.get_running_loop().time())
        try:
            return await self.invoke(call)
        except Exception as exc:  # the contract says never; count it as a failure
            return Outcome.failed(f"{type(exc).__name__}: {exc}")
        finally:
            self._leased.pop(message.id, None)

    async def _renew_leases(self) -> None:
        """Renew the lease of each message whose function has run for half of it."""
        loop = asyncio.get_running_loop()
        half = self.lease.total_seconds() / 2
        while True:
            await asyncio.sleep(half / 2)
            for message_id, (message, since) in list(self._leased.items()):
                if loop.time() - since < half or message_id not in self._leased:
                    continue
                try:
                    receipt = await self._queue.update_message(
                        message.id, message.pop_receipt,
                        visibility_timeout=int(self.lease.total_seconds()))
                    message.pop_receipt = receipt.pop_receipt
                    message.next_visible_on = receipt.next_visible_on
                    if message_id in self._leased:
                        self._leased[message_id] = (message, loop.time())
                except Exception as exc:
                    log.warning("Queue '%s': renewing message %s failed: %s", self.queue_name,
                                message.id, exc)

    async def _delete(self, message: Any) -> None:
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
        try:
            await self._queue.delete_message(message.id, message.pop_receipt)
        except ResourceNotFoundError:
            log.debug("Queue '%s': message %s was gone before its delete", self.queue_name,
                      message.id)
        except HttpResponseError as exc:
            if getattr(exc, "error_code", None) != "PopReceiptMismatch":
                raise
            log.debug("Queue '%s': message %s was taken over (pop receipt mismatch)",
                      self.queue_name, message.id)

    async def _release(self, message: Any) -> None:
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
        try:
            await self._queue.update_message(
                message.id, message.pop_receipt,
                visibility_timeout=int(self.options.visibility_timeout.total_seconds()))
        except (ResourceNotFoundError, HttpResponseError) as exc:
            log.debug("Queue '%s': releasing message %s: %s", self.queue_name, message.id, exc)

    async def _to_poison(self, message: Any) -> None:
        from azure.core.exceptions import ResourceExistsError
        if self._poison is None:
            return
        log.warning("Message has reached MaxDequeueCount of %d. Moving message to queue '%s'.",
                    self.options.max_dequeue_count, self.poison_name)
        if not self._poison_ready:
            try:
                await self._poison.create_queue()
            except ResourceExistsError:
                pass
            self._poison_ready = True
        await self._poison.send_message(message.content)  # the text as it was, encoded or not
        self.stats.poisoned += 1
        await self._delete(message)

    def _remember(self, message: Any, outcome: Outcome) -> None:
        recent = self.stats.recent
        recent.append({"id": message.id, "dequeueCount": message.dequeue_count,
                       "succeeded": outcome.succeeded, "error": outcome.error})
        del recent[:-20]

    async def depth(self) -> dict[str, int | None]:
        """Approximate message counts of the queue and its poison queue (None: no queue)."""
        from azure.core.exceptions import ResourceNotFoundError
        out: dict[str, int | None] = {}
        service = self.account.queue_service(**self._client_options)
        async with service:
            for key, name in (("queue", self.queue_name), ("poison", self.poison_name)):
                if name is None:
                    out[key] = None
                    continue
                try:
                    props = await service.get_queue_client(name).get_queue_properties()
                    out[key] = props.approximate_message_count
                except ResourceNotFoundError:
                    out[key] = None
        return out
