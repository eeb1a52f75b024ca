"""Grafana's InfluxQL interpolation, reproduced: ``$timeFilter``, ``$__interval``, variables.

Grafana rewrites a raw InfluxQL query before sending it; the report and the tests do the same
here so that they run what a panel runs:

- ``$timeFilter`` → ``time >= <from>ms and time <= <to>ms`` (Grafana sends absolute times even
  for a relative range); ``$__timeFilter`` is the same;
- ``${__from}`` / ``${__to}`` → the range's ends in epoch milliseconds;
- ``$__interval`` / ``$__interval_ms`` → range ÷ max data points, rounded as Grafana rounds it
  and never below the panel's (or datasource's) minimum interval;
- ``$name``, ``${name}``, ``[[name]]`` → the variable's value; inside a regex literal
  (``/^$province$/``) values are regex-escaped and several are joined as ``(a|b)``, as Grafana's
  InfluxDB datasource does; the *All* value of a variable with ``allValue: ".*"`` stays ``.*``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "TimeRange",
    "format_interval",
    "interpolate",
    "interval_ms",
    "parse_duration_ms",
    "relative_range",
]

_UNITS_MS = {
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
    "M": 2_592_000_000,
    "y": 31_536_000_000,
}
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w|M|y)$")

# Grafana's kbn.roundInterval: (upper bound of the raw interval, rounded interval) [ms].
_ROUND = (
    (10, 1),
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1500, 1000),
    (3500, 2000),
    (7500, 5000),
    (12500, 10_000),
    (17500, 15_000),
    (25000, 20_000),
    (45000, 30_000),
    (90000, 60_000),
    (210_000, 120_000),
    (450_000, 300_000),
    (750_000, 600_000),
    (1_050_000, 900_000),
    (1_500_000, 1_200_000),
    (2_700_000, 1_800_000),
    (5_400_000, 3_600_000),
    (9_000_000, 7_200_000),
    (16_200_000, 10_800_000),
    (24_300_000, 21_600_000),
    (64_800_000, 43_200_000),
    (129_600_000, 86_400_000),
    (604_800_000, 604_800_000),
    (1_814_400_000, 2_592_000_000),
)


@dataclass(frozen=True)
class TimeRange:
    """An absolute dashboard time range [ms since the epoch, UTC]."""

    from_ms: int
    to_ms: int

    def __post_init__(self) -> None:
        if self.to_ms <= self.from_ms:
            raise ValueError(f"time range ends ({self.to_ms}) before it starts ({self.from_ms})")

    @property
    def span_ms(self) -> int:
        return self.to_ms - self.from_ms


def parse_duration_ms(text: str) -> int:
    """``'5m'`` → 300000; Grafana's units ``ms s m h d w M y``."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration like 5m, 1h or 7d")
    return int(match[1]) * _UNITS_MS[match[2]]


def format_interval(ms: int) -> str:
    """An interval as InfluxQL writes it: the largest whole unit (``3600000`` → ``1h``)."""
    for unit in ("d", "h", "m", "s"):
        size = _UNITS_MS[unit]
        if ms >= size and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def relative_range(text_from: str, text_to: str, now_ms: int) -> TimeRange:
    """A dashboard's relative range (``now-24h`` … ``now``) as absolute times at ``now_ms``.

    Only the forms the dashboards here use: ``now``, ``now-<duration>``; a ``/d`` rounding
    suffix is not supported.
    """

    def one(text: str) -> int:
        text = text.strip()
        if text == "now":
            return now_ms
        if text.startswith("now-"):
            return now_ms - parse_duration_ms(text[4:])
        raise ValueError(f"unsupported relative time {text!r}")

    return TimeRange(one(text_from), one(text_to))


def interval_ms(
    time_range: TimeRange, max_data_points: int = 1000, min_interval: str | None = None
) -> int:
    """Grafana's ``$__interval_ms``: the range over the data points, rounded, at least the
    minimum interval."""
    raw = time_range.span_ms / max(1, max_data_points)
    rounded = 31_536_000_000
    for bound, value in _ROUND:
        if raw < bound:
            rounded = value
            break
    if min_interval:
        rounded = max(rounded, parse_duration_ms(min_interval))
    return rounded


_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|{}\[\]/]")
_VAR = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)\]\]|\$(\w+)")
_REGEX_LITERAL = re.compile(r"(=~|!~)\s*/((?:[^/\\]|\\.)*)/")


def _regex_value(value: str | Sequence[str]) -> str:
    if isinstance(value, str):
        return value if value == ".*" else _REGEX_SPECIAL.sub(lambda m: "\\" + m[0], value)
    escaped = [_REGEX_SPECIAL.sub(lambda m: "\\" + m[0], v) for v in value]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


@dataclass(frozen=True)
class _Context:
    time_range: TimeRange
    interval: int
    variables: Mapping[str, str | Sequence[str]] = field(default_factory=dict)

    def builtin(self, name: str) -> str | None:
        tr = self.time_range
        return {
            "timeFilter": f"time >= {tr.from_ms}ms and time <= {tr.to_ms}ms",
            "__timeFilter": f"time >= {tr.from_ms}ms and time <= {tr.to_ms}ms",
            "__from": str(tr.from_ms),
            "__to": str(tr.to_ms),
            "__interval": format_interval(self.interval),
            "__interval_ms": str(self.interval),
            "interval": format_interval(self.interval),
        }.get(name)

    def expand(self, text: str, *, regex: bool) -> str:
        def one(match: re.Match[str]) -> str:
            name = match[1] or match[2] or match[3]
            builtin = self.builtin(name)
            if builtin is not None:
                return builtin
            if name not in self.variables:
                raise KeyError(f"variable ${name} has no value")
            value = self.variables[name]
            if regex:
                return _regex_value(value)
            return value if isinstance(value, str) else ",".join(value)

        return _VAR.sub(one, text)


def interpolate(
    query: str,
    time_range: TimeRange,
    *,
    variables: Mapping[str, str | Sequence[str]] | None = None,
    max_data_points: int = 1000,
    min_interval: str | None = None,
) -> str:
    """A raw InfluxQL query as Grafana would send it.

    Parameters
    ----------
    query : str
        The panel's query with macros and variables.
    time_range : TimeRange
    variables : mapping, optional
        Dashboard variables: a string, or a sequence of strings for a multi-value selection.
    max_data_points : int
        The panel's width in points (Grafana: about the panel's pixel width).
    min_interval : str, optional
        Panel or datasource minimum interval, e.g. ``'1m'``.

    Raises
    ------
    KeyError
        A variable used in the query has no value.
    """
    ctx = _Context(
        time_range, interval_ms(time_range, max_data_points, min_interval), dict(variables or {})
    )
    out: list[str] = []
    at = 0
    for match in _REGEX_LITERAL.finditer(query):
        out.append(ctx.expand(query[at : match.start()], regex=False))
        out.append(f"{match[1]} /{ctx.expand(match[2], regex=True)}/")
        at = match.end()
    out.append(ctx.expand(query[at:], regex=False))
    return "".join(out)
