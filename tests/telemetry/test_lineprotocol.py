"""Line protocol: what format_point writes, parse_line reads back exactly; the rest is refused.

Property tests over names and values full of what line protocol must escape (spaces, commas,
equals signs, quotes, backslashes, tabs, NULs, non-Latin text). The same strategies drive the
check against a real influxd in ``test_services.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from telemetry.errors import InputError
from telemetry.lineprotocol import (
    INT64_MAX,
    INT64_MIN,
    PRECISION_NS,
    Point,
    format_point,
    format_points,
    parse_line,
    parse_lines,
)

# -- strategies (also imported by test_services.py) ----------------------------------------------

#: Characters line protocol makes hard, drawn often; any other character also appears.
TRICKY = list(" ,=\"'\t\x00\x0b#_-.é→ژ٣😀")
_plain = st.characters(exclude_categories=("Cs",), exclude_characters="\n\r\\")
_char = st.one_of(st.sampled_from(TRICKY), _plain)
# A backslash may stand before an ordinary character only (see telemetry.lineprotocol).
_escaped = st.builds(lambda c: "\\" + c, _plain.filter(lambda c: c not in ',= "\t\x00'))


def names(min_size: int = 1, max_size: int = 8) -> st.SearchStrategy[str]:
    """Names and tag values line protocol can carry."""
    return st.lists(
        st.one_of(_char, _char, _char, _escaped), min_size=min_size, max_size=max_size
    ).map("".join)


measurements = names().filter(lambda s: s[0] not in "#\t\x00")
field_keys = names().filter(lambda s: s[0] not in "\t\x00")
string_values = st.text(st.one_of(st.sampled_from([*TRICKY, "\\"]), _plain), max_size=20)
field_values = st.one_of(
    st.integers(INT64_MIN, INT64_MAX),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    string_values,
)
timestamps = st.one_of(st.none(), st.integers(INT64_MIN, INT64_MAX))


@st.composite
def points(draw: st.DrawFn, *, time_ns: st.SearchStrategy[int | None] = timestamps) -> Point:
    """A point whose tag keys and field keys are distinct (InfluxDB keeps them apart)."""
    tags = draw(st.dictionaries(names(), names(), max_size=3))
    fields = draw(
        st.dictionaries(
            field_keys.filter(lambda k: k not in tags), field_values, min_size=1, max_size=4
        )
    )
    return Point(draw(measurements), tags, fields, draw(time_ns))


def same_value(a: object, b: object) -> bool:
    """Equal and of the same type (1 is not 1.0, True is not 1); -0.0 keeps its sign."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)  # type: ignore[arg-type]
    return a == b


def assert_same_point(got: Point, want: Point) -> None:
    assert got == want
    assert list(got.fields) == list(want.fields)  # field order is kept
    for key, value in want.fields.items():
        assert same_value(got.fields[key], value), (key, got.fields[key], value)


# -- round trip ----------------------------------------------------------------------------------


@given(points())
@example(
    Point(
        "inverter",
        {"plant_id": "ZNJ-000123", "province": "Zanjan"},
        {"ac_power_w": 3200.5, "seq": 812, "status": "producing", "ok": True},
        1_782_896_400_000_000_000,
    )
)
@example(Point(" m", {" ": "=", ",": " "}, {"=": '"', "\\a": "\\"}, 0))
@example(Point("a\\b", {"t": "x\\y"}, {"f": -0.0}, INT64_MIN))
@example(Point("m", {}, {"f": 5e-324, "g": 1.7976931348623157e308, "h": INT64_MAX}, INT64_MAX))
def test_format_then_parse_gives_the_same_point(point: Point) -> None:
    line = point.to_line()
    assert "\n" not in line
    parsed = parse_lines(line + "\n")
    assert len(parsed) == 1
    assert_same_point(parsed[0], point)
    assert_same_point(parse_line(line), point)


