"""Fleet emulator: realistic canonical telemetry from many plants, for demos, load tests and tests.

Every value is a pure function of (seed, plant, time), so a window of messages is the same
whichever call produced it and a restarted emulator continues its counters where the last one
left off:

- AC power is the simulator's typical-year hourly power of the plant (the embedded
  climatology, :func:`simulate.fleet.run_fleet`), linearly interpolated between hour midpoints
  (0 beside an hour without power, so none at night), scaled by a seeded daily cloudiness
  factor ≤ 1, 0 during faults and, for grid-tied plants, during power cuts (a hybrid plant
  serves its essential load);
- ``energy_total_wh`` is the exact integral of that power since the plant's installation
  (a closed form over the typical year, which repeats every year), so it never goes backwards;
- power cuts are seeded 2-hour blocks per ``outage_zone`` on whole Tehran hours (summer 1–2 a day
  between 08:00 and 24:00, winter at most one in daytime, spring/autumn now and then); during a
  cut a grid-tied plant's gateway is silent and, when power returns, uploads what it buffered as
  batch messages (at most :data:`MAX_BATCH_READINGS` readings each);
- every message's payload is at most ``max_message_bytes`` (default :data:`MAX_MESSAGE_BYTES`,
  64 KiB; ``--max-message-kb``): a longer upload — a post-cut buffer, the backfill — is split
  into several canonical batches, each reading in exactly one of them, in time order (a batch
  of 500 readings is 100–145 KB);
- at ``bad_rate`` a live reading is replaced by a bad payload (malformed JSON, NaN, power out of
  range, a plant id that differs from the topic, a far-future ts, non-UTF-8 bytes), yielded with
  kind ``'bad'`` so tests and benchmarks can count them.

The template year maps onto any real date by day of year (29 February repeats 28 February) and
UTC time of day; Tehran time is taken as UTC+03:30 (no daylight saving since 2022).

No reading is ever in the future: :meth:`Emulator.run` publishes a reading only once the wall
clock has reached its ``ts`` (the bridge refuses readings more than 600 s ahead of its clock). At
``speed`` > 1 the simulated clock therefore starts in the past (:func:`plan_start_ns`): with a
duration D, D × (speed − 1) before now, so that it reaches the wall clock at the end; without
one, :data:`CATCH_UP_S` × (speed − 1) before now (at most :data:`MAX_LOOKBACK_S`), and once it
has caught up with the wall clock the run goes on in real time (speed 1). A given start that
would run ahead of the clock is refused (:class:`~telemetry.errors.InputError`, naming the
latest allowed start). The backfill ends at the simulated start, so it is in the past too.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NamedTuple, Protocol

import numpy as np
import typer

from telemetry import topics
from telemetry.errors import InputError
from telemetry.registry import Fleet, parse_fleet

__all__ = [
    "BAD_REASONS",
    "CATCH_UP_S",
    "FAULT_CODES",
    "MAX_BATCH_READINGS",
    "MAX_LOOKBACK_S",
    "MAX_MESSAGE_BYTES",
    "MIN_MESSAGE_BYTES",
    "PROVINCE_CODES",
    "Emulator",
    "Outage",
    "TypicalYear",
    "emulate_command",
    "plan_start_ns",
    "synthetic_fleet",
    "topic_for",
    "typical_year",
    "write_fleet",
]

MAX_BATCH_READINGS = 500
"""Readings per batch message at most; longer buffers are split."""
MAX_MESSAGE_BYTES = 64 * 1024
"""Default largest payload the emulator publishes [bytes] (``--max-message-kb 64``); longer
uploads are split into several batches. Brokers and gateways often cap messages near this size
(the bridge accepts up to 1 MiB)."""
MIN_MESSAGE_BYTES = 1024
"""Smallest allowed message limit [bytes]: a reading (plant id of 64 characters, two strings)
is under 500 bytes."""
CATCH_UP_S = 600.0
"""Without a duration, a run at ``speed`` > 1 starts ``CATCH_UP_S × (speed − 1)`` simulated
seconds before now, so it catches up with the wall clock after about ten minutes. [s]"""
MAX_LOOKBACK_S = 30 * 86_400.0
"""The start a run without a duration picks is at most this far in the past. [s]"""
_BRIDGE_MAX_PAST_DAYS = 400  # the bridge's validator refuses older readings (max_past_days)
BAD_REASONS = (
    "malformed_json",
    "non_finite",
    "out_of_range",
    "plant_mismatch",
    "future_ts",
    "non_utf8",
)
"""Kinds of bad payload the emulator injects, named as the bridge's quarantine reasons."""
FAULT_CODES = (101, 202, 301, 404, 505)
"""Alarm codes of emulated faults: grid overvoltage, isolation resistance, over-temperature,
DC arc, fan failure."""

_HOURS = 8760
_DAYS = 365
_SEGS = 48  # half-hour segments of a UTC day
_SEC_NS = 1_000_000_000
_HALF_NS = 1800 * _SEC_NS
_DAY_NS = 86_400 * _SEC_NS
_TEHRAN_OFFSET_SEGS = 7  # UTC+03:30 in half hours
_REF_YEAR = 2000  # counters are integrated from here (a closed form; any fixed year would do)
_SEQ_EPOCH_NS = 1_577_836_800 * _SEC_NS  # 2020-01-01: seq counts intervals since then
_INSTALL_FROM_NS = 1_672_531_200 * _SEC_NS  # installations between 2023-01-01 ...
_INSTALL_SPAN_NS = int(2.5 * 365.25 * _DAY_NS)  # ... and mid-2025
_DEFAULT_ESSENTIAL_W = 500.0
_MONTH_OF_DAY = np.repeat(np.arange(1, 13), [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])

# Streams of the counter-based random numbers (any distinct constants).
_S_CLOUD_REG, _S_CLOUD_REG2, _S_CLOUD_LOC = 1, 2, 3
_S_CUT_N, _S_CUT_1, _S_CUT_2 = 11, 12, 13
_S_FAULT, _S_FAULT_AT, _S_FAULT_LEN, _S_FAULT_CODE = 21, 22, 23, 24
_S_NOISE_V, _S_NOISE_F, _S_NOISE_T, _S_NOISE_R = 31, 32, 33, 34
_S_BAD, _S_BAD_KIND, _S_BAD_AT = 41, 42, 43
_S_PLANT = 50  # + k: per-plant constants

# Province capitals' three-letter codes (the sample fleet's, the others in the same style).
PROVINCE_CODES = {
    "Tehran": "THR",
    "Razavi Khorasan": "KHR",
    "Isfahan": "ISF",
    "Fars": "FRS",
    "East Azerbaijan": "AZS",
    "Khuzestan": "KHZ",
    "Kerman": "KRN",
    "Alborz": "ALB",
    "Qom": "QOM",
    "West Azerbaijan": "AZG",
    "Gilan": "GIL",
    "Sistan and Baluchestan": "SBL",
    "Kermanshah": "KSH",
    "Hamadan": "HMD",
    "Yazd": "YZD",
    "Ardabil": "ARD",
    "Hormozgan": "HRM",
    "Markazi": "MRK",
    "Zanjan": "ZNJ",
    "Kurdistan": "KRD",
    "Qazvin": "QZV",
    "Lorestan": "LRS",
    "Golestan": "GLS",
    "Mazandaran": "MZN",
    "South Khorasan": "KHJ",
    "North Khorasan": "KHS",
    "Ilam": "ILM",
    "Bushehr": "BSH",
    "Chaharmahal and Bakhtiari": "CHB",
    "Kohgiluyeh and Boyer-Ahmad": "KBA",
    "Semnan": "SMN",
}


def topic_for(plant_id: str) -> str:
    """Canonical telemetry topic of a plant (docs/contracts.md)."""
    return topics.plant_topic(plant_id, topics.TELEMETRY)


# ---------------------------------------------------------------------------- random numbers

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _uniform(seed: int, key: np.ndarray, stream: int, index: Any = 0) -> np.ndarray:
    """Uniform [0, 1) numbers that depend only on (seed, key, stream, index): no RNG state."""
    k = np.asarray(key, dtype=np.uint64)
    i = np.asarray(index, dtype=np.int64).astype(np.uint64)
    with np.errstate(over="ignore"):
        h = _mix(
            k
            ^ _mix(
                np.full_like(k, np.uint64(seed & 0xFFFFFFFFFFFFFFFF)) + np.uint64(stream) * _GOLDEN
            )
        )
        h = _mix(h + (i + np.uint64(1)) * _GOLDEN)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


