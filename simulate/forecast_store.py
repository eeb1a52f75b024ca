"""Forecasts to InfluxDB: ``sim_forecast`` (documented in :mod:`telemetry.schema`).

One point per region (each province and ``(fleet)``) and hour, and one per plant and hour,
tagged with the run's ``run_id``; time = the **start** of the forecast hour, as InfluxQL's
``GROUP BY time(1h)`` labels the ``inverter`` readings they are compared with. Plants carry the
deterministic (or control) power and, for an ensemble, the members' mean; regions also carry
P90/P50/P10 over the members (of the region's sum).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from simulate.forecast_run import QUANTILES, ForecastRun
from telemetry.lineprotocol import format_point
from telemetry.schema import MEASUREMENT_SIM_FORECAST, TAG_PLANT_ID, TAG_RUN_ID

__all__ = ["forecast_lines"]


def forecast_lines(
    run: ForecastRun,
    run_id: str,
    issued: pd.Timestamp,
    *,
    plant_ac_power_w: np.ndarray | None = None,
    plant_mean_ac_power_w: np.ndarray | None = None,
    provinces: dict[str, str] | None = None,
    method: str = "nwp",
    error_ratios: dict[str, tuple[float, float, float]] | None = None,
) -> Iterator[str]:
    """Line protocol of ``sim_forecast``, generated lazily (a large fleet never sits in memory
    as strings).

    Parameters
    ----------
    run : simulate.forecast_run.ForecastRun
    run_id : str
    issued : pandas.Timestamp
        When the forecast was issued (the run's start); ``lead_h`` counts from it. [UTC]
    plant_ac_power_w, plant_mean_ac_power_w : numpy.ndarray, optional
        (n_plants, n_hours) control and members' mean AC power [W]; None: no plant points.
    provinces : dict, optional
        plant_id → province, for the plant points' ``province`` tag.
    method : str
        Tag ``method``: ``nwp`` (a weather model's forecast), ``climate`` or ``persistence``
        (the baselines of :mod:`simulate.forecast_baseline`).
    error_ratios : dict, optional
        A deterministic forecast's spread from past skill (as
        :func:`simulate.forecast_run.region_table`): regions get ``ac_power_p90_w`` etc.
    """
    starts = (run.labels - pd.Timedelta(hours=1)).asi8
    issued = pd.Timestamp(issued).tz_convert("UTC")
    lead_h = (run.labels - issued) / pd.Timedelta(hours=1)
    issued_text = issued.strftime("%Y-%m-%dT%H:%M:%SZ")
    power = run.region_ac_power_w  # (members, regions, hours)
    mean = power.mean(axis=0)
    pct = {label: np.percentile(power, q, axis=0) for label, q in QUANTILES.items()}
    ratio = None
    if error_ratios and not run.ensemble:
        fleet_ratio = error_ratios.get("(fleet)") or (np.nan,) * 3
        ratio = np.array([error_ratios.get(r, fleet_ratio) for r in run.regions], float)
    for r, region in enumerate(run.regions):
        tags = {TAG_RUN_ID: run_id, "method": method, "kind": "region", "region": region}
        for t in range(len(starts)):
            fields: dict[str, float | int | bool | str] = {
                "ac_power_w": float(power[0, r, t]),
                "lead_h": float(lead_h[t]),
                "issued": issued_text,
            }
            if run.ensemble:
                fields["ac_power_mean_w"] = float(mean[r, t])
                for label in QUANTILES:
                    fields[f"ac_power_{label}_w"] = float(pct[label][r, t])
            elif ratio is not None and np.isfinite(ratio[r]).all():
                for label, k in (("p90", 0), ("p50", 1), ("p10", 2)):
                    fields[f"ac_power_{label}_w"] = float(power[0, r, t] * ratio[r][k])
            yield format_point(MEASUREMENT_SIM_FORECAST, tags, fields, int(starts[t]))
    if plant_ac_power_w is None:
        return
    for i, pid in enumerate(run.plant_ids):
        tags = {TAG_RUN_ID: run_id, "method": method, "kind": "plant", TAG_PLANT_ID: pid}
        if provinces and provinces.get(pid):
            tags["province"] = provinces[pid]
        for t in range(len(starts)):
            fields = {
                "ac_power_w": float(plant_ac_power_w[i, t]),
                "lead_h": float(lead_h[t]),
                "issued": issued_text,
            }
            if run.ensemble and plant_mean_ac_power_w is not None:
                fields["ac_power_mean_w"] = float(plant_mean_ac_power_w[i, t])
            yield format_point(MEASUREMENT_SIM_FORECAST, tags, fields, int(starts[t]))