@given(st.lists(points(), max_size=5))
def test_format_points_then_parse_lines(pts: list[Point]) -> None:
    body = format_points(pts)
    assert body == "" if not pts else body.endswith("\n")
    parsed = parse_lines(body)
    assert len(parsed) == len(pts)
    for got, want in zip(parsed, pts, strict=True):
        assert_same_point(got, want)


@given(points(time_ns=st.integers(-(2**62), 2**62)), st.sampled_from(sorted(PRECISION_NS)))
def test_precision_round_trip(point: Point, precision: str) -> None:
    factor = PRECISION_NS[precision]
    assert point.time_ns is not None
    truncated = Point(point.measurement, point.tags, point.fields, point.time_ns // factor * factor)
    line = format_point(
        point.measurement, point.tags, point.fields, point.time_ns, precision=precision
    )
    assert_same_point(parse_line(line, precision), truncated)


@given(points(), names())
def test_empty_tag_values_are_no_tags(point: Point, key: str) -> None:
    tags = {**point.tags, key: ""}
    line = format_point(point.measurement, tags, point.fields, point.time_ns)
    assert parse_line(line).tags == {k: v for k, v in tags.items() if v}


def test_numpy_scalars_keep_their_types() -> None:
    line = format_point(
        "m",
        {},
        {"i": np.int64(-7), "f": np.float32(0.5), "b": np.bool_(True), "u": np.uint8(200)},
        1,
    )
    assert line == "m i=-7i,f=0.5,b=true,u=200i 1"
    assert parse_line(line).fields == {"i": -7, "f": 0.5, "b": True, "u": 200}


def test_known_line() -> None:
    line = format_point(
        "inverter",
        {"province": "Zanjan", "plant_id": "ZNJ 1"},
        {"ac_power_w": 3200.5, "seq": 812, "status": 'say "hi" \\o/'},
        1_782_896_400_000_000_000,
    )
    assert line == (
        "inverter,plant_id=ZNJ\\ 1,province=Zanjan ac_power_w=3200.5,seq=812i,"
        'status="say \\"hi\\" \\\\o/" 1782896400000000000'
    )


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        ("m a=t,b=F,c=TRUE,d=false", {"a": True, "b": False, "c": True, "d": False}),
        (
            "m a=1u,b=-3i,c=1e3,d=.5,e=-1.5E-3",
            {"a": 1, "b": -3, "c": 1000.0, "d": 0.5, "e": -0.0015},
        ),
        ("m a=18446744073709551615u", {"a": 2**64 - 1}),
    ],
)
def test_parses_what_influxdb_accepts(line: str, fields: dict[str, object]) -> None:
    got = parse_line(line)
    assert got.fields == fields
    for key, value in fields.items():
        assert same_value(got.fields[key], value)


def test_parse_skips_what_influxdb_skips() -> None:
    assert parse_line("\t m f=1 5") == Point("m", {}, {"f": 1.0}, 5)
    assert parse_line("m \tf=1") == Point("m", {}, {"f": 1.0})
    assert parse_lines("# comment\n\nm f=1\n  \n") == [Point("m", {}, {"f": 1.0})]
    # InfluxDB 1.x unescapes \" and \= in measurements and \" in field keys, not in tags.
    assert parse_line('a\\"b,t\\"=v\\" f\\"=1') == Point('a"b', {'t\\"': 'v\\"'}, {'f"': 1.0})


# -- refusals ------------------------------------------------------------------------------------

#: Refusals need fewer examples than the round trip: the refused part is fixed, the rest varies.
few = settings(max_examples=30)


@few
@given(points(), st.sampled_from(["\n", "\r", "\r\n"]), st.data())
def test_line_break_in_a_tag_value_is_refused(point: Point, brk: str, data: st.DataObject) -> None:
    value = data.draw(names(max_size=4)) + brk + data.draw(names(min_size=0, max_size=4))
    with pytest.raises(InputError, match="line break"):
        format_point(point.measurement, {**point.tags, "t\u200b": value}, point.fields)


