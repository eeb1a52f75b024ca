"""Offline generator: a fleet's telemetry as the bridge would store it, with faults and truth.

For the detection benchmark (≥ 1,000 plants × 14 days) the readings are made as one table,
without MQTT, vectorised over plants and times:

1. **Weather**: a *sampled* year of the climate default (grey days, day-to-day change), one per
   0.5° cell (:func:`simulate.fleet.default_fleet_weather` with ``sample``): plants of a cell
   share a sky. The run's dates take the sampled year's days by UTC day of year (29 February
   repeats 28 February).
2. **DC power**: the simulator's model chain (:func:`simulate.fleet.run_fleet`, hourly, at hour
   midpoints) run on an inverter large enough never to clip, inverted through the PVWatts
   inverter to the DC power; linearly interpolated to the reading times (0 beside an hour
   without power, as the live emulator), times a per-plant factor within ±1.5 %
   (:data:`PLANT_SPREAD`: module tolerance and wiring, so that peers differ).
3. **Faults** (:mod:`firmware_bridge.emulator.faults`) act on the DC (soiling, shading, a dead
   string) or the inverter (a trip), then **AC** is the PVWatts inverter of the plant — the
   simulator's, clipping included — so a DC loss in a clipped hour costs less AC.
4. **Cuts** (:mod:`simulate.outages`): a grid-tied plant is off and its gateway silent (home
   internet down): no row; a hybrid plant's gateway stays up and its AC is capped at the
   household's ``essential_load_w`` (battery charging not modelled).
5. **Counter**: ``energy_total_wh`` is the lifetime counter, the trapezoid integral of the
   true AC power between readings (whole watt-hours, never backwards); it advances through
   gaps (offline, comms loss), stays flat through cuts and trips.
6. **Readings**: the reported AC and DC powers carry a measurement noise within ±1 %
   (:data:`READING_NOISE`), the counter none.

The truth's ``lost_kwh_per_day`` of a fault is measured: the plant's energy over the run with
no fault minus with that fault alone (other faults left out), divided by the local days on
which the fault was active (each weighted by the share of its fault-free energy within the
fault's window), so that a three-hour trip costs its day's rate, not a third of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from firmware_bridge.emulator import streams as rs
from firmware_bridge.emulator.cuts import template_day
from firmware_bridge.emulator.faults import Fault, _utc, truth_finding
from simulate.outages import Schedule
from telemetry.errors import InputError
from telemetry.registry import Fleet

__all__ = [
    "PLANT_SPREAD",
    "READING_COLUMNS",
    "READING_NOISE",
    "SPECIFIC_YIELD_KWH_PER_KWP_YEAR",
    "EmulatedTelemetry",
    "emulated_readings",
    "run_schedule",
]

PLANT_SPREAD = 0.015
"""Each plant's DC is its simulated DC times a constant factor within ±this (uniform): module
power tolerance (typically 0/+3 % or ±3 % on datasheets) and wiring, halved for the tighter
spread of one installer's plants. An assumption chosen so that peers are not identical. [-]"""
READING_NOISE = 0.01
"""Reported powers are the true ones times a factor within ±this (uniform, independent per
reading and field): inverter metering is specified within 1–3 %; ±1 % keeps peers comparable.
An assumption. [-]"""
SPECIFIC_YIELD_KWH_PER_KWP_YEAR = 1700.0
"""Lifetime counter before the run: the years since installation times this yield times
``dc_kwp`` (a plausible start; Iran's rooftop yields are about 1,500–1,900 kWh/kWp a year by the
climate default). [kWh/kWp/year]"""
READING_COLUMNS = (
    "time",
    "plant_id",
    "ac_power_w",
    "energy_total_wh",
    "dc1_power_w",
    "dc2_power_w",
    "alarm_code",
    "stored_at",
)
"""Columns of :attr:`EmulatedTelemetry.readings`, in order."""

