"""Outage coverage of a fleet: yield kernel → dispatch kernel → per-plant and regional figures.

:func:`run_outages` simulates the fleet chunk by chunk (the hourly AC power of one chunk of plants
at a time, so memory stays bounded for any fleet size), dispatches each chunk through its zone's
cuts (:mod:`simulate.dispatch`) and reduces to the per-plant summary, the region × month table
and the coverage heat map (:mod:`simulate.grid`).

Calendar: days, months, hours and the evening peak are those of the interval midpoints in
``timezone``. A typical-year weather (the embedded climatology, or a TMY/EPW file whose years are
coerced to 1990) has no year of its own: it is re-dated into the year of the schedule's cuts (the
year holding most of their time), so that a schedule written for, say, summer 2025 falls on the
typical year's same dates. A real (measured) year is never re-dated. Cuts outside the simulated
period, or on a 29 February a typical year lacks, are left out and counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulate.dispatch import MONTH_METRICS, BatteryParams, DispatchResult, dispatch_arrays
from simulate.fleet import FleetRun, default_fleet_weather, hijri_month_of, run_fleet
from simulate.grid import (
    CALENDARS,
    FLEET_REGION,
    NO_PROVINCE,
    GridFactors,
    heatmap_table,
    peak_mask,
    region_table,
)
from simulate.load import plant_loads
from simulate.outages import CutFractions, Schedule, cut_fractions, plant_zone_index
from simulate.weather import TYPICAL_YEAR, Weather
from telemetry.errors import InputError
from telemetry.factors import DEGRADATION_PER_YEAR
from telemetry.registry import Fleet
from telemetry.tariffs import Projection, TariffTable, plant_categories, project

__all__ = [
    "CalendarAxis",
    "OutageOptions",
    "OutageRun",
    "calendar_axis",
    "run_outages",
    "schedule_year",
    "simulation_labels",
]


@dataclass(frozen=True)
class OutageOptions:
    """Dispatch and reporting choices shared by the whole fleet.

    Attributes
    ----------
    load_kind : {'essential', 'full'}
        Household load during cuts (:mod:`simulate.load`).
    usable_dod : float
        Usable depth of discharge. [0–1]
    round_trip_eff : float
        Battery round-trip efficiency. [0–1]
    battery_power_kw : float or None
        Charge/discharge limit; None: each plant's inverter AC rating. [kW]
    reserve_frac : float
        Share of the usable battery kept for cuts; the rest is exported in the peak. [0–1]
    initial_soc_frac : float
        Battery charge at the start, share of the usable range. [0–1]
    battery_kwh : float or None
        Battery of every hybrid plant (for what-if runs); None: the fleet file's. [kWh]
    self_consumption : bool
        Serve the full-home load from PV while the grid is up (default False: the program's
        plants sell everything).
    peak_window : (int, int) or None
        Fixed evening-peak hours; None: Tavanir's TOU peak (:func:`simulate.grid.peak_mask`).
    factors : GridFactors
        Tariff, CO2 and gas per exported kWh.
    degradation_per_year : float
        Yearly loss of output for the 20-year contract projection. [1/year]
    """

    load_kind: str = "essential"
    usable_dod: float = 0.9
    round_trip_eff: float = 0.9
    battery_power_kw: float | None = None
    reserve_frac: float = 1.0
    initial_soc_frac: float = 1.0
    battery_kwh: float | None = None
    self_consumption: bool = False
    peak_window: tuple[int, int] | None = None
    factors: GridFactors = field(default_factory=GridFactors)
    degradation_per_year: float = DEGRADATION_PER_YEAR


@dataclass(frozen=True)
class CalendarAxis:
    """Local calendar of each interval midpoint: Gregorian month, Solar Hijri month (both 0–11),
    hour (0–23) and evening-peak flag."""

    month0: np.ndarray
    hijri_month0: np.ndarray
    hour: np.ndarray
    peak: np.ndarray


@dataclass(frozen=True)
class OutageRun:
    """Results of :func:`run_outages`.

    Attributes
    ----------
    summary : pandas.DataFrame
        The fleet summary (:class:`simulate.fleet.FleetRun`) plus, per plant, ``outage_zone``
        (the schedule zone applied; ``*`` for an unzoned schedule, empty for none),
        ``inverter_type``, ``battery_kwh``, ``outage_hours``, ``outage_hours_served``,
        ``coverage_pct``, ``unserved_kwh``, ``essential_need_kwh``, ``essential_served_kwh``,
        ``exported_kwh``, ``exported_peak_kwh``, ``curtailed_kwh``,
        ``export_lost_to_cuts_kwh`` (the PV energy the cuts kept from the grid: a grid-tied
        inverter must stop while the grid is down; equal to ``curtailed_kwh``),
        ``self_consumed_kwh``, ``battery_charge_kwh``, ``battery_discharge_kwh``, ``soc_min_pct``,
        ``soc_max_pct``, ``income_toman`` (first contract year's rate), ``co2_avoided_kg`` (gas
        margin), ``co2_avoided_grid_kg`` (grid average), ``gas_avoided_m3``, and the contract's
        ``income_year1_toman``, ``income_lifetime_toman``, ``income_lifetime_rial``,
        ``energy_lifetime_kwh`` (:meth:`telemetry.tariffs.Projection.totals`).
    regions : pandas.DataFrame
        :func:`simulate.grid.region_table` plus ``export_lost_to_cuts_kwh`` (the sum over the
        region's plants, for the year and each month) and ``grid_tied_lost_to_cuts_kwh`` (that
        of its grid-tied plants: anti-islanding).
    heatmap : pandas.DataFrame
        :func:`simulate.grid.heatmap_table`.
    dispatch : DispatchResult
    fleet_export_w : numpy.ndarray
        (n_time,) the fleet's mean exported power per interval. [W]
    labels : pandas.DatetimeIndex
        End-of-interval labels on the simulated calendar (re-dated for a typical year).
    yield_run : FleetRun
        The yield simulation (no hourly matrix), its days on the simulated calendar.
    cuts : CutFractions
    year : int
        Calendar year of the figures.
    schedule_source : str
    plants_without_cuts : int
    contract : telemetry.tariffs.Projection or None
        The 20 contract years of each plant's exported energy and income.
    """

    summary: pd.DataFrame
    regions: pd.DataFrame
    heatmap: pd.DataFrame
    dispatch: DispatchResult
    fleet_export_w: np.ndarray
    labels: pd.DatetimeIndex
    yield_run: FleetRun
    cuts: CutFractions
    year: int
    schedule_source: str
    plants_without_cuts: int
    contract: Projection | None = None


def schedule_year(schedule: Schedule) -> int | None:
    """The UTC year holding most of the schedule's cut time, or None for no cuts."""
    if len(schedule) == 0:
        return None
    years = schedule.start_ns.astype("datetime64[ns]").astype("datetime64[Y]").astype(int) + 1970
    weights = (schedule.end_ns - schedule.start_ns).astype(float)
    uniq, inverse = np.unique(years, return_inverse=True)
    return int(uniq[np.argmax(np.bincount(inverse, weights=weights))])


