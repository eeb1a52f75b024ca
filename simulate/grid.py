"""The fleet's grid contribution and outage coverage, by region and month: factors and tables.

Factors (defaults from :mod:`telemetry.factors`, where their sources are; every one is a
parameter of :class:`GridFactors` and of the CLI):

- **Evening peak** (:func:`peak_mask`): the peak hours of Tavanir's time-of-use household tariff,
  19:00–23:00 from Farvardin to Shahrivar and 17:00–21:00 from Mehr to Esfand (local clock).
  Export in these hours is reported apart (``exported_peak_kwh``); a fixed window may be given
  instead. (The national summer demand peak has moved into the afternoon, 13:00–17:00, with
  cooling; pass that window to look at it.)
- **Tariff**: by default each plant's first contract year in the tariff table
  (:mod:`telemetry.tariffs`: its ``tariff_category``, else ``household``, 2,500 toman/kWh, IRIB
  News Hamedan, 2025-10-03); a flat ``tariff_toman_per_kwh`` (``--tariff``) overrides it.
  Income = exported kWh × tariff (energy served to the household during cuts earns nothing);
  the 20 contract years are projected by :func:`telemetry.tariffs.project`.
- **Gas avoided**: 0.275 m³ of natural gas per exported kWh = 3.6 MJ/kWh ÷ 0.3856 (average
  efficiency of Iran's thermal plants, TPPH via Mehr News, 2020-12-02) ÷ 34 MJ/m³ (lower
  heating value of pipeline gas: an assumption within its usual 32–36 MJ/m³).
- **CO2 avoided, gas margin** (``co2_avoided_*``): 0.524 kg per exported kWh = 3.6 / 0.3856 MJ
  of gas burnt × 56.1 g CO2/MJ (IPCC 2006 Guidelines, vol. 2, table 2.2, natural gas).
- **CO2 avoided, grid average** (``co2_avoided_grid_*``): 0.655 kg CO2e per exported kWh, the
  carbon intensity of Iran's generation in 2023 (Ember and Energy Institute via Our World in
  Data).

The gas-margin figures assume that PV exported to the grid displaces gas-fired thermal
generation at the fleet's average efficiency, with no credit for the distribution losses it
avoids (≈ 11–13 % in Iran: conservative), and no account of the liquid fuels (mazut, diesel)
burnt in winter when gas is short (which would raise the CO2 figure); the grid average counts
the whole mix instead. Energy served to a household during a cut displaces no grid generation
and is not counted. Sources and dates: :mod:`telemetry.factors`.

Table conventions: ``region`` is the province (``(none)`` when the fleet file gives none) or
``(fleet)`` for all plants; ``calendar`` is ``year``, ``gregorian`` or ``solar_hijri`` with
``month`` 0 for the year and 1–12 otherwise. Every additive figure of a region is the sum of its
plants' figures (coverage is recomputed from the sums, peak power is the maximum of the region's
summed hourly export).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulate.dispatch import MONTH_METRICS
from telemetry.calendar import GREGORIAN_MONTHS, HIJRI_MONTHS
from telemetry.factors import CO2_GRID_AVERAGE_KG_PER_KWH, CO2_KG_PER_KWH, GAS_M3_PER_KWH

__all__ = [
    "FLEET_REGION",
    "NO_PROVINCE",
    "TOU_PEAK_HOURS",
    "GridFactors",
    "heatmap_table",
    "peak_mask",
    "region_table",
]

FLEET_REGION = "(fleet)"
NO_PROVINCE = "(none)"
#: Tavanir TOU peak window [start hour, end hour) for Solar Hijri months 1–6 and 7–12.
TOU_PEAK_HOURS = ((19, 23), (17, 21))
CALENDARS = ("gregorian", "solar_hijri")


@dataclass(frozen=True)
class GridFactors:
    """Money and fuel per exported kWh (see the module docstring for the sources).

    Attributes
    ----------
    tariff_toman_per_kwh : float or None
        A flat purchase price for every plant and contract year; None: each plant's rate from
        the tariff table (:mod:`telemetry.tariffs`). [toman/kWh]
    co2_kg_per_kwh : float
        CO2 avoided per exported kWh, gas margin. [kg/kWh]
    gas_m3_per_kwh : float
        Natural gas avoided per exported kWh. [m³/kWh]
    co2_grid_kg_per_kwh : float
        CO2 avoided per exported kWh at the grid's average carbon intensity. [kg/kWh]
    """

    tariff_toman_per_kwh: float | None = None
    co2_kg_per_kwh: float = CO2_KG_PER_KWH
    gas_m3_per_kwh: float = GAS_M3_PER_KWH
    co2_grid_kg_per_kwh: float = CO2_GRID_AVERAGE_KG_PER_KWH


def peak_mask(
    hour: np.ndarray, hijri_month0: np.ndarray, window: tuple[int, int] | None = None
) -> np.ndarray:
    """Intervals in the evening peak.

    Parameters
    ----------
    hour : int array
        Local hour of each interval's midpoint (0–23).
    hijri_month0 : int array
        Solar Hijri month of each interval, 0 = Farvardin.
    window : (int, int), optional
        Fixed ``[start, end)`` local hours (``end`` may be 24; ``start > end`` wraps midnight).
        Default: the Tavanir TOU peak, by half of the Solar Hijri year.

    Returns
    -------
    numpy.ndarray of bool
    """
    hour = np.asarray(hour)
    if window is None:
        first = np.asarray(hijri_month0) < 6
        (a1, b1), (a2, b2) = TOU_PEAK_HOURS
        return np.where(first, (hour >= a1) & (hour < b1), (hour >= a2) & (hour < b2))
    a, b = window
    if a <= b:
        return (hour >= a) & (hour < b)
    return (hour >= a) | (hour < b)


def _figures(
    sums: list[float], factors: GridFactors, plants: int, peak_w: float, income_toman: float
) -> dict[str, float]:
    outage_h, served_h, need_wh, served_wh, export_wh, peak_wh = sums
    exported_kwh = export_wh / 1000.0
    return {
        "plants": plants,
        "outage_hours": outage_h,
        "outage_hours_served": served_h,
        "coverage_pct": 100.0 * served_h / outage_h if outage_h > 0 else np.nan,
        "unserved_kwh": max(need_wh - served_wh, 0.0) / 1000.0,
        "essential_served_kwh": served_wh / 1000.0,
        "exported_kwh": exported_kwh,
        "exported_peak_kwh": peak_wh / 1000.0,
        "peak_mw": peak_w / 1e6,
        "income_toman": income_toman,
        "co2_avoided_t": exported_kwh * factors.co2_kg_per_kwh / 1000.0,
        "co2_avoided_grid_t": exported_kwh * factors.co2_grid_kg_per_kwh / 1000.0,
        "gas_avoided_m3": exported_kwh * factors.gas_m3_per_kwh,
    }


def region_table(
    regions: np.ndarray,
    monthly: np.ndarray,
    region_export_w: np.ndarray,
    region_names: list[str],
    month0: np.ndarray,
    hijri_month0: np.ndarray,
    factors: GridFactors,
    plant_tariff: np.ndarray | None = None,
) -> pd.DataFrame:
    """Figures by region (each province and the fleet), for the year and each month.

    Parameters
    ----------
    regions : int array, shape (n_plants,)
        Each plant's row in ``region_names``.
    monthly : numpy.ndarray, shape (n_plants, 2, len(MONTH_METRICS), 12)
        Per-plant monthly figures (:class:`simulate.dispatch.DispatchResult`).
    region_export_w : numpy.ndarray, shape (n_regions, n_time)
        Summed mean export power of each region's plants. [W]
    region_names : list of str
    month0, hijri_month0 : int arrays, shape (n_time,)
        Gregorian and Solar Hijri month (0–11) of each interval.
    factors : GridFactors
    plant_tariff : numpy.ndarray, shape (n_plants,), optional
        Each plant's rate (its first contract year); default ``factors.tariff_toman_per_kwh``
        for all. [toman/kWh]

    Returns
    -------
    pandas.DataFrame
        ``region``, ``calendar``, ``month``, ``month_name`` and the figures (module docstring).
    """
    mi = {name: i for i, name in enumerate(MONTH_METRICS)}
    if plant_tariff is None:
        if factors.tariff_toman_per_kwh is None:
            raise ValueError("region_table needs plant_tariff or a flat factors tariff")
        plant_tariff = np.full(len(regions), factors.tariff_toman_per_kwh)
    # (n_plants, 2, 12) income of each plant and month. [toman]
    income = monthly[:, :, mi["export_wh"], :] / 1000.0 * np.asarray(plant_tariff)[:, None, None]
    keys = ("outage_h", "served_h", "need_wh", "served_wh", "export_wh", "export_peak_wh")
    rows = []
    fleet_export = region_export_w.sum(axis=0)
    groups = [(name, regions == r, region_export_w[r]) for r, name in enumerate(region_names)]
    groups.append((FLEET_REGION, np.ones(len(regions), dtype=bool), fleet_export))
    for name, members, export_w in groups:
        sums = monthly[members].sum(axis=0)  # (2, metrics, 12)
        paid = income[members].sum(axis=0)  # (2, 12)
        n = int(members.sum())
        year = [float(sums[0, mi[k]].sum()) for k in keys]
        peak = float(export_w.max()) if export_w.size else 0.0
        rows.append(
            {
                "region": name,
                "calendar": "year",
                "month": 0,
                "month_name": "",
                **_figures(year, factors, n, peak, float(paid[0].sum())),
            }
        )
        for c, (calendar, names, index) in enumerate(
            zip(CALENDARS, (GREGORIAN_MONTHS, HIJRI_MONTHS), (month0, hijri_month0), strict=True)
        ):
            for m in range(12):
                in_month = index == m
                if not in_month.any():
                    continue
                peak = float(export_w[in_month].max())
                values = [float(sums[c, mi[k], m]) for k in keys]
                rows.append(
                    {
                        "region": name,
                        "calendar": calendar,
                        "month": m + 1,
                        "month_name": names[m],
                        **_figures(values, factors, n, peak, float(paid[c, m])),
                    }
                )
    return pd.DataFrame(rows)


def heatmap_table(heat: np.ndarray) -> pd.DataFrame:
    """The fleet's coverage by month × local hour of the cut's start, as a long table.

    Parameters
    ----------
    heat : numpy.ndarray, shape (2, 12, 24, 2)
        Cut hours and fully served cut hours (``DispatchResult.heat``). [h]

    Returns
    -------
    pandas.DataFrame
        ``calendar``, ``month``, ``month_name``, ``start_hour``, ``outage_hours``,
        ``outage_hours_served``, ``coverage_pct`` — only cells with cuts.
    """
    rows = []
    for c, (calendar, names) in enumerate(
        zip(CALENDARS, (GREGORIAN_MONTHS, HIJRI_MONTHS), strict=True)
    ):
        for m in range(12):
            for h in range(24):
                hours, served = heat[c, m, h]
                if hours > 0:
                    rows.append(
                        {
                            "calendar": calendar,
                            "month": m + 1,
                            "month_name": names[m],
                            "start_hour": h,
                            "outage_hours": hours,
                            "outage_hours_served": served,
                            "coverage_pct": 100.0 * served / hours,
                        }
                    )
    columns = [
        "calendar",
        "month",
        "month_name",
        "start_hour",
        "outage_hours",
        "outage_hours_served",
        "coverage_pct",
    ]
    return pd.DataFrame(rows, columns=columns)