_SEC_NS = 1_000_000_000
_HOUR_NS = 3600 * _SEC_NS
_HALF_NS = _HOUR_NS // 2
_DAY_NS = 24 * _HOUR_NS
_MAX_CELLS = 60_000_000  # plants × readings held in memory at once
_K_INV = 0.96 / 0.9637  # pvlib.inverter.pvwatts: eta_inv_nom / eta_inv_ref
_ETA_NOM = 0.96
_DEFAULT_LOAD_W = 500.0  # hybrid plants without essential_load_w during a cut [W]
_CUT_ZONES = 4  # scenario groups, as the live emulator's default (--zones 4)
_S_SPREAD, _S_N_AC, _S_N_DC1, _S_N_DC2 = 81, 82, 83, 84


@dataclass
class EmulatedTelemetry:
    """Telemetry of an emulated run, and what was injected into it.

    Attributes
    ----------
    readings : pandas.DataFrame
        One row per reading as the bridge stores it in measurement ``inverter``
        (:data:`READING_COLUMNS`): ``time`` (UTC, the device ts), ``plant_id``,
        ``ac_power_w`` [W], ``energy_total_wh`` (lifetime counter) [Wh], ``dc1_power_w``,
        ``dc2_power_w`` [W] (``dc2`` NaN on a one-input plant), ``alarm_code`` (0 = none),
        ``stored_at`` (UTC: when it reaches InfluxDB; = ``time`` except a comms loss's
        backfill, which arrives at the loss's end). No rows while a cut silences a grid-tied
        plant or a gateway is offline. Sorted by plant (fleet order), then time.
    truth : pandas.DataFrame
        The injected faults: ``plant_id``, ``kind``, ``start``, ``end`` (UTC; NaT: to the end
        of the run), ``severity``, ``hours`` (``H0-H1`` or empty), ``alarm_code`` (0 = none),
        ``finding`` (what issue 17's definitions call it, :func:`~firmware_bridge.emulator.
        faults.truth_finding`: a dead gateway that comes back within the run is
        ``comms_loss``), ``lost_kwh_per_day`` [kWh/day] (the true mean daily energy it cost
        while active, against the same run without it: ``lost_kwh / active_days``),
        ``lost_kwh`` [kWh] and
        ``active_days`` [day] (the local days of its window within the run, each weighted by
        the share of its fault-free energy produced within the window: a whole day counts 1,
        a stretch at night 0).
    schedule : simulate.outages.Schedule
        The cuts applied within the run; zones are the plants' labels of :attr:`cut_zone`
        (their ``outage_zone``, or the scenario group when it is empty), so
        ``simulate.outages.plant_zone_index(schedule, cut_zone)`` finds each plant's cuts.
    expected_ac_power_w : pandas.DataFrame or None
        Same index as ``readings``: ``ac_power_w`` as it would have been reported without
        any fault (same noise) [W] and ``energy_total_wh`` the fault-free counter [Wh].
    cut_zone : pandas.Series
        Plant id → its zone label in :attr:`schedule` ('' without cuts).
    faults : tuple of Fault
        The faults injected (the rows of :attr:`truth`).
    weather_source : str
    """

    readings: pd.DataFrame
    truth: pd.DataFrame
    schedule: Schedule
    expected_ac_power_w: pd.DataFrame | None = None
    cut_zone: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))
    faults: tuple[Fault, ...] = ()
    weather_source: str = ""

    def lost_kwh_per_day(self) -> dict[Fault, float]:
        """Fault → its true mean daily loss while active (for :func:`write_faults`). [kWh/day]"""
        lost = self.truth["lost_kwh_per_day"].to_numpy(float)
        return {f: float(x) for f, x in zip(self.faults, lost, strict=True)}


# ---------------------------------------------------------------------------- inverter


