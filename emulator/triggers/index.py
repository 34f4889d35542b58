"""From the app's index to what the trigger sources run (pure; plain dicts in).

The loader hands each non-HTTP, non-Durable function as its trigger's and bindings'
``get_dict_repr()`` dicts; ``plan_triggers`` sorts them into timer, queue and blob specs (with
``%SETTING%`` queue names resolved and lower-cased, as the queue extension normalizes them),
the storage bindings per function, the durable client parameter, and one start-up line for
each trigger type the local host does not run (Service Bus, Event Hubs, Cosmos DB, Event Grid,
Kafka, ...): those functions still run on ``POST /admin/functions/{name}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .bindings import BindingSpec
from .expressions import ExpressionError, resolve_app_settings
from .timer_source import TimerSpec

FOREIGN_TRIGGERS = {
    "serviceBusTrigger": "Service Bus",
    "eventHubTrigger": "Event Hubs",
    "cosmosDBTrigger": "Cosmos DB",
    "eventGridTrigger": "Event Grid",
    "kafkaTrigger": "Kafka",
    "rabbitMQTrigger": "RabbitMQ",
    "sqlTrigger": "Azure SQL",
    "daprServiceInvocationTrigger": "Dapr",
    "daprBindingTrigger": "Dapr",
    "daprTopicTrigger": "Dapr",
    "mysqlTrigger": "MySQL",
    "warmupTrigger": "warm-up",
}


class TriggerPlanError(ValueError):
    """A trigger cannot be started as declared; the message names the function."""


@dataclass(frozen=True)
class QueueSpec:
    function_name: str
    queue_name: str
    connection: str | None


@dataclass(frozen=True)
class BlobSpec:
    function_name: str
    path: str
    connection: str | None
    event_grid: bool  # declared with source=EventGrid (runs on polling locally)


@dataclass(frozen=True)
class ForeignTrigger:
    function_name: str
    trigger_type: str
    line: str


@dataclass
class TriggerPlan:
    timers: list[TimerSpec] = field(default_factory=list)
    queues: list[QueueSpec] = field(default_factory=list)
    blobs: list[BlobSpec] = field(default_factory=list)
    foreign: list[ForeignTrigger] = field(default_factory=list)
    bindings: dict[str, list[BindingSpec]] = field(default_factory=dict)
    durable_client: dict[str, str] = field(default_factory=dict)
    trigger_param: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # function -> why it cannot start

    @property
    def functions(self) -> set[str]:
        return set(self.trigger_param)


def _lower_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k.lower(): v for k, v in data.items()}


def _flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def foreign_line(function_name: str, trigger_type: str, trigger: Mapping[str, Any]) -> str:
    kind = FOREIGN_TRIGGERS.get(trigger_type, trigger_type)
    source = next((str(v) for k, v in trigger.items()
                   if k.lower() in ("queuename", "topicname", "eventhubname", "containername",
                                    "topic", "tablename")), "")
    where = f" on '{source}'" if source else ""
    return (f"Function '{function_name}' ({kind} trigger{where}) is not run by the local host: "
            f"it has no {kind} emulator; run it once with POST /admin/functions/"
            f"{function_name} and a body {{\"input\": ...}}")


def plan_triggers(functions: list[tuple[str, Mapping[str, Any], list[Mapping[str, Any]]]],
                  settings: Mapping[str, str] | None = None, *,
                  strict: bool = True) -> TriggerPlan:
    """``functions``: (name, trigger dict, binding dicts) of each triggered function. A
    trigger that cannot be planned raises ``TriggerPlanError`` (``strict``) or is left out with
    its reason in ``errors``."""
    plan = TriggerPlan()
    for name, trigger, bindings in functions:
        ttype = str(trigger.get("type"))
        props = _lower_keys(trigger)
        plan.trigger_param[name] = str(trigger.get("name"))
        try:
            if ttype == "timerTrigger":
                plan.timers.append(TimerSpec(name, str(props.get("schedule", "")),
                                             _flag(props.get("runonstartup"), False),
                                             _flag(props.get("usemonitor"), True)))
            elif ttype == "queueTrigger":
                queue = resolve_app_settings(str(props.get("queuename", "")), settings).lower()
                plan.queues.append(QueueSpec(name, queue, props.get("connection")))
            elif ttype == "blobTrigger":
                plan.blobs.append(BlobSpec(name, str(props.get("path", "")),
                                           props.get("connection"),
                                           str(props.get("source", "")).lower() == "eventgrid"))
            else:
                plan.foreign.append(ForeignTrigger(name, ttype, foreign_line(name, ttype,
                                                                             trigger)))
        except ExpressionError as exc:
            if strict:
                raise TriggerPlanError(f"Function '{name}': {exc}") from None
            plan.errors[name] = str(exc)
        specs = []
        for binding in bindings:
            if binding.get("name") == trigger.get("name") and binding.get("type") == ttype:
                continue  # the trigger itself is listed among the bindings
            if binding.get("type") == "durableClient":
                plan.durable_client[name] = str(binding.get("name"))
                continue
            specs.append(BindingSpec.from_dict(binding))
        plan.bindings[name] = specs
    return plan
