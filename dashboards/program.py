"""Program managers' dashboard: grid contribution by province and month, income, CO2,
availability, and what the simulation runs expect (yield, outage-hour coverage)."""

from __future__ import annotations

from dashboards import queries as q
from dashboards.panels import Dashboard, Json, query_variable, target, textbox_variable
from dashboards.rollups import PROVINCE_DAY, RP_DAILY
from telemetry.factors import CO2_KG_PER_KWH, TARIFF_TOMAN_PER_KWH  # the defaults, with sources
from telemetry.schema import (
    MEASUREMENT_OUTAGE_REGION,
    MEASUREMENT_SIM_FORECAST,
    MEASUREMENT_SIM_YEAR,
)

__all__ = ["CO2_KG_PER_KWH", "TARIFF_TOMAN_PER_KWH", "program_dashboard"]


def _hide_time(rename: dict[str, str] | None = None) -> Json:
    return {
        "id": "organize",
        "options": {
            "excludeByName": {"Time": True},
            "indexByName": {},
            "renameByName": rename or {},
        },
    }


def _matrix(row: str, value: str) -> list[Json]:
    return [
        {
            "id": "groupingToMatrix",
            "options": {
                "columnField": "province",
                "rowField": row,
                "valueField": value,
                "emptyValue": "null",
            },
        }
    ]


