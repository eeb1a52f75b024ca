"""Power and energy counters of emulated plants: the simulator's typical year, clouds, cuts, faults.

AC power is the simulator's typical-year hourly power of the plant (the embedded climatology,
:func:`simulate.fleet.run_fleet`), linearly interpolated between hour midpoints (0 beside an hour
without power, so none at night), scaled by a seeded daily cloudiness factor ≤ 1, and capped per
half-hour segment: at the rating; at 0 during a fault and, for a grid-tied plant, during a power
cut; at the household's essential load during a cut for a hybrid plant (its own load profile,
:meth:`simulate.load.PlantLoads.cut_load_w`, at the local month and hour).

``energy_total_wh`` is the exact integral of that power since the plant's installation (whole
watt-hours per template day, summed in integers, so it never goes backwards); the template year
repeats every year (:mod:`firmware_bridge.emulator.cuts`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from firmware_bridge.emulator import streams as rs
from firmware_bridge.emulator.cuts import (
    DAY_NS,
    DAYS,
    SEGS,
    CutCalendar,
    template_day,
    utc_calendar,
)
from telemetry.errors import InputError
from telemetry.registry import Fleet

if TYPE_CHECKING:
    from firmware_bridge.emulator.faults import Fault

__all__ = [
    "FAULT_CODES",
    "HOURS",
    "DayTable",
    "InjectedFaults",
    "PlantEnergy",
    "TypicalYear",
    "typical_year",
]

HOURS = 8760
FAULT_CODES = (101, 202, 301, 404, 505)
"""Alarm codes of emulated faults: grid overvoltage, isolation resistance, over-temperature,
DC arc, fan failure."""
#: Hours of each template day and one either side (wrapping round the year), (365, 26).
_DAY_HOURS = (np.arange(DAYS)[:, None] * 24 + np.arange(-1, 25)[None, :]) % HOURS
_REF_YEAR = 2000  # counters are integrated from here (a closed form; any fixed year would do)


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
    if len(weather.data) != HOURS:
        raise InputError(f"the typical year has {len(weather.data)} hours, expected {HOURS}")
    n = len(fleet)
    power = np.empty((n, HOURS), dtype=np.float32)
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


# ---------------------------------------------------------------------------- segment energy


def area_wh(a: np.ndarray, b: np.ndarray, cap: np.ndarray, f: np.ndarray | float) -> np.ndarray:
    """Energy of power rising linearly from ``a`` to ``b`` [W] over a half hour, capped at
    ``cap`` [W], over the first fraction ``f`` of the half hour. [Wh]"""
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


def segment_wh(a: np.ndarray, b: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Energy of whole half-hour segments (power linear from ``a`` to ``b``, capped) [W]. [Wh]"""
    out = 0.25 * (a + b)
    over = (a > cap) | (b > cap)
    if over.any():
        out[over] = area_wh(a[over], b[over], cap[over], 1.0)
    return out


@dataclass
class DayTable:
    """One template day of every plant, on the 49 half-hour points of the UTC day."""

    grid: np.ndarray  # (n, 49) power at the half-hour points, clouds applied [W]
    cap: np.ndarray  # (n, 48) ceiling per segment (rating, essential load, 0) [W]
    cum: np.ndarray  # (n, 49) energy since the day's start at the grid points [Wh]
    alarm: np.ndarray  # (n,) fault code of the day
    fault: tuple[np.ndarray, np.ndarray]  # first fault segment, number of fault segments
    cut_bits: np.ndarray  # (n,) uint64 cut segments of each plant's zone