@few
@given(points(), st.sampled_from(["\n", "\r"]))
def test_line_break_anywhere_else_is_refused(point: Point, brk: str) -> None:
    key = next(iter(point.fields))
    cases = [
        (point.measurement + brk, point.tags, point.fields),
        (point.measurement, {**point.tags, brk + "k": "v"}, point.fields),
        (point.measurement, point.tags, {**point.fields, "k" + brk: 1}),
        (point.measurement, point.tags, {**point.fields, key: f"a{brk}b"}),
    ]
    for measurement, tags, fields in cases:
        with pytest.raises(InputError):
            format_point(measurement, tags, fields)


@few
@given(
    points(), st.sampled_from([math.nan, math.inf, -math.inf, np.float64("nan"), np.float32("inf")])
)
def test_non_finite_fields_are_refused(point: Point, value: float) -> None:
    with pytest.raises(InputError, match="finite"):
        format_point(point.measurement, point.tags, {**point.fields, "bad": value})


@few
@given(points())
def test_a_point_without_fields_is_refused(point: Point) -> None:
    with pytest.raises(InputError, match="no fields"):
        format_point(point.measurement, point.tags, {})
    with pytest.raises(InputError):
        parse_line(format_point(point.measurement, point.tags, point.fields).split(" ")[0])


@pytest.mark.parametrize(
    ("measurement", "tags", "fields"),
    [
        ("", {}, {"f": 1}),
        ("m", {"": "v"}, {"f": 1}),
        ("m", {}, {"": 1}),
        ("#m", {}, {"f": 1}),
        ("\tm", {}, {"f": 1}),
        ("\x00m", {}, {"f": 1}),
        ("m", {}, {"\tf": 1}),
        ("m\\", {}, {"f": 1}),
        ("m", {"t": "v\\"}, {"f": 1}),
        ("m", {"t\\": "v"}, {"f": 1}),
        ("m", {}, {"f\\": 1}),
        ("a\\ b", {}, {"f": 1}),
        ("m", {"t": "a\\,b"}, {"f": 1}),
        ("m", {"t": "a\\=b"}, {"f": 1}),
        ("m", {"t": "a\\\\b"}, {"f": 1}),
        ("m", {}, {'a\\"b': 1}),
        ("m", {}, {"f": 2**63}),
        ("m", {}, {"f": INT64_MIN - 1}),
        ("m", {}, {"f": None}),
        ("m", {}, {"f": b"bytes"}),
        ("m", {"t": 1}, {"f": 1}),
    ],
)
def test_what_line_protocol_cannot_carry_is_refused(measurement, tags, fields) -> None:
    with pytest.raises(InputError):
        format_point(measurement, tags, fields, 0)


@pytest.mark.parametrize("time_ns", [2**63, -(2**63) - 1, 1.5, True, "1"])
def test_bad_timestamps_are_refused(time_ns: object) -> None:
    with pytest.raises(InputError):
        format_point("m", {}, {"f": 1}, time_ns)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "line",
    [
        "",
        "   ",
        "# comment",
        "m",
        "m,",
        "m f",
        "m f=",
        "m,t f=1",
        "m,t= f=1",
        "m f=1 x",
        "m f=nan",
        "m f=inf",
        "m f=1,f=2",
        "m,t=a,t=b f=1",
        'm f="open',
        "m f=9223372036854775808i",
        "m f=1\nm f=2",
        "m f=1 1.5",
    ],
)
def test_malformed_lines_are_refused(line: str) -> None:
    with pytest.raises(InputError):
        parse_line(line)


@given(st.text(st.one_of(st.sampled_from(list(' ,="\\\nit.-0123456789e')), _plain), max_size=40))
def test_parse_line_raises_input_error_or_returns_a_point(text: str) -> None:
    try:
        point = parse_line(text)
    except InputError:
        return
    assert isinstance(point, Point)
    assert point.fields
