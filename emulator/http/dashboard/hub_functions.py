"""The function list of a scheduler hub (no app): what can honestly be known of its names.

A scheduler host loads no code; the names of orchestrations, activities and entities belong to
the durabletask workers. Two sources tell some of them, and each row says which:

- ``workers``: the names the connected workers declared in their work-item filters
  (``use_work_item_filters``), with the versions they take; a worker that sends no filter for
  a kind takes any name of it, and is counted, not listed;
- ``seen``: the names of the hub's orchestration instances and entities, and of the work items
  open now (waiting for a worker or held by one) - activities appear here only while one runs.
"""

from __future__ import annotations

from typing import Any

from ...protocol.entities import EntityId, EntityProtocolError
from ...runtime.operations import Operations
from ...worker.workitems import ItemKind, WorkItemDispatcher

__all__ = ["hub_functions"]

TRIGGERS = {ItemKind.ORCHESTRATION: "orchestrationTrigger",
            ItemKind.ACTIVITY: "activityTrigger", ItemKind.ENTITY: "entityTrigger"}
NOTE = ("No app is loaded in scheduler mode: these are the names the connected workers "
        "declared in their work-item filters (source \"workers\") and the names seen in this "
        "hub's instances, entities and open work items (source \"seen\"; activities only while "
        "one runs).")


class _Rows:
    def __init__(self) -> None:
        self.rows: dict[tuple[ItemKind, str], dict[str, Any]] = {}

    def add(self, kind: ItemKind, name: str, source: str,
            versions: frozenset[str] = frozenset()) -> None:
        row = self.rows.setdefault((kind, name.lower() if kind == ItemKind.ENTITY else name), {
            "name": name, "trigger": TRIGGERS[kind], "sources": [], "versions": []})
        if source not in row["sources"]:
            row["sources"].append(source)
        row["versions"] = sorted(set(row["versions"]) | versions)


def _entity_name(entity_id: str) -> str | None:
    try:
        return EntityId.parse(entity_id).name
    except EntityProtocolError:
        return None


def hub_functions(ops: Operations, work_items: WorkItemDispatcher) -> dict[str, Any]:
    """``{"functions": rows, "anyName": {kind: workers}, "note": text}``; see the module."""
    rows = _Rows()
    any_name = {TRIGGERS[kind]: 0 for kind in ItemKind}
    for filters in work_items.worker_filters():
        for kind, declared in ((ItemKind.ORCHESTRATION, filters.orchestrations),
                               (ItemKind.ACTIVITY, filters.activities),
                               (ItemKind.ENTITY, filters.entities)):
            if declared is None:
                any_name[TRIGGERS[kind]] += 1
                continue
            for name, versions in declared.items():
                rows.add(kind, name, "workers", versions)
    for inst in ops.instances():
        if not inst.id.startswith("@"):
            rows.add(ItemKind.ORCHESTRATION, inst.record.name, "seen")
    for entity in ops.entity_metadata_list(include_transient=True):
        name = _entity_name(entity.entity_id)
        if name is not None:
            rows.add(ItemKind.ENTITY, name, "seen")
    for item in work_items.open_items():
        rows.add(item.kind, item.name, "seen")
    ordered = sorted(rows.rows.values(), key=lambda r: (r["trigger"], r["name"].lower()))
    return {"functions": ordered, "anyName": any_name, "note": NOTE}
