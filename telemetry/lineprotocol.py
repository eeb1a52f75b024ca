"""InfluxDB line protocol: format points exactly, and parse back what we format.

The escaping rules are those of the InfluxDB 1.x parser (which 2.x kept):

- measurement: comma and space are escaped with a backslash;
- tag keys, tag values and field keys: comma, equals sign and space are escaped;
- string field values are double-quoted, with ``"`` and ``\\`` escaped;
- integers get an ``i`` suffix, booleans are ``true``/``false``, floats use ``repr`` (the
  shortest text that reads back as the same float);
- a tag whose value is empty is no tag: it is left out.

What line protocol cannot carry is refused with :class:`~telemetry.errors.InputError` rather
than silently mangled: a line break (``\\n`` or ``\\r``) anywhere; in a name or tag value, a
backslash at the end or before a backslash, comma, equals sign, space or double quote (servers
disagree on what such a pair means: InfluxDB 1.x keeps ``\\\\`` as two backslashes, newer
parsers read one, and 1.x unescapes ``\\"`` in measurements and field keys but not in tags); a
measurement starting with ``#`` (the line would be a comment); a measurement or field key
starting with a tab or NUL (the server strips them); NaN and infinities, integers outside
int64, empty names and points without fields. A backslash before any other character is an
ordinary character everywhere. (Checked against influxd 1.6.7 by ``tests/telemetry``.)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Final

from telemetry.errors import InputError

__all__ = [
    "PRECISION_NS",
    "FieldValue",
    "Point",
    "format_point",
    "format_points",
    "parse_line",
    "parse_lines",
]

FieldValue = float | int | bool | str

#: Nanoseconds per unit of each timestamp precision (the names InfluxDB 2.x uses).
PRECISION_NS: Final[Mapping[str, int]] = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
}

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

#: What ``\\x`` unescapes to ``x`` when parsing, per element (as InfluxDB 1.x reads them).
_MEASUREMENT_SPECIAL: Final = frozenset(', ="')
_TAG_SPECIAL: Final = frozenset(",= ")
_FIELD_KEY_SPECIAL: Final = frozenset(',= "')
#: Characters a backslash in a name or tag value must not precede (see the module docstring).
_AMBIGUOUS_AFTER_BACKSLASH: Final = frozenset('\\,= "')
#: Characters InfluxDB skips at the start of a line and of the field set.
_STRIPPED_LEADING: Final = " \t\x00"
#: Of those, the ones escaping cannot protect (a leading space is written ``\\ ``).
_UNPROTECTED_LEADING: Final = "\t\x00"
_MEASUREMENT_ESCAPES: Final = str.maketrans({",": r"\,", " ": r"\ "})
_KEY_ESCAPES: Final = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_STRING_ESCAPES: Final = str.maketrans({"\\": "\\\\", '"': '\\"'})
_INTEGER: Final = re.compile(r"-?[0-9]+i|[0-9]+u")
_FLOAT: Final = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_TIMESTAMP: Final = re.compile(r"-?[0-9]+")
_TRUE: Final = frozenset({"t", "T", "true", "True", "TRUE"})
_FALSE: Final = frozenset({"f", "F", "false", "False", "FALSE"})


@dataclass(frozen=True)
class Point:
    """One line of line protocol.

    Tags with an empty value are dropped on construction (line protocol has no empty tags), so
    ``parse_line(format_point(...))`` compares equal to the point formatted. The mappings are
    copied; a point is immutable but, holding dicts, not hashable.

    Parameters
    ----------
    measurement : str
    tags : Mapping[str, str]
    fields : Mapping[str, float | int | bool | str]
    time_ns : int or None
        Nanoseconds since the Unix epoch; None lets the server stamp the arrival time.
    """

    measurement: str
    tags: Mapping[str, str] = field(default_factory=dict)
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    time_ns: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", {k: v for k, v in self.tags.items() if v != ""})
        object.__setattr__(self, "fields", dict(self.fields))

    def to_line(self, precision: str = "ns") -> str:
        """This point as one line (no trailing newline); see :func:`format_point`."""
        return format_point(
            self.measurement, self.tags, self.fields, self.time_ns, precision=precision
        )


# -- formatting ----------------------------------------------------------------------------------


def _check_text(kind: str, text: object, *, allow_empty: bool = False) -> str:
    if not isinstance(text, str):
        raise InputError(f"{kind} must be a string, not {type(text).__name__}: {text!r}")
    if not text and not allow_empty:
        raise InputError(f"{kind} is empty")
    if "\n" in text or "\r" in text:
        raise InputError(f"{kind} {text!r} contains a line break, which line protocol cannot carry")
    return text


def _check_name(kind: str, text: object) -> str:
    name = _check_text(kind, text)
    if name.endswith("\\"):
        raise InputError(f"{kind} {name!r} ends with a backslash, which line protocol cannot carry")
    start = name.find("\\")
    while start != -1:  # bounded: each step moves right
        if name[start + 1] in _AMBIGUOUS_AFTER_BACKSLASH:
            raise InputError(
                f"{kind} {name!r} has a backslash before {name[start + 1]!r}, which "
                f"line protocol servers read differently"
            )
        start = name.find("\\", start + 1)
    return name


def _format_value(key: str, value: object) -> str:
    # bool before int: bool is an int subclass. numpy scalars have .item() and dtype.kind.
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if isinstance(value, bool) or kind == "b":
        return "true" if value else "false"
    if isinstance(value, Integral):
        number = int(value)
        if not INT64_MIN <= number <= INT64_MAX:
            raise InputError(f"field {key!r}: integer {number} is outside int64")
        return f"{number}i"
    if isinstance(value, Real):
        number_f = float(value)
        if not math.isfinite(number_f):
            raise InputError(f"field {key!r}: {number_f!r} is not a finite number")
        return repr(number_f)
    if isinstance(value, str):
        return (
            '"'
            + _check_text(f"string field {key!r}", value, allow_empty=True).translate(
                _STRING_ESCAPES
            )
            + '"'
        )
    raise InputError(f"field {key!r}: unsupported value type {type(value).__name__}: {value!r}")


def _format_time(time_ns: object, precision: str) -> str:
    if isinstance(time_ns, bool) or not isinstance(time_ns, Integral):
        raise InputError(f"timestamp must be integer nanoseconds, not {time_ns!r}")
    try:
        factor = PRECISION_NS[precision]
    except KeyError:
        raise InputError(
            f"unknown precision {precision!r}; use one of {', '.join(PRECISION_NS)}"
        ) from None
    stamp = int(time_ns) // factor
    if not INT64_MIN <= stamp <= INT64_MAX:
        raise InputError(f"timestamp {int(time_ns)} ns is outside int64")
    return str(stamp)


def format_point(
    measurement: str,
    tags: Mapping[str, str],
    fields: Mapping[str, FieldValue],
    time_ns: int | None = None,
    *,
    precision: str = "ns",
) -> str:
    """Format one point as a line of line protocol (without the newline).

    Parameters
    ----------
    measurement : str
    tags : Mapping[str, str]
        Written sorted by key (what InfluxDB stores anyway); empty values are left out.
    fields : Mapping[str, float | int | bool | str]
        At least one. Integers (also numpy integers) get the ``i`` suffix.
    time_ns : int or None
        Nanoseconds since the Unix epoch; None leaves the timestamp to the server.
    precision : {'ns', 'us', 'ms', 's'}
        Unit the timestamp is written in (floor division of ``time_ns``); the write request
        must announce the same precision.

    Returns
    -------
    str

    Raises
    ------
    InputError
        For anything line protocol cannot carry (see the module docstring).
    """
    name = _check_name("measurement", measurement)
    if name.startswith("#"):
        raise InputError(f"measurement {name!r} starts with '#', the line would be a comment")
    if name[0] in _UNPROTECTED_LEADING:
        raise InputError(f"measurement {name!r} starts with {name[0]!r}, which the server strips")
    parts = [name.translate(_MEASUREMENT_ESCAPES)]
    for key in sorted(tags):
        value = tags[key]
        _check_name("tag key", key)
        if _check_text(f"tag {key!r}", value, allow_empty=True) == "":
            continue
        _check_name(f"tag {key!r} value", value)
        parts.append(f",{key.translate(_KEY_ESCAPES)}={value.translate(_KEY_ESCAPES)}")
    if not fields:
        raise InputError(f"point of measurement {name!r} has no fields")
    parts.append(" ")
    for i, (key, field_value) in enumerate(fields.items()):
        if _check_name("field key", key)[0] in _UNPROTECTED_LEADING:
            # Stripped by the server when it is the first key; refused wherever it stands.
            raise InputError(f"field key {key!r} starts with {key[0]!r}, which the server strips")
        parts.append(
            f"{',' if i else ''}{key.translate(_KEY_ESCAPES)}={_format_value(key, field_value)}"
        )
    if time_ns is not None:
        parts.append(" " + _format_time(time_ns, precision))
    return "".join(parts)


def format_points(points: Iterable[Point], precision: str = "ns") -> str:
    """Format points as a newline-separated write body (a trailing newline, unless empty)."""
    lines = [point.to_line(precision) for point in points]
    return "\n".join(lines) + "\n" if lines else ""


# -- parsing -------------------------------------------------------------------------------------


class _Scanner:
    """Reads one line left to right; ``\\x`` is an escape only when x is special in context."""

    def __init__(self, line: str) -> None:
        self.line = line
        self.pos = 0

    def error(self, what: str) -> InputError:
        return InputError(f"line protocol: {what} at column {self.pos + 1}: {self.line!r}")

    def peek(self) -> str:
        return self.line[self.pos] if self.pos < len(self.line) else ""

    def token(self, special: frozenset[str], stops: str) -> tuple[str, str]:
        """Unescape up to the first unescaped char of ``stops``; return (text, stop or '')."""
        out: list[str] = []
        line, n = self.line, len(self.line)
        while self.pos < n:
            char = line[self.pos]
            if char == "\\" and self.pos + 1 < n and line[self.pos + 1] in special:
                out.append(line[self.pos + 1])
                self.pos += 2
                continue
            if char in stops:
                return "".join(out), char
            out.append(char)
            self.pos += 1
        return "".join(out), ""

    def string(self) -> str:
        """A double-quoted string field value; the scanner stands on the opening quote."""
        out: list[str] = []
        line, n = self.line, len(self.line)
        self.pos += 1
        while self.pos < n:
            char = line[self.pos]
            if char == "\\" and self.pos + 1 < n and line[self.pos + 1] in '"\\':
                out.append(line[self.pos + 1])
                self.pos += 2
                continue
            if char == '"':
                self.pos += 1
                return "".join(out)
            out.append(char)
            self.pos += 1
        raise self.error("unterminated string")

    def bare(self) -> str:
        """An unquoted field value: up to the next comma or space."""
        start = self.pos
        while self.pos < len(self.line) and self.line[self.pos] not in ", ":
            self.pos += 1
        return self.line[start : self.pos]


def _parse_value(scanner: _Scanner, key: str) -> FieldValue:
    if scanner.peek() == '"':
        return scanner.string()
    text = scanner.bare()
    if not text:
        raise scanner.error(f"field {key!r} has no value")
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INTEGER.fullmatch(text):
        number = int(text[:-1])
        if not INT64_MIN <= number <= (INT64_MAX if text[-1] == "i" else 2**64 - 1):
            raise scanner.error(f"integer {text!r} of field {key!r} is out of range")
        return number
    if _FLOAT.fullmatch(text):
        number_f = float(text)
        if math.isfinite(number_f):
            return number_f
    raise scanner.error(f"bad value {text!r} for field {key!r}")


def parse_line(line: str, precision: str = "ns") -> Point:
    """Parse one line of line protocol into a :class:`Point` (timestamp converted to ns).

    Enough of the grammar to read back what :func:`format_point` writes, and what InfluxDB
    accepts for the same types (``t``/``F`` booleans, ``u`` unsigned integers, exponents).

    Raises
    ------
    InputError
        If the line is malformed, a comment or blank.
    """
    if line.endswith("\n"):
        line = line[:-1]
    if "\n" in line or "\r" in line:
        raise InputError(f"line protocol: more than one line: {line!r}")
    line = line.lstrip(_STRIPPED_LEADING)
    if not line or line.startswith("#"):
        raise InputError(f"line protocol: no point in {line!r}")
    scanner = _Scanner(line)
    measurement, stop = scanner.token(_MEASUREMENT_SPECIAL, ", ")
    if not measurement:
        raise scanner.error("empty measurement")
    tags: dict[str, str] = {}
    while stop == ",":
        scanner.pos += 1
        key, sep = scanner.token(_TAG_SPECIAL, "=, ")
        if sep != "=" or not key:
            raise scanner.error("tag without key=value")
        scanner.pos += 1
        value, stop = scanner.token(_TAG_SPECIAL, ", =")
        if stop == "=" or not value:
            raise scanner.error(f"bad value for tag {key!r}")
        if key in tags:
            raise scanner.error(f"duplicate tag {key!r}")
        tags[key] = value
    if stop != " ":
        raise scanner.error("missing fields")
    while scanner.pos + 1 < len(line) and line[scanner.pos + 1] in _STRIPPED_LEADING:
        scanner.pos += 1  # InfluxDB skips blanks, tabs and NULs before the first field key
    fields: dict[str, FieldValue] = {}
    while True:
        scanner.pos += 1
        key, sep = scanner.token(_FIELD_KEY_SPECIAL, "=, ")
        if sep != "=" or not key:
            raise scanner.error("field without key=value")
        scanner.pos += 1
        if key in fields:
            raise scanner.error(f"duplicate field {key!r}")
        fields[key] = _parse_value(scanner, key)
        if scanner.peek() != ",":
            break
    time_ns: int | None = None
    if scanner.peek() == " ":
        scanner.pos += 1
        stamp = scanner.line[scanner.pos :]
        if not _TIMESTAMP.fullmatch(stamp) or precision not in PRECISION_NS:
            raise scanner.error(f"bad timestamp {stamp!r} (precision {precision!r})")
        time_ns = int(stamp) * PRECISION_NS[precision]
        scanner.pos = len(scanner.line)
    if scanner.pos != len(scanner.line):
        raise scanner.error("unexpected text")
    return Point(measurement, tags, fields, time_ns)


def parse_lines(text: str, precision: str = "ns") -> list[Point]:
    """Parse a write body: one point per line; blank lines and ``#`` comments are skipped."""
    return [
        parse_line(line, precision)
        for line in text.split("\n")
        if line.strip() and not line.startswith("#")
    ]
