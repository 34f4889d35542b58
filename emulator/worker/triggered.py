"""The worker's half of a triggered invocation: typed values to the function's arguments and its
outputs back to typed values, with the Python worker's own converters (``azure.functions``).

``invoke_triggered`` runs one triggered function: the trigger call and the input bindings'
values (read by the trigger side) become arguments, the function runs (``call_function``: on
the loop or in the pool, bounded by ``functionTimeout``), and what it set on its ``func.Out``
parameters or returned for ``$return`` comes back as typed values, for the trigger side to
write. Exceptions propagate.

The Python worker picks a converter by the binding type and the parameter's annotation:
``func.TimerRequest``, ``func.QueueMessage``, ``func.InputStream`` from the trigger value and
metadata; a ``str`` / ``bytes`` annotation takes the data as it is. An output binding is a
``func.Out[...]`` parameter (``OutValue`` here) or ``$return``; after the function returns,
``output_value`` encodes what it set (blob: ``BlobConverter``; queue:
``QueueMessageOutConverter``; others: text, bytes, or JSON).
"""

from __future__ import annotations

import functools
import inspect
import json
import typing
from datetime import timedelta
from typing import Any

import azure.functions as func
from azure.functions import meta
from azure.functions.blob import BlobConverter
from azure.functions.queue import QueueMessageInConverter, QueueMessageOutConverter
from azure.functions.timer import TimerRequestConverter

from ..protocol.triggers import DataType, TriggerCall, TriggerType, TypedValue
from .index import TriggeredFunction
from .pool import AbandonablePool
from .timeouts import call_with_timeout

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


@functools.lru_cache(maxsize=1024)
def annotations(fn: Any) -> dict[str, Any]:
    """The parameters' annotations (resolved once per function: the lookup is not cheap)."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = {name: p.annotation for name, p in inspect.signature(fn).parameters.items()}
    return {k: v for k, v in hints.items() if v is not inspect.Parameter.empty}


def _unwrap_optional(annotation: Any) -> Any:
    """``str | None`` / ``Optional[bytes]`` -> ``str`` / ``bytes`` (None is the missing value)."""
    args = typing.get_args(annotation)
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _plain(value: TypedValue | None, annotation: Any) -> tuple[bool, Any]:
    annotation = _unwrap_optional(annotation)
    if value is None:
        return annotation in (str, bytes), None
    if annotation is bytes:
        return True, value.value if isinstance(value.value, bytes) else value.value.encode()
    if annotation is str:
        return True, value.value if isinstance(value.value, str) else value.value.decode()
    return False, None


def trigger_argument(call: TriggerCall, annotation: Any = None) -> Any:
    """The trigger parameter's value: a ``str``/``bytes`` annotation takes the data as it is;
    else the converter of the trigger type (another type's converter on a best effort, then the
    data's plain value)."""
    plain, result = _plain(call.value, annotation)
    if plain:
        return result
    metadata = {k: datum(v) for k, v in call.metadata.items()}
    data = datum(call.value)
    known = {TriggerType.TIMER: TimerRequestConverter, TriggerType.QUEUE: QueueMessageInConverter,
             TriggerType.BLOB: BlobConverter}
    if isinstance(call.trigger, TriggerType):
        try:
            return known[call.trigger].decode(data, trigger_metadata=metadata)
        except Exception as exc:
            raise ArgumentError(f"the {call.trigger} value could not be converted: "
                                f"{exc}") from exc
    converter = meta._ConverterMeta.get(call.trigger)
    if converter is not None:
        for candidate in (data, meta.Datum(call.value.value, "json")):
            try:
                return converter.decode(candidate, trigger_metadata=metadata)
            except Exception:  # noqa: S112 - try the next form, then the plain value
                continue
    return data.python_value


def input_argument(binding: dict[str, Any], value: TypedValue | None,
                   annotation: Any = None) -> Any:
    plain, result = _plain(value, annotation)
    if plain:
        return result
    if value is None:
        return None
    if binding.get("type") == "blob":
        return BlobConverter.decode(datum(value), trigger_metadata=None)
    if value.type == DataType.JSON:
        return value.value if isinstance(value.value, str) else value.value.decode()
    return value.value


def output_value(binding: dict[str, Any], value: Any) -> TypedValue | None:
    """The typed value a function's output (set or returned) writes; None: nothing to write."""
    if value is None:
        return None
    kind = binding.get("type")
    try:
        if kind == "blob":
            encoded = BlobConverter.encode(value, expected_type=None)
        elif kind == "queue":
            encoded = QueueMessageOutConverter.encode(value, expected_type=None)
        elif isinstance(value, str):
            return TypedValue(DataType.STRING, value)
        elif isinstance(value, bytes | bytearray):
            return TypedValue(DataType.BYTES, bytes(value))
        else:
            return TypedValue(DataType.JSON, json.dumps(value))
    except (NotImplementedError, TypeError, ValueError) as exc:
        raise ArgumentError(f"output '{binding.get('name')}' ({kind}): a "
                            f"{type(value).__name__} cannot be written to it") from exc
    return TypedValue(DataType(encoded.type), encoded.value)


def binding_arguments(bindings: list[dict[str, Any]], inputs: dict[str, TypedValue | None],
                      hints: dict[str, Any]) -> tuple[dict[str, Any], dict[str, OutValue]]:
    """The storage bindings' arguments: inputs converted, a ``func.Out`` per output."""
    kwargs: dict[str, Any] = {}
    outs: dict[str, OutValue] = {}
    for binding in bindings:
        name = binding["name"]
        if binding.get("direction") == "out":
            if name != RETURN:
                outs[name] = kwargs[name] = OutValue()
            continue
        kwargs[name] = input_argument(binding, inputs.get(name), hints.get(name))
    return kwargs, outs


def binding_outputs(bindings: list[dict[str, Any]], outs: dict[str, OutValue],
                    result: Any) -> dict[str, TypedValue | None]:
    """What the function set on its outputs (``$return``: what it returned)."""
    outputs: dict[str, TypedValue | None] = {}
    for binding in bindings:
        if binding.get("direction") == "out":
            name = binding["name"]
            value = result if name == RETURN else outs[name].get() if name in outs else None
            outputs[name] = output_value(binding, value)
    return outputs


async def invoke_triggered(function: TriggeredFunction, code: Any, call: TriggerCall,
                           inputs: dict[str, TypedValue | None], client_binding: str | None,
                           context: Any, pool: AbandonablePool, timeout: timedelta | None,
                           hints_of: Any = None) -> dict[str, TypedValue | None]:
    """Run a triggered function; the values of its output bindings (by binding name).
    ``hints_of``: the function whose annotations count when ``code`` wraps it."""
    hints = annotations(hints_of or code)
    kwargs, outs = binding_arguments(function.bindings, inputs, hints)
    kwargs[function.trigger_param] = trigger_argument(call, hints.get(function.trigger_param))
    if function.client_param:
        kwargs[function.client_param] = client_binding
    if function.wants_context:
        kwargs["context"] = context
    if function.is_async:
        result = await call_with_timeout(function.name, timeout, code(**kwargs))
    else:
        result = await call_with_timeout(function.name, timeout, pool=pool,
                                         fn=functools.partial(code, **kwargs))
    return binding_outputs(function.bindings, outs, result)
