"""Write outage-coverage runs and battery sizings to InfluxDB.

Per plant, the run goes to ``sim_plant_year`` / ``sim_plant_month`` / ``sim_plant_hijri_month``
through :func:`simulate.results.write_run` (the summary carries the outage fields listed in
:data:`telemetry.schema.SIM_YEAR_FIELDS`); the regional table goes to ``sim_outage_region`` and the
heat map to ``sim_outage_heatmap``; a sizing curve to ``sim_battery_sizing``. Names and meanings
are documented in :mod:`telemetry.schema`. Every point carries the run's ``run_id`` tag.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd

from simulate.results import CLIMATOLOGY_WEATHER, MAX_BATCH_LINES, new_run_id, write_run
from telemetry.calendar import hijri_month_start, hijri_year_of
from telemetry.errors import ServiceError
from telemetry.influx import InfluxStore, WriteRejected
from telemetry.lineprotocol import Point
from telemetry.schema import (
    MEASUREMENT_BATTERY_SIZING,
    MEASUREMENT_OUTAGE_HEATMAP,
    MEASUREMENT_OUTAGE_REGION,
    OUTAGE_REGION_FIELDS,
    TAG_RUN_ID,
    TAG_WEATHER,
)

__all__ = ["outage_points", "sizing_points", "write_outage_run", "write_sizing"]


def _ns(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000_000


def _period_ns(year: int, calendar: str, month: int) -> int:
    """00:00 UTC of the period's first day (Solar Hijri months: of the Hijri year whose Nowruz
    falls in ``year``), as :mod:`simulate.results` times its points."""
    if calendar == "year" or month == 0:
        return _ns(date(year, 1, 1))
    if calendar == "gregorian":
        return _ns(date(year, month, 1))
    return _ns(hijri_month_start(hijri_year_of(year), month))


def _weather_tag(run) -> str:
    text = CLIMATOLOGY_WEATHER if run.yield_run.estimate else run.yield_run.weather_source
    return " ".join(str(text).replace("\\", "/").split())[:200]


def _fields(row: pd.Series, names: tuple[str, ...]) -> dict[str, float]:
    out = {}
    for name in names:
        value = float(row[name])
        if np.isfinite(value):
            out[name] = value
    return out


def outage_points(run, *, run_id: str) -> Iterator[Point]:
    """``sim_outage_region`` and ``sim_outage_heatmap`` points of an
    :class:`simulate.coverage.OutageRun`."""
    weather = _weather_tag(run)
    for _, row in run.regions.iterrows():
        tags = {
            TAG_RUN_ID: run_id,
            TAG_WEATHER: weather,
            "region": str(row["region"]),
            "calendar": str(row["calendar"]),
            "month": f"{int(row['month']):02d}",
        }
        fields = _fields(row, OUTAGE_REGION_FIELDS)
        if fields:
            yield Point(
                MEASUREMENT_OUTAGE_REGION,
                tags,
                fields,
                _period_ns(run.year, str(row["calendar"]), int(row["month"])),
            )
    for _, row in run.heatmap.iterrows():
        tags = {
            TAG_RUN_ID: run_id,
            TAG_WEATHER: weather,
            "calendar": str(row["calendar"]),
            "month": f"{int(row['month']):02d}",
            "start_hour": f"{int(row['start_hour']):02d}",
        }
        yield Point(
            MEASUREMENT_OUTAGE_HEATMAP,
            tags,
            _fields(row, ("outage_hours", "outage_hours_served", "coverage_pct")),
            _period_ns(run.year, str(row["calendar"]), int(row["month"])),
        )


def sizing_points(
    curve: pd.DataFrame,
    *,
    run_id: str,
    weather: str,
    site: str,
    year: int,
    target_pct: float,
    smallest_kwh: float | None,
) -> Iterator[Point]:
    """``sim_battery_sizing`` points, one per size of ``curve``."""
    names = (
        "battery_kwh",
        "coverage_pct",
        "outage_hours",
        "outage_hours_served",
        "unserved_kwh",
        "exported_kwh",
        "cost_toman",
    )
    for _, row in curve.iterrows():
        kwh = float(row["battery_kwh"])
        fields: dict[str, Any] = _fields(row, names)
        fields["target_pct"] = float(target_pct)
        fields["smallest"] = smallest_kwh is not None and abs(kwh - smallest_kwh) < 1e-9
        yield Point(
            MEASUREMENT_BATTERY_SIZING,
            {TAG_RUN_ID: run_id, TAG_WEATHER: weather, "site": site, "battery_kwh": f"{kwh:g}"},
            fields,
            _ns(date(year, 1, 1)),
        )


def _open(target: InfluxStore | Any) -> tuple[InfluxStore, bool]:
    if isinstance(target, InfluxStore):
        return target, False
    if isinstance(target, str):
        return InfluxStore(target, "roshanai"), True
    return InfluxStore.from_settings(target), True


def _write_lines(store: InfluxStore, lines: Callable[[], Iterator[str]], create: bool) -> int:
    """Write, creating a missing 1.x database once (as :func:`simulate.results.write_run`)."""
    try:
        return store.write_batches(lines(), batch_lines=MAX_BATCH_LINES)
    except WriteRejected as exc:
        if not (create and exc.status == 404 and store.api == "v1"):
            raise
    try:
        store.create_database()
    except ServiceError as exc:
        raise ServiceError(
            f"database {store.database!r} does not exist on {store.url} and "
            f"cannot be created: {exc}"
        ) from None
    return store.write_batches(lines(), batch_lines=MAX_BATCH_LINES)


def write_outage_run(run, target: InfluxStore | Any, *, run_id: str | None = None) -> int:
    """Write an outage run: its regional and heat-map points, then the per-plant points.

    Parameters
    ----------
    run : simulate.coverage.OutageRun
    target : InfluxStore or telemetry.settings.Settings or str
        As :func:`simulate.results.write_run`.
    run_id : str, optional

    Returns
    -------
    int
        Points written.

    Raises
    ------
    ServiceError
    """
    run_id = run_id or new_run_id()
    store, owned = _open(target)
    try:
        n = _write_lines(
            store, lambda: (p.to_line() for p in outage_points(run, run_id=run_id)), create=owned
        )
        plants = dataclasses.replace(run.yield_run, summary=run.summary)
        return n + write_run(plants, store, run_id=run_id)
    finally:
        if owned:
            store.close()


def write_sizing(
    curve: pd.DataFrame,
    target: InfluxStore | Any,
    *,
    weather: str,
    site: str,
    year: int,
    target_pct: float,
    smallest_kwh: float | None,
    run_id: str | None = None,
) -> int:
    """Write a battery-sizing curve to ``sim_battery_sizing``; return the number of points."""
    run_id = run_id or new_run_id()
    store, owned = _open(target)
    try:
        return _write_lines(
            store,
            lambda: (
                p.to_line()
                for p in sizing_points(
                    curve,
                    run_id=run_id,
                    weather=weather,
                    site=site,
                    year=year,
                    target_pct=target_pct,
                    smallest_kwh=smallest_kwh,
                )
            ),
            create=owned,
        )
    finally:
        if owned:
            store.close()
