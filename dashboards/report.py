"""``roshanai report``: the program dashboard as a static HTML file, for readers without Grafana.

The figures are the program dashboard's panel queries (:mod:`dashboards.queries`), expanded as
Grafana expands them (:mod:`dashboards.macros`) for the report's period and provinces, and run
against the same InfluxDB: a number in the report is the number the panel shows for the same
range. Each language gets one self-contained HTML file (charts embedded as PNG, also written
beside it); ``report.json`` keeps every figure with the InfluxQL that produced it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dashboards import queries as q
from dashboards.macros import TimeRange, interpolate
from dashboards.program import CO2_KG_PER_KWH, TARIFF_TOMAN_PER_KWH
from dashboards.runner import rows, run_query
from telemetry.errors import InputError
from telemetry.fileio import atomic_path
from telemetry.influx import InfluxStore
from telemetry.schema import (
    MEASUREMENT_OUTAGE_REGION,
    MEASUREMENT_SIM_FORECAST,
    MEASUREMENT_SIM_YEAR,
)

__all__ = ["SECTIONS", "ReportData", "Section", "collect", "write_report"]

#: Report section → the panel query it shows (all on the program dashboard).
SECTIONS: dict[str, str] = {
    "totals": q.FLEET_TOTALS,
    "peak": q.FLEET_PEAK,
    "plants": q.FLEET_PLANTS,
    "daily": q.DAILY_ENERGY,
    "provinces": q.PROVINCE_SUMMARY,
    "hijri_months": q.MONTHLY_HIJRI,
    "gregorian_months": q.MONTHLY_GREGORIAN,
    "province_hijri_months": q.PROVINCE_MONTH_HIJRI,
    "province_gregorian_months": q.PROVINCE_MONTH_GREGORIAN,
    "sim_yield": q.SIM_YIELD_BY_PROVINCE,
    "outage_regions": q.OUTAGE_BY_REGION,
    "outage_months": q.OUTAGE_BY_HIJRI_MONTH,
    "forecast_regions": q.FORECAST_BY_REGION,
    "forecast_skill": q.FORECAST_SKILL,
}
#: Sections that read a simulation run (left out when there is none).
_NEEDS_RUN = {
    "sim_yield": "run_id",
    "outage_regions": "outage_run_id",
    "outage_months": "outage_run_id",
    "forecast_regions": "forecast_run_id",
}


@dataclass
class Section:
    """One query of the report and what it returned."""

    key: str
    query: str
    influxql: str
    rows: list[dict[str, Any]]


@dataclass
class ReportData:
    """Everything the report shows."""

    from_ms: int
    to_ms: int
    generated_ms: int
    provinces: list[str]
    tariff_toman_per_kwh: float
    co2_kg_per_kwh: float
    run_id: str | None
    outage_run_id: str | None
    database: str
    forecast_run_id: str | None = None
    sections: dict[str, Section] = field(default_factory=dict)

    def one(self, key: str) -> dict[str, Any]:
        """The single row of a one-row section ({} when it returned nothing)."""
        got = self.sections.get(key)
        return got.rows[0] if got and got.rows else {}

    def table(self, key: str) -> list[dict[str, Any]]:
        got = self.sections.get(key)
        return got.rows if got else []


def _latest_run(store: InfluxStore, measurement: str) -> str | None:
    series = store.query(f'SHOW TAG VALUES FROM "{measurement}" WITH KEY = "run_id"')
    values = sorted({row[1] for s in series for row in s.get("values") or []})
    return values[-1] if values else None


def collect(
    store: InfluxStore,
    time_range: TimeRange,
    *,
    provinces: Sequence[str] = (),
    tariff_toman_per_kwh: float = TARIFF_TOMAN_PER_KWH,
    co2_kg_per_kwh: float = CO2_KG_PER_KWH,
    run_id: str | None = None,
    outage_run_id: str | None = None,
    forecast_run_id: str | None = None,
    now_ms: int | None = None,
) -> ReportData:
    """Run the report's panel queries for a period.

    Parameters
    ----------
    store : InfluxStore
    time_range : TimeRange
        The period (absolute, as Grafana sends it).
    provinces : sequence of str
        Provinces to report on; empty = all (the dashboard's *All*).
    tariff_toman_per_kwh, co2_kg_per_kwh : float
        The dashboard's factors. [toman/kWh], [kg/kWh]
    run_id, outage_run_id, forecast_run_id : str, optional
        Simulation and forecast runs; default the newest (as the dashboard's variables
        default).

    Raises
    ------
    ServiceError
        InfluxDB unreachable or refusing a query.
    """
    run_id = run_id or _latest_run(store, MEASUREMENT_SIM_YEAR)
    outage_run_id = outage_run_id or _latest_run(store, MEASUREMENT_OUTAGE_REGION)
    forecast_run_id = forecast_run_id or _latest_run(store, MEASUREMENT_SIM_FORECAST)
    variables: dict[str, str | Sequence[str]] = {
        "province": list(provinces) if provinces else ".*",
        "tariff_toman_per_kwh": f"{tariff_toman_per_kwh:g}",
        "co2_kg_per_kwh": f"{co2_kg_per_kwh:g}",
        "run_id": run_id or "",
        "outage_run_id": outage_run_id or "",
        "forecast_run_id": forecast_run_id or "",
    }
    data = ReportData(
        time_range.from_ms,
        time_range.to_ms,
        now_ms or int(datetime.now(UTC).timestamp() * 1000),
        list(provinces),
        tariff_toman_per_kwh,
        co2_kg_per_kwh,
        run_id,
        outage_run_id,
        store.database,
        forecast_run_id,
    )
    for key, query in SECTIONS.items():
        if key in _NEEDS_RUN and not variables[_NEEDS_RUN[key]]:
            continue
        influxql = interpolate(query, time_range, variables=variables, min_interval="1m")
        data.sections[key] = Section(key, query, influxql, rows(run_query(store, influxql)))
    return data


def write_report(
    data: ReportData,
    out_dir: str | Path,
    *,
    languages: Sequence[str] = ("en", "fa"),
    persian_digits: bool = True,
) -> list[Path]:
    """Write ``report.<lang>.html``, the charts (``charts/*.png``) and ``report.json``."""
    from dashboards.charts import draw_charts
    from dashboards.report_html import render

    out = Path(out_dir)
    written: list[Path] = []
    for lang in languages:
        if lang not in ("en", "fa"):
            raise InputError(f"report language {lang!r} must be en or fa")
        charts = draw_charts(data, out / "charts", lang=lang, persian_digits=persian_digits)
        written += charts.values()
        html = render(data, lang=lang, charts=charts, persian_digits=persian_digits)
        path = out / f"report.{lang}.html"
        with atomic_path(path) as tmp:
            tmp.write_text(html, encoding="utf-8")
        written.append(path)
    path = out / "report.json"
    with atomic_path(path) as tmp:
        tmp.write_text(
            json.dumps(asdict(data), indent=1, ensure_ascii=False, default=str), encoding="utf-8"
        )
    written.append(path)
    return written
