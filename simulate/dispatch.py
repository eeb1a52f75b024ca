"""Battery and inverter dispatch through power cuts: a numba kernel and its readable reference.

Fed by the yield kernel's hourly AC power (:mod:`simulate.kernel`), the dispatch decides, plant by
plant and interval by interval, where the PV energy goes and how much of the household's load a
power cut leaves unserved. Each interval of length ``dt`` with a cut covering the share ``f`` of
it is split into a grid-connected part (``1 − f``), handled first, and a cut part (``f``); the PV
power is taken as uniform over the interval.

Modes (the fleet file's ``inverter_type`` and ``battery_kwh``):

- **grid-tied**: anti-islanding shuts the inverter down while the grid is cut: nothing is served,
  all PV of the cut part is curtailed; a listed battery is ignored (it cannot island either).
- **hybrid without battery**: during a cut the inverter islands the house and serves its load up to
  the instantaneous PV power (and its AC rating); surplus PV is curtailed.
- **hybrid with battery**: stored energy ``E`` between ``E_min = (1 − DoD)·C`` and ``E_max = C``;
  charging takes ``c`` AC-side and stores ``c·√η``, discharging delivers ``d`` and draws
  ``d/√η`` (round-trip efficiency ``η`` split evenly); both limited to ``power_w·(part of dt)``.
  Grid up: PV (after self-consumption) charges the battery first, the rest is exported. Cut: PV
  serves the load, the battery covers the deficit down to ``E_min`` and takes surplus PV, the
  rest is curtailed.
- **policy** (``reserve_frac``): the backup reserve kept for cuts, as a share of the usable
  capacity. With ``reserve_frac < 1``, energy above ``E_min + reserve_frac·(E_max − E_min)`` is
  discharged to the grid during the evening-peak hours (``peak``), when the battery also takes no
  charge (the PV goes to the grid): export moves from midday to when the grid needs it most, at
  the price of a smaller reserve and the round-trip loss. ``reserve_frac = 1`` (the default)
  keeps the whole battery for the cuts and charges it whenever PV is left over.

With the power limit held fixed, a larger battery never lowers coverage (the usable energy of the
larger one is never below the smaller one's, step by step, under either policy).

Bookkeeping, per plant and interval (all in Wh): ``pv + discharge = served + self + charge +
export + curtailed`` exactly up to rounding (``served``: load served during the cut; ``self``: the
home's load served from PV while the grid is up, with self-consumption); the battery obeys
``E_end = E_start + charge·√η − discharge/√η``. An interval's cut time counts as *fully served*
when the unserved energy is at most 1e-9 of the need; coverage is fully served cut hours over cut
hours.

:func:`dispatch_arrays` validates, converts and runs the kernel over chunks of plants (in parallel
over plants); :func:`dispatch_reference` is the plain-Python oracle for one plant.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from telemetry.errors import InputError

__all__ = [
    "MONTH_METRICS",
    "TRACE_ROWS",
    "BatteryParams",
    "DispatchResult",
    "dispatch_arrays",
    "dispatch_reference",
]

# Columns of the kernel's per-plant accumulator.
_PV, _NEED, _SERVED, _SELF, _EXPORT, _EXPORT_PEAK, _CURTAILED, _CHARGE, _DISCHARGE = range(9)
_OUTAGE_H, _SERVED_H, _SOC_MIN, _SOC_MAX, _SOC_END = range(9, 14)
_N_ACC = 14
#: Per-plant monthly figures (``DispatchResult.monthly`` axis 2). [h] or [Wh]
MONTH_METRICS = (
    "outage_h",
    "served_h",
    "need_wh",
    "served_wh",
    "export_wh",
    "export_peak_wh",
    "pv_wh",
    "curtailed_wh",
)
#: Rows of the optional hourly trace. [Wh], ``soc_wh`` at the interval's end, ``served_h`` [h]
TRACE_ROWS = (
    "pv_wh",
    "need_wh",
    "served_wh",
    "self_wh",
    "export_wh",
    "charge_wh",
    "discharge_wh",
    "curtailed_wh",
    "soc_wh",
    "served_h",
)
_FULL_TOL = 1e-9  # unserved ≤ this share of the need counts as fully served


@njit(cache=True)
def _flush(monthly, p, c, mm, run):
    for k in range(run.shape[0]):
        monthly[p, c, k, mm] += run[k]
        run[k] = 0.0


@njit(parallel=True, cache=True)
def _dispatch_kernel(
    pv,
    zone,
    frac,
    start_hour,
    tables,
    cut_idx,
    cut_scale,
    self_idx,
    self_scale,
    month,
    hmonth,
    hour,
    peak,
    hybrid,
    e_max,
    e_min,
    e_floor,
    e0,
    eta_c,
    eta_d,
    p_w,
    ac_w,
    step_h,
    acc,
    monthly,
    heat,
    export_out,
    trace,
    write_export,
    write_trace,
):
    n_time = pv.shape[1]
    for p in prange(pv.shape[0]):
        z = zone[p]
        k_cut = cut_idx[p]
        k_self = self_idx[p]
        is_hybrid = hybrid[p]
        exporting = e_floor[p] < e_max[p]
        e = e0[p]
        lo = e
        hi = e
        limit = p_w[p] * step_h
        inv_c = 1.0 / eta_c[p]  # multiplications in the loop: divisions cost more
        inv_d = 1.0 / eta_d[p]
        # Running sums of the current Gregorian (row 0) and Solar Hijri (row 1) month, flushed
        # into ``monthly`` when the month changes (months are runs of consecutive intervals).
        run = np.zeros((2, 8))
        cur_m = month[0] if n_time else 0
        cur_hm = hmonth[0] if n_time else 0
        s_self = 0.0
        s_curtailed = 0.0
        s_charge = 0.0
        s_discharge = 0.0
        for t in range(n_time):
            m = month[t]
            hm = hmonth[t]
            h = hour[t]
            if m != cur_m:
                _flush(monthly, p, 0, cur_m, run[0])
                cur_m = m
            if hm != cur_hm:
                _flush(monthly, p, 1, cur_hm, run[1])
                cur_hm = hm
            f = frac[z, t] if z >= 0 else 0.0
            up = 1.0 - f
            pv_wh = pv[p, t] * step_h
            # ---- grid-connected part
            pv_up = pv_wh * up
            self_wh = 0.0
            if k_self >= 0:
                self_wh = min(pv_up, tables[k_self, m, h] * self_scale[p] * up * step_h)
            rest = pv_up - self_wh
            charge = 0.0
            discharge = 0.0
            if peak[t] and exporting:
                # export policy: in the peak the PV goes to the grid and so does the battery's
                # energy above the reserve (never charging then keeps coverage monotone in size)
                if e > e_floor[p]:
                    discharge = min(limit * up, (e - e_floor[p]) * eta_d[p])
                    e -= discharge * inv_d
                    if e < e_floor[p]:
                        e = e_floor[p]  # rounding
            elif up > 0.0 and e < e_max[p]:
                charge = min(rest, limit * up, (e_max[p] - e) * inv_c)
                e += charge * eta_c[p]
                rest -= charge
            export = rest + discharge
            lo = min(lo, e)
            hi = max(hi, e)
            # ---- cut part
            need = 0.0
            served = 0.0
            curtailed = 0.0
            full = 0.0
            if f > 0.0:
                need = tables[k_cut, m, h] * cut_scale[p] * f * step_h
                pv_cut = pv_wh * f
                if is_hybrid:
                    cap = min(need, ac_w[p] * f * step_h)
                    s_pv = min(pv_cut, cap)
                    surplus = pv_cut - s_pv
                    c2 = 0.0
                    if surplus > 0.0:
                        c2 = min(surplus, limit * f, (e_max[p] - e) * inv_c)
                        e += c2 * eta_c[p]
                    d2 = 0.0
                    deficit = cap - s_pv
                    if deficit > 0.0:
                        d2 = min(deficit, limit * f, (e - e_min[p]) * eta_d[p])
                        e -= d2 * inv_d
                        if e < e_min[p]:
                            e = e_min[p]  # rounding
                    served = s_pv + d2
                    curtailed = surplus - c2
                    charge += c2
                    discharge += d2
                    lo = min(lo, e)
                    hi = max(hi, e)
                else:
                    curtailed = pv_cut
                if need - served <= _FULL_TOL * need:
                    full = f * step_h
                sh = start_hour[z, t]
                if sh >= 0:
                    heat[p, 0, m, sh, 0] += f * step_h
                    heat[p, 0, m, sh, 1] += full
                    heat[p, 1, hm, sh, 0] += f * step_h
                    heat[p, 1, hm, sh, 1] += full
            export_peak = export if peak[t] else 0.0
            for c in range(2):
                run[c, 0] += f * step_h
                run[c, 1] += full
                run[c, 2] += need
                run[c, 3] += served
                run[c, 4] += export
                run[c, 5] += export_peak
                run[c, 6] += pv_wh
                run[c, 7] += curtailed
            s_self += self_wh
            s_curtailed += curtailed
            s_charge += charge
            s_discharge += discharge
            if write_export:
                export_out[p, t] = export / step_h
            if write_trace:
                trace[p, 0, t] = pv_wh
                trace[p, 1, t] = need
                trace[p, 2, t] = served
                trace[p, 3, t] = self_wh
                trace[p, 4, t] = export
                trace[p, 5, t] = charge
                trace[p, 6, t] = discharge
                trace[p, 7, t] = curtailed
                trace[p, 8, t] = e
                trace[p, 9, t] = full
        if n_time:
            _flush(monthly, p, 0, cur_m, run[0])
            _flush(monthly, p, 1, cur_hm, run[1])
        # The period's totals are the Gregorian months' sums.
        acc[p, _OUTAGE_H] = monthly[p, 0, 0].sum()
        acc[p, _SERVED_H] = monthly[p, 0, 1].sum()
        acc[p, _NEED] = monthly[p, 0, 2].sum()
        acc[p, _SERVED] = monthly[p, 0, 3].sum()
        acc[p, _EXPORT] = monthly[p, 0, 4].sum()
        acc[p, _EXPORT_PEAK] = monthly[p, 0, 5].sum()
        acc[p, _PV] = monthly[p, 0, 6].sum()
        acc[p, _SELF] = s_self
        acc[p, _CURTAILED] = s_curtailed
        acc[p, _CHARGE] = s_charge
        acc[p, _DISCHARGE] = s_discharge
        acc[p, _SOC_MIN] = lo
        acc[p, _SOC_MAX] = hi
        acc[p, _SOC_END] = e


# --------------------------------------------------------------------------- public wrapper


@dataclass(frozen=True)
class BatteryParams:
    """Battery and inverter of each plant (arrays of shape (n_plants,), or scalars).

    Attributes
    ----------
    hybrid : bool
        Hybrid (islanding) inverter; False: grid-tied.
    capacity_kwh : float
        Nominal battery capacity (0: none; ignored for grid-tied plants). [kWh]
    usable_dod : float
        Usable depth of discharge: share of the capacity that may be drawn. [0–1]
    round_trip_eff : float
        AC-to-AC round-trip efficiency η, √η on charge and √η on discharge. [0–1]
    power_w : float
        Charge/discharge power limit (the inverter's battery port). [W]
    ac_w : float
        Inverter AC rating: the most it serves during a cut. [W]
    reserve_frac : float
        Share of the usable capacity kept for cuts; the rest may be exported in the peak. [0–1]
    initial_soc_frac : float
        Stored energy at the start, as a share of the usable range. [0–1]
    """

    hybrid: np.ndarray | bool
    capacity_kwh: np.ndarray | float
    usable_dod: np.ndarray | float = 0.9
    round_trip_eff: np.ndarray | float = 0.9
    power_w: np.ndarray | float = 5000.0
    ac_w: np.ndarray | float = 5000.0
    reserve_frac: np.ndarray | float = 1.0
    initial_soc_frac: np.ndarray | float = 1.0


@dataclass(frozen=True)
class DispatchResult:
    """Per-plant dispatch figures over the simulated period.

    Attributes (arrays of shape (n_plants,) unless said)
    ----------------------------------------------------
    pv_kwh : potential AC energy of the PV (the yield kernel's). [kWh]
    essential_need_kwh, essential_served_kwh, unserved_kwh : load during cuts. [kWh]
    self_consumed_kwh : home load served from PV while the grid is up. [kWh]
    exported_kwh, exported_peak_kwh : energy delivered to the grid, and in the peak hours. [kWh]
    curtailed_kwh : PV energy neither used nor exported, all of it in cuts: a grid-tied
        plant's whole PV of the cut hours (anti-islanding), a hybrid's surplus the home
        and battery could not take. [kWh]
    charge_kwh, discharge_kwh : AC-side battery energy in and out. [kWh]
    outage_hours, outage_hours_served : cut time, and cut time fully served. [h]
    soc_min_kwh, soc_max_kwh, soc_end_kwh : stored-energy bounds and final value. [kWh]
    monthly : (n_plants, 2, len(MONTH_METRICS), 12) figures by Gregorian (0) and Solar Hijri (1)
        month, units as :data:`MONTH_METRICS`.
    heat : (2, 12, 24, 2) summed over plants: cut hours and fully served cut hours by calendar,
        month and local hour of the cut's start. [h]
    trace : (n_plants, len(TRACE_ROWS), n_time) or None.
    """

    pv_kwh: np.ndarray
    essential_need_kwh: np.ndarray
    essential_served_kwh: np.ndarray
    unserved_kwh: np.ndarray
    self_consumed_kwh: np.ndarray
    exported_kwh: np.ndarray
    exported_peak_kwh: np.ndarray
    curtailed_kwh: np.ndarray
    charge_kwh: np.ndarray
    discharge_kwh: np.ndarray
    outage_hours: np.ndarray
    outage_hours_served: np.ndarray
    soc_min_kwh: np.ndarray
    soc_max_kwh: np.ndarray
    soc_end_kwh: np.ndarray
    monthly: np.ndarray
    heat: np.ndarray
    trace: np.ndarray | None = None

    @property
    def coverage_pct(self) -> np.ndarray:
        """Fully served cut hours over cut hours; NaN for plants without cuts. [%]"""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(
                self.outage_hours > 0, 100.0 * self.outage_hours_served / self.outage_hours, np.nan
            )


def _per_plant(name: str, value: object, n: int, low: float, high: float) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise InputError(f"{name}: expected {n} values, got shape {arr.shape}")
    bad = ~np.isfinite(arr) | (arr < low) | (arr > high)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{name}: {float(arr[i])!r} at plant {i} is outside [{low:g}, {high:g}]")
    return np.ascontiguousarray(arr)


def _index(name: str, value: object, shape: tuple[int, ...], low: int, high: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.shape != shape or not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
        raise InputError(f"{name}: expected integers of shape {shape}, got {arr.dtype} {arr.shape}")
    if arr.size and (arr.min() < low or arr.max() > high):
        raise InputError(f"{name}: values must lie in [{low}, {high}]")
    return np.ascontiguousarray(arr, dtype=np.int64)


def dispatch_arrays(
    pv_ac_w: np.ndarray,
    battery: BatteryParams,
    *,
    zone_index: np.ndarray,
    cut_fraction: np.ndarray,
    cut_start_hour: np.ndarray,
    load_tables_w: np.ndarray,
    cut_load_index: np.ndarray,
    cut_load_scale: np.ndarray,
    month_index: np.ndarray,
    hijri_month_index: np.ndarray,
    hour_index: np.ndarray,
    peak: np.ndarray,
    self_load_index: np.ndarray | None = None,
    self_load_scale: np.ndarray | None = None,
    step_hours: float = 1.0,
    export_out: np.ndarray | None = None,
    trace: bool = False,
    chunk_plants: int = 1024,
    progress: Callable[[int], None] | None = None,
) -> DispatchResult:
    """Dispatch every plant through its cuts; see the module docstring for the rules.

    Parameters
    ----------
    pv_ac_w : numpy.ndarray, shape (n_plants, n_time)
        Mean AC power the PV could deliver in each interval (the yield kernel's output). [W]
    battery : BatteryParams
    zone_index : int array, shape (n_plants,)
        Row of ``cut_fraction`` of each plant; -1: no cuts.
    cut_fraction : numpy.ndarray, shape (n_zones, n_time)
        Share of each interval the zone's grid is down. [0–1]
    cut_start_hour : int array, shape (n_zones, n_time)
        Local hour (0–23) at which the cut covering the interval began, -1 for none.
    load_tables_w : numpy.ndarray, shape (n_profiles, 12, 24)
        Load profiles by local month and hour. [W]
    cut_load_index, cut_load_scale : arrays, shape (n_plants,)
        Profile and multiplier of each plant's load during cuts.
    month_index, hijri_month_index, hour_index : int arrays, shape (n_time,)
        Local Gregorian month (0–11), Solar Hijri month (0 = Farvardin … 11) and hour (0–23) of
        each interval's midpoint.
    peak : bool array, shape (n_time,)
        Intervals in the grid's evening peak (export counted apart; policy discharge).
    self_load_index, self_load_scale : arrays, shape (n_plants,), optional
        Home load served from PV while the grid is up (-1: none, the default).
    step_hours : float
        Interval length. [h]
    export_out : numpy.ndarray, optional
        C-contiguous float64 (n_plants, n_time) array receiving the mean exported power. [W]
    trace : bool
        Also return the hourly trace (:data:`TRACE_ROWS`), for tests and small runs.
    chunk_plants : int
        Plants per kernel call (bounds the per-plant heat-map buffers).
    progress : callable, optional
        Called with the number of plants done after each chunk.

    Returns
    -------
    DispatchResult

    Raises
    ------
    InputError
        Wrong shapes, dtypes or values out of range.
    """
    pv = np.ascontiguousarray(pv_ac_w, dtype=np.float64)
    if pv.ndim != 2:
        raise InputError(f"pv_ac_w: expected (n_plants, n_time), got shape {pv.shape}")
    n, n_time = pv.shape
    if not np.isfinite(pv).all() or (pv < 0).any():
        raise InputError("pv_ac_w: values must be finite and ≥ 0")
    if not (isinstance(step_hours, int | float) and 0 < step_hours <= 24):
        raise InputError(f"step_hours: expected a number in (0, 24], got {step_hours!r}")
    frac = np.ascontiguousarray(cut_fraction, dtype=np.float64)
    if frac.ndim != 2 or frac.shape[1] != n_time or frac.shape[0] < 1:
        raise InputError(f"cut_fraction: expected (n_zones ≥ 1, {n_time}), got {frac.shape}")
    if not np.isfinite(frac).all() or (frac < 0).any() or (frac > 1).any():
        raise InputError("cut_fraction: values must lie in [0, 1]")
    start_hour = np.asarray(cut_start_hour)
    if start_hour.shape != frac.shape:
        raise InputError(f"cut_start_hour: expected shape {frac.shape}, got {start_hour.shape}")
    start_hour = np.ascontiguousarray(start_hour, dtype=np.int8)
    if start_hour.size and (start_hour.min() < -1 or start_hour.max() > 23):
        raise InputError("cut_start_hour: values must lie in [-1, 23]")
    tables = np.ascontiguousarray(load_tables_w, dtype=np.float64)
    if tables.ndim != 3 or tables.shape[1:] != (12, 24) or tables.shape[0] < 1:
        raise InputError(f"load_tables_w: expected (n_profiles, 12, 24), got {tables.shape}")
    if not np.isfinite(tables).all() or (tables < 0).any():
        raise InputError("load_tables_w: values must be finite and ≥ 0")
    k = tables.shape[0]
    zone = _index("zone_index", zone_index, (n,), -1, frac.shape[0] - 1)
    cut_idx = _index("cut_load_index", cut_load_index, (n,), 0, k - 1)
    cut_scale = _per_plant("cut_load_scale", cut_load_scale, n, 0.0, 1e6)
    self_idx = (
        np.full(n, -1, dtype=np.int64)
        if self_load_index is None
        else _index("self_load_index", self_load_index, (n,), -1, k - 1)
    )
    self_scale = _per_plant(
        "self_load_scale", 1.0 if self_load_scale is None else self_load_scale, n, 0.0, 1e6
    )
    month = _index("month_index", month_index, (n_time,), 0, 11)
    hmonth = _index("hijri_month_index", hijri_month_index, (n_time,), 0, 11)
    hour = _index("hour_index", hour_index, (n_time,), 0, 23)
    peak_arr = np.asarray(peak)
    if peak_arr.shape != (n_time,):
        raise InputError(f"peak: expected shape ({n_time},), got {peak_arr.shape}")
    peak_arr = np.ascontiguousarray(peak_arr, dtype=np.bool_)

    hybrid = np.ascontiguousarray(np.broadcast_to(np.asarray(battery.hybrid, dtype=np.bool_), (n,)))
    cap = _per_plant("capacity_kwh", battery.capacity_kwh, n, 0.0, 1e5) * 1000.0
    cap = np.where(hybrid, cap, 0.0)  # a grid-tied inverter cannot island: no backup
    dod = _per_plant("usable_dod", battery.usable_dod, n, 0.0, 1.0)
    eta = _per_plant("round_trip_eff", battery.round_trip_eff, n, 1e-3, 1.0)
    power = _per_plant("power_w", battery.power_w, n, 0.0, 1e9)
    ac = _per_plant("ac_w", battery.ac_w, n, 0.0, 1e9)
    reserve = _per_plant("reserve_frac", battery.reserve_frac, n, 0.0, 1.0)
    soc0 = _per_plant("initial_soc_frac", battery.initial_soc_frac, n, 0.0, 1.0)
    e_min = cap * (1.0 - dod)
    usable = cap - e_min
    e_floor = e_min + reserve * usable
    e0 = e_min + soc0 * usable
    eta_c = np.sqrt(eta)
    eta_d = eta_c.copy()

    if export_out is not None and (
        not isinstance(export_out, np.ndarray)
        or export_out.dtype != np.float64
        or export_out.shape != (n, n_time)
        or not export_out.flags.c_contiguous
    ):
        raise InputError(f"export_out: expected a C-contiguous float64 array ({n}, {n_time})")
    if not isinstance(chunk_plants, int | np.integer) or chunk_plants < 1:
        raise InputError(f"chunk_plants: expected a positive integer, got {chunk_plants!r}")

    acc = np.zeros((n, _N_ACC))
    monthly = np.zeros((n, 2, len(MONTH_METRICS), 12))
    heat = np.zeros((2, 12, 24, 2))
    tr = np.zeros((n, len(TRACE_ROWS), n_time)) if trace else np.zeros((0, 0, 0))
    no_export = np.zeros((0, n_time))
    for a in range(0, n, int(chunk_plants)):
        s = slice(a, min(n, a + int(chunk_plants)))
        heat_part = np.zeros((s.stop - a, 2, 12, 24, 2))
        # By name: a reordered parameter list cannot swap two arrays silently.
        _dispatch_kernel(
            pv=pv[s],
            zone=zone[s],
            frac=frac,
            start_hour=start_hour,
            tables=tables,
            cut_idx=cut_idx[s],
            cut_scale=cut_scale[s],
            self_idx=self_idx[s],
            self_scale=self_scale[s],
            month=month,
            hmonth=hmonth,
            hour=hour,
            peak=peak_arr,
            hybrid=hybrid[s],
            e_max=cap[s],
            e_min=e_min[s],
            e_floor=e_floor[s],
            e0=e0[s],
            eta_c=eta_c[s],
            eta_d=eta_d[s],
            p_w=power[s],
            ac_w=ac[s],
            step_h=float(step_hours),
            acc=acc[s],
            monthly=monthly[s],
            heat=heat_part,
            export_out=export_out[s] if export_out is not None else no_export,
            trace=tr[s] if trace else tr,
            write_export=export_out is not None,
            write_trace=trace,
        )
        heat += heat_part.sum(axis=0)
        if progress is not None:
            progress(s.stop)
    kwh = acc / 1000.0
    return DispatchResult(
        pv_kwh=kwh[:, _PV],
        essential_need_kwh=kwh[:, _NEED],
        essential_served_kwh=kwh[:, _SERVED],
        unserved_kwh=np.maximum(kwh[:, _NEED] - kwh[:, _SERVED], 0.0),
        self_consumed_kwh=kwh[:, _SELF],
        exported_kwh=kwh[:, _EXPORT],
        exported_peak_kwh=kwh[:, _EXPORT_PEAK],
        curtailed_kwh=kwh[:, _CURTAILED],
        charge_kwh=kwh[:, _CHARGE],
        discharge_kwh=kwh[:, _DISCHARGE],
        outage_hours=acc[:, _OUTAGE_H],
        outage_hours_served=acc[:, _SERVED_H],
        soc_min_kwh=kwh[:, _SOC_MIN],
        soc_max_kwh=kwh[:, _SOC_MAX],
        soc_end_kwh=kwh[:, _SOC_END],
        monthly=monthly,
        heat=heat,
        trace=tr if trace else None,
    )


# --------------------------------------------------------------------------- reference


def dispatch_reference(
    pv_ac_w: np.ndarray,
    cut_fraction: np.ndarray,
    cut_load_w: np.ndarray,
    *,
    hybrid: bool,
    capacity_kwh: float = 0.0,
    usable_dod: float = 0.9,
    round_trip_eff: float = 0.9,
    power_w: float = 5000.0,
    ac_w: float = 5000.0,
    reserve_frac: float = 1.0,
    initial_soc_frac: float = 1.0,
    peak: np.ndarray | None = None,
    self_load_w: np.ndarray | None = None,
    step_hours: float = 1.0,
) -> dict[str, np.ndarray]:
    """One plant, interval by interval, in plain Python: the test oracle of the kernel.

    Parameters
    ----------
    pv_ac_w, cut_fraction, cut_load_w : arrays, shape (n_time,)
        PV AC power [W], share of the interval the grid is down [0–1], load during a cut [W].
    hybrid, capacity_kwh, usable_dod, round_trip_eff, power_w, ac_w, reserve_frac, \
initial_soc_frac
        As :class:`BatteryParams`, for this plant.
    peak : bool array, shape (n_time,), optional
        Evening-peak intervals (default: none).
    self_load_w : array, shape (n_time,), optional
        Home load served from PV while the grid is up (default: none). [W]
    step_hours : float

    Returns
    -------
    dict
        :data:`TRACE_ROWS` → (n_time,) arrays.
    """
    n_time = len(pv_ac_w)
    peak = np.zeros(n_time, dtype=bool) if peak is None else np.asarray(peak, dtype=bool)
    dt = step_hours
    sqrt_eta = math.sqrt(round_trip_eff)
    capacity_wh = capacity_kwh * 1000.0 if hybrid else 0.0
    lowest = capacity_wh * (1.0 - usable_dod)
    reserve_level = lowest + reserve_frac * (capacity_wh - lowest)
    stored = lowest + initial_soc_frac * (capacity_wh - lowest)
    out = {name: np.zeros(n_time) for name in TRACE_ROWS}
    for t in range(n_time):
        cut = float(cut_fraction[t])
        connected = 1.0 - cut
        pv_energy = pv_ac_w[t] * dt
        # Grid connected: the home's own load, then the battery, then the grid.
        pv_connected = pv_energy * connected
        self_used = 0.0
        if self_load_w is not None:
            self_used = min(pv_connected, self_load_w[t] * connected * dt)
        left = pv_connected - self_used
        charged = discharged = 0.0
        if peak[t] and reserve_level < capacity_wh:  # export policy, in the peak
            if stored > reserve_level:
                discharged = min(power_w * connected * dt, (stored - reserve_level) * sqrt_eta)
                stored = max(stored - discharged / sqrt_eta, reserve_level)
        elif connected > 0:
            charged = min(left, power_w * connected * dt, (capacity_wh - stored) / sqrt_eta)
            stored += charged * sqrt_eta
            left -= charged
        exported = left + discharged
        # Grid cut: serve the load from PV, then from the battery.
        need = served = curtailed = 0.0
        if cut > 0:
            need = cut_load_w[t] * cut * dt
            pv_cut = pv_energy * cut
            if hybrid:
                servable = min(need, ac_w * cut * dt)
                from_pv = min(pv_cut, servable)
                surplus = pv_cut - from_pv
                into_battery = 0.0
                if surplus > 0:
                    into_battery = min(
                        surplus, power_w * cut * dt, (capacity_wh - stored) / sqrt_eta
                    )
                    stored += into_battery * sqrt_eta
                from_battery = 0.0
                if servable > from_pv:
                    from_battery = min(
                        servable - from_pv, power_w * cut * dt, (stored - lowest) * sqrt_eta
                    )
                    stored = max(stored - from_battery / sqrt_eta, lowest)
                served = from_pv + from_battery
                curtailed = surplus - into_battery
                charged += into_battery
                discharged += from_battery
            else:
                curtailed = pv_cut  # anti-islanding: the inverter is off
        fully = need - served <= _FULL_TOL * need
        values = (
            pv_energy,
            need,
            served,
            self_used,
            exported,
            charged,
            discharged,
            curtailed,
            stored,
            cut * dt if cut > 0 and fully else 0.0,
        )
        for name, value in zip(TRACE_ROWS, values, strict=True):
            out[name][t] = value
    return out
