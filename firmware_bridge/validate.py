"""Validation of decoded telemetry against physics and the fleet registry.

:class:`Validator` checks one :class:`~telemetry.record.TelemetryRecord` at a time and returns
either a :class:`Checked` (the record, its InfluxDB tags, whether the energy counter went
backwards) or a :class:`~firmware_bridge.rejection.Rejection` with a reason code. It keeps one
piece of state, the energy counter per plant, which the bridge persists with
:meth:`Validator.counter_state` / :meth:`Validator.load_counter_state`.

Limits (single-phase 230 V grid-tied plants of a few kW):

=================  ===========================================================================
ac_power_w         −50 W … ``power_margin`` × max(ac_kw, dc_kwp) × 1000
dc power_w         each ≥ −50 W; their sum ≤ ``power_margin`` × dc_kwp × 1000
ac_voltage_v       0 … 300 V
ac_freq_hz         0 (inverter off) or 45 … 55 Hz
dc voltage_v       0 … 1000 V
temp_c             −40 … 120 °C
energy_total_wh    0 … 1e10 Wh
energy_today_wh    0 … 1e10 Wh
rssi_dbm           −150 … 0 dBm
ac_current_a       −1000 … 1000 A (dc current_a: finite)
seq, alarm_code    int64
ts                 at most ``max_future_s`` ahead of the bridge clock (else ``future_ts``),
                   at most ``max_past_days`` old (else ``out_of_range``)
=================  ===========================================================================
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from firmware_bridge.points import MAX_DC_STRINGS
from firmware_bridge.rejection import PLANT_ID_RE, Rejection, excerpt, reject
from telemetry.record import STATUSES, TelemetryRecord
from telemetry.registry import Fleet
from telemetry.schema import REGISTRY_TAGS, TAG_INVERTER, TAG_PLANT_ID

__all__ = ["Checked", "Validator"]

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
MIN_POWER_W: Final = -50.0
_STATUSES: Final = frozenset(STATUSES)
#: (field, low, high) of the fixed ranges.
_RANGES: Final = (
    ("ac_voltage_v", 0.0, 300.0),
    ("temp_c", -40.0, 120.0),
    ("energy_total_wh", 0.0, 1e10),
    ("energy_today_wh", 0.0, 1e10),
    ("rssi_dbm", -150.0, 0.0),
    ("ac_current_a", -1000.0, 1000.0),
)
_FLOAT_FIELDS: Final = (
    "ac_power_w",
    "ac_voltage_v",
    "ac_current_a",
    "ac_freq_hz",
    "energy_total_wh",
    "energy_today_wh",
    "temp_c",
    "rssi_dbm",
)
#: What line protocol or a reader of tags cannot take in a registry label.
_UNSAFE_TAG_CHARS: Final = re.compile(r"[\x00-\x1f\x7f\\\"]")


@dataclass(frozen=True, slots=True)
class Checked:
    """A record that passed validation.

    Attributes
    ----------
    record : TelemetryRecord
    tags : dict of str to str
        ``plant_id`` and the registry tags (:data:`telemetry.schema.REGISTRY_TAGS`) of the
        plant; empty registry values are left out; ``inverter`` when the record names one.
    counter_reset : bool
        ``energy_total_wh`` is below that of the plant's latest earlier reading.
    """

    record: TelemetryRecord
    tags: dict[str, str]
    counter_reset: bool = False


@dataclass(frozen=True, slots=True)
class _Plant:
    ac_limit_w: float
    dc_limit_w: float
    tags: dict[str, str]


def _tag_value(value: object) -> str:
    """A registry value as a tag: single line, no quotes or backslashes; '' if missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return _UNSAFE_TAG_CHARS.sub("_", str(value).strip())


