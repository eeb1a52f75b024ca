"""Write a fleet simulation's per-plant figures to InfluxDB.

Three measurements (spelled in :mod:`telemetry.schema`, which documents them): the annual
figures of each plant (``sim_plant_year``), its Gregorian monthly energy (``sim_plant_month``)
and its Solar Hijri monthly energy (``sim_plant_hijri_month``); and, when the run kept hourly
output, each plant's expected AC power hour by hour (``sim_expected``). Every point carries the tag
``run_id``: a second run writes new series beside the first instead of silently overwriting
some of its points, and one run can be selected (``WHERE run_id = '...'``) or dropped
(``DROP SERIES WHERE run_id = '...'``) as a whole.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from simulate.fleet import FleetRun
from telemetry.calendar import (
    GREGORIAN_MONTHS,
    HIJRI_MONTHS,
    hijri_month_of,
    hijri_month_start,
    hijri_year_of,
)
from telemetry.errors import ServiceError
from telemetry.influx import InfluxStore, WriteRejected
from telemetry.lineprotocol import Point, format_point
from telemetry.schema import (
    MEASUREMENT_SIM_EXPECTED,
    MEASUREMENT_SIM_HIJRI_MONTH,
    MEASUREMENT_SIM_MONTH,
    MEASUREMENT_SIM_YEAR,
    REGISTRY_TAGS,
    SIM_YEAR_FIELDS,
    TAG_HIJRI_MONTH,
    TAG_MONTH,
    TAG_PLANT_ID,
    TAG_RUN_ID,
    TAG_WEATHER,
)

__all__ = [
    "MAX_BATCH_LINES",
    "expected_lines",
    "new_run_id",
    "run_points",
    "simulated_year",
    "write_run",
]

#: Most lines per write request.
MAX_BATCH_LINES = 5000
#: Weather tag of runs on the embedded climatology (its own source text names a location).
CLIMATOLOGY_WEATHER = "embedded climatology (estimate)"
_MAX_TAG_CHARS = 200


def new_run_id(now: datetime | None = None) -> str:
    """A fresh run id: UTC start time plus 6 random hex digits, ``20260701T090000Z-3fa2c1``."""
    now = now or datetime.now(UTC)
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def simulated_year(run: FleetRun) -> int:
    """The Gregorian year most of the run's local days fall in (typical years: 1990)."""
    years, counts = np.unique(run.days.year.to_numpy(), return_counts=True)
    return int(years[np.argmax(counts)])


