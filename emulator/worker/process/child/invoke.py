"""The worker's converters, one per kind of invocation: binding data in, the function's answer out.

The worker's own ``azure.functions`` converters, so the app sees the values it sees in Azure (the
in-process worker, ``worker/invoke.py``, uses the same functions):

- orchestrator: the trigger JSON goes to the SDK's handler, which answers its state JSON;
- entity: the batch JSON becomes an ``EntityContext``; the handler's result JSON goes back;
- activity: the input text is decoded as the ``activityTrigger`` converter registered with
  ``azure.functions`` does (the 2.x SDK registers its own), the result encoded by it;
- http: the request becomes an ``azure.functions.HttpRequest``; the answer is status, headers
  and body.

``prepare`` returns the call to make (a callable, or a coroutine function) and ``finish`` turns
its return value into the reply header and body. Exceptions propagate to ``main``, which reports
them with their type, message and stack.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import uuid
from collections.abc import Callable
from typing import Any

_PLAIN = (str, int, float, bool, type(None))
_scan = json.JSONDecoder().scan_once  # what json.loads parses with (the default decoder's)
_DEFAULT = json.JSONEncoder()


def _dumps(value: Any) -> str:
    """``json.dumps(value)``: the same C encoder, made directly (``json.dumps`` wraps it in
    three Python calls and a closure per call)."""
    make = json.encoder.c_make_encoder
    if make is None:  # pragma: no cover - CPython has the accelerator
        return json.dumps(value)
    return "".join(make({}, _DEFAULT.default, json.encoder.encode_basestring_ascii, None, ": ",
                        ", ", False, False, True)(value, 0))


class InvocationContext:
    """The subset of ``azure.functions.Context`` that functions commonly read."""

    def __init__(self, function_name: str, invocation_id: str | None = None) -> None:
        self.invocation_id = invocation_id or str(uuid.uuid4())
        self.function_name = function_name
        self.function_directory = os.getcwd()
        self.trace_context = None
        self.retry_context = None


@functools.cache
def _converter_registry() -> Any:
    """``azure.functions``' converter registry (imported on first use)."""
    from azure.functions import meta
    return meta.get_binding_registry()


def activity_converter() -> Any:
    """The converter the worker uses for ``activityTrigger`` values: the one registered with
    ``azure.functions`` (the 2.x SDK registers its own when imported), else its built-in one."""
    registered = _converter_registry().get("activityTrigger")
    if registered is not None:
        return registered
    from azure.functions.durable_functions import ActivityTriggerConverter
    return ActivityTriggerConverter


def _takes_plain_json(converter: Any) -> bool:
    """Whether ``converter`` reads plain JSON text as ``json.loads`` does and writes plain values
    as ``json.dumps`` does: ``azure.functions``' own converter, and the 2.x SDK's while the app
    has no large-payload store (with one, it hands the activity's wrapper the raw text, which
    the wrapper resolves from the store; the host must not decode it first). Unknown converters,
    or a 2.x SDK whose store can no longer be read, get every value (slower, never wrong)."""
    module = converter.__module__
    if module == "azure.functions.durable_functions":
        return True
    if module.startswith("azure.durable_functions."):
        payloads = sys.modules.get("azure.durable_functions.internal.payloads")
        store = getattr(payloads, "get_transport_payload_store", None)
        return store is not None and store() is None
    return False


def decode_activity_input(text: str | None) -> Any:
    """The activity's input as the worker's converter (``activity_converter``) decodes it.

    ``azure.functions``' converter parses with a hook that rebuilds custom objects (objects with
    ``__class__``, ``__module__`` and ``__data__`` keys) and reads an environment variable for
    every value. Text with neither ``__`` nor a backslash cannot spell such a key, and for it
    the converter returns exactly ``json.loads(text)``, in loose and strict typing mode alike;
    anything else (and anything ``json.loads`` refuses, and everything when the converter does
    more: ``_takes_plain_json``) goes through the converter itself.
    """
    converter = activity_converter()
    if (text is not None and "__" not in text and "\\" not in text
            and _takes_plain_json(converter)):
        try:
            value, end = _scan(text, 0)  # json.loads's own scanner, without its layers
        except StopIteration:  # not a value at the very start: json.loads says what it is
            end = -1
        except ValueError:
            end = -1
        if end == len(text):
            return value
        try:
            return json.loads(text)
        except ValueError:
            pass
    from azure.functions import meta
    return converter.decode(meta.Datum(text, "json"), trigger_metadata=None)


