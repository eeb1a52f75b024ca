"""Forecasts without a forecast file: the baselines a forecast's skill is measured against.

Both are weather for the fleet's 0.5° cells built on the clear sky
(:func:`simulate.clearsky.clear_sky_cells`): GHI = clear-sky GHI × a sky index ``K`` per cell,
split into beam and diffuse with Erbs (as any forecast without DHI, :mod:`simulate.forecast`),
air temperature the climate default's monthly mean, wind 1 m/s; then the same kernel as every
forecast (:func:`simulate.forecast_run.run_forecast`).

- **climate**: ``K`` = the climate default's mean clear-sky index of the cell and month
  (:func:`simulate.clearsky.climate_sky_index_cells`): what the season gives, no clouds known.
- **persistence**: ``K`` = the sky the fleet saw in the hours before the forecast, from the
  expectation triage wrote (``plant_expected``, :mod:`telemetry.schema`): per plant the
  measured energy over the clear-sky energy of the hours its peers judged, and per cell the
  median over its plants (the fleet as its own irradiance sensor); cells no plant reported
  fall back to the climate index. "Tomorrow is like today", the usual reference of
  day-ahead solar forecasting.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulate.clearsky import clear_sky_cells, climate_sky_index_cells
from simulate.forecast import Forecast, forecast_from_arrays
from telemetry.errors import InputError
from telemetry.registry import Fleet

__all__ = ["BASELINES", "baseline_forecast", "hour_labels_from", "recent_sky_index"]

#: Baselines by name.
BASELINES = ("climate", "persistence")


def hour_labels_from(start: pd.Timestamp, hours: int) -> pd.DatetimeIndex:
    """End-of-hour UTC labels of ``hours`` hours, the first beginning at ``start`` floored to
    the hour."""
    if not 1 <= hours <= 16 * 24:
        raise InputError(f"--hours must lie in 1–384, not {hours}")
    first = pd.Timestamp(start).tz_convert("UTC").floor("h") + pd.Timedelta(hours=1)
    return pd.date_range(first, periods=hours, freq="h")


def baseline_forecast(
    fleet: Fleet,
    labels: pd.DatetimeIndex,
    *,
    plant_sky_index: np.ndarray | None = None,
) -> Forecast:
    """The climate (``plant_sky_index`` None) or persistence baseline for ``fleet``.

    Parameters
    ----------
    fleet : telemetry.registry.Fleet
    labels : pandas.DatetimeIndex
        UTC end-of-hour labels of the forecast.
    plant_sky_index : numpy.ndarray, optional
        (n_plants,) each plant's recent sky index [-], NaN where unknown
        (:func:`recent_sky_index`).

    Returns
    -------
    simulate.forecast.Forecast
        One location per cell the climate default covers.
    """
    from simulate.fleet import fleet_cells

    centres, index = fleet_cells(fleet)
    k = climate_sky_index_cells(centres, labels)
    known = ~np.isnan(k).all(axis=1)
    if not known.any():
        raise InputError("no plant of the fleet lies where the climate default has weather")
    used = 0
    if plant_sky_index is not None:
        plant_k = np.asarray(plant_sky_index, float)
        for c in range(len(centres)):
            v = plant_k[(index == c) & np.isfinite(plant_k)]
            if len(v):
                k[c, :] = float(np.clip(np.median(v), 0.0, 1.2))
                used += 1
    centres, k = centres[known], k[known]
    cs = clear_sky_cells(centres, labels)
    n = len(centres)
    ghi = np.stack([cs.data[(c, "ghi")].to_numpy(float) for c in range(n)]) * k
    temp = np.stack([cs.data[(c, "temp_air")].to_numpy(float) for c in range(n)])
    wind = np.stack([cs.data[(c, "wind_speed")].to_numpy(float) for c in range(n)])
    if plant_sky_index is None:
        name = "climate baseline (clear sky × the climate default's monthly sky index)"
    else:
        name = (
            f"persistence baseline (the fleet's recent sky index in {used} of {len(known)} "
            "cells, the climate index elsewhere)"
        )
    return forecast_from_arrays(
        labels,
        {"ghi": ghi[None], "temp_air": temp[None], "wind_speed": wind[None]},
        latitude_deg=centres[:, 0],
        longitude_deg=centres[:, 1],
        source=name,
    )


def recent_sky_index(
    store: object, fleet: Fleet, since: pd.Timestamp, until: pd.Timestamp
) -> np.ndarray:
    """Each plant's sky index over ``[since, until)`` from ``plant_expected``.

    Measured energy over clear-sky energy, over the hours the plant reported and its peers
    judged (``from_peers``).

    Parameters
    ----------
    store : telemetry.influx.InfluxStore
    fleet : telemetry.registry.Fleet
    since, until : pandas.Timestamp

    Returns
    -------
    numpy.ndarray
        (n_plants,) [-]; NaN for plants with no such hour.
    """
    from telemetry.schema import MEASUREMENT_PLANT_EXPECTED

    def iso(t: pd.Timestamp) -> str:
        return pd.Timestamp(t).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")

    q = (
        'SELECT sum("ac_power_w") AS "measured", sum("clear_sky_ac_power_w") AS "clear" '
        f"FROM \"{MEASUREMENT_PLANT_EXPECTED}\" WHERE time >= '{iso(since)}' AND time < "
        f'\'{iso(until)}\' AND "from_peers" = true AND "ac_power_w" >= 0 GROUP BY "plant_id"'
    )
    by_id: dict[str, float] = {}
    for series in store.query(q):  # type: ignore[attr-defined]
        pid = (series.get("tags") or {}).get("plant_id")
        values = series.get("values") or []
        if pid and values:
            cols = series["columns"]
            row = dict(zip(cols, values[0], strict=False))
            if row.get("clear"):
                by_id[str(pid)] = float(row["measured"]) / float(row["clear"])
    return np.array([by_id.get(str(p), np.nan) for p in fleet.plants["plant_id"]])