# ---------------------------------------------------------------------------- synthetic fleet


def synthetic_fleet(n_plants: int, seed: int = 0) -> Fleet:
    """N plausible 5 kW household plants spread over Iran's province capitals, deterministic.

    Plants go round the 31 capitals of the embedded climatology in a seeded order, within
    ±0.3° of the capital; tilt 20–35°, azimuth 160–200°, DC 5.0–5.5 kWp on a 5 kW inverter,
    about one in six hybrid with a 2.4–7.2 kWh battery; three outage zones per province.
    Identifiers are the province code and a number, e.g. ``THR-000001``.

    Parameters
    ----------
    n_plants : int
        Number of plants (≥ 1).
    seed : int
        Same seed, same fleet.

    Returns
    -------
    telemetry.registry.Fleet
    """
    from simulate.climatology import load_climatology

    if n_plants < 1:
        raise InputError(f"the synthetic fleet needs at least one plant, not {n_plants}")
    caps = load_climatology()
    rng = np.random.default_rng([seed, 0x5EED])
    order = rng.permutation(len(caps))
    cap_idx = order[np.arange(n_plants) % len(caps)]
    lat = caps["latitude"].to_numpy()[cap_idx] + rng.uniform(-0.3, 0.3, n_plants)
    lon = caps["longitude"].to_numpy()[cap_idx] + rng.uniform(-0.3, 0.3, n_plants)
    tilt = rng.uniform(20, 35, n_plants)
    azimuth = rng.uniform(160, 200, n_plants)
    dc_kwp = rng.choice([5.0, 5.2, 5.4, 5.5], n_plants)
    hybrid = rng.random(n_plants) < 1 / 6
    battery = np.where(hybrid, rng.choice([2.4, 4.8, 7.2], n_plants), 0.0)
    zone = rng.integers(1, 4, n_plants)
    load_w = rng.choice([400, 500, 600, 700], n_plants)
    racking = np.where(rng.random(n_plants) < 0.1, "close_mount", "open_rack")
    provinces = caps["province"].to_numpy()[cap_idx]
    counters: dict[str, int] = {}
    lines = [
        "plant_id,latitude,longitude,province,dc_kwp,ac_kw,tilt_deg,azimuth_deg,racking,"
        "inverter_type,battery_kwh,outage_zone,essential_load_w"
    ]
    for i in range(n_plants):
        code = PROVINCE_CODES.get(provinces[i], "IRN")
        counters[code] = counters.get(code, 0) + 1
        lines.append(
            f"{code}-{counters[code]:06d},{lat[i]:.4f},{lon[i]:.4f},{provinces[i]},{dc_kwp[i]:g},"
            f"5.0,{tilt[i]:.1f},{azimuth[i]:.1f},{racking[i]},"
            f"{'hybrid' if hybrid[i] else 'grid_tied'},{battery[i]:g},{code}-Z{zone[i]},"
            f"{load_w[i]}"
        )
    fleet = parse_fleet("\n".join(lines) + "\n", source=f"synthetic fleet (seed {seed})")
    return Fleet(fleet.plants, f"<synthetic fleet: {n_plants} plants, seed {seed}>")


def write_fleet(fleet: Fleet, path: str | Path) -> Path:
    """Write a fleet as a fleet file (CSV, contract columns first), atomically."""
    from telemetry.fileio import atomic_path
    from telemetry.registry import COLUMNS

    cols = [c.name for c in COLUMNS] + [
        c for c in fleet.plants.columns if c not in {c.name for c in COLUMNS}
    ]
    with atomic_path(path) as tmp:
        fleet.plants[cols].to_csv(tmp, index=False, float_format="%.10g")
    return Path(path)


# ---------------------------------------------------------------------------- typical year


@dataclass(frozen=True)
class TypicalYear:
    """Hourly typical-year inputs of the emulator.

    Attributes
    ----------
    ac_power_w : numpy.ndarray
        (n_plants, 8760) float32, mean AC power of hour ``h`` = [h, h+1) UTC from 1 January. [W]
    temp_air_c : numpy.ndarray
        (n_cells, 8760) float32 air temperature. [°C]
    temp_index : numpy.ndarray
        (n_plants,) each plant's row of ``temp_air_c``.
    """

    ac_power_w: np.ndarray
    temp_air_c: np.ndarray
    temp_index: np.ndarray


def typical_year(
    fleet: Fleet, progress: Callable[[str, int, int], None] | None = None, chunk_plants: int = 2048
) -> TypicalYear:
    """The simulator's typical-year hourly AC power of every plant (embedded climatology).

    Simulated in chunks of plants so that only the float32 result (35 MB per 1,000 plants)
    stays in memory.

    Parameters
    ----------
    fleet : telemetry.registry.Fleet
        Plants in Iran (the climatology's cover).
    progress : callable, optional
        Called as ``progress(stage, done, total)``, stage ``'weather'`` or ``'plants'``.
    chunk_plants : int
        Plants per simulator call.
    """
    from simulate.fleet import default_fleet_weather, run_fleet

    wprog = None if progress is None else (lambda d, t: progress("weather", d, t))
    weather, index = default_fleet_weather(fleet, wprog)
    if len(weather.data) != _HOURS:
        raise InputError(f"the typical year has {len(weather.data)} hours, expected {_HOURS}")
    n = len(fleet)
    power = np.empty((n, _HOURS), dtype=np.float32)
    for a in range(0, n, chunk_plants):
        b = min(n, a + chunk_plants)
        run = run_fleet(fleet.subset(a, b), weather, hourly=True, weather_index=index[a:b])
        assert run.ac_power_w is not None
        power[a:b] = np.clip(run.ac_power_w, 0.0, None)
        if progress is not None:
            progress("plants", b, n)
    cells = sorted(set(weather.data.columns.get_level_values(0)))
    temp = np.stack([weather.data[(c, "temp_air")].to_numpy(np.float32) for c in cells])
    return TypicalYear(power, temp, np.asarray(index, dtype=np.int64))


# ---------------------------------------------------------------------------- emulator


@dataclass(frozen=True)
class Outage:
    """One contiguous power cut of an outage zone, [start_ns, end_ns) UTC."""

    zone: str
    start_ns: int
    end_ns: int


class _Message(NamedTuple):
    t_ns: int  # publish time (device time of the reading it is, or comes before) [ns]
    topic: str
    payload: bytes
    kind: str  # 'reading' | 'batch' | 'bad'
    detail: str  # a bad payload's reason, a batch's number of readings


class _Link(Protocol):
    def publish(self, topic: str, payload: bytes, *, qos: int = 1) -> None: ...


@dataclass
class _Day:
    grid: np.ndarray  # (n, 49) power at the half-hour grid points, clouds applied [W]
    cap: np.ndarray  # (n, 48) ceiling per segment (rating, essential load, 0) [W]
    cum: np.ndarray  # (n, 49) energy since the day's start at the grid points [Wh]
    alarm: np.ndarray  # (n,) fault code of the day
    fault: tuple[np.ndarray, np.ndarray]  # first fault segment, number of fault segments
    cut_bits: np.ndarray  # (n,) uint64 cut segments of each plant's zone


def _area_wh(a: np.ndarray, b: np.ndarray, cap: np.ndarray, f: np.ndarray | float) -> np.ndarray:
    """Energy of power rising linearly from ``a`` to ``b`` over a half hour, capped at ``cap``,
    over the first fraction ``f`` of the half hour. [Wh]"""
    length = 0.5 * np.broadcast_to(f, a.shape)
    e = a + (b - a) * f
    out = 0.5 * (a + e) * length
    over = (a > cap) | (e > cap)
    if over.any():  # rare: clipping at the rating, power cuts, faults
        a, e, c, ln = a[over], e[over], cap[over], length[over]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(a != e, (c - a) / (e - a), 0.0) * ln  # where the line meets the cap
        up = 0.5 * (a + c) * x + c * (ln - x)  # crosses the cap going up
        down = c * x + 0.5 * (c + e) * (ln - x)  # comes down from above the cap
        out[over] = np.where((a > c) & (e > c), c * ln, np.where(a <= c, up, down))
    return np.maximum(out, 0.0)