class PlantEnergy:
    """Power and energy counters of a fleet's plants.

    Parameters
    ----------
    fleet : telemetry.registry.Fleet
    year : TypicalYear
        (n_plants, 8760) power; capped at each plant's rating here.
    calendar : firmware_bridge.emulator.cuts.CutCalendar
        Cuts and local clock of the template year.
    zone_of : numpy.ndarray
        (n_plants,) each plant's row of ``calendar.bits``.
    seed : int
    plant_keys, region_keys : numpy.ndarray of uint64
        (n_plants,) random-stream keys of each plant and its region (clouds are regional).
    fault_rate : float
        Probability of a fault per plant and day (a daytime stop of 0.5–4 h).
    install_ns : numpy.ndarray
        (n_plants,) installation time, a UTC midnight. [ns since the epoch]
    """

    def __init__(
        self,
        fleet: Fleet,
        year: TypicalYear,
        calendar: CutCalendar,
        zone_of: np.ndarray,
        *,
        seed: int,
        plant_keys: np.ndarray,
        region_keys: np.ndarray,
        fault_rate: float,
        install_ns: np.ndarray,
    ) -> None:
        from simulate.load import plant_loads

        p = fleet.plants
        n = self.n_plants = len(fleet)
        self.rating_w = p["ac_kw"].to_numpy(float) * 1000.0
        if n and (year.ac_power_w.max(axis=1) > self.rating_w).any():
            # The simulator never exceeds the rating; a hand-made year might.
            power = np.minimum(year.ac_power_w, self.rating_w[:, None]).astype(np.float32)
            year = TypicalYear(power, year.temp_air_c, year.temp_index)
        self.year = year
        self.calendar = calendar
        self.zone_of = zone_of
        self.seed, self.fault_rate = seed, fault_rate
        self._pkey, self._rkey = plant_keys, region_keys
        self.hybrid = (p["inverter_type"] == "hybrid").to_numpy()
        self.loads = plant_loads(p["plant_id"].tolist(), p["essential_load_w"].to_numpy(float))
        self._days: dict[int, DayTable] = {}
        self.injected: InjectedFaults | None = None
        """Injected faults (:meth:`inject`), None without."""
        segs = np.arange(SEGS, dtype=np.uint64)
        self._cut_mask = ((calendar.bits[..., None] >> segs) & np.uint64(1)).astype(bool)
        # Whole watt-hours per day: the counter is exact integer arithmetic across days, so it
        # never steps back at midnight by a rounding error (within a day it is clamped).
        self._day_wh = np.floor(self._day_totals()).astype(np.int64)
        self._cum_day = np.zeros((n, DAYS + 1), dtype=np.int64)
        np.cumsum(self._day_wh, axis=1, out=self._cum_day[:, 1:])
        self._feb28_wh = self._day_wh[:, 58].copy()
        self.annual_energy_wh = self._cum_day[:, -1].copy()
        """(n_plants,) energy of a template year. [Wh]"""
        at = np.asarray(install_ns, dtype=np.int64)  # UTC midnights: nothing within the day
        year_i, doy_i, leap_i, _ = utc_calendar(at)
        tday_i, _ = template_day(at)
        rows = np.arange(n)
        self._c_install = self._year_base(rows, year_i, doy_i, leap_i) + self._cum_day[rows, tday_i]

    # ------------------------------------------------------------------ day tables

    def cloud(self, p: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Daily cloudiness factor ≤ 1 of plants ``p`` on template days ``d`` (broadcast):
        regional (now and then a dusty or cloudy day) times local."""
        seed, rkey = self.seed, self._rkey[p]
        ur = rs.uniform(seed, rkey, rs.S_CLOUD_REG, d)
        ur2 = rs.uniform(seed, rkey, rs.S_CLOUD_REG2, d)
        regional = np.where(ur < 0.08, 0.35 + 0.4 * ur2, 0.92 + 0.08 * ur2)
        return regional * (0.97 + 0.03 * rs.uniform(seed, self._pkey[p], rs.S_CLOUD_LOC, d))

    def faults(self, p: np.ndarray, d: np.ndarray):
        """(faulty, first segment, segments, alarm code) of plants ``p`` on days ``d``:
        a daytime stop of 0.5–4 hours starting between 07:00 and 17:00 local time."""
        seed, key = self.seed, self._pkey[p]
        faulty = rs.uniform(seed, key, rs.S_FAULT, d) < self.fault_rate
        seven = 2 * 7 - self.calendar.utc_offset_segs[d]  # 07:00 local, in UTC segments
        f_at = seven + (rs.uniform(seed, key, rs.S_FAULT_AT, d) * 20).astype(np.int64)
        f_at = np.clip(f_at, 0, SEGS - 1)
        f_len = np.where(
            faulty, 1 + (rs.uniform(seed, key, rs.S_FAULT_LEN, d) * 8).astype(np.int64), 0
        )
        pick = (rs.uniform(seed, key, rs.S_FAULT_CODE, d) * len(FAULT_CODES)).astype(np.int64)
        code = np.where(faulty, np.array(FAULT_CODES)[pick], 0)
        return faulty, f_at, f_len, code

    def block(self, p: np.ndarray, d: np.ndarray):
        """Grid, ceilings and faults of the (plant ``p[i]``, template day ``d[i]``) pairs.

        Returns grid (m, 49) power at the half-hour points with clouds [W], cap (m, 48)
        ceiling per segment [W], and fault start, length [segments] and alarm code (m,).
        """
        pw = self.year.ac_power_w[p[:, None], _DAY_HOURS[d]].astype(np.float64)  # (m, 26)
        grid = np.empty((len(p), SEGS + 1))
        grid[:, 0::2] = _boundary(pw[:, :-1], pw[:, 1:])  # hour boundaries
        grid[:, 1::2] = pw[:, 1:-1]  # hour midpoints = the hourly means
        grid *= self.cloud(p, d)[:, None]
        # Power cuts of each plant's zone: grid-tied 0, hybrid its essential load.
        in_cut = self._cut_mask[self.zone_of[p], d]  # (m, 48)
        cap = np.where(in_cut, 0.0, self.rating_w[p, None])
        rows = np.flatnonzero(self.hybrid[p] & (self.calendar.bits[self.zone_of[p], d] != 0))
        if rows.size:
            r, dd = p[rows], d[rows]
            load_w = self.loads.cut_load_w(
                r[:, None], self.calendar.local_month0[dd], self.calendar.local_hour[dd]
            )
            cut_cap = np.minimum(load_w, self.rating_w[r, None])
            cap[rows] = np.where(in_cut[rows], cut_cap, cap[rows])
        faulty, f_at, f_len, code = self.faults(p, d)
        rows = np.flatnonzero(faulty)
        if rows.size:
            s = np.arange(SEGS)[None, :]
            start, stop = f_at[rows, None], (f_at + f_len)[rows, None]
            cap[rows] = np.where((s >= start) & (s < stop), 0.0, cap[rows])
        return grid, cap, f_at, f_len, code

    def _day_totals(self, pairs: int = 32_768) -> np.ndarray:
        """(n, 365) energy of every plant and template day, segment by segment. [Wh]"""
        n = self.n_plants
        totals = np.empty((n, DAYS))
        step = max(1, pairs // DAYS)
        for a in range(0, n, step):
            b = min(n, a + step)
            p = np.repeat(np.arange(a, b), DAYS)
            d = np.tile(np.arange(DAYS), b - a)
            grid, cap, *_ = self.block(p, d)
            totals[a:b] = segment_wh(grid[:, :-1], grid[:, 1:], cap).sum(-1).reshape(b - a, DAYS)
        return totals

    def day(self, tday: int) -> DayTable:
        """Half-hour grid, ceilings and cumulative energy of template day ``tday`` (all plants)."""
        table = self._days.get(tday)
        if table is not None:
            return table
        grid, cap, f_at, f_len, code = self.block(
            np.arange(self.n_plants), np.full(self.n_plants, tday)
        )
        cum = np.zeros(grid.shape)
        np.cumsum(segment_wh(grid[:, :-1], grid[:, 1:], cap), axis=-1, out=cum[:, 1:])
        table = DayTable(
            grid, cap, cum, code, (f_at, f_len), self.calendar.bits[self.zone_of, tday]
        )
        if len(self._days) >= 4:
            self._days.pop(next(iter(self._days)))
        self._days[tday] = table
        return table

    def inject(self, faults: Sequence[Fault], plant_ids: Sequence[str]) -> None:
        """Apply injected faults from now on (:class:`InjectedFaults`); none: no change."""
        self.injected = InjectedFaults(self, faults, plant_ids) if faults else None
        self._days.clear()

    # ------------------------------------------------------------------ counters

    def _cumulative(self, pidx: np.ndarray, t_ns: np.ndarray) -> np.ndarray:
        """Energy delivered since 1 January of the reference year (template repeated), less
        what injected faults cost. [Wh]"""
        out = self._cumulative_free(pidx, t_ns)
        if self.injected is not None:
            self.injected.apply_counter(pidx, np.asarray(t_ns, dtype=np.int64), out)
        return out

    def _cumulative_free(self, pidx: np.ndarray, t_ns: np.ndarray) -> np.ndarray:
        """Energy delivered since 1 January of the reference year (template repeated). [Wh]"""
        year, doy, leap, pos = utc_calendar(t_ns)
        tday, _ = template_day(t_ns)
        out = np.empty(len(pidx), dtype=np.int64)
        for d in np.unique(tday):
            sel = tday == d
            table, p = self.day(int(d)), pidx[sel]
            j = np.minimum(pos[sel].astype(np.int64), SEGS - 1)
            f = pos[sel] - j
            within = table.cum[p, j] + area_wh(
                table.grid[p, j], table.grid[p, j + 1], table.cap[p, j], f
            )
            within = np.minimum(np.floor(within).astype(np.int64), self._day_wh[p, d])
            base = self._year_base(p, year[sel], doy[sel], leap[sel])
            out[sel] = base + self._cum_day[p, d] + within
        return out

    def _year_base(
        self, p: np.ndarray, year: np.ndarray, doy: np.ndarray, leap: np.ndarray
    ) -> np.ndarray:
        """Energy of the whole template years before ``year`` (and of 29 February). [Wh]"""
        extra = _leaps_before(year) + (leap & (doy >= 59))
        return (year - _REF_YEAR) * self.annual_energy_wh[p] + extra * self._feb28_wh[p]

    def state(self, pidx: np.ndarray, t_ns: np.ndarray) -> dict[str, np.ndarray]:
        """What the inverters of plants ``pidx`` see at times ``t_ns`` [ns] (vectorised).

        Returns
        -------
        dict
            ``ac_power_w`` (below 1 W: 0) [W], ``alarm_code``, ``cut`` (the zone's grid is
            down), ``sun`` (the PV could produce), ``temp_air_c`` [°C],
            ``energy_since_install_wh`` [Wh].
        """
        tday, pos = template_day(t_ns)
        n = len(pidx)
        power = np.empty(n)
        alarm = np.zeros(n, dtype=np.int64)
        cut = np.zeros(n, dtype=bool)
        sun = np.zeros(n, dtype=bool)
        temp_air = np.empty(n)
        ty = self.year
        for d in np.unique(tday):
            sel = tday == d
            table, p = self.day(int(d)), pidx[sel]
            j = np.minimum(pos[sel].astype(np.int64), SEGS - 1)
            f = pos[sel] - j
            a, b = table.grid[p, j], table.grid[p, j + 1]
            sun[sel] = a + (b - a) * f > 0
            power[sel] = np.minimum(a + (b - a) * f, table.cap[p, j])
            f_at, f_len = table.fault
            alarm[sel] = np.where((j >= f_at[p]) & (j < f_at[p] + f_len[p]), table.alarm[p], 0)
            cut[sel] = ((table.cut_bits[p] >> j.astype(np.uint64)) & np.uint64(1)).astype(bool)
            hour = np.minimum(int(d) * 24 + j // 2, HOURS - 1)
            temp_air[sel] = ty.temp_air_c[ty.temp_index[p], hour]
        if self.injected is not None:
            self.injected.apply_state(pidx, np.asarray(t_ns, dtype=np.int64), power, alarm)
        return {
            "ac_power_w": np.where(power < 1.0, 0.0, power),
            "alarm_code": alarm,
            "cut": cut,
            "sun": sun,
            "temp_air_c": temp_air,
            "energy_since_install_wh": self.since_install_wh(pidx, t_ns),
        }

    def since_install_wh(self, pidx: np.ndarray, t_ns: np.ndarray) -> np.ndarray:
        """Energy delivered since each plant's installation at times ``t_ns`` [ns]. [Wh]"""
        return np.maximum(self._cumulative(pidx, t_ns) - self._c_install[pidx], 0)


def _leaps_before(year: np.ndarray) -> np.ndarray:
    y = year - 1
    r = _REF_YEAR - 1
    return (y // 4 - y // 100 + y // 400) - (r // 4 - r // 100 + r // 400)


# ---------------------------------------------------------------------------- injected faults

_POWER_KINDS = ("string_fault", "soiling", "shading", "inverter_fault")
_NO_END = np.iinfo(np.int64).max


class InjectedFaults:
    """Injected faults (:mod:`firmware_bridge.emulator.faults`) on the live emulator's grid.

    Power faults act per half-hour segment of a real UTC day, on the segments whose midpoint
    lies within the fault: a DC-side loss (dead string, soiling, shading) scales the
    segment's uncapped power before the cap, so a clipped hour loses less; a trip caps the
    segment at 0 and sets the alarm while the sun is up. The counter stays exact integer
    arithmetic: the free counter at the day's start, less the whole watt-hours the faults cost
    on the days before, plus the faulted day's own integral (clamped to its total), so it
    never goes backwards. ``offline`` and ``comms_loss`` silence the gateway by reading time.

    Parameters
    ----------
    energy : PlantEnergy
    faults : sequence of Fault
    plant_ids : sequence of str
        The fleet's plant ids (row order); every fault's plant must be among them.
    """

    def __init__(self, energy: PlantEnergy, faults: Sequence[Fault], plant_ids: Sequence[str]):
        row = {pid: i for i, pid in enumerate(plant_ids)}
        unknown = sorted({f.plant_id for f in faults} - set(row))
        if unknown:
            raise InputError(f"fault of plant {unknown[0]!r}, which is not in the fleet")
        self.energy = energy
        self.power: dict[int, list[Fault]] = {}
        self.silence: dict[int, list[tuple[int, int, str]]] = {}
        for f in faults:
            r = row[f.plant_id]
            if f.kind in _POWER_KINDS:
                self.power.setdefault(r, []).append(f)
            else:
                end = _NO_END if f.end is None else int(f.end.value)
                self.silence.setdefault(r, []).append((int(f.start.value), end, f.kind))
        self.first_day = {
            r: min(int(f.start.value) // DAY_NS for f in fs) for r, fs in self.power.items()
        }
        self._power_rows = np.array(sorted(self.power), dtype=np.int64)
        self._silent_rows = np.array(sorted(self.silence), dtype=np.int64)
        self._tables: dict[tuple[int, int], tuple[Any, ...]] = {}
        self._lost: dict[tuple[int, int], int] = {}

    # ------------------------------------------------------------------ tables

    def day_table(self, r: int, day: int) -> tuple[Any, ...]:
        """(a, b, cap, alarm, cum, day_wh, string) of plant row ``r`` on UTC day ``day``: segment
        end powers [W], ceilings [W], alarm codes, cumulative energy (49,) [Wh], the day's whole
        watt-hours and the DC share lost to a dead string per segment."""
        hit = self._tables.get((r, day))
        if hit is not None:
            return hit
        e = self.energy
        tday = int(template_day(np.array([day * DAY_NS]))[0][0])
        base = e.day(tday)
        a, b, cap = base.grid[r, :-1].copy(), base.grid[r, 1:].copy(), base.cap[r].copy()
        mids = day * DAY_NS + (np.arange(SEGS) * 2 + 1) * (DAY_NS // SEGS // 2)
        keep = np.ones(SEGS)
        string = np.zeros(SEGS)
        trip = np.zeros(SEGS, dtype=bool)
        code = np.zeros(SEGS, dtype=np.int64)
        hour = e.calendar.local_hour[tday]
        for f in self.power.get(r, ()):
            start = int(f.start.value)
            on = (mids >= start) & (mids < (_NO_END if f.end is None else int(f.end.value)))
            if f.kind == "soiling":
                lost = np.minimum(f.severity * (mids - start) / DAY_NS, 1.0)
                keep *= np.where(on, 1.0 - lost, 1.0)
            elif f.kind == "shading":
                assert f.hours is not None
                on &= (hour >= f.hours[0]) & (hour < f.hours[1])
                keep *= np.where(on, 1.0 - f.severity, 1.0)
            elif f.kind == "string_fault":
                keep *= np.where(on, 1.0 - f.severity, 1.0)
                string = np.where(on, np.maximum(string, f.severity), string)
            else:
                trip |= on
                code = np.where(on, f.alarm_code or FAULT_CODES[0], code)
        a, b = a * keep, b * keep
        cap = np.where(trip, 0.0, cap)
        alarm = np.where(trip & ((a > 0) | (b > 0)), code, 0)
        cum = np.zeros(SEGS + 1)
        np.cumsum(segment_wh(a, b, cap), out=cum[1:])
        table = (a, b, cap, alarm, cum, int(np.floor(cum[-1])), string)
        if len(self._tables) > 4096:
            self._tables.clear()
        self._tables[(r, day)] = table
        return table

    def lost_before(self, r: int, day: int) -> int:
        """Whole watt-hours the faults cost plant row ``r`` before UTC day ``day``. [Wh]"""
        first = self.first_day[r]
        if day <= first:
            return 0
        hit = self._lost.get((r, day))
        if hit is not None:
            return hit
        d = day - 1
        while d > first and (r, d) not in self._lost:
            d -= 1
        lost = self._lost.get((r, d), 0)
        for dd in range(d, day):
            tday = int(template_day(np.array([dd * DAY_NS]))[0][0])
            lost += int(self.energy._day_wh[r, tday]) - self.day_table(r, dd)[5]
            self._lost[(r, dd + 1)] = lost
        return lost

    def _pairs(self, pidx: np.ndarray, t_ns: np.ndarray):
        """(indices, row, day) groups of the pairs a power fault may touch."""
        if not len(self._power_rows):
            return
        sel = np.flatnonzero(np.isin(pidx, self._power_rows))
        if not len(sel):
            return
        days = t_ns[sel] // DAY_NS
        keys = np.stack([pidx[sel], days], axis=1)
        uniq, inv = np.unique(keys, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        for k, (r, d) in enumerate(uniq.tolist()):
            if d >= self.first_day[r]:
                yield sel[inv == k], r, d

    # ------------------------------------------------------------------ overrides

    def apply_counter(self, pidx: np.ndarray, t_ns: np.ndarray, out: np.ndarray) -> None:
        """Replace the free counters ``out`` of faulted plants by their faulted ones. [Wh]"""
        for i, r, d in self._pairs(pidx, t_ns):
            a, b, cap, _, cum, day_wh, _ = self.day_table(r, d)
            pos = (t_ns[i] - d * DAY_NS) / (DAY_NS // SEGS)
            j = np.minimum(pos.astype(np.int64), SEGS - 1)
            within = cum[j] + area_wh(a[j], b[j], cap[j], pos - j)
            within = np.minimum(np.floor(within).astype(np.int64), day_wh)
            start = self.energy._cumulative_free(np.array([r]), np.array([d * DAY_NS]))[0]
            out[i] = start - self.lost_before(r, d) + within

    def apply_state(
        self, pidx: np.ndarray, t_ns: np.ndarray, power: np.ndarray, alarm: np.ndarray
    ) -> None:
        """Replace the power [W] and alarm of faulted plants' readings (in place)."""
        for i, r, d in self._pairs(pidx, t_ns):
            a, b, cap, code, *_ = self.day_table(r, d)
            pos = (t_ns[i] - d * DAY_NS) / (DAY_NS // SEGS)
            j = np.minimum(pos.astype(np.int64), SEGS - 1)
            f = pos - j
            power[i] = np.minimum(a[j] + (b[j] - a[j]) * f, cap[j])
            alarm[i] = np.where(code[j] > 0, code[j], alarm[i])

    def string_loss(self, pidx: np.ndarray, t_ns: np.ndarray) -> np.ndarray:
        """Share of DC lost to a dead string at each reading (0 without). [0–1]"""
        out = np.zeros(len(pidx))
        for i, r, d in self._pairs(pidx, t_ns):
            string = self.day_table(r, d)[6]
            j = np.minimum((t_ns[i] - d * DAY_NS) // (DAY_NS // SEGS), SEGS - 1)
            out[i] = string[j]
        return out

    def silent(
        self, pidx: np.ndarray, t_ns: np.ndarray, kinds: tuple[str, ...] = ("offline", "comms_loss")
    ) -> np.ndarray:
        """Whether each reading falls in an offline or comms-loss window of its plant."""
        out = np.zeros(len(pidx), dtype=bool)
        if not len(self._silent_rows):
            return out
        for i in np.flatnonzero(np.isin(pidx, self._silent_rows)).tolist():
            t = int(t_ns[i])
            out[i] = any(a <= t < e and k in kinds for a, e, k in self.silence[int(pidx[i])])
        return out

    def backlog(self, r: int, t_ns: int, step_ns: int) -> tuple[int, int] | None:
        """The comms loss of plant row ``r`` that ended at or before ``t_ns`` and covered
        ``t_ns - step_ns``: its (start, end) [ns], or None."""
        for a, e, k in self.silence.get(r, ()):
            if k == "comms_loss" and a <= t_ns - step_ns < e <= t_ns:
                return a, e
        return None
