"""Clear-sky weather and the climate default's mean clear-sky index, per weather cell.

Shared by the forecast baseline (:mod:`simulate.forecast_baseline`) and the triage's expected
power from the peers (:mod:`triage.expected`):

- :func:`clear_sky_cells`: pvlib's Ineichen clear sky (Linke turbidity climatology) at each
  hour's midpoint and each cell centre, air temperature the climate default's monthly mean
  (20 °C where it has none), wind 1 m/s;
- :func:`climate_sky_index_cells`: the month's mean daily GHI of the climate default
  (:func:`simulate.climatology.monthly_climate`) over the mean daily clear-sky GHI of the same
  cell in that month — an index that knows the season, not the day's clouds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from simulate.weather import COLUMNS, Weather
from telemetry.registry import Fleet

__all__ = [
    "clear_sky_cells",
    "clear_sky_power",
    "clear_sky_weather",
    "climate_sky_index",
    "climate_sky_index_cells",
]


def clear_sky_cells(centres: np.ndarray, labels: pd.DatetimeIndex) -> Weather:
    """Clear-sky weather of some cells over the hours ``labels``.

    Parameters
    ----------
    centres : numpy.ndarray
        (n_cells, 2) latitude, longitude [degree].
    labels : pandas.DatetimeIndex
        UTC end-of-hour labels, regular and hourly.

    Returns
    -------
    simulate.weather.Weather
        A multi-cell weather (``simulate.fleet.run_fleet``'s ``weather_index`` form).
    """
    import pvlib

    from simulate.climatology import covers, monthly_climate

    mid = labels - pd.Timedelta(minutes=30)
    months = mid.month.to_numpy()
    frames = []
    for lat, lon in centres:
        alt = float(pvlib.location.lookup_altitude(lat, lon))
        cs = pvlib.location.Location(lat, lon, altitude=alt).get_clearsky(mid, model="ineichen")
        temp = np.full(len(mid), 20.0)
        if covers(float(lat), float(lon)) != "none":
            monthly = monthly_climate(float(lat), float(lon), alt)["temp_c"]
            temp = monthly.reindex(range(1, 13)).to_numpy(float)[months - 1]
        frame = pd.DataFrame(
            {
                "ghi": cs["ghi"].to_numpy(float),
                "dni": cs["dni"].to_numpy(float),
                "dhi": cs["dhi"].to_numpy(float),
                "temp_air": temp,
                "wind_speed": np.full(len(mid), 1.0),
            },
            index=labels,
        )[list(COLUMNS)]
        frames.append(frame)
    data = pd.concat(frames, axis=1, keys=range(len(frames)))
    return Weather(data=data, source="Ineichen clear sky", estimate=True)


def climate_sky_index_cells(centres: np.ndarray, labels: pd.DatetimeIndex) -> np.ndarray:
    """The climate default's mean clear-sky index of each cell and hour's month.

    Returns
    -------
    numpy.ndarray
        (n_cells, n_hours) [-], at most 1; NaN where the climate default has no value (open
        sea).
    """
    import pvlib

    from simulate.climatology import covers, monthly_climate

    mid = labels - pd.Timedelta(minutes=30)
    months = mid.month.to_numpy()
    out = np.full((len(centres), len(mid)), np.nan)
    for c, (lat, lon) in enumerate(centres):
        if covers(float(lat), float(lon)) == "none":
            continue
        alt = float(pvlib.location.lookup_altitude(lat, lon))
        clim = monthly_climate(float(lat), float(lon), alt)["ghi_kwh_m2_day"]
        # The clear sky over whole days of each month touched (a partial day at the period's
        # ends would bias the daily mean).
        for m in np.unique(months):
            year = int(mid[months == m][0].year)
            days = pd.date_range(
                pd.Timestamp(year=year, month=int(m), day=1, tz="UTC"),
                periods=pd.Timestamp(year=year, month=int(m), day=1).days_in_month * 24,
                freq="h",
            )
            cs = pvlib.location.Location(lat, lon, altitude=alt).get_clearsky(days, "ineichen")
            cs_daily_kwh_m2 = float(cs["ghi"].sum()) / 1000.0 / (len(days) / 24)
            out[c, months == m] = min(1.0, float(clim.loc[int(m)]) / cs_daily_kwh_m2)
    return out


def clear_sky_power(
    fleet: Fleet,
    labels: pd.DatetimeIndex,
    *,
    timezone: str = "Asia/Tehran",
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Each plant's AC power under a clear sky, through the fleet kernel.

    Returns
    -------
    numpy.ndarray
        (n_plants, n_hours) mean AC power of each hour. [W]
    """
    from simulate.fleet import run_fleet

    weather, index = clear_sky_weather(fleet, labels)
    run = run_fleet(
        fleet, weather, hourly=True, timezone=timezone, weather_index=index, progress=progress
    )
    assert run.ac_power_w is not None
    return np.asarray(run.ac_power_w, dtype=float)


def climate_sky_index(fleet: Fleet, labels: pd.DatetimeIndex) -> np.ndarray:
    """The climate default's mean clear-sky index of each plant's cell and month.

    The month's mean daily GHI of the climate default (:func:`simulate.climatology.
    monthly_climate`) over the mean daily clear-sky GHI of the same cell in that month's hours
    of ``labels``: the fallback sky index where too few peers report.

    Returns
    -------
    numpy.ndarray
        (n_plants, n_hours) [-]; NaN where the climate default has no value (open sea).
    """
    from simulate.fleet import fleet_cells

    centres, index = fleet_cells(fleet)
    return climate_sky_index_cells(centres, labels)[index]


def clear_sky_weather(fleet: Fleet, labels: pd.DatetimeIndex) -> tuple[Weather, np.ndarray]:
    """Clear-sky weather for the fleet's 0.5° cells over the hours ``labels``.

    Ineichen clear sky (pvlib, Linke turbidity climatology) at each interval's midpoint;
    air temperature: the climate default's monthly mean at the cell (20 °C where it has none);
    wind 1 m/s.

    Parameters
    ----------
    fleet : telemetry.registry.Fleet
    labels : pandas.DatetimeIndex
        UTC end-of-hour labels, regular and hourly.

    Returns
    -------
    (simulate.weather.Weather, numpy.ndarray)
        A multi-cell weather (``simulate.fleet.run_fleet``'s ``weather_index`` form) and each
        plant's cell.
    """
    from simulate.fleet import fleet_cells

    centres, index = fleet_cells(fleet)
    return clear_sky_cells(centres, labels), index