def _majority_year(labels: pd.DatetimeIndex) -> int:
    years, counts = np.unique(labels.year.to_numpy(), return_counts=True)
    return int(years[np.argmax(counts)])


def simulation_labels(weather: Weather, year: int | None) -> tuple[pd.DatetimeIndex, int]:
    """The weather's labels on the simulated calendar, and its year.

    A typical year (estimate, or labelled in :data:`simulate.weather.TYPICAL_YEAR`) moves to
    ``year`` when one is given; a measured year keeps its dates.
    """
    labels = pd.DatetimeIndex(weather.data.index)
    own = _majority_year(labels)
    typical = weather.estimate or own == TYPICAL_YEAR
    if year is None or not typical or year == own:
        return labels, own
    if not 1900 <= year <= 2200:
        raise InputError(f"year {year} is out of range")
    return labels + pd.DateOffset(years=year - own), year


def calendar_axis(
    labels: pd.DatetimeIndex,
    step_hours: float,
    timezone: str,
    peak_window: tuple[int, int] | None = None,
) -> CalendarAxis:
    """Local month, Solar Hijri month, hour and peak flag of each interval midpoint."""
    local = (labels - pd.Timedelta(hours=step_hours / 2)).tz_convert(timezone)
    dates = local.normalize().tz_localize(None)
    days, day_index = np.unique(dates.to_numpy(), return_inverse=True)
    hijri = hijri_month_of(pd.DatetimeIndex(days))[day_index.reshape(-1)] - 1
    hour = local.hour.to_numpy().astype(np.int64)
    return CalendarAxis(
        month0=local.month.to_numpy().astype(np.int64) - 1,
        hijri_month0=hijri.astype(np.int64),
        hour=hour,
        peak=peak_mask(hour, hijri, peak_window),
    )