def encode_activity_result(value: Any) -> str | None:
    """The activity's result as JSON text, as the worker's converter encodes it.

    ``azure.functions``' converter's custom-object hook only runs for what JSON cannot encode
    natively, so for plain values, lists and dicts its text is ``json.dumps(value)`` in both
    typing modes; anything JSON refuses (a custom object somewhere inside, or the 2.x SDK's
    reference to a stored large payload) goes through the converter.
    """
    kind = type(value)
    if kind in _PLAIN:
        return _dumps(value)
    if kind is dict or kind is list:
        try:
            return _dumps(value)
        except (TypeError, ValueError):
            pass
    return activity_converter().encode(value, expected_type=None).value


def entity_context(trigger: str) -> Any:
    from azure.functions import meta
    from azure.functions.durable_functions import EnitityTriggerConverter
    return EnitityTriggerConverter.decode(meta.Datum(trigger, "json"), trigger_metadata=None)


def entity_result(result: Any) -> str:
    from azure.functions.durable_functions import EnitityTriggerConverter
    return EnitityTriggerConverter.encode(result, expected_type=None).value


def http_request(header: dict[str, Any], body: bytes | None) -> Any:
    import azure.functions as func
    return func.HttpRequest(method=header["method"], url=header["url"],
                            headers=header.get("headers") or {},
                            params=header.get("params") or {},
                            route_params=header.get("route_params") or {}, body=body or b"")


def http_reply(result: Any) -> tuple[dict[str, Any], bytes | None]:
    """The function's answer as status, headers and body (the host writes the response)."""
    import azure.functions as func
    if isinstance(result, func.HttpResponse):
        headers = dict(result.headers.items())
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = (f"{result.mimetype or 'text/plain'}; "
                                       f"charset={result.charset or 'utf-8'}")
        return {"status": result.status_code, "headers": headers}, result.get_body()
    if result is None:
        return {"status": 204, "headers": {}}, None
    if isinstance(result, (bytes, str)):
        body = result if isinstance(result, bytes) else result.encode()
        return {"status": 200, "headers": {"Content-Type": "text/plain; charset=utf-8"}}, body
    # any other value: the host writes it as JSON, as for an in-process function
    return {"status": 200, "json": True}, json.dumps(result).encode()


def _text(answer: Any) -> str:
    """A 2.x handler's answer as text (the host checks that it is a base64 response)."""
    if isinstance(answer, bytes):
        return answer.decode("ascii", "replace")
    if not isinstance(answer, str):
        raise TypeError(f"the 2.x SDK's handler answered {type(answer).__name__}, not the "
                        "base64 protobuf response")
    return answer


def _context(description: dict[str, Any], header: dict[str, Any]) -> dict[str, Any]:
    if not description.get("wants_context"):
        return {}
    return {"context": InvocationContext(description["name"], header.get("invocation_id"))}


def prepare(kind: str, description: dict[str, Any], fn: Any, header: dict[str, Any],
            body: bytes | None) -> tuple[Callable[[], Any], Callable[[Any], Any]]:
    """(call, finish): ``call()`` runs the function (a coroutine for ``async def``);
    ``finish(returned)`` is the reply (header fields, body)."""
    if kind == "http":  # the body stays bytes: the app decodes it (or answers 400) itself
        kwargs = {description["trigger_param"]: http_request(header, body),
                  **_context(description, header)}
        if description.get("client_param"):
            kwargs[description["client_param"]] = header.get("client")
        for other in header.get("other_inputs") or ():
            kwargs[other] = None
        return (lambda: fn(**kwargs)), http_reply
    text = None if body is None else body.decode()
    if kind in ("orchestrator", "entity") and description.get("durable_requires_grpc"):
        # the 2.x SDK: the host sends the base64 protobuf request, the SDK's handler (an
        # ``async def`` under the trigger's registered name) answers the base64 response
        kwargs = {description["trigger_param"]: text}
        return (lambda: fn(**kwargs)), (lambda answer: ({}, _text(answer).encode()))
    if kind == "orchestrator":
        return (lambda: fn(text)), (lambda state: ({}, state.encode()))
    if kind == "entity":
        context = entity_context(text)
        return (lambda: fn(context)), (lambda result: ({}, entity_result(result).encode()))
    if kind == "activity":
        kwargs = {description["trigger_param"]: decode_activity_input(text),
                  **_context(description, header)}
        if description.get("client_param"):  # a 2.x activity's durable client binding
            kwargs[description["client_param"]] = header.get("client")

        def finish_activity(value: Any) -> Any:
            encoded = encode_activity_result(value)
            return {}, None if encoded is None else encoded.encode()
        return (lambda: fn(**kwargs)), finish_activity
    raise ValueError(f"unknown invocation kind {kind!r}")
