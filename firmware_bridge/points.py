"""Checked telemetry records → InfluxDB line protocol (measurement ``inverter``).

:func:`record_line` writes exactly what :func:`telemetry.lineprotocol.format_point` writes for
the same tags, fields and time (tests hold it to that), only several times faster: it trusts a
:class:`~firmware_bridge.validate.Checked` — finite numbers, int64 integers, a known status,
tags from the fleet — and so skips the general checks.

Field names: the canonical payload's (:data:`telemetry.schema.INVERTER_FIELDS`), then the DC
inputs ``dc1_voltage_v``, ``dc1_current_a``, ``dc1_power_w``, ``dc2_...`` (numbered from 1 in
payload order; a quantity the gateway did not send is left out) and ``counter_reset=true`` on
the reading where the energy counter went backwards.
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Final

from telemetry.lineprotocol import FieldValue
from telemetry.record import TelemetryRecord
from telemetry.schema import INVERTER_FIELDS, MEASUREMENT_INVERTER

if TYPE_CHECKING:
    from firmware_bridge.validate import Checked

__all__ = [
    "DC_FIELD_TEMPLATE",
    "DC_QUANTITIES",
    "FIELD_COUNTER_RESET",
    "MAX_DC_STRINGS",
    "dc_field",
    "record_fields",
    "record_line",
]

#: Name of the DC fields: ``DC_FIELD_TEMPLATE.format(n=1, quantity="power_w")``.
DC_FIELD_TEMPLATE: Final = "dc{n}_{quantity}"
#: Quantities of a DC input, in the order of :class:`telemetry.record.DcString`.
DC_QUANTITIES: Final = ("voltage_v", "current_a", "power_w")
#: Boolean field, true on a reading whose ``energy_total_wh`` went below the previous one.
FIELD_COUNTER_RESET: Final = "counter_reset"
#: Most DC inputs of one reading (the validator refuses more).
MAX_DC_STRINGS: Final = 16


def dc_field(n: int, quantity: str) -> str:
    """Field name of DC input ``n`` (from 1) and a quantity of :data:`DC_QUANTITIES`."""
    return DC_FIELD_TEMPLATE.format(n=n, quantity=quantity)


_DC_KEYS: Final = tuple(
    tuple(dc_field(n, q) for q in DC_QUANTITIES) for n in range(1, MAX_DC_STRINGS + 1)
)
#: (field, kind) in INVERTER_FIELDS order: 0 float, 1 int, 2 str.
_FIELDS: Final = tuple(
    (k, 0 if t is float else 1 if t is int else 2) for k, t in INVERTER_FIELDS.items()
)
_GET_FIELDS: Final = attrgetter(*INVERTER_FIELDS)
_FIELD_PREFIXES: Final = tuple((k + "=", kind) for k, kind in _FIELDS)
_DC_PREFIXES: Final = tuple(tuple(k + "=" for k in keys) for keys in _DC_KEYS)
_TAG_ESCAPES: Final = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_SERIES_CACHE_MAX: Final = 1 << 20
_series_cache: dict[tuple[tuple[str, str], ...], str] = {}


def _dc_keys(n: int) -> tuple[str, ...]:
    return _DC_KEYS[n - 1] if n <= MAX_DC_STRINGS else tuple(dc_field(n, q) for q in DC_QUANTITIES)


def record_fields(record: TelemetryRecord, counter_reset: bool = False) -> dict[str, FieldValue]:
    """The fields of a record's point, typed as the schema says (floats always floats)."""
    out: dict[str, FieldValue] = {}
    for (key, kind), value in zip(_FIELDS, _GET_FIELDS(record), strict=True):
        if value is not None:
            out[key] = float(value) if kind == 0 else int(value) if kind == 1 else str(value)
    for n, dc in enumerate(record.dc, start=1):
        keys = _dc_keys(n)
        for key, value in zip(keys, (dc.voltage_v, dc.current_a, dc.power_w), strict=True):
            if value is not None:
                out[key] = float(value)
    if counter_reset:
        out[FIELD_COUNTER_RESET] = True
    return out


def _series(tags: dict[str, str]) -> str:
    """Measurement and escaped tags, sorted by key; cached (a plant's tags never change)."""
    key = tuple(tags.items())
    series = _series_cache.get(key)
    if series is None:
        series = MEASUREMENT_INVERTER + "".join(
            f",{k.translate(_TAG_ESCAPES)}={tags[k].translate(_TAG_ESCAPES)}"
            for k in sorted(tags)
            if tags[k]
        )
        if len(_series_cache) >= _SERIES_CACHE_MAX:
            _series_cache.clear()
        _series_cache[key] = series
    return series


def record_line(checked: Checked) -> str:
    """One line of line protocol (no newline) for a checked record; time = ``ts_ns`` [ns].

    Equal to ``format_point(MEASUREMENT_INVERTER, checked.tags, record_fields(record,
    checked.counter_reset), record.ts_ns)``.
    """
    record = checked.record
    out: list[str] = []
    add = out.append
    for (key, kind), value in zip(_FIELD_PREFIXES, _GET_FIELDS(record), strict=True):
        if value is None:
            continue
        if kind == 0:
            add(key + repr(float(value)))
        elif kind == 1:
            add(f"{key}{int(value)}i")
        else:
            add(key + '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"')
    for n, dc in enumerate(record.dc):
        keys = _DC_PREFIXES[n] if n < MAX_DC_STRINGS else tuple(k + "=" for k in _dc_keys(n + 1))
        value = dc.voltage_v
        if value is not None:
            add(keys[0] + repr(float(value)))
        value = dc.current_a
        if value is not None:
            add(keys[1] + repr(float(value)))
        value = dc.power_w
        if value is not None:
            add(keys[2] + repr(float(value)))
    if checked.counter_reset:
        add(FIELD_COUNTER_RESET + "=true")
    return f"{_series(checked.tags)} {','.join(out)} {record.ts_ns}"