def _sub_weather(weather: Weather, index: np.ndarray) -> tuple[Weather, np.ndarray]:
    """The weather columns a chunk of plants uses, re-indexed from 0."""
    if not isinstance(weather.data.columns, pd.MultiIndex):
        return weather, np.zeros(len(index), dtype=np.int64)
    cells, local = np.unique(index, return_inverse=True)
    data = pd.concat([weather.data[int(c)] for c in cells], axis=1, keys=range(len(cells)))
    return (
        Weather(
            data=data,
            source=weather.source,
            step_hours=weather.step_hours,
            utc_offset_h=weather.utc_offset_h,
            estimate=weather.estimate,
        ),
        local.reshape(-1).astype(np.int64),
    )


def _battery(plants: pd.DataFrame, options: OutageOptions) -> tuple[BatteryParams, np.ndarray]:
    hybrid = (plants["inverter_type"] == "hybrid").to_numpy()
    capacity = plants["battery_kwh"].to_numpy(float)
    if options.battery_kwh is not None:
        capacity = np.full(len(plants), float(options.battery_kwh))
    capacity = np.where(hybrid, capacity, 0.0)
    ac_w = plants["ac_kw"].to_numpy(float) * 1000.0
    power = (
        ac_w
        if options.battery_power_kw is None
        else np.full(len(plants), options.battery_power_kw * 1000.0)
    )
    return BatteryParams(
        hybrid=hybrid,
        capacity_kwh=capacity,
        usable_dod=options.usable_dod,
        round_trip_eff=options.round_trip_eff,
        power_w=power,
        ac_w=ac_w,
        reserve_frac=options.reserve_frac,
        initial_soc_frac=options.initial_soc_frac,
    ), capacity


