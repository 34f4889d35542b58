"""Hostile input, unit by unit: instance ids, strict JSON, query values, tokens, clock moves."""

import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from emulator.http.paging import ContinuationTokens, InvalidContinuationToken, query_fingerprint
from emulator.http.params import (
    InvalidParameter,
    parse_flag,
    parse_int,
    parse_number,
    parse_seconds,
    parse_timestamp,
)
from emulator.protocol import jsonsafe
from emulator.protocol.ids import InvalidInstanceId, instance_id_problem, validate_instance_id
from emulator.protocol.jsonsafe import JsonInputError, JsonProblem
from emulator.runtime.clock import LATEST, ClockRangeError, SkippingClock


# -- instance ids ------------------------------------------------------------------------------
@pytest.mark.parametrize("instance_id", [
    "abc", "order-42", "a" * 256, "é" * 256, "😀" * 128, "a.b", "...", "x y", "a@b",
])
def test_valid_instance_ids(instance_id):
    assert validate_instance_id(instance_id) == instance_id


@pytest.mark.parametrize("instance_id,rule", [
    ("", "empty"),
    ("@counter@x", "start with @"),
    ("a/b", "must not contain"), ("a\\b", "must not contain"), ("a?b", "must not contain"),
    ("a#b", "must not contain"), ("a\x00b", "must not contain"), ("a\nb", "must not contain"),
    ("a\x7fb", "must not contain"), ("a\x85b", "must not contain"),  # C1: NEL
    ("a\x9fb", "must not contain"),
    (".", "'.' or '..'"), ("..", "'.' or '..'"),
    ("a" * 257, "256"), ("😀" * 129, "256"),  # .NET counts UTF-16 code units
    ("a\ud800b", "valid Unicode"),
])
def test_invalid_instance_ids_name_the_rule(instance_id, rule):
    assert rule in instance_id_problem(instance_id)
    with pytest.raises(InvalidInstanceId, match=rule.replace("?", r"\?")):
        validate_instance_id(instance_id)


# -- strict JSON -------------------------------------------------------------------------------
def test_loads_parses_ordinary_json():
    assert jsonsafe.loads('{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}
    assert jsonsafe.loads(b'\xef\xbb\xbf"bom"') == "bom"
    assert jsonsafe.loads("[" * 64 + "]" * 64) == json.loads("[" * 64 + "]" * 64)


@pytest.mark.parametrize("text,problem", [
    ("[1, NaN]", JsonProblem.NOT_STRICT),
    ('{"a": Infinity}', JsonProblem.NOT_STRICT),
    ("-Infinity", JsonProblem.NOT_STRICT),
    ("1e400", JsonProblem.OUT_OF_RANGE),  # Python would parse this as inf
    ("[-1e999]", JsonProblem.OUT_OF_RANGE),
    ("1" * 5000, JsonProblem.OUT_OF_RANGE),  # beyond Python's int conversion limit
    ("[" * 65 + "]" * 65, JsonProblem.TOO_DEEP),
    ('{"a":' * 65 + "1" + "}" * 65, JsonProblem.TOO_DEEP),
    ("[" * 200_000, JsonProblem.TOO_DEEP),  # unbalanced and deep
    ("[" * 100_000 + "]", JsonProblem.TOO_DEEP),
    ("{'a': 1}", JsonProblem.SYNTAX),
    ("[1,", JsonProblem.SYNTAX),
    ("[[[", JsonProblem.SYNTAX),
    (b"\xff\xfe", JsonProblem.ENCODING),
])
def test_loads_refuses_hostile_json_with_the_rule_broken(text, problem):
    with pytest.raises(JsonInputError) as info:
        jsonsafe.loads(text)
    assert info.value.problem is problem


def test_brackets_inside_strings_do_not_count_towards_the_depth():
    text = json.dumps(["[" * 100, {"k": "{{{{\\\"[[[["}, "\\\\"])
    assert jsonsafe.loads(text)[0] == "[" * 100
    assert not jsonsafe.deeper_than(text, 2) and jsonsafe.deeper_than(text, 1)


def test_loads_enforces_the_size_limit():
    with pytest.raises(JsonInputError) as info:
        jsonsafe.loads('"' + "x" * 100 + '"', max_bytes=50)
    assert info.value.problem is JsonProblem.TOO_LARGE
    assert jsonsafe.loads('"' + "x" * 100 + '"', max_bytes=200) == "x" * 100


def test_dumps_never_writes_invalid_json():
    value = {"nan": math.nan, "list": [math.inf, -math.inf, 1.5], "ok": "x"}
    text = jsonsafe.dumps(value)
    assert json.loads(text, parse_constant=lambda c: pytest.fail(c)) == {
        "nan": None, "list": [None, None, 1.5], "ok": "x"}
    assert jsonsafe.dumps({"a": [1, 2]}) == '{"a":[1,2]}'


def test_normalise_turns_python_json_into_strict_json_and_leaves_the_rest():
    assert jsonsafe.normalise("[NaN, 1]") == "[null,1]"
    assert jsonsafe.normalise('{"a": 1}') == '{"a": 1}'
    assert jsonsafe.normalise("Activity failed: boom") == "Activity failed: boom"


# -- query values ------------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10, tzinfo=UTC)),
    ("2026-03-01T10:00:00+05:00", datetime(2026, 3, 1, 5, tzinfo=UTC)),
    ("2026-03-01T10:00:00-02:30", datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),
    ("2026-03-01T10:00:00.1234567+01:00", datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)),
    ("2026-03-01T10:00:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),  # no offset: UTC
    ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
    ("2026-03-01 10:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
])
def test_timestamps_are_converted_to_utc(text, expected):
    value = parse_timestamp(text, "createdTimeFrom")
    assert value == expected and value.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text,says", [
    ("2026-03-01T10:00:00 05:00", "%2B"),  # an unencoded '+' arrives as a space
    ("yesterday", "not a valid date/time"),
    ("", "not a valid date/time"),
    ("2026-13-01", "not a valid date/time"),
    ("0001-01-01T00:00:00+05:00", "not a valid date/time"),  # before year 1 in UTC
    ("9999-12-31T23:00:00-05:00", "not a valid date/time"),  # after year 9999 in UTC
])
def test_bad_timestamps_are_refused_naming_the_parameter(text, says):
    with pytest.raises(InvalidParameter) as info:
        parse_timestamp(text, "createdTimeTo")
    assert info.value.name == "createdTimeTo" and says in str(info.value)
    assert "createdTimeTo" in str(info.value)


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "1_000",
                                  "0x10", "", " ", "5s", "1e", "--1"])