def _boundary(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Power at the boundary of two hours: their mean, or 0 beside an hour without power
    (so that power starts at the midpoint of the first producing hour: none at night)."""
    return np.where((before > 0) & (after > 0), 0.5 * (before + after), 0.0)


def _segment_wh(a: np.ndarray, b: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Energy of whole half-hour segments (power linear from ``a`` to ``b``, capped). [Wh]"""
    out = 0.25 * (a + b)
    over = (a > cap) | (b > cap)
    if over.any():
        out[over] = _area_wh(a[over], b[over], cap[over], 1.0)
    return out


def _take(hourly: np.ndarray, hour: np.ndarray) -> np.ndarray:
    """Row-wise ``hourly[i, hour[i, j]]``, the hour wrapping around the year."""
    return np.take_along_axis(hourly, hour % _HOURS, axis=1)


def _calendar(t_ns: np.ndarray):
    """UTC (year, day of year 0.., leap, template day 0..364, half-hour position)."""
    days = t_ns // _DAY_NS
    year = days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    start = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    doy = days - start
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    tday = doy - (leap & (doy >= 59))  # 29 February repeats 28 February
    pos = (t_ns - days * _DAY_NS) / _HALF_NS
    return year, doy, leap, tday, pos


def _leaps_before(year: np.ndarray) -> np.ndarray:
    y = year - 1
    r = _REF_YEAR - 1
    return (y // 4 - y // 100 + y // 400) - (r // 4 - r // 100 + r // 400)


def _iso(t_ns: int) -> str:
    return datetime.fromtimestamp(t_ns // _SEC_NS, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plan_start_ns(
    start_ns: int | None,
    duration_s: float | None,
    speed: float,
    backfill_hours: float = 0.0,
    now_ns: int | None = None,
    what: str = "the simulated start",
) -> int:
    """The simulated start of a run that publishes no reading ahead of the wall clock.

    Simulated time runs at ``speed`` from the start; a run of ``duration_s`` wall seconds ends
    ``duration_s × speed`` after it, while the clock has moved on ``duration_s``.

    Parameters
    ----------
    start_ns : int or None
        A start asked for [ns since the epoch, UTC]: checked, and returned. None: the latest
        start that keeps the whole run in the past, ``duration_s × (speed − 1)`` before now;
        without a duration, :data:`CATCH_UP_S` × (speed − 1) before now (at most
        :data:`MAX_LOOKBACK_S`; the run then goes on in real time once it has caught up).
    duration_s : float or None
        Wall-clock run time [s]; None: until interrupted.
    speed : float
        Simulated seconds per wall-clock second.
    backfill_hours : float
        Hours uploaded before the start [h]; a picked start keeps them within the 400 days of
        the past the bridge accepts.
    now_ns : int, optional
        The wall clock [ns] (default: now).
    what : str
        How error messages name the start (``--start`` on the command line).

    Raises
    ------
    telemetry.errors.InputError
        A given start after the latest allowed one (the message names it), or a picked window
        reaching further back than the bridge accepts.
    """
    if speed <= 0:
        raise InputError(f"speed must be positive, not {speed}")
    now = time.time_ns() if now_ns is None else int(now_ns)
    ahead_s = 0.0 if duration_s is None else float(duration_s) * max(speed - 1.0, 0.0)
    latest = (now - round(ahead_s * _SEC_NS)) // 1_000_000 * 1_000_000  # whole milliseconds
    if start_ns is not None:
        if start_ns > latest:
            why = (
                "is ahead of the clock"
                if duration_s is None
                else f"would run ahead of the clock within --duration {duration_s:g} at --speed "
                f"{speed:g} (simulated time gains {ahead_s:,.0f} s on the clock)"
            )
            raise InputError(
                f"{what} {_iso(start_ns)} {why}; the latest allowed start is {_iso(latest)}"
            )  # (whole seconds, so never after the latest)
        return int(start_ns)
    if duration_s is None:
        back_s = min(CATCH_UP_S * max(speed - 1.0, 0.0), MAX_LOOKBACK_S)
        latest = (latest - round(back_s * _SEC_NS)) // 1_000_000 * 1_000_000
    oldest_s = (now - latest) / _SEC_NS + backfill_hours * 3600.0
    if oldest_s > _BRIDGE_MAX_PAST_DAYS * 86_400:
        run = "" if duration_s is None else f"--duration {duration_s:g} at --speed {speed:g}, "
        raise InputError(
            f"the emulated readings would reach {oldest_s / 86_400:,.0f} days back "
            f"({run}--backfill-hours {backfill_hours:g}), and the bridge refuses "
            f"readings older than {_BRIDGE_MAX_PAST_DAYS} days"
        )
    return latest


class Emulator:
    """Telemetry of a fleet: readings, post-cut batches and bad payloads, in time order.

    Parameters
    ----------
    fleet : telemetry.registry.Fleet
    seed : int
        Everything random derives from it (and the plant ids): same seed, same messages.
    interval_s : float
        Reading interval of each gateway [s] (whole milliseconds).
    bad_rate : float
        Fraction of live readings replaced by a bad payload.
    fault_rate : float
        Probability of a fault per plant and day (a daytime fault of 0.5–4 h).
    outage_blocks_per_day : float
        Mean 2-hour power cuts per zone and summer day (0 to 2; winter and spring/autumn fewer).
    start_ns : int, optional
        Simulated start time of :meth:`run` and end of :meth:`backfill` [ns since the epoch,
        UTC]. Default: now, and :meth:`run` picks its own (:func:`plan_start_ns`).
    max_message_bytes : int
        Largest payload of a message [bytes] (≥ :data:`MIN_MESSAGE_BYTES`); longer uploads are
        split into several batches.
    typical_year : TypicalYear, optional
        Precomputed inputs (default: :func:`typical_year` of the fleet).
    progress : callable, optional
        Passed to :func:`typical_year`.
    """

    def __init__(
        self,
        fleet: Fleet,
        *,
        seed: int = 0,
        interval_s: float = 60,
        bad_rate: float = 0.0,
        fault_rate: float = 0.01,
        outage_blocks_per_day: float = 1.5,
        start_ns: int | None = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        typical_year: TypicalYear | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self.interval_ns = round(float(interval_s) * 1000) * 1_000_000
        if not 0 < self.interval_ns <= _DAY_NS:
            raise InputError(f"interval must be between 1 ms and a day, not {interval_s} s")
        if not 0.0 <= bad_rate <= 1.0 or not 0.0 <= fault_rate <= 1.0:
            raise InputError("bad_rate and fault_rate must be between 0 and 1")
        if not 0.0 <= outage_blocks_per_day <= 2.0:
            raise InputError("outage_blocks_per_day must be between 0 and 2")
        if max_message_bytes < MIN_MESSAGE_BYTES:
            raise InputError(
                f"the message size limit must be at least {MIN_MESSAGE_BYTES} "
                f"bytes, not {max_message_bytes}"
            )
        self.max_message_bytes = int(max_message_bytes)
        self.fleet = fleet
        self.seed = int(seed)
        self.bad_rate = float(bad_rate)
        self.fault_rate = float(fault_rate)
        self.outage_blocks_per_day = float(outage_blocks_per_day)
        self._start_given = start_ns is not None
        self.start_ns = (
            time.time_ns() // 1_000_000 * 1_000_000 if start_ns is None else int(start_ns)
        )
        ty = _typical_year_fn(fleet, progress) if typical_year is None else typical_year
        if ty.ac_power_w.shape != (len(fleet), _HOURS):
            raise InputError(
                f"typical-year power must be ({len(fleet)}, {_HOURS}), not {ty.ac_power_w.shape}"
            )
        self._year = ty
        p = fleet.plants
        n = self.n_plants = len(fleet)
        self.plant_ids = p["plant_id"].astype(str).tolist()
        self._topics = [topic_for(i) for i in self.plant_ids]
        self._pkey = np.array([_key(i) for i in self.plant_ids], dtype=np.uint64)
        zones = [
            z or prov or ""
            for z, prov in zip(p["outage_zone"].astype(str), p["province"].astype(str), strict=True)
        ]
        self.zones = sorted(set(zones))
        zone_no = {z: i for i, z in enumerate(self.zones)}
        self._zone_of = np.array([zone_no[z] for z in zones], dtype=np.int64)
        self._zkey = np.array([_key("zone:" + z) for z in self.zones], dtype=np.uint64)
        regions = [prov or z for z, prov in zip(zones, p["province"].astype(str), strict=True)]
        self._rkey = np.array([_key("region:" + r) for r in regions], dtype=np.uint64)
        self.rating_w = p["ac_kw"].to_numpy(float) * 1000.0
        # The simulator never exceeds the rating; a hand-made year might.
        if n and (ty.ac_power_w.max(axis=1) > self.rating_w).any():
            ty = TypicalYear(
                np.minimum(ty.ac_power_w, self.rating_w[:, None]).astype(np.float32),
                ty.temp_air_c,
                ty.temp_index,
            )
            self._year = ty
        self.hybrid = (p["inverter_type"] == "hybrid").to_numpy()
        load = p["essential_load_w"].to_numpy(float)
        self.essential_w = np.where(np.isfinite(load), load, _DEFAULT_ESSENTIAL_W)

        def u(k: int) -> np.ndarray:
            return _uniform(self.seed, self._pkey, _S_PLANT + k)

        self._phase_ns = (u(0) * (self.interval_ns // 1_000_000)).astype(np.int64) * 1_000_000
        self._order = np.argsort(self._phase_ns, kind="stable")
        self._n_strings = np.where(u(1) < 0.4, 1, 2)
        self._share = 0.46 + 0.08 * u(2)
        self._v_mpp = 290.0 + 90.0 * u(3)
        self._v_base = 226.5 + 7.0 * u(4)
        self._rssi_base = -92.0 + 35.0 * u(5)
        self._t_case = 3.0 + 6.0 * u(6)
        # Installed at a UTC midnight (night in Iran) between 2023 and mid-2025.
        self._install_ns = (
            _INSTALL_FROM_NS + (u(7) * (_INSTALL_SPAN_NS // _DAY_NS)).astype(np.int64) * _DAY_NS
        )
        self._init_wh = (u(8) * 50.0).astype(np.int64)  # factory tests
        self._days: dict[int, _Day] = {}
        self._cuts, self._cut_starts, self._cut_count = self._cut_table()
        totals = self._day_totals()
        # Whole watt-hours per day: the counter is exact integer arithmetic across days, so it
        # never steps back at midnight by a rounding error (within a day it is clamped).
        self._day_wh = np.floor(totals).astype(np.int64)
        self._cum_day = np.zeros((n, _DAYS + 1), dtype=np.int64)
        np.cumsum(self._day_wh, axis=1, out=self._cum_day[:, 1:])
        self._feb28_wh = self._day_wh[:, 58].copy()
        self.annual_energy_wh = self._cum_day[:, -1].copy()
        year, doy, leap, tday, _ = _calendar(self._install_ns)
        self._c_install = (
            self._year_base(np.arange(n), year, doy, leap) + self._cum_day[np.arange(n), tday]
        )

    # ------------------------------------------------------------------ day tables

    def _cloud(self, p: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Daily cloudiness factor ≤ 1 of plants ``p`` on template days ``d`` (broadcast):
        regional (now and then a dusty or cloudy day) times local."""
        seed, rkey = self.seed, self._rkey[p]
        ur = _uniform(seed, rkey, _S_CLOUD_REG, d)
        ur2 = _uniform(seed, rkey, _S_CLOUD_REG2, d)
        regional = np.where(ur < 0.08, 0.35 + 0.4 * ur2, 0.92 + 0.08 * ur2)
        return regional * (0.97 + 0.03 * _uniform(seed, self._pkey[p], _S_CLOUD_LOC, d))

    def _faults(self, p: np.ndarray, d: np.ndarray):
        """(faulty, first segment, segments, alarm code) of plants ``p`` on days ``d``:
        a daytime stop of 0.5–4 hours starting between 07:00 and 17:00 Tehran."""
        seed, key = self.seed, self._pkey[p]
        faulty = _uniform(seed, key, _S_FAULT, d) < self.fault_rate
        f_at = (
            2 * 7
            - _TEHRAN_OFFSET_SEGS
            + (_uniform(seed, key, _S_FAULT_AT, d) * 20).astype(np.int64)
        )
        f_len = np.where(faulty, 1 + (_uniform(seed, key, _S_FAULT_LEN, d) * 8).astype(np.int64), 0)
        code = np.where(
            faulty,
            np.array(FAULT_CODES)[
                (_uniform(seed, key, _S_FAULT_CODE, d) * len(FAULT_CODES)).astype(np.int64)
            ],
            0,
        )
        return faulty, f_at, f_len, code

    def _block(self, p: np.ndarray, d: np.ndarray):
        """Grid, ceilings and faults of the (plant ``p[i]``, template day ``d[i]``) pairs.

        Returns grid (m, 49) power at the half-hour points with clouds [W], cap (m, 48)
        ceiling per segment [W], and fault start, length [segments] and alarm code (m,).
        """
        hours = (d[:, None] * 24 + np.arange(-1, 25)[None, :]) % _HOURS  # an hour either side
        pw = self._year.ac_power_w[p[:, None], hours].astype(np.float64)  # (m, 26)
        grid = np.empty((len(p), _SEGS + 1))
        grid[:, 0::2] = _boundary(pw[:, :-1], pw[:, 1:])  # hour boundaries
        grid[:, 1::2] = pw[:, 1:-1]  # hour midpoints = the hourly means
        grid *= self._cloud(p, d)[:, None]
        cap = np.empty((len(p), _SEGS))
        cap[:] = self.rating_w[p, None]
        # Power cuts of each plant's zone: grid-tied 0, hybrid its essential load.
        bits = self._cuts[self._zone_of[p], d]
        rows = np.flatnonzero(bits)
        if rows.size:
            segs = np.arange(_SEGS, dtype=np.uint64)
            in_cut = ((bits[rows, None] >> segs) & np.uint64(1)).astype(bool)
            r = p[rows]
            cut_cap = np.where(
                self.hybrid[r], np.minimum(self.essential_w[r], self.rating_w[r]), 0.0
            )
            cap[rows] = np.where(in_cut, cut_cap[:, None], cap[rows])
        faulty, f_at, f_len, code = self._faults(p, d)
        rows = np.flatnonzero(faulty)
        if rows.size:
            s = np.arange(_SEGS)[None, :]
            start, stop = f_at[rows, None], (f_at + f_len)[rows, None]
            cap[rows] = np.where((s >= start) & (s < stop), 0.0, cap[rows])
        return grid, cap, f_at, f_len, code

    def _day_totals(self) -> np.ndarray:
        """(n, 365) energy of every plant and template day. [Wh]

        Closed form for plain days (power ≤ rating, clouds ≤ 1: nothing is clipped); days with
        a cut or a fault go through the half-hour segments.
        """
        n = self.n_plants
        totals = np.empty((n, _DAYS))
        days = np.arange(_DAYS)
        for a in range(0, n, 256):
            b = min(n, a + 256)
            rows = np.arange(a, b)
            pw = self._year.ac_power_w[a:b].astype(np.float64)
            bound = _boundary(np.roll(pw, 1, axis=1), pw)  # at the start of each hour
            bd = bound.reshape(b - a, _DAYS, 24)
            first = bd[..., 0]
            plain = 0.25 * (
                2.0 * bd.sum(-1)
                - first
                + np.roll(first, -1, axis=1)
                + 2.0 * pw.reshape(b - a, _DAYS, 24).sum(-1)
            )
            # A grid-tied plant delivers nothing during its zone's cuts: take those 2-hour blocks
            # (from the midpoint of UTC hour i to that of hour i+2) out.
            zone = self._zone_of[a:b]
            for k in range(2):
                want = (self._cut_count[zone] > k) & ~self.hybrid[a:b, None]
                h = days[None, :] * 24 + self._cut_starts[zone, :, k] - 4  # UTC hour index
                h = np.where(want, h, 0)
                block = 0.25 * (
                    _take(pw, h)
                    + 2.0 * _take(bound, h + 1)
                    + 2.0 * _take(pw, h + 1)
                    + 2.0 * _take(bound, h + 2)
                    + _take(pw, h + 2)
                )
                plain -= np.where(want, block, 0.0)
            totals[a:b] = np.maximum(plain, 0.0) * self._cloud(rows[:, None], days[None, :])
        # Faults, and the cuts of hybrid plants (capped at the essential load): segment by segment.
        faulty = self._faults(np.arange(n)[:, None], days[None, :])[0]
        hybrid_cut = self.hybrid[:, None] & (self._cuts[self._zone_of] != 0)
        rows, cols = np.nonzero(faulty | hybrid_cut)
        for a in range(0, len(rows), 32768):
            r, c = rows[a : a + 32768], cols[a : a + 32768]
            grid, cap, *_ = self._block(r, c)
            totals[r, c] = _segment_wh(grid[:, :-1], grid[:, 1:], cap).sum(-1)
        return totals

    @staticmethod
    def _cum_segments(grid: np.ndarray, cap: np.ndarray) -> np.ndarray:
        """Energy since the day's start at each half-hour point (..., 49). [Wh]"""
        seg_wh = _segment_wh(grid[..., :-1], grid[..., 1:], cap)
        cum = np.zeros(grid.shape)
        np.cumsum(seg_wh, axis=-1, out=cum[..., 1:])
        return cum

    def _day(self, tday: int) -> _Day:
        """Half-hour grid, ceilings and cumulative energy of template day ``tday`` (all plants)."""
        day = self._days.get(tday)
        if day is not None:
            return day
        grid, cap, f_at, f_len, code = self._block(
            np.arange(self.n_plants), np.full(self.n_plants, tday)
        )
        day = _Day(
            grid,
            cap,
            self._cum_segments(grid, cap),
            code,
            (f_at, f_len),
            self._cuts[self._zone_of, tday],
        )
        if len(self._days) >= 4:
            self._days.pop(next(iter(self._days)))
        self._days[tday] = day
        return day

    def _cut_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Power cuts of each zone and template day: bits (n_zones, 365) of the half-hour
        segments (UTC) cut, start hours (n_zones, 365, 2) in Tehran time, block count."""
        seed, rate = self.seed, self.outage_blocks_per_day
        keys, days = self._zkey[:, None], np.arange(_DAYS)[None, :]
        month = _MONTH_OF_DAY[days]
        summer, winter = (month >= 6) & (month <= 9), np.isin(month, (12, 1, 2))
        u = _uniform(seed, keys, _S_CUT_N, days)
        base = int(rate)
        # Summer 1–2 blocks 08:00–24:00 Tehran; winter at most one in daytime; else now and then.
        count = np.where(
            summer, base + (u < rate - base), np.where(winter, u < rate / 2, u < rate / 4)
        ).astype(np.int64)
        first, last = 8, np.where(winter, 16, 22)  # first and last start hour (Tehran)
        width = last - first + 1
        i1 = (_uniform(seed, keys, _S_CUT_1, days) * width).astype(np.int64)
        # The second block starts at least 2 h away from the first (offsets 2..width-2 mod width).
        i2 = (
            i1 + 2 + (_uniform(seed, keys, _S_CUT_2, days) * (width - 3)).astype(np.int64)
        ) % width
        bits = np.zeros(count.shape, dtype=np.uint64)
        starts = np.stack([first + i1, first + i2], axis=-1)  # Tehran hours
        for k in range(2):
            shift = (2 * starts[..., k] - _TEHRAN_OFFSET_SEGS).astype(np.uint64)
            bits |= np.where(count > k, np.uint64(0b1111) << shift, np.uint64(0))
        return bits, starts, count

    def outages(self, start_ns: int, end_ns: int) -> list[Outage]:
        """Power cuts of every zone that overlap [start_ns, end_ns), in start order."""
        out = []
        day0, day1 = start_ns // _DAY_NS, (end_ns - 1) // _DAY_NS
        for d in range(day0, day1 + 1):
            _, _, _, tday, _ = _calendar(np.array([d * _DAY_NS]))
            bits = self._cuts[:, int(tday[0])]
            for z, b in enumerate(bits.tolist()):
                j = 0
                while j < _SEGS:
                    if b >> j & 1:
                        k = j
                        while k < _SEGS and b >> k & 1:
                            k += 1
                        a, e = d * _DAY_NS + j * _HALF_NS, d * _DAY_NS + k * _HALF_NS
                        if a < end_ns and e > start_ns:
                            out.append(Outage(self.zones[z], a, e))
                        j = k
                    j += 1
        return sorted(out, key=lambda o: (o.start_ns, o.zone))

    # ------------------------------------------------------------------ readings

    def _cumulative(self, pidx: np.ndarray, t_ns: np.ndarray) -> np.ndarray:
        """Energy delivered since 1 January of the reference year (template repeated). [Wh]"""
        year, doy, leap, tday, pos = _calendar(np.asarray(t_ns, dtype=np.int64))
        out = np.empty(len(pidx), dtype=np.int64)
        for d in np.unique(tday):
            sel = tday == d
            day, p = self._day(int(d)), pidx[sel]
            j = np.minimum(pos[sel].astype(np.int64), _SEGS - 1)
            f = pos[sel] - j
            within = day.cum[p, j] + _area_wh(day.grid[p, j], day.grid[p, j + 1], day.cap[p, j], f)
            within = np.minimum(np.floor(within).astype(np.int64), self._day_wh[p, d])
            out[sel] = (
                self._year_base(p, year[sel], doy[sel], leap[sel]) + self._cum_day[p, d] + within
            )
        return out

    def _year_base(
        self, p: np.ndarray, year: np.ndarray, doy: np.ndarray, leap: np.ndarray
    ) -> np.ndarray:
        """Energy of the whole template years before ``year`` (and of 29 February). [Wh]"""
        extra = _leaps_before(year) + (leap & (doy >= 59))
        return (year - _REF_YEAR) * self.annual_energy_wh[p] + extra * self._feb28_wh[p]

    def _compute(self, pidx: np.ndarray, t_ns: np.ndarray) -> dict[str, np.ndarray]:
        """Every field of the readings of plants ``pidx`` at times ``t_ns`` (vectorised)."""
        seed = self.seed
        _, _, _, tday, pos = _calendar(t_ns)
        n = len(pidx)
        power = np.empty(n)
        cap = np.empty(n)
        alarm = np.zeros(n, dtype=np.int64)
        cut = np.zeros(n, dtype=bool)
        sun = np.zeros(n, dtype=bool)
        temp_air = np.empty(n)
        pwr = self._year
        for d in np.unique(tday):
            sel = tday == d
            day, p = self._day(int(d)), pidx[sel]
            j = np.minimum(pos[sel].astype(np.int64), _SEGS - 1)
            f = pos[sel] - j
            a, b = day.grid[p, j], day.grid[p, j + 1]
            cap[sel] = day.cap[p, j]
            sun[sel] = a + (b - a) * f > 0
            power[sel] = np.minimum(a + (b - a) * f, cap[sel])
            f_at, f_len = day.fault
            alarm[sel] = np.where((j >= f_at[p]) & (j < f_at[p] + f_len[p]), day.alarm[p], 0)
            cut[sel] = ((day.cut_bits[p] >> j.astype(np.uint64)) & np.uint64(1)).astype(bool)
            hour = np.minimum(int(d) * 24 + j // 2, _HOURS - 1)
            temp_air[sel] = pwr.temp_air_c[pwr.temp_index[p], hour]
        power = np.where(power < 1.0, 0.0, power)
        energy = (
            np.maximum(self._cumulative(pidx, t_ns) - self._c_install[pidx], 0)
            + self._init_wh[pidx]
        )
        k = (t_ns - self._phase_ns[pidx]) // self.interval_ns
        key = self._pkey[pidx]

        def noise(stream: int) -> np.ndarray:
            return _uniform(seed, key, stream, k) - 0.5

        grid_down = cut & ~self.hybrid[pidx]
        rating = self.rating_w[pidx]
        load = power / rating
        v_ac = np.where(grid_down, 0.0, self._v_base[pidx] + 2.0 * noise(_S_NOISE_V))
        freq = np.where(grid_down, 0.0, 50.0 + 0.06 * noise(_S_NOISE_F))
        i_ac = np.where(v_ac > 0, power / np.where(v_ac > 0, v_ac, 1.0), 0.0)
        temp_c = temp_air + self._t_case[pidx] + 18.0 * load + 1.0 * noise(_S_NOISE_T)
        dc_w = np.where(power > 0, power / 0.96 + 12.0, 0.0)
        v_mpp = (
            self._v_mpp[pidx]
            * (1.0 - 0.0035 * (temp_c - 25.0))
            * (0.93 + 0.07 * np.sqrt(np.minimum(load * 2.0, 1.0)))
        )
        v_dc = np.where(power > 0, v_mpp, np.where(sun, 1.2 * self._v_mpp[pidx], 0.0))
        status = np.where(
            alarm > 0,
            "fault",
            np.where(grid_down, "off", np.where(power > 0, "producing", "standby")),
        )
        return {
            "pidx": pidx,
            "t_ns": t_ns,
            "seq": k - _SEQ_EPOCH_NS // self.interval_ns,
            "ac_power_w": power,
            "ac_voltage_v": v_ac,
            "ac_current_a": i_ac,
            "ac_freq_hz": freq,
            "energy_total_wh": energy,
            "dc_w": dc_w,
            "dc_v": v_dc,
            "n_strings": self._n_strings[pidx],
            "share": self._share[pidx],
            "temp_c": temp_c,
            "status": status,
            "alarm_code": alarm,
            "rssi_dbm": np.round(self._rssi_base[pidx] + 6.0 * noise(_S_NOISE_R)),
            "silent": grid_down,
        }

    @staticmethod
    def _bodies(r: dict[str, np.ndarray]) -> list[str]:
        """The JSON members of each reading after ``plant_id``: ``"ts":...,...,"rssi_dbm":-71``."""
        ts = np.datetime_as_string(
            r["t_ns"].astype("datetime64[ns]").astype("datetime64[ms]"), unit="ms"
        )
        out = []
        for t, seq, pw, v, i, f, e, dw, dv, ns, sh, tc, st, al, rs in zip(
            ts.tolist(),
            r["seq"].tolist(),
            r["ac_power_w"].tolist(),
            r["ac_voltage_v"].tolist(),
            r["ac_current_a"].tolist(),
            r["ac_freq_hz"].tolist(),
            r["energy_total_wh"].tolist(),
            r["dc_w"].tolist(),
            r["dc_v"].tolist(),
            r["n_strings"].tolist(),
            r["share"].tolist(),
            r["temp_c"].tolist(),
            r["status"].tolist(),
            r["alarm_code"].tolist(),
            r["rssi_dbm"].tolist(),
            strict=True,
        ):
            if ns == 1:
                dc = f'[{{"v":{dv:.1f},"a":{dw / dv if dv else 0.0:.2f},"w":{dw:.1f}}}]'
            else:
                w1, w2, dv2 = dw * sh, dw * (1.0 - sh), dv * 0.99
                dc = (
                    f'[{{"v":{dv:.1f},"a":{w1 / dv if dv else 0.0:.2f},"w":{w1:.1f}}},'
                    f'{{"v":{dv2:.1f},"a":{w2 / dv2 if dv else 0.0:.2f},"w":{w2:.1f}}}]'
                )
            out.append(
                f'"ts":"{t}Z","seq":{seq},"ac_power_w":{pw:.1f},"ac_voltage_v":{v:.1f},'
                f'"ac_current_a":{i:.2f},"ac_freq_hz":{f:.2f},"energy_total_wh":{e:.0f},'
                f'"dc":{dc},"temp_c":{tc:.1f},"status":"{st}","alarm_code":{al},'
                f'"rssi_dbm":{rs:.0f}'
            )
        return out

    def readings(self, plant_index: np.ndarray, t_ns: np.ndarray) -> list[dict[str, Any]]:
        """Readings as dicts (the canonical single-reading payload) — for tests and tools."""
        import json

        r = self._compute(np.asarray(plant_index, dtype=np.int64), np.asarray(t_ns, dtype=np.int64))
        ids = [self.plant_ids[i] for i in r["pidx"].tolist()]
        return [
            json.loads(f'{{"v":1,"plant_id":"{pid}",{body}}}')
            for pid, body in zip(ids, self._bodies(r), strict=True)
        ]

    def _batches(self, p: int, bodies: list[str]) -> Iterator[tuple[str, bytes, str, str]]:
        """Plant ``p``'s readings (in time order) as consecutive batch messages, each at most
        :data:`MAX_BATCH_READINGS` readings and ``max_message_bytes`` long."""
        head = f'{{"v":1,"plant_id":"{self.plant_ids[p]}","readings":['.encode()
        room = self.max_message_bytes - len(head) - 2  # the closing ]}
        a, used = 0, 0
        for i, body in enumerate(bodies):  # the bodies are ASCII: characters are bytes
            size = len(body) + 2 + (i > a)  # {body} and a comma after the first
            if i > a and (used + size > room or i - a == MAX_BATCH_READINGS):
                yield self._batch(p, head, bodies[a:i])
                a, used, size = i, 0, len(body) + 2
            if size > room:
                raise InputError(
                    f"a reading of {self.plant_ids[p]} takes {size} bytes, more "
                    f"than the message size limit of {self.max_message_bytes}"
                )
            used += size
        if a < len(bodies):
            yield self._batch(p, head, bodies[a:])

    def _batch(self, p: int, head: bytes, chunk: list[str]) -> tuple[str, bytes, str, str]:
        payload = head + ",".join("{" + b + "}" for b in chunk).encode() + b"]}"
        return self._topics[p], payload, "batch", str(len(chunk))

    def _bad(self, p: int, k: int, body: str, power: float) -> tuple[bytes, str]:
        """A bad payload in place of a reading; (payload, reason)."""
        key = self._pkey[p : p + 1]
        reason = BAD_REASONS[int(_uniform(self.seed, key, _S_BAD_KIND, k)[0] * len(BAD_REASONS))]
        pid = self.plant_ids[p]
        good = f'{{"v":1,"plant_id":"{pid}",{body}}}'
        pw = f'"ac_power_w":{power:.1f}'
        if reason == "malformed_json":
            cut = 5 + int(_uniform(self.seed, key, _S_BAD_AT, k)[0] * (len(good) - 10))
            return good[:cut].encode(), reason
        if reason == "non_finite":
            return good.replace(pw, '"ac_power_w":NaN', 1).encode(), reason
        if reason == "out_of_range":
            wild = f'"ac_power_w":{4.0 * self.rating_w[p]:.1f}'
            return good.replace(pw, wild, 1).encode(), reason
        if reason == "plant_mismatch":
            other = self.plant_ids[(p + 1) % self.n_plants] if self.n_plants > 1 else "XXX-999999"
            return good.replace(f'"plant_id":"{pid}"', f'"plant_id":"{other}"', 1).encode(), reason
        if reason == "future_ts":
            ts = body[6 : body.index('"', 6)]
            future = str(int(ts[:4]) + 10) + ts[4:]
            return good.replace(ts, future, 1).encode(), reason
        raw = good.encode()
        i = raw.index(b'"status":"') + len(b'"status":"')
        return raw[:i] + b"\xff\xfe" + raw[i:], reason

    def _silent(self, pidx: np.ndarray, t_ns: np.ndarray) -> np.ndarray:
        """Whether each grid-tied plant's gateway is down (power cut) at ``t_ns``."""
        _, _, _, tday, pos = _calendar(t_ns)
        out = np.zeros(len(pidx), dtype=bool)
        for d in np.unique(tday):
            sel = tday == d
            bits = self._cuts[self._zone_of[pidx[sel]], d]
            j = np.minimum(pos[sel].astype(np.int64), _SEGS - 1).astype(np.uint64)
            out[sel] = ((bits >> j) & np.uint64(1)).astype(bool)
        return out & ~self.hybrid[pidx]

    def _messages(
        self, start_ns: int, end_ns: int | None, uploaded_until_ns: int | None = None
    ) -> Iterator[_Message]:
        """Messages with publish times in [start_ns, end_ns) (None: no end), in time order.

        Buffered readings before ``uploaded_until_ns`` are left out of post-cut batches.
        """
        step = self.interval_ns
        order = self._order
        phase = self._phase_ns[order]
        topics, ids = self._topics, self.plant_ids
        # Several ticks per round for a small fleet: numpy's per-call cost dominates otherwise.
        ticks = max(1, 2048 // max(1, self.n_plants))
        k0 = (start_ns - step) // step
        while end_ns is None or k0 * step < end_ns:
            k = (k0 + np.arange(ticks, dtype=np.int64))[:, None]
            k0 += ticks
            t = (k * step + phase[None, :]).ravel()  # time order: tick, then phase
            keep = t >= start_ns
            if end_ns is not None:
                keep &= t < end_ns
            pidx = np.broadcast_to(order, (ticks, len(order))).ravel()[keep]
            k, t = np.broadcast_to(k, (ticks, len(order))).ravel()[keep], t[keep]
            if not len(t):
                continue
            r = self._compute(pidx, t)
            on = ~r["silent"]
            r = {key: v[on] for key, v in r.items()}
            pidx, t, k = pidx[on], t[on], k[on]
            back = self._silent(pidx, t - step)  # gateways back after a cut
            bodies = self._bodies(r)
            bad = (
                _uniform(self.seed, self._pkey[pidx], _S_BAD, k) < self.bad_rate
                if self.bad_rate
                else np.zeros(len(pidx), bool)
            )
            for i, (p, ts) in enumerate(zip(pidx.tolist(), t.tolist(), strict=True)):
                if back[i]:
                    for m in self._after_cut(p, ts, uploaded_until_ns):
                        yield _Message(ts, *m)
                if bad[i]:
                    garbled, reason = self._bad(p, int(k[i]), bodies[i], float(r["ac_power_w"][i]))
                    yield _Message(ts, topics[p], garbled, "bad", reason)
                else:
                    payload = f'{{"v":1,"plant_id":"{ids[p]}",{bodies[i]}}}'
                    yield _Message(ts, topics[p], payload.encode(), "reading", "")

    def _after_cut(
        self, p: int, t_ns: int, uploaded_until_ns: int | None
    ) -> Iterator[tuple[str, bytes, str, str]]:
        """Batches of plant ``p``'s readings buffered during the cut that ended before ``t_ns``."""
        last = t_ns - self.interval_ns
        _, _, _, tday, pos = _calendar(np.array([last]))
        bits = int(self._cuts[self._zone_of[p], tday[0]])
        j = min(int(pos[0]), _SEGS - 1)
        while j > 0 and bits >> (j - 1) & 1:
            j -= 1
        cut_start = (last // _DAY_NS) * _DAY_NS + j * _HALF_NS
        if uploaded_until_ns is not None:
            cut_start = max(cut_start, uploaded_until_ns)
        n = (last - cut_start) // self.interval_ns + 1
        if n <= 0:
            return
        times = last - self.interval_ns * np.arange(n - 1, -1, -1, dtype=np.int64)
        r = self._compute(np.full(n, p, dtype=np.int64), times)
        yield from self._batches(p, self._bodies(r))

    def messages(self, start_ns: int, end_ns: int) -> Iterator[tuple[str, bytes, str]]:
        """Every message of the simulated window [start_ns, end_ns), in time order.

        Yields
        ------
        (topic, payload, kind)
            ``kind`` is ``'reading'`` (one canonical reading), ``'batch'`` (readings a gateway
            buffered during a power cut, uploaded when power came back) or ``'bad'`` (a bad
            payload that took a reading's place). Deterministic for a seed.
        """
        for m in self._messages(int(start_ns), int(end_ns)):
            yield m.topic, m.payload, m.kind

    def _backfill(
        self, hours: float, end_ns: int | None = None, chunk_plants: int = 256
    ) -> Iterator[_Message]:
        end = self.start_ns if end_ns is None else int(end_ns)
        start = end - round(hours * 3600 * _SEC_NS)
        step = self.interval_ns
        for a in range(0, self.n_plants, chunk_plants):
            pidx = np.arange(a, min(self.n_plants, a + chunk_plants))
            first = -((self._phase_ns[pidx] - start) // step)  # first tick at or after start
            last = -((self._phase_ns[pidx] - end) // step)  # first tick at or after end
            counts = np.maximum(last - first, 0)
            rep = np.repeat(pidx, counts)
            offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            times = (np.repeat(first, counts) + offs) * step + self._phase_ns[rep]
            bodies = self._bodies(self._compute(rep, times)) if len(rep) else []
            at = 0
            for p, c in zip(pidx.tolist(), counts.tolist(), strict=True):
                for m in self._batches(p, bodies[at : at + c]):
                    yield _Message(end, *m)
                at += c

    def backfill(self, hours: float, end_ns: int | None = None) -> Iterator[tuple[str, bytes, str]]:
        """Batches of every plant's readings of the last ``hours`` before ``end_ns``
        (default: ``start_ns``), as gateways coming back after a long cut upload them."""
        for m in self._backfill(hours, end_ns):
            yield m.topic, m.payload, m.kind

    # ------------------------------------------------------------------ publishing

    def run(
        self,
        link: _Link,
        duration_s: float | None,
        speed: float = 1.0,
        backfill_hours: float = 0.0,
        progress: Callable[[float, dict[str, int]], None] | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> dict[str, int]:
        """Publish in (scaled) real time: the backfill at once, then the live window.

        No reading is published before the wall clock has reached its ``ts``. Without a
        ``start_ns`` given to the emulator, the run starts where :func:`plan_start_ns` says
        (``self.start_ns`` is set to it); a given one is checked the same way.

        Parameters
        ----------
        link : firmware_bridge.mqtt.MqttLink or anything with ``publish(topic, payload, qos=)``
        duration_s : float or None
            Wall-clock run time [s]; None runs until interrupted (Ctrl-C ends it cleanly).
        speed : float
            Simulated seconds per wall-clock second; falling behind, it publishes flat out. Once
            simulated time has caught up with the clock (only without a duration), real time.
        backfill_hours : float
            First publish this many hours before ``start_ns`` as batches, as fast as the broker
            takes them (not counted in ``duration_s``).
        progress : callable, optional
            Called as ``progress(wall_seconds, counts)`` a few times a second.
        notice : callable, optional
            Called once with a line to show when simulated time catches up with the clock.

        Returns
        -------
        dict
            ``messages`` (published: ``live_readings + batches + bad``), ``readings`` (valid
            readings, each once: ``live_readings + batch_readings``), ``live_readings``,
            ``batches``, ``batch_readings``, ``bad`` and ``bad_<reason>`` (bad payloads, not
            readings), ``bytes`` and ``max_message_bytes`` (payloads), ``plants``,
            ``sim_start_ns``, ``sim_end_ns``, ``caught_up_ns`` (wall clock; 0: never),
            ``interrupted`` (0/1).

        Raises
        ------
        telemetry.errors.InputError
            A given start that would run ahead of the clock (see :func:`plan_start_ns`).
        """
        self.start_ns = plan_start_ns(
            self.start_ns if self._start_given else None, duration_s, speed, backfill_hours
        )
        start = self.start_ns
        counts = {
            "messages": 0,
            "readings": 0,
            "live_readings": 0,
            "batches": 0,
            "batch_readings": 0,
            "bad": 0,
            "bytes": 0,
            "max_message_bytes": 0,
            "plants": self.n_plants,
            "sim_start_ns": start,
            "sim_end_ns": start,
            "caught_up_ns": 0,
            "interrupted": 0,
        }
        counts.update({f"bad_{r}": 0 for r in BAD_REASONS})
        wall0 = time.monotonic()
        next_report = 0.0

        def publish(m: _Message) -> None:
            nonlocal next_report
            # The newest reading of a message is at m.t_ns (a batch's come before it); a bad
            # far-future ts is the one exception, on purpose.
            while (early_ns := m.t_ns - time.time_ns()) > 0:
                time.sleep(early_ns / _SEC_NS)
            link.publish(m.topic, m.payload, qos=1)
            counts["messages"] += 1
            counts["bytes"] += len(m.payload)
            counts["max_message_bytes"] = max(counts["max_message_bytes"], len(m.payload))
            if m.kind == "reading":
                counts["live_readings"] += 1
                counts["readings"] += 1
            elif m.kind == "batch":
                counts["batches"] += 1
                counts["batch_readings"] += int(m.detail)
                counts["readings"] += int(m.detail)
            else:
                counts["bad"] += 1
                counts[f"bad_{m.detail}"] += 1
            if progress is not None:
                now = time.monotonic() - wall0
                if now >= next_report:
                    progress(now, counts)
                    next_report = now + 0.2

        end = None if duration_s is None else start + int(duration_s * speed * _SEC_NS)
        try:
            if backfill_hours > 0:
                for m in self._backfill(backfill_hours):
                    publish(m)
            wall0, next_report = time.monotonic(), 0.0  # the live window's clock starts now
            live = self._messages(start, end, start if backfill_hours > 0 else None)
            for m in live:
                wait = (m.t_ns - start) / _SEC_NS / speed - (time.monotonic() - wall0)
                if (
                    speed > 1
                    and not counts["caught_up_ns"]
                    and m.t_ns - time.time_ns() > max(wait, 0.0) * _SEC_NS
                ):
                    counts["caught_up_ns"] = now_ns = time.time_ns()
                    if notice is not None:
                        notice(
                            f"simulated time caught up with the clock at {_iso(now_ns)}; "
                            "going on in real time (speed 1)"
                        )
                if wait > 0:
                    time.sleep(wait)
                counts["sim_end_ns"] = m.t_ns
                publish(m)  # (waits for the clock once caught up)
            if end is not None:
                counts["sim_end_ns"] = end
        except KeyboardInterrupt:
            counts["interrupted"] = 1
        if progress is not None:
            progress(time.monotonic() - wall0, counts)
        return counts


def _typical_year_fn(fleet: Fleet, progress: Callable[[str, int, int], None] | None):
    return typical_year(fleet, progress)  # the name `typical_year` is a parameter above


# ---------------------------------------------------------------------------- CLI


def _parse_start(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    try:
        dt = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
    except ValueError:
        raise InputError(f"--start {value!r} is not an ISO 8601 time") from None
    if dt.tzinfo is None:
        raise InputError(f"--start {value!r} needs a UTC offset or Z")
    return int(dt.astimezone(UTC).timestamp() * 1000) * 1_000_000


def _default_client_id() -> str:
    host = "".join(c for c in socket.gethostname() if c.isalnum() or c in "-_")[:40]
    return f"roshanai-emulate-{host or 'local'}-{os.getpid()}"


def emulate_command(
    ctx: typer.Context,
    mqtt_url: Annotated[
        str | None,
        typer.Option(
            "--mqtt-url",
            help="Broker, mqtt://host:1883 or mqtts://host:8883 (env ROSHANAI_MQTT_URL).",
            show_default=False,
        ),
    ] = None,
    plants: Annotated[
        int | None,
        typer.Option(
            "--plants",
            min=1,
            help="Emulate N synthetic plants (default 100), or the first N of --fleet.",
            show_default=False,
        ),
    ] = None,
    fleet: Annotated[
        Path | None,
        typer.Option(
            "--fleet", help="Emulate this fleet file (env ROSHANAI_FLEET).", show_default=False
        ),
    ] = None,
    backfill_hours: Annotated[
        float,
        typer.Option(
            "--backfill-hours",
            min=0,
            help="First upload this many hours "
            "of readings as batches, as gateways back from a long cut.",
        ),
    ] = 0.0,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration",
            min=0,
            help="Run for S seconds (wall clock); default: until Ctrl-C.",
            show_default=False,
        ),
    ] = None,
    interval_s: Annotated[
        float,
        typer.Option("--interval", min=0.001, help="Seconds between two readings of a gateway."),
    ] = 60.0,
    speed: Annotated[
        float,
        typer.Option(
            "--speed",
            min=0.0001,
            help="Simulated seconds per second "
            "(3600: an hour a second). Above 1 the simulated clock starts in "
            "the past so that no reading is ever ahead of the wall clock: with "
            "--duration S it starts S × (speed − 1) seconds before now and "
            "reaches the clock at the end; without, it catches up after about "
            "10 minutes and goes on in real time.",
        ),
    ] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same fleet and messages.")] = 0,
    bad_rate: Annotated[
        float,
        typer.Option(
            "--bad-rate",
            min=0.0,
            max=1.0,
            help="Fraction of readings "
            "replaced by bad payloads (malformed, NaN, out of range, ...).",
        ),
    ] = 0.0,
    fleet_out: Annotated[
        Path | None,
        typer.Option(
            "--fleet-out",
            help="Write the emulated fleet here (start the bridge with --fleet FILE).",
            show_default=False,
        ),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(
            "--client-id",
            help="MQTT client id of the emulator "
            "(default: the account's username, else "
            "roshanai-emulate-<host>-<pid>; never the bridge's).",
            show_default=False,
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="Simulated start time, ISO 8601 with offset "
            "(default: now, or earlier at --speed above 1); refused if "
            "the simulated clock would pass the wall clock.",
            show_default=False,
        ),
    ] = None,
    max_message_kb: Annotated[
        float,
        typer.Option(
            "--max-message-kb",
            min=MIN_MESSAGE_BYTES / 1024,
            help="Largest message payload published [KiB]: longer uploads "
            "(backfill, buffers after a power cut) are split into several "
            f"batches, each at most {MAX_BATCH_READINGS} readings.",
        ),
    ] = MAX_MESSAGE_BYTES / 1024,
    credentials: Annotated[
        Path | None,
        typer.Option(
            "--credentials",
            help="credentials.csv of `roshanai deploy "
            "mosquitto`: each plant of --fleet connects with its own "
            "account (a production broker lets an account speak only for "
            "its plant).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Publish realistic telemetry from emulated gateways, for demos and load tests.

    Power from the simulator, growing energy counters, power cuts with batch uploads, faults.
    No reading is ever published ahead of the wall clock, and no message is longer than
    --max-message-kb (64 KiB).
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from firmware_bridge.mqtt import MqttLink
    from firmware_bridge.plant_links import PlantLinks, read_plant_passwords
    from telemetry.registry import read_fleet
    from telemetry.settings import command_settings

    s = command_settings(ctx, mqtt_url=mqtt_url, fleet=None if fleet is None else str(fleet))
    start_ns = _parse_start(start)
    # Checked now, before the fleet is simulated; run() picks a default start when it begins.
    plan_start_ns(start_ns, duration, speed, backfill_hours, what="--start")
    if s.fleet:
        fl = read_fleet(s.fleet)
        if plants is not None:
            if plants > len(fl):
                raise InputError(
                    f"--plants {plants}: the fleet {fl.source} has only {len(fl)} plants"
                )
            fl = fl.subset(0, plants)
    else:
        fl = synthetic_fleet(100 if plants is None else plants, seed)
    if fleet_out is not None:
        write_fleet(fl, fleet_out)
    out = Console(highlight=False, soft_wrap=True)  # the summary stays one line
    err = Console(stderr=True, highlight=False)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        tasks: dict[str, Any] = {}

        def prepare(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                name = "weather cells" if stage == "weather" else "simulating plants"
                tasks[stage] = bar.add_task(name, total=total)
            bar.update(tasks[stage], completed=done)

        emu = Emulator(
            fl,
            seed=seed,
            interval_s=interval_s,
            bad_rate=bad_rate,
            start_ns=start_ns,
            max_message_bytes=int(max_message_kb * 1024),
            progress=prepare,
        )
    link: MqttLink | PlantLinks
    if credentials is not None:
        if not s.fleet:
            raise InputError("--credentials needs --fleet: the plants the accounts were made for")
        link = PlantLinks(
            s.mqtt_url,
            read_plant_passwords(credentials, fl.plant_ids),
            ca_file=s.mqtt_ca_file,
            cert_file=s.mqtt_cert_file,
            key_file=s.mqtt_key_file,
        )
    else:
        # With an account, the client id is its username: a production broker binds the two.
        link = MqttLink(
            s.mqtt_url,
            client_id or s.mqtt_username or _default_client_id(),
            username=s.mqtt_username,
            password=s.mqtt_password,
            ca_file=s.mqtt_ca_file,
            cert_file=s.mqtt_cert_file,
            key_file=s.mqtt_key_file,
            clean_start=True,
            max_pending_publishes=20,
        )
    link.start()
    try:
        with Progress(
            TextColumn("[bold]publishing"),
            BarColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task("publishing", total=duration, info="")

            def show(wall_s: float, c: dict[str, int]) -> None:
                bar.update(task, completed=wall_s, info=f"{c['messages']:,} messages")

            counts = emu.run(
                link,
                duration,
                speed=speed,
                backfill_hours=backfill_hours,
                progress=show,
                notice=lambda line: err.print(line, soft_wrap=True),
            )
    finally:
        link.stop(timeout_s=30)
    span = [
        datetime.fromtimestamp(counts[k] / 1e9, UTC).strftime("%Y-%m-%d %H:%M")
        for k in ("sim_start_ns", "sim_end_ns")
    ]
    # messages = live readings + batches + bad payloads; readings = live + in batches.
    out.print(
        f"published {counts['messages']:,} messages to {s.mqtt_url}: "
        f"{counts['readings']:,} readings ({counts['live_readings']:,} live, "
        f"{counts['batch_readings']:,} in {counts['batches']:,} batches), "
        f"{counts['bad']:,} bad payloads, largest {counts['max_message_bytes'] / 1024:.1f} KiB, "
        f"from {counts['plants']:,} plants ({fl.source}), simulated {span[0]} to {span[1]} UTC"
        + (" (interrupted)" if counts["interrupted"] else "")
    )