def run_outages(
    fleet: Fleet,
    weather: Weather | None,
    schedule: Schedule,
    *,
    options: OutageOptions | None = None,
    timezone: str = "Asia/Tehran",
    plant_zones: np.ndarray | None = None,
    load_overrides: dict[str, np.ndarray] | None = None,
    year: int | None = None,
    transposition: str = "haydavies",
    chunk_plants: int = 1024,
    progress: Callable[[int], None] | None = None,
    weather_progress: Callable[[int, int], None] | None = None,
    tariff_rates: np.ndarray | None = None,
) -> OutageRun:
    """Simulate a fleet through a cut schedule.

    Parameters
    ----------
    fleet : telemetry.registry.Fleet
    weather : simulate.weather.Weather or None
        None: the embedded climatology (one generated year per 0.5° cell).
    schedule : simulate.outages.Schedule
    options : OutageOptions, optional
    timezone : str
        Zone of the local calendar and clock. [IANA name]
    plant_zones : array of str, optional
        Each plant's cut zone (e.g. scenario groups from :func:`simulate.outages.assign_groups`);
        default: the fleet's ``outage_zone``.
    load_overrides : dict, optional
        From :func:`simulate.load.read_load_file`.
    year : int, optional
        Calendar year for a typical-year weather; default: :func:`schedule_year`.
    transposition : {'haydavies', 'perez'}
    chunk_plants : int
        Plants per yield + dispatch pass (memory ≈ 2 × chunk × n_time × 8 bytes).
    progress, weather_progress : callable, optional
        As :func:`simulate.fleet.run_fleet`.
    tariff_rates : numpy.ndarray, shape (n_plants, 20), optional
        Each plant's rate per contract year [toman/kWh]; default the flat
        ``options.factors.tariff_toman_per_kwh``, else the built-in tariff table by category.

    Returns
    -------
    OutageRun
    """
    options = options or OutageOptions()
    plants = fleet.plants
    n = len(plants)
    rates = _tariff_rates(fleet, options.factors, tariff_rates)
    if weather is None:
        weather, widx = default_fleet_weather(fleet, weather_progress)
    elif isinstance(weather.data.columns, pd.MultiIndex):
        raise InputError("a multi-cell weather is not supported here; pass one weather file")
    else:
        widx = np.zeros(n, dtype=np.int64)
    labels, cal_year = simulation_labels(
        weather, year if year is not None else schedule_year(schedule)
    )
    shift = cal_year - _majority_year(pd.DatetimeIndex(weather.data.index))
    step = weather.step_hours
    cuts = cut_fractions(schedule, labels, step, timezone)
    zones = plants["outage_zone"].to_numpy() if plant_zones is None else np.asarray(plant_zones)
    zone_index = plant_zone_index(cuts, zones)
    axis = calendar_axis(labels, step, timezone, options.peak_window)
    loads = plant_loads(
        plants["plant_id"].tolist(),
        plants["essential_load_w"].to_numpy(float),
        kind=options.load_kind,
        overrides=load_overrides,
        self_consumption=options.self_consumption,
    )
    battery, capacity = _battery(plants, options)
    province = plants["province"].replace("", NO_PROVINCE).to_numpy()
    region_of, region_names = pd.factorize(province, sort=True)
    n_time = len(labels)
    region_export = np.zeros((len(region_names), n_time))

    parts: list[DispatchResult] = []
    yields: list[FleetRun] = []
    chunk = max(1, int(chunk_plants))
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        sub_wx, sub_idx = _sub_weather(weather, widx[a:b])
        run = run_fleet(
            fleet.subset(a, b),
            sub_wx,
            transposition=transposition,
            hourly=True,
            timezone=timezone,
            chunk_plants=chunk,
            weather_index=sub_idx,
        )
        export = np.zeros((b - a, n_time))
        s = slice(a, b)
        assert run.ac_power_w is not None
        part = dispatch_arrays(
            run.ac_power_w,
            _battery_slice(battery, s),
            zone_index=zone_index[s],
            cut_fraction=cuts.fraction,
            cut_start_hour=cuts.start_hour,
            load_tables_w=loads.tables_w,
            cut_load_index=loads.cut_index[s],
            cut_load_scale=loads.cut_scale[s],
            self_load_index=loads.self_index[s],
            self_load_scale=loads.self_scale[s],
            month_index=axis.month0,
            hijri_month_index=axis.hijri_month0,
            hour_index=axis.hour,
            peak=axis.peak,
            step_hours=step,
            export_out=export,
            chunk_plants=chunk,
        )
        onehot = (region_of[s][None, :] == np.arange(len(region_names))[:, None]).astype(float)
        region_export += onehot @ export
        parts.append(part)
        yields.append(
            FleetRun(
                run.summary,
                run.days,
                run.daily_ac_energy_kwh,
                run.hour_of_day_ac_energy_kwh,
                run.labels,
                None,
                run.weather_source,
                run.timezone,
                run.estimate,
            )
        )
        del run, export
        if progress is not None:
            progress(b)
    result = _concat(parts)
    yield_run = FleetRun(
        summary=pd.concat([y.summary for y in yields], ignore_index=True),
        days=yields[0].days + pd.DateOffset(years=shift) if shift else yields[0].days,
        daily_ac_energy_kwh=np.concatenate([y.daily_ac_energy_kwh for y in yields]),
        hour_of_day_ac_energy_kwh=np.concatenate([y.hour_of_day_ac_energy_kwh for y in yields]),
        labels=yields[0].labels,
        ac_power_w=None,
        weather_source=yields[0].weather_source,
        timezone=timezone,
        estimate=yields[0].estimate,
    )
    applied = np.where(zone_index >= 0, np.array(cuts.zones, dtype=object)[zone_index], "")
    if cuts.zones == ("",):
        applied = np.full(n, "*", dtype=object)
    contract = project(result.exported_kwh, rates, options.degradation_per_year)
    summary = _summary(
        yield_run.summary, plants, result, capacity, applied, options.factors, contract
    )
    regions = region_table(
        region_of,
        result.monthly,
        region_export,
        list(region_names),
        axis.month0,
        axis.hijri_month0,
        options.factors,
        rates[:, 0],
    )
    grid_tied = ~plants["inverter_type"].eq("hybrid").to_numpy()
    return OutageRun(
        summary=summary,
        regions=_with_lost_export(
            regions, region_of, list(region_names), result.monthly, grid_tied
        ),
        heatmap=heatmap_table(result.heat),
        dispatch=result,
        fleet_export_w=region_export.sum(axis=0),
        labels=labels,
        yield_run=yield_run,
        cuts=cuts,
        year=cal_year,
        schedule_source=schedule.source,
        plants_without_cuts=int((zone_index < 0).sum()),
        contract=contract,
    )


def _tariff_rates(fleet: Fleet, factors: GridFactors, given: np.ndarray | None) -> np.ndarray:
    """(n_plants, 20) rates [toman/kWh]: given, else flat, else the built-in table."""
    if given is not None:
        rates = np.asarray(given, dtype=float)
        if rates.ndim != 2 or rates.shape[0] != len(fleet):
            raise ValueError(f"tariff_rates must be (n_plants, years), not {rates.shape}")
        return rates
    table = TariffTable()
    if factors.tariff_toman_per_kwh is not None:
        table = TariffTable.flat(factors.tariff_toman_per_kwh, table.categories)
    return table.plant_rates(plant_categories(fleet.plants), fleet.plant_ids)