class Validator:
    """Check telemetry records against physical limits and the fleet.

    Parameters
    ----------
    fleet : Fleet or None
        Plants, ratings and registry tags. None accepts every syntactically valid plant_id,
        rated ``default_rating_kw``.
    power_margin : float
        Allowed power above the rating (irradiance peaks, rating errors). [-]
    max_future_s : float
        Device clocks may run this far ahead of the bridge. [s]
    max_past_days : float
        Older readings are refused. [day]
    default_rating_kw : float
        Rating assumed without a fleet. [kW]
    """

    def __init__(
        self,
        fleet: Fleet | None,
        *,
        power_margin: float = 1.5,
        max_future_s: float = 600,
        max_past_days: float = 400,
        default_rating_kw: float = 100.0,
    ) -> None:
        self.power_margin = float(power_margin)
        self._future_ns = int(max_future_s * 1e9)
        self._past_ns = int(max_past_days * 86_400e9)
        self._has_fleet = fleet is not None
        self._default_kw = float(default_rating_kw)
        self._plants: dict[str, _Plant] = {}
        # plant_id → [latest ts_ns, its energy, last-checked ts_ns, its energy]
        self._counters: dict[str, list[Any]] = {}
        if fleet is not None:
            plants = fleet.plants
            columns = [plants[c].tolist() for c in REGISTRY_TAGS if c in plants]
            names = [c for c in REGISTRY_TAGS if c in plants]
            rows = zip(
                plants["plant_id"].tolist(),
                plants["dc_kwp"].tolist(),
                plants["ac_kw"].tolist(),
                *columns,
                strict=True,
            )
            for plant_id, dc_kwp, ac_kw, *labels in rows:
                tags = {TAG_PLANT_ID: plant_id}
                for name, label in zip(names, labels, strict=True):
                    text = _tag_value(label)
                    if text:
                        tags[name] = text
                self._plants[plant_id] = self._plant(dc_kwp, ac_kw, tags)

    def _plant(self, dc_kwp: float, ac_kw: float, tags: dict[str, str]) -> _Plant:
        margin = self.power_margin * 1000.0
        return _Plant(margin * max(ac_kw, dc_kwp), margin * dc_kwp, tags)

    def check(self, record: TelemetryRecord, now_ns: int) -> Checked | Rejection:
        """Validate one record against the bridge clock ``now_ns`` [ns since the epoch]."""
        try:
            return self._check(record, now_ns)
        except (TypeError, AttributeError) as exc:  # a record built with wrong types
            return reject(
                "bad_schema", f"{type(exc).__name__}: {exc}", getattr(record, "plant_id", None)
            )

    def _check(self, record: TelemetryRecord, now_ns: int) -> Checked | Rejection:
        plant_id = record.plant_id
        plant = self._plants.get(plant_id)
        if plant is None:
            if not isinstance(plant_id, str) or not PLANT_ID_RE.fullmatch(plant_id):
                return reject(
                    "bad_tag",
                    f"plant_id {excerpt(plant_id)} is not a plant_id "
                    f"(letters, digits, '-', '_'; at most 64)",
                )
            if self._has_fleet:
                return reject(
                    "unknown_plant", f"plant_id {plant_id!r} is not in the fleet", plant_id
                )
            plant = self._plant(self._default_kw, self._default_kw, {TAG_PLANT_ID: plant_id})
        problem = self._ranges(record, plant, now_ns)
        if problem is not None:
            return problem
        counter_reset = False
        energy = record.energy_total_wh
        tags = dict(plant.tags)
        inverter = record.inverter
        if inverter is not None:
            # Each of a plant's gateway inverters has its own series and energy counter.
            if (
                not isinstance(inverter, str)
                or _UNSAFE_TAG_CHARS.search(inverter)
                or not inverter.strip()
            ):
                return reject("bad_tag", f"inverter {excerpt(inverter)} cannot be a tag", plant_id)
            tags[TAG_INVERTER] = inverter
        if energy is not None:
            key = plant_id if inverter is None else f"{plant_id}/{inverter}"
            counter_reset = self._counter(key, record.ts_ns, energy)
        return Checked(record, tags, counter_reset)

    def _ranges(self, r: TelemetryRecord, plant: _Plant, now_ns: int) -> Rejection | None:
        pid = r.plant_id
        ts = r.ts_ns
        if type(ts) is not int:
            return reject("bad_schema", f"ts_ns {excerpt(ts)} is not an integer", pid)
        if ts > now_ns + self._future_ns:
            return reject(
                "future_ts",
                f"ts {_iso(ts)} is {(ts - now_ns) / 1e9:.0f} s ahead of "
                f"the bridge clock (limit {self._future_ns / 1e9:g} s)",
                pid,
            )
        if ts < now_ns - self._past_ns:
            return reject(
                "out_of_range",
                f"ts {_iso(ts)} is older than {self._past_ns / 86_400e9:g} days",
                pid,
            )
        values = 0
        v = r.ac_power_w
        if v is not None:
            values += 1
            if not MIN_POWER_W <= v <= plant.ac_limit_w:
                return self._out(
                    r,
                    "ac_power_w",
                    v,
                    f"[{MIN_POWER_W:g}, {plant.ac_limit_w:g}] W ({self.power_margin:g} x rating)",
                )
        v = r.ac_freq_hz
        if v is not None:
            values += 1
            if v != 0 and not 45.0 <= v <= 55.0:
                return self._out(r, "ac_freq_hz", v, "0 or [45, 55] Hz")
        for key, low, high in _RANGES:
            v = getattr(r, key)
            if v is not None:
                values += 1
                if not low <= v <= high:
                    return self._out(r, key, v, f"[{low:g}, {high:g}]")
        for key in ("seq", "alarm_code"):
            v = getattr(r, key)
            if v is not None:
                values += 1
                if type(v) is not int:
                    return reject("bad_schema", f"{key} {excerpt(v)} is not an integer", pid)
                if not INT64_MIN <= v <= INT64_MAX:
                    return self._out(r, key, v, "int64")
        status = r.status
        if status is not None:
            values += 1
            if status not in _STATUSES:
                return reject(
                    "bad_schema",
                    f"status {excerpt(status)} is not one of {', '.join(STATUSES)}",
                    pid,
                )
        dc = r.dc
        if dc:
            if len(dc) > MAX_DC_STRINGS:
                return reject("bad_schema", f"{len(dc)} DC inputs (at most {MAX_DC_STRINGS})", pid)
            total_w = 0.0
            for n, string in enumerate(dc, start=1):
                v = string.voltage_v
                if v is not None:
                    values += 1
                    if not 0.0 <= v <= 1000.0:
                        return self._out(r, f"dc[{n}].voltage_v", v, "[0, 1000] V")
                v = string.current_a
                if v is not None:
                    values += 1
                    if not math.isfinite(v):
                        return self._out(r, f"dc[{n}].current_a", v, "finite")
                v = string.power_w
                if v is not None:
                    values += 1
                    if not MIN_POWER_W <= v <= plant.dc_limit_w:
                        return self._out(
                            r, f"dc[{n}].power_w", v, f"[{MIN_POWER_W:g}, {plant.dc_limit_w:g}] W"
                        )
                    total_w += v
            if total_w > plant.dc_limit_w:
                return self._out(
                    r,
                    "dc power_w (sum)",
                    total_w,
                    f"{plant.dc_limit_w:g} W ({self.power_margin:g} x dc_kwp)",
                )
        if not values:
            return reject("bad_schema", "the reading has no values", pid)
        return None

    def _out(self, r: TelemetryRecord, key: str, value: float, limit: str) -> Rejection:
        """An out-of-range value — unless a NaN/Inf lurks anywhere, which takes precedence."""
        bad = _non_finite(r)
        if bad is not None:
            return reject("non_finite", f"{bad[0]} is {bad[1]!r}", r.plant_id)
        return reject("out_of_range", f"{key} = {value!r} is outside {limit}", r.plant_id)

    # -- energy counter ----------------------------------------------------------------------

    def _counter(self, plant_id: str, ts_ns: int, energy_wh: float) -> bool:
        """Record the reading; True if its counter is below its predecessor's.

        The predecessor is the latest known reading with an earlier ts: the plant's newest
        reading, or — for backfill arriving after newer live readings — the reading checked
        just before (backfill comes in time order). The first backfill reading has no known
        predecessor and is never flagged.
        """
        state = self._counters.get(plant_id)
        if state is None:
            self._counters[plant_id] = [ts_ns, energy_wh, ts_ns, energy_wh]
            return False
        hi_ts, hi_e, last_ts, last_e = state
        if hi_ts < ts_ns:
            prev = hi_e
            state[0], state[1] = ts_ns, energy_wh
        elif last_ts < ts_ns:
            prev = last_e
        else:
            prev = None
        state[2], state[3] = ts_ns, energy_wh
        return prev is not None and energy_wh < prev

    def counter_state(self) -> dict[str, list[float]]:
        """Energy counter state, JSON-serialisable (for the bridge to persist)."""
        return {k: list(v) for k, v in self._counters.items()}

    def load_counter_state(self, state: dict[str, Any]) -> int:
        """Restore :meth:`counter_state` output; malformed entries are skipped.

        Returns
        -------
        int
            Plants restored.
        """
        loaded = 0
        if not isinstance(state, dict):
            return 0
        for plant_id, entry in state.items():
            if not (
                isinstance(plant_id, str) and isinstance(entry, list | tuple) and len(entry) == 4
            ):
                continue
            hi_ts, hi_e, last_ts, last_e = entry
            if not all(type(t) is int for t in (hi_ts, last_ts)) or not all(
                type(e) in (int, float) and math.isfinite(e) for e in (hi_e, last_e)
            ):
                continue
            self._counters[plant_id] = [hi_ts, float(hi_e), last_ts, float(last_e)]
            loaded += 1
        return loaded


def _non_finite(r: TelemetryRecord) -> tuple[str, float] | None:
    for key in _FLOAT_FIELDS:
        v = getattr(r, key)
        if isinstance(v, float) and not math.isfinite(v):
            return key, v
    for n, string in enumerate(r.dc, start=1):
        for key in ("voltage_v", "current_a", "power_w"):
            v = getattr(string, key)
            if isinstance(v, float) and not math.isfinite(v):
                return f"dc[{n}].{key}", v
    return None


def _iso(ts_ns: int) -> str:
    try:
        return datetime.fromtimestamp(ts_ns / 1e9, tz=UTC).isoformat(timespec="seconds")
    except (OverflowError, ValueError, OSError):
        return f"{ts_ns} ns"