def _ns(day: date) -> int:
    """00:00 UTC of a calendar date [ns since the epoch]."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000_000


def _tag_text(text: str) -> str:
    """A value line protocol carries as a tag: one line, bounded, backslashes as slashes."""
    return " ".join(str(text).replace("\\", "/").split())[:_MAX_TAG_CHARS]


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


def run_points(run: FleetRun, *, run_id: str) -> Iterator[Point]:
    """The points of one run: per plant one year point, then its Gregorian and Hijri months.

    Times (00:00 UTC of the calendar date, so a query by date finds them in any zone):
    the year point at 1 January of :func:`simulated_year`; month points at the 1st of each
    month of that year; Solar Hijri month points at the Gregorian date their month starts in
    the Hijri year that begins (Nowruz) in the simulated year. Months are those of the run's
    local days (``run.timezone``) and, as in the summary, wrap around the year (a typical year
    is cyclic), so only months with at least one simulated day are written. Non-finite figures
    are left out.
    """
    s = run.summary
    year = simulated_year(run)
    hijri_year = hijri_year_of(year)
    year_ns = _ns(date(year, 1, 1))
    months = set(run.days.month.to_numpy().tolist())
    hmonths = set(hijri_month_of(run.days).tolist())
    month_ns = {m: _ns(date(year, m, 1)) for m in months}
    hmonth_ns = {m: _ns(hijri_month_start(hijri_year, m)) for m in hmonths}
    weather = _tag_text(CLIMATOLOGY_WEATHER if run.estimate else run.weather_source)
    year_fields = [c for c in SIM_YEAR_FIELDS if c in s.columns]
    registry_tags = [t for t in REGISTRY_TAGS if t in s.columns]
    columns = {c: s[c].to_numpy() for c in (*year_fields, TAG_PLANT_ID, *registry_tags)}
    for c in (*GREGORIAN_MONTHS, *HIJRI_MONTHS):
        columns[c] = s[f"ac_energy_kwh_{c}"].to_numpy(float)
    for i in range(len(s)):
        tags = {
            TAG_PLANT_ID: str(columns[TAG_PLANT_ID][i]),
            TAG_RUN_ID: run_id,
            TAG_WEATHER: weather,
        }
        for t in registry_tags:  # empty or missing (NaN) values are no tag
            if isinstance(columns[t][i], str):
                tags[t] = _tag_text(columns[t][i])
        fields = {c: v for c in year_fields if (v := _finite(columns[c][i])) is not None}
        if fields:
            yield Point(MEASUREMENT_SIM_YEAR, tags, fields, year_ns)
        for m, name in enumerate(GREGORIAN_MONTHS, start=1):
            if m in months and (kwh := _finite(columns[name][i])) is not None:
                yield Point(
                    MEASUREMENT_SIM_MONTH,
                    {**tags, TAG_MONTH: f"{m:02d}"},
                    {"ac_energy_kwh": kwh},
                    month_ns[m],
                )
        for m, name in enumerate(HIJRI_MONTHS, start=1):
            if m in hmonths and (kwh := _finite(columns[name][i])) is not None:
                yield Point(
                    MEASUREMENT_SIM_HIJRI_MONTH,
                    {**tags, TAG_HIJRI_MONTH: f"{m:02d}"},
                    {"ac_energy_kwh": kwh},
                    hmonth_ns[m],
                )


def expected_lines(run: FleetRun, *, run_id: str) -> Iterator[str]:
    """``sim_expected`` lines: each plant's mean AC power in each interval of the weather.

    Time is the weather's label (end of the interval, UTC), as in the hourly parquet file; tags
    ``plant_id``, ``province`` (when the registry has one) and ``run_id``; the field
    ``ac_power_w``. Nothing when the run kept no hourly output. Non-finite values are left out.
    Lines are formatted here rather than point by point: a year of 10,000 plants is 87.6
    million of them.
    """
    if run.ac_power_w is None:
        return
    s = run.summary
    times = run.labels.to_numpy(dtype="datetime64[ns]").astype(np.int64).tolist()
    provinces = s["province"].to_numpy() if "province" in s.columns else None
    for i, plant_id in enumerate(s[TAG_PLANT_ID].astype(str).tolist()):
        tags = {TAG_PLANT_ID: plant_id, TAG_RUN_ID: run_id}
        if provinces is not None and isinstance(provinces[i], str):
            tags["province"] = _tag_text(provinces[i])
        # The escaped measurement and tags, as format_point writes them.
        head = format_point(MEASUREMENT_SIM_EXPECTED, tags, {"ac_power_w": 0.0}, 0).rsplit(" ", 2)[
            0
        ]
        row = run.ac_power_w[i]
        ok = np.isfinite(row)
        for t, w, good in zip(times, row.tolist(), ok.tolist(), strict=True):
            if good:
                yield f"{head} ac_power_w={w!r} {t}"


def write_run(
    run: FleetRun,
    target: InfluxStore | Any,
    *,
    database: str | None = None,
    run_id: str | None = None,
    batch_lines: int = MAX_BATCH_LINES,
) -> int:
    """Write a run's per-plant annual and monthly figures (and hourly expected power when the
    run kept it, :func:`expected_lines`); return the number of points.

    Parameters
    ----------
    run : simulate.fleet.FleetRun
    target : InfluxStore or telemetry.settings.Settings or str
        An open store (left open), the settings (``influx_url``, ``influx_db``, credentials)
        or a base URL (with ``database``, default ``roshanai``). A store made here is closed
        here, and on a 1.x server it creates the database if the first write finds none.
    database : str, optional
        Database or bucket when ``target`` is a URL.
    run_id : str, optional
        Tag value of this run; default :func:`new_run_id`.
    batch_lines : int
        Lines per request (at most :data:`MAX_BATCH_LINES`).

    Raises
    ------
    ServiceError
        The server is unreachable or refused the points (subclasses in
        :mod:`telemetry.influx`).
    """
    run_id = run_id or new_run_id()
    batch_lines = max(1, min(int(batch_lines), MAX_BATCH_LINES))
    if isinstance(target, InfluxStore):
        return _write(target, run, run_id, batch_lines, create=False)
    if isinstance(target, str):
        store = InfluxStore(target, database or "roshanai")
    else:
        store = InfluxStore.from_settings(target)
    with store:
        return _write(store, run, run_id, batch_lines, create=True)


def _write(
    store: InfluxStore, run: FleetRun, run_id: str, batch_lines: int, *, create: bool
) -> int:
    def lines() -> Iterator[str]:  # streamed: a large fleet's lines never sit in memory at once
        yield from (p.to_line() for p in run_points(run, run_id=run_id))
        yield from expected_lines(run, run_id=run_id)

    try:
        return store.write_batches(lines(), batch_lines=batch_lines)
    except WriteRejected as exc:
        if not (create and exc.status == 404 and store.api == "v1"):
            raise
    try:  # the first batch found no database: nothing was written yet
        store.create_database()
    except ServiceError as exc:
        raise ServiceError(
            f"database {store.database!r} does not exist on {store.url} and "
            f"cannot be created: {exc}"
        ) from None
    return store.write_batches(lines(), batch_lines=batch_lines)
