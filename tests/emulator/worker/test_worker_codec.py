"""The local host's fast activity codec gives exactly what the worker's converter gives."""

import importlib
import json

import pytest
from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from emulator.worker.invoke import decode_activity_input, encode_activity_result
from emulator.worker.process.child import sdk_speedups

STRICT = "AZURE_FUNCTIONS_DURABLE_STRICT_TYPING"


class Point:
    """A custom object the converter serialises with its envelope."""

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)

    @staticmethod
    def to_json(obj: "Point") -> dict:
        return {"x": obj.x, "y": obj.y}

    @staticmethod
    def from_json(data: dict) -> "Point":
        return Point(data["x"], data["y"])


@pytest.fixture(autouse=True)
def _codec_reads_the_environment(monkeypatch):
    """The converter as the worker has it: reading the typing mode for every value (a host
    started earlier in this process made it read the mode once)."""
    codec = importlib.import_module("azure.functions._durable_functions")
    original = sdk_speedups._installed.get("strict", codec._is_strict_mode)
    monkeypatch.setattr(codec, "_is_strict_mode", original)


def envelope(x: int, y: int) -> str:
    return json.dumps({"__class__": "Point", "__module__": __name__,
                       "__data__": {"x": x, "y": y}})


# The same envelope with every underscore of its keys escaped: no "__" in the text, yet
# json.loads reads "__class__", "__module__" and "__data__".
ESCAPED_ENVELOPE = envelope(5, 6).replace("__", "\\u005f\\u005f")
INPUTS = [
    "0", "1.5", "true", "null", '"text"', '"with \\"escapes\\" and \\u00e9"', "[1, 2, 3]",
    '{"count": 1000, "seconds": 0}', '{"nested": {"list": [1, {"a": null}]}}',
    "not json at all", "", "   ", '{"__class__": "x"}', envelope(1, 2),
    '[' + envelope(3, 4) + ']', ESCAPED_ENVELOPE, '"__dunder__ in a string"', None,
    # where json's scanner alone would stop early or differ from json.loads
    " 0", "0 ", "0\n", "0 1", "[1] x", '{"a": 1}garbage', "NaN", "-Infinity", "\ufeff0",
    '"unterminated', "1e400", "-0", "[", "tru", '"tab\tinside"',
]
RESULTS = [
    None, 0, -1, 2.5, float("inf"), True, "text", "é", [1, "a", None], {"a": [1, 2]},
    {"deep": {"deeper": [{"x": 1}]}}, Point(1, 2), [Point(3, 4)], {"p": Point(5, 6)},
    (1, 2), {1: "int key"}, b"bytes", object(), 'quote " backslash \\', float("nan"), -0.0,
    2**70, {"a": float("-inf")}, [{"b": {1.5: None}}],
]


def _converter_decode(text):
    try:
        return "value", ActivityTriggerConverter.decode(meta.Datum(text, "json"),
                                                        trigger_metadata=None)
    except Exception as exc:  # noqa: BLE001 - the outcome is compared, whatever it is
        return "error", type(exc)


def _fast_decode(text):
    try:
        return "value", decode_activity_input(text)
    except Exception as exc:  # noqa: BLE001
        return "error", type(exc)


def _converter_encode(value):
    try:
        return "value", ActivityTriggerConverter.encode(value, expected_type=None).value
    except Exception as exc:  # noqa: BLE001
        return "error", type(exc)


def _fast_encode(value):
    try:
        return "value", encode_activity_result(value)
    except Exception as exc:  # noqa: BLE001
        return "error", type(exc)


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("text", INPUTS)
def test_decode_matches_the_converter(monkeypatch, strict, text):
    monkeypatch.setenv(STRICT, "1" if strict else "0")
    assert _fast_decode(text) == _converter_decode(text)


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("value", RESULTS, ids=repr)
def test_encode_matches_the_converter(monkeypatch, strict, value):
    monkeypatch.setenv(STRICT, "1" if strict else "0")
    assert _fast_encode(value) == _converter_encode(value)


def test_custom_objects_still_round_trip():
    text = encode_activity_result(Point(7, 8))
    assert json.loads(text)["__class__"] == "Point"
    assert decode_activity_input(text) == Point(7, 8)
