"""A Store kept in process memory: fast, and gone with the process (``--state :memory:``)."""

from __future__ import annotations

import copy
import threading

from .base import Batch, InstanceRecord, MessageRecord, Snapshot, Store, WorkItem


class MemoryStore(Store):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._instances: dict[str, InstanceRecord] = {}
        self._histories: dict[str, list[dict]] = {}
        self._messages: dict[int, MessageRecord] = {}
        self._work: dict[int, WorkItem] = {}

    def load(self) -> Snapshot:
        with self._lock:
            return Snapshot(
                instances=copy.deepcopy(self._instances),
                histories=copy.deepcopy(self._histories),
                messages=[copy.deepcopy(m) for _, m in sorted(self._messages.items())],
                work=[copy.deepcopy(w) for _, w in sorted(self._work.items())],
            )

    def commit(self, batch: Batch) -> None:
        with self._lock:
            for instance_id in batch.delete_instances:
                self._instances.pop(instance_id, None)
                self._histories.pop(instance_id, None)
                self._messages = {k: m for k, m in self._messages.items()
                                  if m.instance_id != instance_id}
                self._work = {k: w for k, w in self._work.items()
                              if w.instance_id != instance_id}
            for instance_id in batch.reset_history:
                self._histories[instance_id] = []
            for instance_id, start, events in batch.append_history:
                history = self._histories.setdefault(instance_id, [])
                del history[start:]
                history.extend(copy.deepcopy(events))
            for record in batch.put_instances:
                self._instances[record.instance_id] = copy.deepcopy(record)
            for message in batch.put_messages:
                self._messages[message.id] = copy.deepcopy(message)
            for work in batch.put_work:
                self._work[work.id] = copy.deepcopy(work)
            for message_id in batch.delete_messages:
                self._messages.pop(message_id, None)
            for work_id in batch.delete_work:
                self._work.pop(work_id, None)

    @property
    def description(self) -> str:
        return "memory (not persisted)"
