"""The worker's half of a triggered invocation: typed values to the function's arguments and its
outputs back to typed values, with the Python worker's own converters (``azure.functions``).

The Python worker picks a converter by the binding type and the parameter's annotation:
``func.TimerRequest``, ``func.QueueMessage``, ``func.InputStream`` from the trigger value and
metadata; a ``str`` / ``bytes`` annotation takes the data as it is. An output binding is a
``func.Out[...]`` parameter (``OutValue`` here) or ``$return``; after the function returns,
``output_value`` encodes what it set (blob: ``BlobConverter``; queue:
``QueueMessageOutConverter``; others: text, bytes, or JSON).
"""

from __future__ import annotations

import inspect
import json
import typing
from typing import Any

import azure.functions as func
from azure.functions import meta
from azure.functions.blob import BlobConverter
from azure.functions.queue import QueueMessageInConverter, QueueMessageOutConverter
from azure.functions.timer import TimerRequestConverter

from .bindings import BindingSpec
from .contract import DataType, TriggerCall, TriggerType, TypedValue

RETURN = "$return"


class ArgumentError(ValueError):
    """A value cannot be given to, or taken from, the function as declared."""


class OutValue(func.Out):
    """The ``func.Out`` a function sets its output binding through."""

    def __init__(self) -> None:
        self._value: Any = None
        self.was_set = False

    def set(self, val: Any) -> None:
        self._value = val
        self.was_set = True

    def get(self) -> Any:
        return self._value


def datum(value: TypedValue | None) -> meta.Datum | None:
    return None if value is None else meta.Datum(value.value, value.type.value)


def annotations(fn: Any) -> dict[str, Any]:
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = {name: p.annotation for name, p in inspect.signature(fn).parameters.items()}
    return {k: v for k, v in hints.items() if v is not inspect.Parameter.empty}


def _plain(value: TypedValue | None, annotation: Any) -> tuple[bool, Any]:
    if value is None:
        return annotation in (str, bytes), None
    if annotation is bytes:
        return True, value.value if isinstance(value.value, bytes) else value.value.encode()
    if annotation is str:
        return True, value.value if isinstance(value.value, str) else value.value.decode()
    return False, None


def trigger_argument(call: TriggerCall, annotation: Any = None) -> Any:
    plain, result = _plain(call.value, annotation)
    if plain:
        return result
    metadata = {k: datum(v) for k, v in call.metadata.items()}
    data = datum(call.value)
    try:
        if call.trigger == TriggerType.TIMER:
            return TimerRequestConverter.decode(data, trigger_metadata=metadata)
        if call.trigger == TriggerType.QUEUE:
            return QueueMessageInConverter.decode(data, trigger_metadata=metadata)
        if call.trigger == TriggerType.BLOB:
            return BlobConverter.decode(data, trigger_metadata=metadata)
    except Exception as exc:
        raise ArgumentError(f"the {call.trigger} value could not be converted: {exc}") from exc
    return data.python_value if data is not None else None


def input_argument(spec: BindingSpec, value: TypedValue | None, annotation: Any = None) -> Any:
    plain, result = _plain(value, annotation)
    if plain:
        return result
    if value is None:
        return None
    if spec.type == "blob":
        return BlobConverter.decode(datum(value), trigger_metadata=None)
    if value.type == DataType.JSON:
        return value.value if isinstance(value.value, str) else value.value.decode()
    return value.value


def output_value(spec: BindingSpec, value: Any) -> TypedValue | None:
    """The typed value a function's output (set or returned) writes; None: nothing to write."""
    if value is None:
        return None
    try:
        if spec.type == "blob":
            encoded = BlobConverter.encode(value, expected_type=None)
        elif spec.type == "queue":
            encoded = QueueMessageOutConverter.encode(value, expected_type=None)
        elif isinstance(value, str):
            return TypedValue(DataType.STRING, value)
        elif isinstance(value, bytes | bytearray):
            return TypedValue(DataType.BYTES, bytes(value))
        else:
            return TypedValue(DataType.JSON, json.dumps(value))
    except (NotImplementedError, TypeError, ValueError) as exc:
        raise ArgumentError(f"output '{spec.name}' ({spec.type}): a {type(value).__name__} "
                            f"cannot be written to it") from exc
    return TypedValue(DataType(encoded.type), encoded.value)