def pvwatts_ac_w(dc_w: np.ndarray, pdc0_w: np.ndarray) -> np.ndarray:
    """PVWatts inverter AC power (pvlib.inverter.pvwatts, eta_inv_nom 0.96), vectorised.

    Parameters
    ----------
    dc_w : numpy.ndarray
        DC power. [W]
    pdc0_w : numpy.ndarray
        The inverter's DC rating, ``ac_kw × 1000 / 0.96`` (broadcast against ``dc_w``). [W]

    Returns
    -------
    numpy.ndarray
        AC power, in [0, 0.96 × pdc0]. [W]
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        zeta = dc_w / pdc0_w
        ac = _K_INV * (-0.0162 * zeta - 0.0059 / np.where(zeta > 0, zeta, 1.0) + 0.9858) * dc_w
    return np.where(dc_w > 0, np.clip(ac, 0.0, _ETA_NOM * pdc0_w), 0.0)


def pvwatts_dc_w(ac_w: np.ndarray, pdc0_w: np.ndarray) -> np.ndarray:
    """The DC power an unclipped PVWatts inverter turns into ``ac_w`` (:func:`pvwatts_ac_w`'s
    inverse below clipping; 0 for no AC). [W]"""
    r = np.maximum(ac_w, 0.0) / (_K_INV * pdc0_w)
    disc = np.maximum(0.9858**2 - 4 * 0.0162 * (0.0059 + r), 0.0)
    zeta = (0.9858 - np.sqrt(disc)) / (2 * 0.0162)
    return np.where(ac_w > 0, zeta * pdc0_w, 0.0)


# ---------------------------------------------------------------------------- weather → DC


def _hourly_dc_w(
    fleet: Fleet, hour_starts_ns: np.ndarray, sample: int | None, timezone: str
) -> tuple[np.ndarray, str]:
    """(n_plants, n_hours) DC power of hours [h, h+1) (sampled year by day of year) [W]."""
    from simulate.fleet import default_fleet_weather, run_fleet
    from simulate.weather import Weather

    weather, index = default_fleet_weather(fleet, sample=sample)
    if len(weather.data) != 8760:
        raise InputError(f"the generated year has {len(weather.data)} hours, expected 8760")
    tday, pos = template_day(hour_starts_ns)
    rows = tday * 24 + (pos // 2).astype(np.int64)
    data = weather.data.iloc[rows].copy()
    data.index = pd.DatetimeIndex((hour_starts_ns + _HOUR_NS).astype("datetime64[ns]"), tz="UTC")
    sub = Weather(data=data, source=weather.source, step_hours=1.0, estimate=True)
    p = fleet.plants
    # An inverter that never clips (1.3 × the DC rating), so that its AC gives back the DC.
    big_kw = np.maximum(p["ac_kw"].to_numpy(float), 1.3 * p["dc_kwp"].to_numpy(float))
    big = Fleet(p.assign(ac_kw=big_kw), fleet.source)
    run = run_fleet(big, sub, hourly=True, weather_index=index, timezone=timezone)
    assert run.ac_power_w is not None
    pdc0 = big_kw * 1000 / _ETA_NOM
    ac = np.clip(run.ac_power_w, 0.0, None)
    if (ac >= 0.999 * _ETA_NOM * pdc0[:, None]).any():
        raise InputError("a plant's DC power exceeds 1.3 × its DC rating: check dc_kwp")
    return pvwatts_dc_w(ac, pdc0[:, None]), weather.source


def _grid_at(hourly: np.ndarray, x_half: np.ndarray) -> np.ndarray:
    """Hourly means (at hour midpoints) → values at times ``x_half`` [half hours since the first
    hour's start]: linear between midpoints and boundaries, a boundary the mean of its two
    hours or 0 beside an hour without power (so none at night)."""
    n, h = hourly.shape
    grid = np.zeros((n, 2 * h + 1))
    grid[:, 1::2] = hourly
    before, after = hourly[:, :-1], hourly[:, 1:]
    grid[:, 2:-1:2] = np.where((before > 0) & (after > 0), 0.5 * (before + after), 0.0)
    j = np.minimum(np.floor(x_half).astype(np.int64), 2 * h - 1)
    f = x_half - j
    return grid[:, j] * (1.0 - f) + grid[:, j + 1] * f


# ---------------------------------------------------------------------------- cuts


def run_schedule(
    fleet: Fleet,
    start_ns: int,
    end_ns: int,
    cuts: bool | str | Schedule,
    *,
    seed: int,
    timezone: str,
) -> tuple[Schedule, np.ndarray, np.ndarray]:
    """The cuts of a run and each plant's zone.

    Parameters
    ----------
    fleet : telemetry.registry.Fleet
    start_ns, end_ns : int
        The run. [ns since the epoch, UTC]
    cuts : bool, str or simulate.outages.Schedule
        True: the calendars as they happened (``summer-2025`` and ``winter-2024`` by month and
        day on the run's years: the run's dates pick the season); ``'generic'``: the generic
        ``summer`` and ``winter``; a scenario name: that one alone; False: none; a Schedule:
        those cuts, matched to ``outage_zone`` (:func:`simulate.outages.plant_zone_index`).
        Scenarios have :data:`_CUT_ZONES` groups; plants join them by
        :func:`simulate.outages.assign_groups`, as in the live emulator.
    seed : int
    timezone : str
        [IANA name]

    Returns
    -------
    (Schedule, numpy.ndarray, numpy.ndarray)
        The cuts overlapping the run (zones relabelled to the plants' labels), each plant's
        zone label (object), and each plant's row in the schedule's ``zones`` (-1: no cuts).
    """
    from simulate.outages import SCENARIOS, plant_zone_index, scenario_schedule

    p = fleet.plants
    ids = p["plant_id"].astype(str).tolist()
    outage_zone = p["outage_zone"].fillna("").astype(str).tolist()
    empty = np.zeros(0, dtype=np.int64)
    if cuts is False or cuts is None:
        none = Schedule(empty, empty, np.zeros(0, dtype=object), True, "no cuts")
        return none, np.full(len(ids), "", dtype=object), np.full(len(ids), -1, dtype=np.int64)
    if isinstance(cuts, Schedule):
        keep = (cuts.start_ns < end_ns) & (cuts.end_ns > start_ns)
        sched = Schedule(
            cuts.start_ns[keep],
            cuts.end_ns[keep],
            cuts.zone[keep],
            cuts.zoned,
            cuts.source,
            None if cuts.announced is None else cuts.announced[keep],
        )
        labels = np.array(outage_zone if cuts.zoned else [""] * len(ids), dtype=object)
        return sched, labels, plant_zone_index(sched, labels)
    if cuts is True:
        kinds: tuple[str, ...] = ("summer-2025", "winter-2024")
    elif cuts == "generic":
        kinds = ("summer", "winter")
    elif isinstance(cuts, str) and cuts in SCENARIOS:
        kinds = (cuts,)
    else:
        raise InputError(
            f"cuts must be true, false, 'generic' or one of {', '.join(SCENARIOS)}, not {cuts!r}"
        )
    local = pd.DatetimeIndex(np.array([start_ns, end_ns], dtype="datetime64[ns]"), tz="UTC")
    years = range(local.tz_convert(timezone).year.min(), local.tz_convert(timezone).year.max() + 1)
    parts = [
        scenario_schedule(k, year=y, zones=_CUT_ZONES, seed=seed, timezone=timezone)
        for y in years
        for k in kinds
    ]
    s = np.concatenate([x.start_ns for x in parts])
    e = np.concatenate([x.end_ns for x in parts])
    z = np.concatenate([x.zone for x in parts])
    said = np.concatenate(
        [np.ones(len(x), dtype=bool) if x.announced is None else x.announced for x in parts]
    )
    keep = (s < end_ns) & (e > start_ns)
    s, e, z, said = s[keep], e[keep], z[keep], said[keep]
    by_group = Schedule(s, e, z, True, "", None if said.all() else said)
    sched, labels = by_group.on_plant_zones(
        outage_zone,
        ids,
        groups=[f"G{g + 1}" for g in range(_CUT_ZONES)],
        source=f"{' and '.join(kinds)} scenarios ({_CUT_ZONES} zone groups, seed {seed}) "
        "on the plants' outage zones",
    )
    return sched, labels, plant_zone_index(sched, labels)


def _cut_mask(sched: Schedule, zone_row: np.ndarray, times_ns: np.ndarray) -> np.ndarray:
    """(n_plants, n_times) whether each plant's zone is cut at each time."""
    n_z = len(sched.zones) if len(sched) else 0
    zone_cut = np.zeros((n_z + 1, len(times_ns)), dtype=bool)  # last row: no cuts
    if len(sched):
        row = {zz: i for i, zz in enumerate(sched.zones)}
        zi = np.array([row[zz] for zz in sched.zone], dtype=np.int64)
        diff = np.zeros((n_z, len(times_ns) + 1), dtype=np.int64)
        np.add.at(diff, (zi, np.searchsorted(times_ns, sched.start_ns, side="left")), 1)
        np.add.at(diff, (zi, np.searchsorted(times_ns, sched.end_ns, side="left")), -1)
        zone_cut[:n_z] = np.cumsum(diff, axis=1)[:, :-1] > 0
    return zone_cut[np.where(zone_row >= 0, zone_row, n_z)]


# ---------------------------------------------------------------------------- faults


@dataclass
class _Effects:
    """What faults do to some plants' rows over the run's times."""

    dc_factor: np.ndarray  # (m, T) soiling and shading: DC kept [0–1]
    string_loss: np.ndarray  # (m, T) share of DC lost to a dead input [0–1]
    trip: np.ndarray  # (m, T) bool, inverter tripped
    code: np.ndarray  # (m, T) int alarm code of the trip
    absent: np.ndarray  # (m, T) bool, gateway offline (nothing arrives)
    arrive_ns: np.ndarray  # (m, T) int64 when the reading arrives (-1: as read; -2: never)

    @classmethod
    def none(cls, m: int, t: int) -> _Effects:
        return cls(
            np.ones((m, t)),
            np.zeros((m, t)),
            np.zeros((m, t), dtype=bool),
            np.zeros((m, t), dtype=np.int64),
            np.zeros((m, t), dtype=bool),
            np.full((m, t), -1, dtype=np.int64),
        )

    def add(self, r: int, f: Fault, times_ns: np.ndarray, local_hour: np.ndarray) -> np.ndarray:
        """Apply fault ``f`` to row ``r``; returns the times it is active (bool)."""
        a = int(f.start.value)
        b = np.iinfo(np.int64).max if f.end is None else int(f.end.value)
        on = (times_ns >= a) & (times_ns < b)
        if f.kind == "soiling":
            days = (times_ns - a) / _DAY_NS
            self.dc_factor[r] *= np.where(on, 1.0 - np.minimum(f.severity * days, 1.0), 1.0)
        elif f.kind == "shading":
            assert f.hours is not None
            h0, h1 = f.hours
            on &= (local_hour >= h0) & (local_hour < h1)
            self.dc_factor[r] *= np.where(on, 1.0 - f.severity, 1.0)
        elif f.kind == "string_fault":
            self.string_loss[r] = np.where(
                on, np.maximum(self.string_loss[r], f.severity), self.string_loss[r]
            )
        elif f.kind == "inverter_fault":
            self.trip[r] |= on
            self.code[r] = np.where(on, f.alarm_code or 101, self.code[r])
        elif f.kind == "offline":
            self.absent[r] |= on
        else:  # comms_loss: buffered, uploaded at its end (never without one)
            self.arrive_ns[r] = np.where(on, -2 if f.end is None else b, self.arrive_ns[r])
        return on


def _power(
    dc_pre: np.ndarray,
    fx: _Effects,
    cut: np.ndarray,
    hybrid: np.ndarray,
    load_w: np.ndarray,
    pdc0_w: np.ndarray,
    two_inputs: np.ndarray,
    share: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(AC, DC input 1, DC input 2) of rows with effects ``fx`` [W]; per-row arrays (m,)."""
    dc_arr = dc_pre * fx.dc_factor
    lost = dc_arr * fx.string_loss
    dc = np.where(fx.trip, 0.0, dc_arr - lost)
    ac = pvwatts_ac_w(dc, pdc0_w[:, None])
    grid_tied_cut = cut & ~hybrid[:, None]
    cap = np.where(cut & hybrid[:, None], load_w[:, None], np.inf)
    capped = np.minimum(ac, cap)
    with np.errstate(divide="ignore", invalid="ignore"):
        curtail = np.where(ac > 0, capped / ac, 1.0)  # a hybrid in a cut curtails its DC
    ac = np.where(grid_tied_cut, 0.0, capped)
    dc = np.where(grid_tied_cut, 0.0, dc * curtail)
    # The lost DC comes off the last input first (a dead string there).
    dc2_free = dc_arr * (1.0 - share[:, None])
    dc2 = np.where(fx.trip, 0.0, np.maximum(dc2_free - lost, 0.0)) * curtail
    dc2 = np.where(grid_tied_cut, 0.0, dc2)
    dc1 = np.where(two_inputs[:, None], dc - dc2, dc)
    dc2 = np.where(two_inputs[:, None], dc2, np.nan)
    return ac, dc1, dc2


def _active_days(
    ac_free_w: np.ndarray, f: Fault, times_ns: np.ndarray, day_of: np.ndarray
) -> float:
    """Local days of the fault's window within the run, each weighted by the share of its
    fault-free energy produced within the window (a stretch at night counts 0). [day]"""
    a = int(f.start.value)
    b = np.iinfo(np.int64).max if f.end is None else int(f.end.value)
    step_wh = np.zeros_like(ac_free_w)
    step_wh[:-1] = 0.5 * (ac_free_w[:-1] + ac_free_w[1:])  # the step after each reading
    inside = (times_ns >= a) & (times_ns < b)
    total = np.bincount(day_of, weights=step_wh)
    within = np.bincount(day_of, weights=step_wh * inside)
    return float(np.divide(within, total, out=np.zeros_like(total), where=total > 0).sum())


def _energy_wh(ac_w: np.ndarray, step_h: float) -> np.ndarray:
    """(m, T) trapezoid integral of power from the first reading. [Wh]"""
    out = np.zeros_like(ac_w)
    np.cumsum(0.5 * (ac_w[:, :-1] + ac_w[:, 1:]) * step_h, axis=1, out=out[:, 1:])
    return out


# ---------------------------------------------------------------------------- the generator


def emulated_readings(
    fleet: Fleet,
    start: Any,
    end: Any,
    *,
    step_s: float = 300,
    faults: Sequence[Fault] = (),
    cuts: bool | str | Schedule = True,
    seed: int = 0,
    timezone: str = "Asia/Tehran",
    sample: int | None = 0,
) -> EmulatedTelemetry:
    """A fleet's telemetry over ``[start, end)`` with faults injected, and the truth.

    Parameters
    ----------
    fleet : telemetry.registry.Fleet
    start, end : pandas.Timestamp or str
        The run (tz-aware, or ISO 8601 with offset); readings at whole multiples of ``step_s``
        from 00:00 UTC.
    step_s : float
        Reading interval, dividing an hour (60 … 3600). [s]
    faults : sequence of Fault
        Faults to inject (:func:`~firmware_bridge.emulator.faults.read_faults`,
        :func:`~firmware_bridge.emulator.faults.random_faults`); their plants must be in the
        fleet.
    cuts : bool, str or simulate.outages.Schedule
        The power cuts (see :func:`run_schedule`); default the calendars as they happened.
    seed : int
        Cuts, plant spread, wiring, noise: same seed, same table.
    timezone : str
        Local clock of cuts and shading hours. [IANA name]
    sample : int or None
        Sampled year of the climate default (None: the typical year, no day-to-day change).

    Returns
    -------
    EmulatedTelemetry

    Raises
    ------
    telemetry.errors.InputError
        A bad period or step, a fault of a plant not in the fleet, a run too large to hold.
    """
    from firmware_bridge.emulator.payloads import PlantConstants

    t0, t1 = _utc(start, "start"), _utc(end, "end")
    step_ns = round(float(step_s) * _SEC_NS)
    if not (60 * _SEC_NS <= step_ns <= _HOUR_NS and _HOUR_NS % step_ns == 0):
        raise InputError(f"step_s must divide an hour and be 60–3600 s, not {step_s}")
    a_ns = -(-int(t0.value) // step_ns) * step_ns
    times = np.arange(a_ns, int(t1.value), step_ns, dtype=np.int64)
    n, T = len(fleet), len(times)
    if T == 0:
        raise InputError(f"no reading time between {t0} and {t1}")
    if n * T > _MAX_CELLS:
        raise InputError(
            f"{n} plants × {T} readings is more than {_MAX_CELLS:,} at once: split the fleet"
        )
    p = fleet.plants
    ids = p["plant_id"].astype(str).to_numpy(dtype=object)
    row_of = {pid: i for i, pid in enumerate(ids.tolist())}
    unknown = sorted({f.plant_id for f in faults} - set(row_of))
    if unknown:
        raise InputError(f"fault of plant {unknown[0]!r}, which is not in the fleet {fleet.source}")

    # DC before faults, at the reading times.
    h_first = (a_ns // _HOUR_NS - 1) * _HOUR_NS
    h_last = (int(times[-1]) // _HOUR_NS + 2) * _HOUR_NS
    hour_starts = np.arange(h_first, h_last, _HOUR_NS, dtype=np.int64)
    hourly_dc, source = _hourly_dc_w(fleet, hour_starts, sample, timezone)
    consts = PlantConstants.draw(seed, ids.tolist(), step_ns)
    spread = 1.0 + PLANT_SPREAD * (2.0 * rs.uniform(seed, consts.key, _S_SPREAD) - 1.0)
    dc_pre = _grid_at(hourly_dc, (times - h_first) / _HALF_NS) * spread[:, None]

    pdc0 = p["ac_kw"].to_numpy(float) * 1000 / _ETA_NOM
    hybrid = (p["inverter_type"] == "hybrid").to_numpy()
    load_w = p["essential_load_w"].fillna(_DEFAULT_LOAD_W).to_numpy(float)
    two = consts.n_strings == 2
    share = np.where(two, consts.share, 1.0)
    sched, labels, zone_row = run_schedule(
        fleet, int(times[0]), int(times[-1]) + step_ns, cuts, seed=seed, timezone=timezone
    )
    cut = _cut_mask(sched, zone_row, times)
    local = pd.DatetimeIndex(times.astype("datetime64[ns]"), tz="UTC").tz_convert(timezone)
    local_hour = local.hour.to_numpy()
    _, day_of = np.unique(local.tz_localize(None).normalize().asi8, return_inverse=True)
    step_h = step_ns / _HOUR_NS

    def rows_power(rows: np.ndarray, fx: _Effects) -> tuple[np.ndarray, ...]:
        return _power(
            dc_pre[rows], fx, cut[rows], hybrid[rows], load_w[rows], pdc0[rows], two[rows],
            share[rows],
        )  # fmt: skip

    everyone = np.arange(n)
    fx_all = _Effects.none(n, T)
    for f in faults:
        fx_all.add(row_of[f.plant_id], f, times, local_hour)
    ac, dc1, dc2 = rows_power(everyone, fx_all)
    ac_free, _, _ = rows_power(everyone, _Effects.none(n, T)) if faults else (ac, dc1, dc2)

    # Lifetime counters.
    years = np.maximum(int(times[0]) - consts.install_ns, 0) / (365.25 * _DAY_NS)
    init_wh = consts.init_wh + np.floor(
        SPECIFIC_YIELD_KWH_PER_KWP_YEAR * 1000 * p["dc_kwp"].to_numpy(float) * years
    ).astype(np.int64)
    e_run = _energy_wh(ac, step_h)
    e_free = _energy_wh(ac_free, step_h) if faults else e_run
    counter = init_wh[:, None] + np.floor(e_run).astype(np.int64)

    # Truth: each fault alone against no fault.
    truth_rows = []
    for f in faults:
        r = row_of[f.plant_id]
        one = _Effects.none(1, T)
        one.add(0, f, times, local_hour)
        only, _, _ = rows_power(np.array([r]), one)
        lost_kwh = float(e_free[r, -1] - _energy_wh(only, step_h)[0, -1]) / 1000.0
        days = _active_days(ac_free[r], f, times, day_of)
        truth_rows.append(
            {
                "plant_id": f.plant_id,
                "kind": f.kind,
                "start": f.start,
                "end": pd.NaT if f.end is None else f.end,
                "severity": f.severity,
                "hours": "" if f.hours is None else f"{f.hours[0]}-{f.hours[1]}",
                "alarm_code": 0 if f.kind != "inverter_fault" else (f.alarm_code or 101),
                "finding": truth_finding(f, t1),
                "lost_kwh_per_day": lost_kwh / days if days > 0 else 0.0,
                "lost_kwh": lost_kwh,
                "active_days": days,
            }
        )
    truth = pd.DataFrame(
        truth_rows,
        columns=[
            "plant_id", "kind", "start", "end", "severity", "hours", "alarm_code", "finding",
            "lost_kwh_per_day", "lost_kwh", "active_days",
        ],
    )  # fmt: skip
    for c in ("start", "end"):
        truth[c] = pd.to_datetime(truth[c], utc=True)
    truth["alarm_code"] = truth["alarm_code"].astype(np.int64)

    # What reaches the database.
    def noisy(x: np.ndarray, stream: int) -> np.ndarray:
        u = rs.uniform(seed, consts.key[:, None], stream, (times // step_ns)[None, :])
        return x * (1.0 + READING_NOISE * (2.0 * u - 1.0))

    rating = (p["ac_kw"].to_numpy(float) * 1000)[:, None]
    sun = dc_pre > 0
    present = ~fx_all.absent & ~(cut & ~hybrid[:, None]) & (fx_all.arrive_ns != -2)
    keep = present.ravel()
    idx = np.flatnonzero(keep)
    pi, ti = np.divmod(idx, T)

    def flat(x: np.ndarray) -> np.ndarray:
        return x.ravel()[idx]

    def power_col(x: np.ndarray, stream: int) -> np.ndarray:
        y = np.round(np.minimum(noisy(x, stream), rating), 1)
        return np.where(y < 1.0, 0.0, y)

    t_col = times[ti]
    arrive = flat(fx_all.arrive_ns)
    stored = np.where(arrive >= 0, arrive, t_col)

    def utc_col(ns: np.ndarray) -> pd.Series:
        return pd.Series(pd.DatetimeIndex(ns.astype("datetime64[ns]"), tz="UTC"))

    readings = pd.DataFrame(
        {
            "time": utc_col(t_col),
            "plant_id": ids[pi],
            "ac_power_w": flat(power_col(ac, _S_N_AC)),
            "energy_total_wh": flat(counter),
            "dc1_power_w": flat(np.where(np.isnan(dc1), np.nan, power_col(dc1, _S_N_DC1))),
            "dc2_power_w": flat(np.where(np.isnan(dc2), np.nan, power_col(dc2, _S_N_DC2))),
            "alarm_code": flat(np.where(fx_all.trip & sun, fx_all.code, 0)).astype(np.int64),
            "stored_at": utc_col(stored),
        }
    )
    expected = pd.DataFrame(
        {
            "ac_power_w": flat(power_col(ac_free, _S_N_AC)),
            "energy_total_wh": flat(init_wh[:, None] + np.floor(e_free).astype(np.int64)),
        },
        index=readings.index,
    )
    return EmulatedTelemetry(
        readings=readings,
        truth=truth,
        schedule=sched,
        expected_ac_power_w=expected,
        cut_zone=pd.Series(labels, index=pd.Index(ids, name="plant_id"), name="zone"),
        faults=tuple(faults),
        weather_source=source,
    )