def _with_lost_export(
    regions: pd.DataFrame,
    region_of: np.ndarray,
    region_names: list[str],
    monthly: np.ndarray,
    grid_tied: np.ndarray,
) -> pd.DataFrame:
    """The region table with the PV energy the cuts kept from the grid, by row.

    Parameters
    ----------
    regions : pandas.DataFrame
        :func:`simulate.grid.region_table` (``region``, ``calendar``, ``month``).
    region_of : numpy.ndarray
        (n_plants,) each plant's row in ``region_names``.
    region_names : list of str
    monthly : numpy.ndarray
        (n_plants, 2, len(MONTH_METRICS), 12) :attr:`DispatchResult.monthly`. [Wh]
    grid_tied : numpy.ndarray
        (n_plants,) bool: the plant's inverter cannot island.

    Returns
    -------
    pandas.DataFrame
        ``regions`` with ``export_lost_to_cuts_kwh`` and ``grid_tied_lost_to_cuts_kwh``. [kWh]
    """
    k = MONTH_METRICS.index("curtailed_wh")
    lost = monthly[:, :, k, :] / 1000.0  # (n_plants, calendar, month) [kWh]
    members = {name: region_of == r for r, name in enumerate(region_names)}
    members[FLEET_REGION] = np.ones(len(region_of), dtype=bool)
    calendar = {c: i for i, c in enumerate(CALENDARS)}
    every, tied = [], []
    rows = zip(
        regions["region"].astype(str).to_numpy(),
        regions["calendar"].astype(str).to_numpy(),
        regions["month"].to_numpy(dtype=np.int64),
        strict=True,
    )
    year = lost[:, 0, :].sum(axis=1)
    for region, cal, month in rows:
        m = members[region]
        values = year if cal == "year" else lost[:, calendar[cal], month - 1]
        every.append(float(values[m].sum()))
        tied.append(float(values[m & grid_tied].sum()))
    out = regions.copy()
    out["export_lost_to_cuts_kwh"] = every
    out["grid_tied_lost_to_cuts_kwh"] = tied
    return out


def _battery_slice(battery: BatteryParams, s: slice) -> BatteryParams:
    """The plants ``s`` of per-plant battery arrays (scalars are shared)."""

    def take(value):
        return value[s] if isinstance(value, np.ndarray) and value.ndim == 1 else value

    return BatteryParams(*(take(getattr(battery, f)) for f in BatteryParams.__dataclass_fields__))


def _concat(parts: list[DispatchResult]) -> DispatchResult:
    fields = {}
    for name in DispatchResult.__dataclass_fields__:
        values = [getattr(p, name) for p in parts]
        if name == "heat":
            fields[name] = np.sum(values, axis=0)
        elif name == "trace":
            fields[name] = None
        else:
            fields[name] = np.concatenate(values)
    return DispatchResult(**fields)


def _summary(
    base: pd.DataFrame,
    plants: pd.DataFrame,
    r: DispatchResult,
    capacity: np.ndarray,
    applied: np.ndarray,
    factors: GridFactors,
    contract: Projection,
) -> pd.DataFrame:
    nominal = np.where(capacity > 0, capacity, np.nan)  # SOC as a share of the nameplate
    with np.errstate(invalid="ignore"):
        soc_min = 100.0 * r.soc_min_kwh / nominal
        soc_max = 100.0 * r.soc_max_kwh / nominal
    out = base.copy()
    columns = {
        "outage_zone": applied,
        "inverter_type": plants["inverter_type"].to_numpy(),
        "battery_kwh": capacity,
        "outage_hours": r.outage_hours,
        "outage_hours_served": r.outage_hours_served,
        "coverage_pct": r.coverage_pct,
        "unserved_kwh": r.unserved_kwh,
        "essential_need_kwh": r.essential_need_kwh,
        "essential_served_kwh": r.essential_served_kwh,
        "exported_kwh": r.exported_kwh,
        "exported_peak_kwh": r.exported_peak_kwh,
        "curtailed_kwh": r.curtailed_kwh,
        "export_lost_to_cuts_kwh": r.curtailed_kwh,
        "self_consumed_kwh": r.self_consumed_kwh,
        "battery_charge_kwh": r.charge_kwh,
        "battery_discharge_kwh": r.discharge_kwh,
        "soc_min_pct": soc_min,
        "soc_max_pct": soc_max,
        "income_toman": contract.income_toman[:, 0],
        "co2_avoided_kg": r.exported_kwh * factors.co2_kg_per_kwh,
        "co2_avoided_grid_kg": r.exported_kwh * factors.co2_grid_kg_per_kwh,
        "gas_avoided_m3": r.exported_kwh * factors.gas_m3_per_kwh,
        **contract.totals(),
    }
    for name, values in columns.items():
        out[name] = values
    return out