def program_dashboard() -> Json:
    d = Dashboard(
        "roshanai-program",
        "Roshanai · Program",
        "What program managers report: energy and peak power delivered to the grid by "
        "province and month (Gregorian and Solar Hijri), income paid to households, "
        "CO2 avoided, availability, and the simulations' expectations.",
        ["roshanai", "managers"],
        time_from="now-1y",
        refresh="",
    )
    d.variables += [
        query_variable(
            "province",
            "Province",
            f'SHOW TAG VALUES FROM "{RP_DAILY}"."{PROVINCE_DAY}" WITH KEY = "province"',
        ),
        textbox_variable(
            "tariff_toman_per_kwh",
            "Tariff [toman/kWh]",
            f"{TARIFF_TOMAN_PER_KWH:g}",
            "Price paid per kWh delivered: ordinary households' 2,500 toman "
            "(IRIB News, 2025-10-03) by default; telemetry/tariffs.py has the categories.",
        ),
        textbox_variable(
            "co2_kg_per_kwh",
            "CO2 [kg/kWh]",
            f"{CO2_KG_PER_KWH:g}",
            "CO2 avoided per kWh delivered: gas margin, gas burnt at 38.56 % "
            "(TPPH, 2020); the grid average is 0.655 (Ember/OWID 2023).",
        ),
        query_variable(
            "run_id",
            "Simulation run",
            f'SHOW TAG VALUES FROM "{MEASUREMENT_SIM_YEAR}" WITH KEY = "run_id"',
            multi=False,
            include_all=False,
            sort=2,
            description="Newest first (run ids start with their UTC time).",
        ),
        query_variable(
            "forecast_run_id",
            "Forecast run",
            f'SHOW TAG VALUES FROM "{MEASUREMENT_SIM_FORECAST}" WITH KEY = "run_id"',
            multi=False,
            include_all=False,
            sort=2,
            description="Newest first: `roshanai simulate forecast --influx-url`.",
        ),
        query_variable(
            "outage_run_id",
            "Outage run",
            f'SHOW TAG VALUES FROM "{MEASUREMENT_OUTAGE_REGION}" WITH KEY = "run_id"',
            multi=False,
            include_all=False,
            sort=2,
        ),
    ]
    d.row("Grid contribution in the range")
    figures = [
        ("Energy delivered", "energy_mwh", "MWh", 1, q.FLEET_TOTALS),
        ("Income to households", "income_million_toman", "million toman", 1, q.FLEET_TOTALS),
        ("CO2 avoided", "co2_avoided_t", "t", 1, q.FLEET_TOTALS),
        ("Availability", "availability_pct", "percent", 1, q.FLEET_TOTALS),
        ("Peak power (hourly mean)", "peak_mw", "MW", 2, q.FLEET_PEAK),
        ("Plants reporting", "plants_reporting", "", 0, q.FLEET_PLANTS),
    ]
    for title, column, unit, decimals, query in figures:
        unit_id = {"percent": "percent", "": "none"}.get(unit, f"suffix: {unit}")
        d.add(
            "stat",
            title,
            [target("A", query, table=True)],
            w=4,
            h=4,
            unit=unit_id,
            decimals=decimals,
            options={
                "reduceOptions": {
                    "calcs": ["lastNotNull"],
                    "fields": f"/^{column}$/",
                    "values": False,
                }
            },
            description="From the daily rollups (province_day; peak from province_1h).",
        )
    d.add(
        "timeseries",
        "Fleet AC power (hourly means)",
        [target("A", q.FLEET_POWER_HOURLY, alias="fleet kW")],
        w=12,
        h=8,
        unit="kwatt",
        interval="1h",
        description="Sum over provinces of the plants' hourly mean power.",
    )
    d.add(
        "timeseries",
        "Energy per day",
        [target("A", q.DAILY_ENERGY, alias="MWh")],
        w=12,
        h=8,
        unit="suffix: MWh",
        interval="1d",
        custom={"drawStyle": "bars", "fillOpacity": 60},
    )
    d.row("By province")
    d.add(
        "table",
        "Provinces",
        [target("A", q.PROVINCE_SUMMARY, table=True)],
        w=24,
        h=10,
        description="Energy, income and CO2 of the range; largest hourly power; "
        "availability = producing plant-hours / (registered plants × daylight "
        "hours).",
        transformations=[
            _hide_time(
                {
                    "energy_mwh": "energy MWh",
                    "income_million_toman": "income M toman",
                    "co2_avoided_t": "CO2 avoided t",
                    "availability_pct": "availability %",
                    "peak_kw": "peak kW",
                }
            ),
            {"id": "sortBy", "options": {"sort": [{"field": "energy MWh", "desc": True}]}},
        ],
    )
    d.add(
        "bargauge",
        "Availability by province",
        [target("A", q.PROVINCE_SUMMARY, table=True)],
        w=12,
        h=10,
        unit="percent",
        min_=0,
        max_=100,
        options={
            "reduceOptions": {
                "calcs": ["lastNotNull"],
                "fields": "/^availability_pct$/",
                "values": True,
            }
        },
        thresholds=[
            {"color": "red", "value": None},
            {"color": "orange", "value": 80},
            {"color": "green", "value": 95},
        ],
    )
    d.add(
        "timeseries",
        "Availability per day",
        [target("A", q.DAILY_AVAILABILITY, alias="availability %")],
        w=12,
        h=10,
        unit="percent",
        interval="1d",
    )
    d.row("By month")
    for calendar, tag, monthly, matrix in (
        ("Solar Hijri", "hijri_month", q.MONTHLY_HIJRI, q.PROVINCE_MONTH_HIJRI),
        ("Gregorian", "month", q.MONTHLY_GREGORIAN, q.PROVINCE_MONTH_GREGORIAN),
    ):
        d.add(
            "barchart",
            f"Energy by province and {calendar} month (MWh)",
            [target("A", matrix, table=True)],
            w=12,
            h=9,
            unit="suffix: MWh",
            options={"stacking": "normal"},
            transformations=_matrix(tag, "energy_mwh"),
        )
        d.add(
            "barchart",
            f"Peak power by province and {calendar} month (kW)",
            [target("A", matrix, table=True)],
            w=12,
            h=9,
            unit="kwatt",
            transformations=_matrix(tag, "peak_kw"),
            description="Largest hourly mean of each province's summed power in the month.",
        )
        d.add(
            "table",
            f"{calendar} months",
            [target("A", monthly, table=True)],
            w=24,
            h=7,
            transformations=[
                _hide_time(
                    {
                        "energy_mwh": "energy MWh",
                        "income_million_toman": "income M toman",
                        "co2_avoided_t": "CO2 avoided t",
                        "availability_pct": "availability %",
                    }
                )
            ],
        )
    d.row("Day ahead")
    d.add(
        "table",
        "Forecast by province (forecast run, its whole horizon)",
        [target("A", q.FORECAST_BY_REGION, table=True)],
        w=14,
        h=9,
        description="`roshanai simulate forecast`: energy over the forecast's hours (MWh), its "
        "peak hour (MW) and, for an ensemble, the highest hourly P90/P10 (P90: exceeded with "
        "90 % probability). The horizon's own P90 is not the sum of hourly P90s, so none is "
        "shown; `forecast_regions.csv` has each hour's.",
        transformations=[
            _hide_time(
                {
                    "energy_mwh": "MWh",
                    "energy_mean_mwh": "ensemble mean MWh",
                    "peak_mw": "peak MW",
                    "peak_p90_mw": "peak hour P90 MW",
                    "peak_p10_mw": "peak hour P10 MW",
                    "hours": "hours",
                }
            )
        ],
    )
    d.add(
        "timeseries",
        "Forecast skill so far (fleet, hourly nMAE and skill)",
        [target("A", q.FORECAST_SKILL, alias="$tag_method $col")],
        w=10,
        h=9,
        interval="1d",
        custom={"drawStyle": "points", "pointSize": 6},
        description="`roshanai simulate forecast-skill`: hourly nMAE (%) of each method's "
        "forecasts against what the plants then produced, and the skill against the climate "
        "and persistence baselines (1 − MAE / the baseline's; above 0 beats it).",
    )
    d.row("Simulation runs")
    d.add(
        "table",
        "Expected yield by province (simulation run)",
        [target("A", q.SIM_YIELD_BY_PROVINCE, table=True)],
        w=12,
        h=9,
        transformations=[
            _hide_time(
                {
                    "expected_mwh": "expected MWh/year",
                    "expected_p90_mwh": "P90 MWh/year",
                    "specific_yield_kwh_per_kwp": "kWh/kWp",
                    "income_year1_million_toman": "contract year 1 M toman",
                    "income_lifetime_million_toman": "20 years M toman",
                }
            )
        ],
    )
    d.add(
        "barchart",
        "Expected energy by Solar Hijri month (MWh)",
        [target("A", q.SIM_HIJRI_MONTHS, table=True)],
        w=12,
        h=9,
        unit="suffix: MWh",
        transformations=[_hide_time()],
    )
    d.add(
        "table",
        "Outage-hour coverage by province (outage run)",
        [target("A", q.OUTAGE_BY_REGION, table=True)],
        w=12,
        h=9,
        description="Hours of rotating power cuts fully served by the plants' hybrid inverters "
        "and batteries, as simulated by `roshanai simulate outage`; and the PV energy the "
        "grid-tied plants could not deliver while the grid was down (anti-islanding).",
        transformations=[
            _hide_time(
                {
                    "coverage_pct": "coverage %",
                    "outage_hours": "cut plant-hours",
                    "outage_hours_served": "served plant-hours",
                    "unserved_kwh": "unserved kWh",
                    "exported_kwh": "exported kWh",
                    "grid_tied_lost_to_cuts_kwh": "grid-tied kWh lost to cuts",
                }
            )
        ],
    )
    d.add(
        "barchart",
        "Outage-hour coverage by Solar Hijri month (fleet)",
        [target("A", q.OUTAGE_BY_HIJRI_MONTH, table=True)],
        w=12,
        h=9,
        unit="percent",
        transformations=[_hide_time()],
    )
    d.add(
        "table",
        "Coverage by Solar Hijri month and hour the cut starts (%)",
        [target("A", q.OUTAGE_HEATMAP, table=True)],
        w=24,
        h=9,
        unit="percent",
        decimals=0,
        transformations=[
            {
                "id": "groupingToMatrix",
                "options": {
                    "columnField": "start_hour",
                    "rowField": "month",
                    "valueField": "coverage_pct",
                    "emptyValue": "null",
                },
            }
        ],
        custom={"cellOptions": {"type": "color-background"}, "align": "center"},
        thresholds=[
            {"color": "red", "value": None},
            {"color": "orange", "value": 50},
            {"color": "green", "value": 90},
        ],
    )
    return d.json()
