"""A fleet's output under a forecast: every plant, every forecast hour, every ensemble member.

:func:`run_forecast` runs the fleet kernel (:func:`simulate.fleet.run_fleet`, the same model
chain as every other figure) once per member of a :class:`simulate.forecast.Forecast`, each
plant on its nearest forecast location. It keeps what a dispatcher reads — the fleet's and
each province's AC power per hour and member — and each plant's energy per local day and
member, so memory grows with plants × days × members, not plants × hours × members; the
per-plant hours are handed to ``on_member`` as each member is done (to stream them to a
file).

Quantiles follow the energy-yield convention of :mod:`simulate.spread`: **P90 is the value
exceeded with 90 % probability** (the 10th percentile over members), P50 the median, P10 the
value exceeded with 10 % probability. A region's quantile is taken over the members' *sums*
(the region's own distribution), never by summing the plants' quantiles, which would assume
every plant's error is the same draw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulate.forecast import MAX_LOCATION_KM, Forecast
from telemetry.errors import InputError
from telemetry.registry import Fleet

__all__ = ["FLEET_REGION", "QUANTILES", "ForecastRun", "region_table", "run_forecast"]

#: Region name of the whole fleet in the tables.
FLEET_REGION = "(fleet)"
#: Probability of exceedance → percentile over members.
QUANTILES = {"p90": 10.0, "p50": 50.0, "p10": 90.0}


@dataclass(frozen=True)
class ForecastRun:
    """What a forecast run keeps.

    Attributes
    ----------
    plant_ids : tuple of str
        Plants simulated (those near a forecast location), in fleet order.
    skipped : tuple of str
        Plants farther than ``max_km`` from every forecast location.
    labels : pandas.DatetimeIndex
        (n_hours,) UTC, end of each hour.
    members : tuple of str
    regions : tuple of str
        Province of each region row; the last is :data:`FLEET_REGION`.
    region_ac_power_w : numpy.ndarray
        (n_members, n_regions, n_hours) summed AC power [W].
    days : pandas.DatetimeIndex
        Local days (``timezone``) the forecast covers, whole or not.
    plant_daily_kwh : numpy.ndarray
        (n_members, n_plants, n_days) [kWh]
    timezone : str
    source : str
    """

    plant_ids: tuple[str, ...]
    skipped: tuple[str, ...]
    labels: pd.DatetimeIndex
    members: tuple[str, ...]
    regions: tuple[str, ...]
    region_ac_power_w: np.ndarray
    days: pd.DatetimeIndex
    plant_daily_kwh: np.ndarray
    timezone: str
    source: str

    @property
    def ensemble(self) -> bool:
        return len(self.members) > 1


def run_forecast(
    fleet: Fleet,
    forecast: Forecast,
    *,
    timezone: str = "Asia/Tehran",
    transposition: str = "haydavies",
    max_km: float = MAX_LOCATION_KM,
    on_member: Callable[[int, tuple[str, ...], pd.DatetimeIndex, np.ndarray], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ForecastRun:
    """Simulate ``fleet`` under every member of ``forecast``.

    Parameters
    ----------
    fleet : telemetry.registry.Fleet
    forecast : simulate.forecast.Forecast
    timezone : str
        Zone of the local days. [IANA name]
    transposition : {'haydavies', 'perez'}
    max_km : float
        Plants farther than this from every forecast location are skipped. [km]
    on_member : callable, optional
        ``on_member(member_index, plant_ids, labels, ac_power_w)`` with the member's
        (n_plants, n_hours) AC power [W], as each member is done.
    progress : callable, optional
        ``progress(members_done, members_total)``.

    Returns
    -------
    ForecastRun

    Raises
    ------
    InputError
        No plant is near any forecast location.
    """
    from simulate.fleet import run_fleet

    p = fleet.plants
    index, _ = forecast.plant_locations(
        p["latitude"].to_numpy(float), p["longitude"].to_numpy(float), max_km
    )
    keep = np.flatnonzero(index >= 0)
    skipped = tuple(p["plant_id"].to_numpy()[index < 0].astype(str))
    if not len(keep):
        raise InputError(
            f"no plant is within {max_km:g} km of a location of the forecast "
            f"({forecast.n_locations} location(s)); fetch the forecast for the fleet's cells"
        )
    sub = Fleet(p.iloc[keep].reset_index(drop=True), fleet.source)
    ids = tuple(sub.plants["plant_id"].astype(str))
    provinces = sub.plants["province"].fillna("").astype(str).to_numpy()
    regions = (*sorted({r for r in provinces if r}), FLEET_REGION)
    region_of = np.array([regions.index(r) if r else -1 for r in provinces])
    n_m, n_t = forecast.n_members, len(forecast.labels)
    region_w = np.zeros((n_m, len(regions), n_t))
    daily = None
    days = pd.DatetimeIndex([])
    loc = index[keep]
    for m in range(n_m):
        weather = forecast.weather(m)
        run = run_fleet(
            sub,
            weather,
            hourly=True,
            timezone=timezone,
            transposition=transposition,
            weather_index=loc if forecast.n_locations > 1 else None,
        )
        power = run.ac_power_w
        assert power is not None
        for r in range(len(regions) - 1):
            region_w[m, r] = power[region_of == r].sum(axis=0)
        region_w[m, -1] = power.sum(axis=0)
        if daily is None:
            days = run.days
            daily = np.zeros((n_m, len(ids), len(days)))
        daily[m] = run.daily_ac_energy_kwh
        if on_member is not None:
            on_member(m, ids, forecast.labels, power)
        if progress is not None:
            progress(m + 1, n_m)
    assert daily is not None
    return ForecastRun(
        plant_ids=ids,
        skipped=skipped,
        labels=forecast.labels,
        members=forecast.members,
        regions=regions,
        region_ac_power_w=region_w,
        days=days,
        plant_daily_kwh=daily,
        timezone=timezone,
        source=forecast.source,
    )


def region_table(
    run: ForecastRun,
    *,
    daily: bool = False,
    error_ratios: dict[str, tuple[float, float, float]] | None = None,
) -> pd.DataFrame:
    """Fleet and province figures per hour (MW) or per local day (MWh).

    Parameters
    ----------
    run : ForecastRun
    error_ratios : dict, optional
        For a deterministic forecast: region → the 10th, 50th and 90th percentiles of past
        forecasts' hourly measured / forecast (:mod:`simulate.forecast_skill`); the hourly table
        then gets ``ac_power_p90_mw`` (forecast × the 10th percentile), ``_p50_``, ``_p10_``.
        Regions without their own take the fleet's.
    daily : bool
        False: one row per region and hour, ``ac_power_mw`` (the deterministic or control
        run), and for an ensemble ``ac_power_mean_mw``, ``ac_power_p90_mw``, ``_p50_``,
        ``_p10_``. True: one row per region and local day, ``ac_energy_mwh`` and for an
        ensemble ``ac_energy_mean_mwh``, ``ac_energy_p90_mwh``, ``_p50_``, ``_p10_``.

    Returns
    -------
    pandas.DataFrame
        ``time`` (UTC end of hour) or ``date`` (local), ``region``, the figures.
    """
    values = run.region_ac_power_w / 1e6  # (members, regions, hours) [MW]
    if daily:
        local = (run.labels - pd.Timedelta(minutes=30)).tz_convert(run.timezone)
        dates = local.normalize().tz_localize(None)
        uniq, inv = np.unique(dates.to_numpy(), return_inverse=True)
        per_day = np.zeros((*values.shape[:2], len(uniq)))
        for d in range(len(uniq)):
            per_day[:, :, d] = values[:, :, inv == d].sum(axis=2)  # 1-hour steps: MW·h
        hours = np.bincount(inv, minlength=len(uniq))
        values, name, unit = per_day, "ac_energy", "mwh"
        key: np.ndarray = np.asarray(pd.DatetimeIndex(uniq).date)
    else:
        name, unit = "ac_power", "mw"
        key = np.asarray(run.labels)
        hours = np.ones(len(key), dtype=np.int64)
    n_r, n_k = values.shape[1], values.shape[2]
    out = pd.DataFrame(
        {
            "date" if daily else "time": np.tile(key, n_r),
            "region": np.repeat(np.array(run.regions, dtype=object), n_k),
            f"{name}_{unit}": values[0].reshape(-1),
        }
    )
    if daily:
        out["hours"] = np.tile(hours, n_r)
    if run.ensemble:
        out[f"{name}_mean_{unit}"] = values.mean(axis=0).reshape(-1)
        for label, pct in QUANTILES.items():
            out[f"{name}_{label}_{unit}"] = np.percentile(values, pct, axis=0).reshape(-1)
    elif error_ratios and not daily:
        # A deterministic forecast: the spread past forecasts had (measured / forecast).
        fleet_ratio = error_ratios.get(FLEET_REGION)
        ratio = np.array(
            [error_ratios.get(r, fleet_ratio) or (np.nan,) * 3 for r in run.regions], float
        )  # (regions, 3): the 10th, 50th and 90th percentiles
        per_row = np.repeat(ratio, n_k, axis=0)
        for label, col in (("p90", 0), ("p50", 1), ("p10", 2)):
            out[f"{name}_{label}_{unit}"] = out[f"{name}_{unit}"].to_numpy() * per_row[:, col]
    return out
