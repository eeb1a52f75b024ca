"""Tomorrow's cuts, household by household: will the forecast PV and the battery carry them?

For every plant whose ``outage_zone`` has a cut in the forecast's horizon, the forecast's
hourly AC power goes through the same dispatch as ``simulate outage``
(:func:`simulate.dispatch.dispatch_arrays`, its trace kept), and each cut gets a row:

- ``pv_kwh``: the PV the plant could make during the cut (the forecast's);
- ``soc_start_pct``: the battery's stored energy when the hour the cut begins in starts, as a
  share of its capacity (the battery starts the horizon at ``initial_soc_frac`` of its usable
  range — full by default, as a battery kept as a backup reserve is — and then charges and
  discharges as the dispatch says); empty for plants without a battery;
- ``need_kwh``, ``served_kwh``, ``short_kwh``: the essential load during the cut, what PV and
  battery serve, what is left unserved;
- ``hours_uncovered``: cut hours not fully served; ``covered``: none;
- ``export_lost_kwh``: PV energy the cut kept from the grid (a grid-tied plant's whole PV of
  the cut, by anti-islanding; a hybrid's surplus the house and battery could not take).

An interval shared by two cuts of a zone is split between them by their overlap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulate.coverage import OutageOptions, _battery, calendar_axis
from simulate.dispatch import TRACE_ROWS, dispatch_arrays
from simulate.load import plant_loads
from simulate.outages import Schedule, cut_fractions, plant_zone_index
from telemetry.registry import Fleet

__all__ = ["CUT_COLUMNS", "household_cuts"]

#: Columns of :func:`household_cuts`.
CUT_COLUMNS = (
    "plant_id",
    "province",
    "inverter_type",
    "battery_kwh",
    "zone",
    "cut_start",
    "cut_end",
    "announced",
    "cut_hours",
    "pv_kwh",
    "soc_start_pct",
    "need_kwh",
    "served_kwh",
    "short_kwh",
    "hours_uncovered",
    "covered",
    "export_lost_kwh",
)
_NS_PER_H = 3_600_000_000_000
_ROW = {name: i for i, name in enumerate(TRACE_ROWS)}


def household_cuts(
    fleet: Fleet,
    pv_ac_w: np.ndarray,
    labels: pd.DatetimeIndex,
    schedule: Schedule,
    *,
    options: OutageOptions | None = None,
    timezone: str = "Asia/Tehran",
) -> pd.DataFrame:
    """One row per plant and cut in the horizon (:data:`CUT_COLUMNS`).

    Parameters
    ----------
    fleet : telemetry.registry.Fleet
        The plants of ``pv_ac_w``'s rows.
    pv_ac_w : numpy.ndarray
        (n_plants, n_hours) forecast AC power [W], hourly, labelled at the end of the hour.
    labels : pandas.DatetimeIndex
        (n_hours,) UTC end-of-hour labels.
    schedule : simulate.outages.Schedule
    options : simulate.coverage.OutageOptions, optional
        Battery, load and starting charge (``initial_soc_frac``).
    timezone : str
        Zone of the local clock (load profiles). [IANA name]

    Returns
    -------
    pandas.DataFrame
        Sorted by ``hours_uncovered`` then ``short_kwh``, largest first.
    """
    options = options or OutageOptions()
    plants = fleet.plants
    cuts = cut_fractions(schedule, labels, 1.0, timezone)
    zone_index = plant_zone_index(cuts, plants["outage_zone"].to_numpy())
    rows = np.flatnonzero((zone_index >= 0) & (cuts.hours[np.maximum(zone_index, 0)] > 0))
    if not len(rows):
        return pd.DataFrame({c: [] for c in CUT_COLUMNS})
    sub = plants.iloc[rows].reset_index(drop=True)
    axis = calendar_axis(labels, 1.0, timezone, options.peak_window)
    loads = plant_loads(
        sub["plant_id"].tolist(),
        sub["essential_load_w"].to_numpy(float),
        kind=options.load_kind,
        self_consumption=options.self_consumption,
    )
    battery, capacity = _battery(sub, options)
    zi = zone_index[rows]
    result = dispatch_arrays(
        np.ascontiguousarray(pv_ac_w[rows], dtype=float),
        battery,
        zone_index=zi,
        cut_fraction=cuts.fraction,
        cut_start_hour=cuts.start_hour,
        load_tables_w=loads.tables_w,
        cut_load_index=loads.cut_index,
        cut_load_scale=loads.cut_scale,
        self_load_index=loads.self_index,
        self_load_scale=loads.self_scale,
        month_index=axis.month0,
        hijri_month_index=axis.hijri_month0,
        hour_index=axis.hour,
        peak=axis.peak,
        step_hours=1.0,
        trace=True,
    )
    trace = result.trace
    assert trace is not None
    usable = np.asarray(battery.usable_dod) * capacity * 1000.0  # [Wh]
    e0 = (capacity * 1000.0 - usable) + np.asarray(battery.initial_soc_frac) * usable
    ends = labels.tz_convert("UTC").tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64)
    begins = ends - _NS_PER_H
    zone_names = cuts.zones
    out: dict[str, list] = {c: [] for c in CUT_COLUMNS}
    for k in range(len(schedule)):
        s, e = int(schedule.start_ns[k]), int(schedule.end_ns[k])
        first = int(np.searchsorted(ends, s, side="right"))
        stop = int(np.searchsorted(begins, e, side="left"))
        if stop <= first:
            continue  # outside the horizon
        t = np.arange(first, stop)
        overlap = (np.minimum(e, ends[t]) - np.maximum(s, begins[t])) / _NS_PER_H  # [h]
        zone = str(schedule.zone[k])
        z = zone_names.index(zone)
        for j in np.flatnonzero(zi == z):
            f = cuts.fraction[z, t]
            share = np.where(f > 0, overlap / np.maximum(f, 1e-12), 0.0)  # this cut's part
            tr = trace[j][:, t]
            need = float((tr[_ROW["need_wh"]] * share).sum()) / 1000.0
            served = float((tr[_ROW["served_wh"]] * share).sum()) / 1000.0
            full_h = float((tr[_ROW["served_h"]] * share).sum())
            soc_wh = e0[j] if first == 0 else trace[j, _ROW["soc_wh"], first - 1]
            cap_wh = capacity[j] * 1000.0
            p = sub.iloc[j]
            out["plant_id"].append(str(p["plant_id"]))
            out["province"].append(str(p["province"] or ""))
            out["inverter_type"].append(str(p["inverter_type"]))
            out["battery_kwh"].append(float(capacity[j]))
            out["zone"].append(zone)
            out["cut_start"].append(pd.Timestamp(s, tz="UTC").isoformat())
            out["cut_end"].append(pd.Timestamp(e, tz="UTC").isoformat())
            out["announced"].append(
                True if schedule.announced is None else bool(schedule.announced[k])
            )
            out["cut_hours"].append(float(overlap.sum()))
            out["pv_kwh"].append(float((tr[_ROW["pv_wh"]] * overlap).sum()) / 1000.0)
            out["soc_start_pct"].append(100.0 * soc_wh / cap_wh if cap_wh > 0 else np.nan)
            out["need_kwh"].append(need)
            out["served_kwh"].append(served)
            out["short_kwh"].append(max(0.0, need - served))
            out["hours_uncovered"].append(max(0.0, float(overlap.sum()) - full_h))
            out["covered"].append(bool(need - served <= 1e-9 * max(need, 1e-12)))
            out["export_lost_kwh"].append(float((tr[_ROW["curtailed_wh"]] * share).sum()) / 1000.0)
    frame = pd.DataFrame(out)
    return frame.sort_values(
        ["hours_uncovered", "short_kwh"], ascending=False, kind="stable"
    ).reset_index(drop=True)
