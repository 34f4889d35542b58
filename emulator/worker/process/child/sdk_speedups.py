"""An opt-out speed-up of the SDK's replay, installed in the local host's own process.

Every episode the SDK re-parses the timestamp of every history event with ``dateutil``, which
costs about three quarters of its replay time (43 us per event and episode, measured; see
shared/design/performance.md). The host writes timestamps in one ISO-8601 form, which
``datetime.fromisoformat`` parses about 200 times faster to the same aware UTC datetime. This
module swaps the SDK's module-level ``dt_parse`` for a parser that takes that fast path and falls
back to dateutil for anything else, so results are identical; only the cost changes. The real
Functions host cannot do this (it does not own the worker's code), which is why it is listed
among the local host's deliberate differences and can be turned off (``--sdk-dateutil``).

The SDK also encodes and decodes every activity input and result through the ``azure.functions``
JSON codec, which reads ``AZURE_FUNCTIONS_DURABLE_STRICT_TYPING`` from the environment for every
value (a failed ``os.environ`` lookup, about 3 us: 17% of the SDK's time in a 10,000-wide
fan-out). Installing also reads that setting once - each host start reads it again, after the
app's settings are applied - so the codec behaves as the setting says without the lookups. (An
app that changed the variable while running would not switch modes; the Functions host sets app
settings once per worker process too.) ``--sdk-dateutil`` turns this off as well.
"""

from __future__ import annotations

import importlib
from datetime import datetime, timezone

UTC = timezone.utc  # noqa: UP017 - datetime.UTC is 3.11+; workers run on 3.10 too

_MODULE = "azure.durable_functions.models.history.HistoryEvent"
_CODEC = "azure.functions._durable_functions"

_installed: dict[str, object] = {}


def fast_parse(text: str, _fallback=None) -> datetime:
    try:
        if text.endswith("Z"):
            value = datetime.fromisoformat(text[:-1])
            if value.tzinfo is None:
                return value.replace(tzinfo=UTC)
    except ValueError:
        pass
    return _installed["fallback"](text)


def install() -> None:
    """Route the 1.x SDK's history timestamp parsing through ``fast_parse`` and read the codec's
    typing mode now (idempotent; every call reads the mode again). The 2.x SDK has no such
    parser (durabletask's replay reads protobuf timestamps) but encodes every activity input
    through the same ``azure.functions`` codec: with it, only the mode is read now."""
    try:
        module = importlib.import_module(_MODULE)
    except ImportError:  # the 2.x SDK
        module = None
    if module is not None and "fallback" not in _installed:
        _installed["fallback"] = module.dt_parse
        module.dt_parse = fast_parse
    codec = importlib.import_module(_CODEC)
    if "strict" not in _installed:
        _installed["strict"] = codec._is_strict_mode
    strict = bool(_installed["strict"]())
    codec._is_strict_mode = lambda: strict


def uninstall() -> None:
    if "fallback" in _installed:
        importlib.import_module(_MODULE).dt_parse = _installed.pop("fallback")
    if "strict" in _installed:
        importlib.import_module(_CODEC)._is_strict_mode = _installed.pop("strict")
