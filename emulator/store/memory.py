"""A Store kept in process memory: gone with the process (``--state :memory:``).

Records are kept as JSON text, as a database would keep them, so what ``load`` returns never
shares objects with what the engine committed (and serialising is cheaper than deep copies).
Work items are immutable, so they are kept as they are.
"""

from __future__ import annotations

import json
import threading

from .base import Batch, EntityRecord, InstanceRecord, MessageRecord, Snapshot, Store, WorkItem


class MemoryStore(Store):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._instances: dict[str, str] = {}
        self._histories: dict[str, list[str]] = {}
        self._messages: dict[int, tuple[str, str]] = {}  # id -> (instance id, record)
        self._work: dict[int, WorkItem] = {}
        self._entities: dict[str, str] = {}

    def load(self) -> Snapshot:
        loads = json.loads
        with self._lock:
            return Snapshot(
                instances={k: InstanceRecord(**loads(v)) for k, v in self._instances.items()},
                histories={k: [loads(e) for e in v] for k, v in self._histories.items()},
                messages=[MessageRecord(**loads(r)) for _, (_, r) in
                          sorted(self._messages.items())],
                work=[w for _, w in sorted(self._work.items())],
                entities={k: EntityRecord(**loads(v)) for k, v in self._entities.items()},
            )

    def commit(self, batch: Batch) -> None:
        dumps = json.dumps
        # Serialise first: a record that cannot be stored leaves the store untouched.
        instances = [(r.instance_id, dumps(vars(r))) for r in batch.put_instances]
        appends = batch.append_history
        messages = [(m.id, (m.instance_id, dumps(vars(m)))) for m in batch.put_messages]
        entities = [(e.entity_id, dumps(vars(e))) for e in batch.put_entities]
        with self._lock:
            for entity_id in batch.delete_entities:
                self._entities.pop(entity_id, None)
                self._messages = {k: m for k, m in self._messages.items() if m[0] != entity_id}
            for instance_id in batch.delete_instances:
                self._instances.pop(instance_id, None)
                self._histories.pop(instance_id, None)
                self._messages = {k: m for k, m in self._messages.items()
                                  if m[0] != instance_id}
                self._work = {k: w for k, w in self._work.items()
                              if w.instance_id != instance_id}
            for instance_id in batch.reset_history:
                self._histories[instance_id] = []
            for instance_id, start, events in appends:
                history = self._histories.setdefault(instance_id, [])
                del history[start:]
                history.extend(events)
            self._instances.update(instances)
            self._entities.update(entities)
            self._messages.update(messages)
            self._work.update((w.id, w) for w in batch.put_work)
            for message_id in batch.delete_messages:
                self._messages.pop(message_id, None)
            for work_id in batch.delete_work:
                self._work.pop(work_id, None)

    @property
    def description(self) -> str:
        return "memory (not persisted)"
