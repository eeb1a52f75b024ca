"""Battery sizing for a hybrid plant: coverage of the cuts for each battery size, and the
smallest size reaching a target.

The site's PV is simulated once; then every candidate size runs through the dispatch kernel in
one call (a row per size). Coverage never falls as the battery grows (with the charge/discharge
limit held fixed: the inverter's), so the smallest size reaching the target is found on a grid
of sizes and refined by bisection to :data:`RESOLUTION_KWH`, unless candidates are given.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_COST_TOMAN_PER_KWH", "RESOLUTION_KWH", "battery_curve", "smallest_battery"]

RESOLUTION_KWH = 0.01
#: Default battery price: an assumption (≈ US$200/kWh for an LFP pack at 2024–25 open-market
#: rates of ≈ 100,000 toman/US$); pass a current quote. [toman/kWh]
DEFAULT_COST_TOMAN_PER_KWH = 20_000_000.0


def battery_curve(
    pv_w: np.ndarray,
    sizes_kwh: np.ndarray,
    *,
    cuts,
    zone_row: int,
    loads,
    axis,
    options,
    ac_w: float,
    step_hours: float,
) -> pd.DataFrame:
    """Coverage of one site for each battery size.

    Parameters
    ----------
    pv_w : numpy.ndarray, shape (n_time,)
        The site's AC power. [W]
    sizes_kwh : numpy.ndarray
        Candidate capacities. [kWh]
    cuts : simulate.outages.CutFractions
    zone_row : int
        The site's row of ``cuts``.
    loads : simulate.load.PlantLoads
        For one plant.
    axis : simulate.coverage.CalendarAxis
    options : simulate.coverage.OutageOptions
    ac_w, step_hours : float

    Returns
    -------
    pandas.DataFrame
        ``battery_kwh``, ``outage_hours``, ``outage_hours_served``, ``coverage_pct``,
        ``unserved_kwh``, ``exported_kwh``.
    """
    from simulate.dispatch import BatteryParams, dispatch_arrays

    n = len(sizes_kwh)
    power = ac_w if options.battery_power_kw is None else options.battery_power_kw * 1000.0
    result = dispatch_arrays(
        np.repeat(pv_w[None, :], n, axis=0),
        BatteryParams(
            hybrid=np.ones(n, dtype=bool),
            capacity_kwh=np.asarray(sizes_kwh, float),
            usable_dod=options.usable_dod,
            round_trip_eff=options.round_trip_eff,
            power_w=power,
            ac_w=ac_w,
            reserve_frac=options.reserve_frac,
            initial_soc_frac=options.initial_soc_frac,
        ),
        zone_index=np.full(n, zone_row, dtype=np.int64),
        cut_fraction=cuts.fraction,
        cut_start_hour=cuts.start_hour,
        load_tables_w=loads.tables_w,
        cut_load_index=np.repeat(loads.cut_index, n),
        cut_load_scale=np.repeat(loads.cut_scale, n),
        self_load_index=np.repeat(loads.self_index, n),
        self_load_scale=np.repeat(loads.self_scale, n),
        month_index=axis.month0,
        hijri_month_index=axis.hijri_month0,
        hour_index=axis.hour,
        peak=axis.peak,
        step_hours=step_hours,
    )
    return pd.DataFrame(
        {
            "battery_kwh": np.asarray(sizes_kwh, float),
            "outage_hours": result.outage_hours,
            "outage_hours_served": result.outage_hours_served,
            "coverage_pct": result.coverage_pct,
            "unserved_kwh": result.unserved_kwh,
            "exported_kwh": result.exported_kwh,
        }
    )


def smallest_battery(
    curve: Callable[[np.ndarray], pd.DataFrame],
    candidates: np.ndarray | None,
    max_kwh: float,
    step_kwh: float,
    target_pct: float,
) -> tuple[pd.DataFrame, float | None]:
    """The curve over the candidates (or a grid plus bisection) and the smallest size whose
    coverage reaches ``target_pct`` (None if none does)."""

    def reaches(c: float) -> bool:
        return bool(np.isfinite(c) and c >= target_pct - 1e-9)

    if candidates is not None:
        table = curve(candidates)
        ok = [reaches(c) for c in table["coverage_pct"]]
        return table, (float(table["battery_kwh"][ok.index(True)]) if any(ok) else None)
    grid = np.round(np.arange(0.0, max_kwh + step_kwh / 2, step_kwh), 6)
    table = curve(grid)
    ok = [reaches(c) for c in table["coverage_pct"]]
    if not any(ok):
        return table, None
    first = ok.index(True)
    if first == 0:
        return table, 0.0
    # Bisection on multiples of RESOLUTION_KWH: lo fails, hi reaches the target.
    lo = int(np.floor(grid[first - 1] / RESOLUTION_KWH + 1e-9))
    hi = int(np.ceil(grid[first] / RESOLUTION_KWH - 1e-9))
    extra = []
    while hi - lo > 1:
        mid = (lo + hi) // 2
        point = curve(np.array([round(mid * RESOLUTION_KWH, 6)]))
        extra.append(point)
        if reaches(float(point["coverage_pct"].iloc[0])):
            hi = mid
        else:
            lo = mid
    table = pd.concat([table, *extra], ignore_index=True)
    table = table.drop_duplicates("battery_kwh").sort_values("battery_kwh", ignore_index=True)
    return table, round(hi * RESOLUTION_KWH, 6)