def test_numbers_must_be_finite_decimals(text):
    with pytest.raises(InvalidParameter, match="finite number"):
        parse_number(text, "timeout", minimum=0, maximum=10)


@pytest.mark.parametrize("text", ["-1", "10.5", "1e9", "-0.001"])
def test_numbers_must_be_within_bounds(text):
    with pytest.raises(InvalidParameter, match="between 0 and 10"):
        parse_number(text, "timeout", minimum=0, maximum=10)


def test_numbers_within_bounds_parse():
    assert parse_number(" 2.5 ", "timeout", minimum=0, maximum=10) == 2.5
    assert parse_number("1e1", "timeout", minimum=0, maximum=10) == 10.0
    assert parse_seconds("1.5", "pollingInterval") == timedelta(seconds=1.5)
    with pytest.raises(InvalidParameter):
        parse_seconds("1e12", "timeout")


@pytest.mark.parametrize("text,ok", [("1", True), ("100", True), ("2147483647", True),
                                     ("0", False), ("-1", False), ("2147483648", False),
                                     ("1" * 5000, False), ("1.5", False), ("ten", False)])
def test_integers_are_bounded(text, ok):
    if ok:
        assert parse_int(text, "top", minimum=1) == int(text)
    else:
        with pytest.raises(InvalidParameter, match="'top'"):
            parse_int(text, "top", minimum=1)


def test_flags():
    assert parse_flag("TRUE", "showHistory") is True and parse_flag("false", "x") is False
    with pytest.raises(InvalidParameter, match="'showHistory'"):
        parse_flag("maybe", "showHistory")


# -- continuation tokens -----------------------------------------------------------------------
def test_tokens_round_trip_and_are_bound_to_their_query_and_host():
    tokens = ContinuationTokens()
    query = query_fingerprint({"runtimeStatus": "Completed", "createdTimeFrom": None})
    token = tokens.encode(("2026-01-01T00:00:00Z", "id-7"), query)
    assert tokens.decode(token, query) == ("2026-01-01T00:00:00Z", "id-7")
    other_query = query_fingerprint({"runtimeStatus": "Failed"})
    for forged, where in [(token, other_query), (token[:-4], query), ("MTAw", query),
                          ("not base64!", query), ("", query), ("é", query),
                          (token + "A", query), (token.rstrip("=") + "=A", query),
                          (token[:5] + ("A" if token[5] != "A" else "B") + token[6:], query)]:
        with pytest.raises(InvalidContinuationToken):
            tokens.decode(forged, where)
    with pytest.raises(InvalidContinuationToken):
        ContinuationTokens().decode(token, query)  # another host process


# -- the time-skipping clock -------------------------------------------------------------------
@pytest.mark.parametrize("seconds", [math.nan, math.inf, -math.inf, -1, 1e300, 1e12])
def test_the_clock_refuses_moves_it_cannot_make_and_keeps_working(seconds):
    clock = SkippingClock()
    before = clock.offset
    with pytest.raises(ClockRangeError):
        clock.advance_by(seconds)
    assert clock.offset == before
    clock.advance_by(60)
    assert clock.offset == before + timedelta(seconds=60)
    assert clock.now() < LATEST


def test_skipping_to_a_timer_beyond_the_latest_time_stops_at_it():
    clock = SkippingClock()
    clock.advance_to(datetime(9999, 12, 31, tzinfo=UTC))
    assert abs(clock.now() - LATEST) < timedelta(seconds=1)
