"""Rollups: 20 years of a large fleet stay queryable while raw readings expire.

Retention policies (InfluxDB 1.x; on 2.x/3.x buckets mapped by DBRP to ``<db>/<rp>``):

- the database's default policy holds the raw points (``inverter``, ``plant_status``,
  ``bridge``, the simulation results, ``plant_registry``); ``--raw-days`` shortens it;
- ``rollup_1h`` (default 21 years) holds ``inverter_1h`` (per plant and hour: ``ac_power_w``
  mean, ``ac_power_w_max``, ``energy_total_wh`` max, ``temp_c`` mean and ``temp_c_max``,
  ``dc1_power_w``/``dc2_power_w``/``dc1_voltage_v``/``dc2_voltage_v`` means, ``alarm_code``
  max, ``readings``, ``rssi_dbm`` mean) and ``province_1h`` (per province and hour:
  ``ac_power_w`` = sum of the plants' hourly means, ``plants_reporting``, ``plants_producing``
  = plants whose hourly maximum passed :data:`PRODUCING_W`);
- ``rollup_1d`` (default 21 years) holds ``inverter_1d`` (per plant and UTC day: ``energy_wh``
  = spread of the lifetime counter, ``ac_power_w_max``, ``temp_c_max``, ``alarm_code`` max,
  ``readings``) and ``province_day`` (per province and UTC day, tags ``month`` and
  ``hijri_month``: ``energy_kwh``, ``peak_ac_power_w`` = largest hourly ``province_1h`` power,
  ``plants_reporting``, ``plants_registered`` (from ``plant_registry``), ``daylight_hours``
  (hours in which some plant of the province produced), ``producing_plant_hours``,
  ``plant_daylight_hours`` = plants × daylight hours, ``availability_pct``).

A UTC day runs 03:30–03:30 in Iran, so it holds exactly one local solar day: the daily figures
are those of the local date. A day's energy is the spread of the lifetime counter within it: it
misses nothing at night, but a counter reset inside a day (flagged ``counter_reset`` by the
bridge) makes that plant-day wrong.

How they are computed (:func:`apply`, ``roshanai dashboards rollups``):

- **1.x, mode ``cq``**: continuous queries compute ``inverter_1h``, ``province_1h`` and
  ``inverter_1d`` on the server (resampling the last hours/days so late batches after power cuts
  count); ``province_day`` needs the calendars' month tags, which InfluxQL cannot compute, so
  the command writes it — run it from cron or a systemd timer (hourly; or ``--every 3600``);
- **2.x, 3.x and anything else, mode ``writer``**: the command itself runs the same SELECTs over
  the window and writes their results with line protocol to ``/write?db=<db>&rp=<rp>`` (the v1
  compatibility endpoint, which 2.x maps through DBRP and 3.x to the database ``<db>/<rp>``).
  Create the buckets and mappings first (2.x)::

      influx bucket create -n roshanai_1h -r 7665d && influx bucket create -n roshanai_1d -r 7665d
      influx v1 dbrp create --db roshanai --rp rollup_1h --bucket-id <id of roshanai_1h>
      influx v1 dbrp create --db roshanai --rp rollup_1d --bucket-id <id of roshanai_1d>

Both modes backfill a window (``--since``) with the same statements, so a past range is rebuilt
after an outage of the rollup job or after gateways uploaded old readings.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from telemetry.calendar import hijri_month_tag
from telemetry.errors import ConfigError
from telemetry.influx import InfluxStore, version_tuple
from telemetry.lineprotocol import format_point
from telemetry.schema import MEASUREMENT_INVERTER, MEASUREMENT_PLANT_REGISTRY

__all__ = [
    "INVERTER_1D",
    "INVERTER_1H",
    "PRODUCING_W",
    "PROVINCE_1H",
    "PROVINCE_DAY",
    "ROLLUPS",
    "RP_DAILY",
    "RP_HOURLY",
    "Rollup",
    "apply",
    "continuous_queries",
    "hijri_month_tag",
    "province_day_points",
    "retention_statements",
]

log = logging.getLogger("roshanai.dashboards.rollups")

RP_HOURLY = "rollup_1h"
RP_DAILY = "rollup_1d"
INVERTER_1H = "inverter_1h"
PROVINCE_1H = "province_1h"
INVERTER_1D = "inverter_1d"
PROVINCE_DAY = "province_day"
#: A plant produces in an hour when its largest reading passes this (the bridge's own
#: ``producing_above_w``). [W]
PRODUCING_W = 10
#: Default life of the rollups: the 20-year purchase contract and a year's margin. [days]
ROLLUP_DAYS = 7665
NO_PROVINCE = "(none)"

_HOUR_NS = 3_600_000_000_000
_DAY_NS = 24 * _HOUR_NS


@dataclass(frozen=True)
class Rollup:
    """One rollup statement: ``SELECT <fields> INTO <rp>.<target> FROM <source> [WHERE]
    GROUP BY time(<every>), <tags>``.

    ``int_fields`` are the integer results (counts, maxima of integer fields), so the writer
    types them as the server's ``SELECT INTO`` would.
    """

    name: str
    rp: str
    target: str
    source: tuple[str | None, str]  # (retention policy, None = the default; measurement)
    fields: str
    every: str
    tags: str
    resample_for: str
    int_fields: tuple[str, ...] = ()
    where: str = ""

    def select(
        self,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        into: str | None = None,
        qualify: tuple[str, str] | None = None,
    ) -> str:
        """The SELECT; ``into`` = ``'"db"."rp"."m"'`` makes it a SELECT INTO; ``qualify`` =
        (database, default retention policy) names the source in full, as a continuous
        query stores it."""
        rp, measurement = self.source
        if qualify is not None:
            source = f"{_ident(qualify[0])}.{_ident(rp or qualify[1])}.{_ident(measurement)}"
        else:
            source = f"{_ident(rp)}.{_ident(measurement)}" if rp else _ident(measurement)
        conds = [self.where] if self.where else []
        if start_ns is not None and end_ns is not None:
            conds.append(f"time >= {start_ns} AND time < {end_ns}")
        where = f" WHERE {' AND '.join(conds)}" if conds else ""
        into_clause = f" INTO {into}" if into else ""
        return (
            f"SELECT {self.fields}{into_clause} FROM {source}{where} "
            f"GROUP BY time({self.every}), {self.tags} fill(none)"
        )

    @property
    def every_ns(self) -> int:
        return _HOUR_NS if self.every == "1h" else _DAY_NS


#: The rollups in the order they depend on each other.
ROLLUPS: tuple[Rollup, ...] = (
    Rollup(
        "rollup_inverter_1h",
        RP_HOURLY,
        INVERTER_1H,
        (None, MEASUREMENT_INVERTER),
        'mean("ac_power_w") AS "ac_power_w", max("ac_power_w") AS "ac_power_w_max", '
        'max("energy_total_wh") AS "energy_total_wh", mean("temp_c") AS "temp_c", '
        'max("temp_c") AS "temp_c_max", mean("dc1_power_w") AS "dc1_power_w", '
        'mean("dc2_power_w") AS "dc2_power_w", mean("dc1_voltage_v") AS "dc1_voltage_v", '
        'mean("dc2_voltage_v") AS "dc2_voltage_v", max("alarm_code") AS "alarm_code", '
        'count("ac_power_w") AS "readings", mean("rssi_dbm") AS "rssi_dbm"',
        "1h",
        "*",
        "4h",
        int_fields=("alarm_code", "readings"),
    ),
    Rollup(
        "rollup_province_1h",
        RP_HOURLY,
        PROVINCE_1H,
        (RP_HOURLY, INVERTER_1H),
        'sum("ac_power_w") AS "ac_power_w", count("ac_power_w") AS "plants_reporting"',
        "1h",
        '"province"',
        "4h",
        int_fields=("plants_reporting",),
    ),
    Rollup(
        "rollup_province_1h_producing",
        RP_HOURLY,
        PROVINCE_1H,
        (RP_HOURLY, INVERTER_1H),
        'count("ac_power_w_max") AS "plants_producing"',
        "1h",
        '"province"',
        "4h",
        int_fields=("plants_producing",),
        where=f'"ac_power_w_max" > {PRODUCING_W}',
    ),
    Rollup(
        "rollup_inverter_1d",
        RP_DAILY,
        INVERTER_1D,
        (None, MEASUREMENT_INVERTER),
        'spread("energy_total_wh") AS "energy_wh", max("ac_power_w") AS "ac_power_w_max", '
        'max("temp_c") AS "temp_c_max", max("alarm_code") AS "alarm_code", '
        'count("ac_power_w") AS "readings"',
        "1d",
        "*",
        "2d",
        int_fields=("alarm_code", "readings"),
    ),
)


def _ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def retention_statements(
    database: str, existing: Iterable[str], *, rollup_days: int = ROLLUP_DAYS
) -> list[str]:
    """CREATE (or ALTER, when it exists) the two rollup retention policies."""
    have = set(existing)
    out = []
    for rp, shard in ((RP_HOURLY, "30d"), (RP_DAILY, "365d")):
        verb = "ALTER" if rp in have else "CREATE"
        repl = "" if verb == "ALTER" else " REPLICATION 1"
        out.append(
            f"{verb} RETENTION POLICY {_ident(rp)} ON {_ident(database)} "
            f"DURATION {int(rollup_days)}d{repl} SHARD DURATION {shard}"
        )
    return out


def continuous_queries(database: str, default_rp: str = "autogen") -> dict[str, str]:
    """The CREATE CONTINUOUS QUERY statement of every server-side rollup, by name (sources
    named in full: the raw ones in the database's default retention policy)."""
    out = {}
    for r in ROLLUPS:
        into = f"{_ident(database)}.{_ident(r.rp)}.{_ident(r.target)}"
        out[r.name] = (
            f"CREATE CONTINUOUS QUERY {_ident(r.name)} ON {_ident(database)} "
            f"RESAMPLE EVERY {r.every} FOR {r.resample_for} BEGIN "
            f"{r.select(into=into, qualify=(database, default_rp))} END"
        )
    return out


# -- writing ----------------------------------------------------------------------------------


def _series_lines(
    series: list[dict[str, Any]], measurement: str, int_fields: Sequence[str]
) -> list[str]:
    """Query results → line protocol (tags kept, nulls left out, counts as integers)."""
    lines = []
    for s in series:
        tags = {k: v for k, v in (s.get("tags") or {}).items() if v}
        cols = s["columns"]
        for row in s["values"]:
            fields: dict[str, float | int] = {}
            for col, value in zip(cols[1:], row[1:], strict=True):
                if value is None or isinstance(value, bool):
                    continue
                fields[col] = int(value) if col in int_fields else float(value)
            if fields:
                lines.append(format_point(measurement, tags, fields, int(row[0])))
    return lines


def _days(start_ns: int, end_ns: int, step_ns: int) -> list[tuple[int, int]]:
    """[start, end) cut into aligned steps."""
    a = start_ns // step_ns * step_ns
    out = []
    while a < end_ns:
        out.append((a, a + step_ns))
        a += step_ns
    return out


def _registered(store: InfluxStore) -> dict[str, int]:
    """Plants per province in ``plant_registry`` (empty if it was never published)."""
    series = store.query(
        f'SELECT count("latitude") AS "n" FROM (SELECT last("latitude") AS "latitude" FROM '
        f'"{MEASUREMENT_PLANT_REGISTRY}" GROUP BY "plant_id", "province") GROUP BY "province"'
    )
    return {
        (s.get("tags") or {}).get("province") or NO_PROVINCE: int(s["values"][0][1]) for s in series
    }


def province_day_points(store: InfluxStore, start_ns: int, end_ns: int) -> list[str]:
    """The ``province_day`` lines of the UTC days in [start_ns, end_ns) from the rollups."""
    where = f"time >= {start_ns} AND time < {end_ns}"
    rows: dict[tuple[str, int], dict[str, float]] = defaultdict(dict)

    def collect(query: str) -> None:
        for s in store.query(query):
            prov = (s.get("tags") or {}).get("province") or NO_PROVINCE
            for row in s["values"]:
                for col, value in zip(s["columns"][1:], row[1:], strict=True):
                    if value is not None:
                        rows[(prov, int(row[0]))][col] = float(value)

    collect(
        f'SELECT sum("energy_wh") AS "energy_wh", count("energy_wh") AS "plants_reporting" '
        f'FROM "{RP_DAILY}"."{INVERTER_1D}" WHERE {where} GROUP BY time(1d), "province"'
    )
    collect(
        f'SELECT max("ac_power_w") AS "peak_ac_power_w", '
        f'sum("plants_producing") AS "producing_plant_hours", '
        f'count("plants_producing") AS "daylight_hours" FROM "{RP_HOURLY}"."{PROVINCE_1H}" '
        f'WHERE {where} GROUP BY time(1d), "province"'
    )
    registered = _registered(store)
    lines = []
    for (prov, t_ns), r in sorted(rows.items()):
        if "energy_wh" not in r and "peak_ac_power_w" not in r:
            continue
        day = datetime.fromtimestamp(t_ns / 1e9, UTC).date()
        fields: dict[str, float | int] = {}
        if "energy_wh" in r:
            fields["energy_kwh"] = r["energy_wh"] / 1000.0
            fields["plants_reporting"] = int(r["plants_reporting"])
        if "peak_ac_power_w" in r:
            fields["peak_ac_power_w"] = r["peak_ac_power_w"]
        plants = registered.get(prov) or int(r.get("plants_reporting", 0))
        if prov in registered:
            fields["plants_registered"] = registered[prov]
        daylight = int(r.get("daylight_hours", 0))
        if daylight and plants:
            producing = r.get("producing_plant_hours", 0.0)
            fields["daylight_hours"] = daylight
            fields["producing_plant_hours"] = float(producing)
            fields["plant_daylight_hours"] = float(plants * daylight)
            fields["availability_pct"] = 100.0 * producing / (plants * daylight)
        if not all(math.isfinite(v) for v in fields.values()):
            continue
        tags = {"province": prov, "month": f"{day:%Y-%m}", "hijri_month": hijri_month_tag(day)}
        lines.append(format_point(PROVINCE_DAY, tags, fields, t_ns))
    return lines


# -- the command's work -----------------------------------------------------------------------


@dataclass
class RollupReport:
    """What :func:`apply` did."""

    mode: str
    statements: list[str]
    points_written: int = 0
    province_days: int = 0


def _is_1x(store: InfluxStore) -> bool:
    parsed = version_tuple(store.version)
    return parsed is not None and parsed[0] == 1


def _setup_1x(store: InfluxStore, rollup_days: int, raw_days: int | None) -> list[str]:
    db = store.database
    done = []
    rps = store.query(f"SHOW RETENTION POLICIES ON {_ident(db)}", database="")
    rows = rps[0]["values"] if rps else []
    cols = rps[0]["columns"] if rps else []
    names = [r[cols.index("name")] for r in rows]
    for stmt in retention_statements(db, names, rollup_days=rollup_days):
        store.query(stmt, database="")
        done.append(stmt)
    default = next((r[cols.index("name")] for r in rows if r[cols.index("default")]), None)
    if default is None or default in (RP_HOURLY, RP_DAILY):
        raise ConfigError(
            f"database {db!r} has no default retention policy of its own for the raw points"
        )
    if raw_days:
        stmt = f"ALTER RETENTION POLICY {_ident(default)} ON {_ident(db)} DURATION {int(raw_days)}d"
        store.query(stmt, database="")
        done.append(stmt)
    existing = store.query("SHOW CONTINUOUS QUERIES", database="")
    have: dict[str, str] = {}
    for s in existing:
        if s.get("name") == db:
            have.update({row[0]: row[1] for row in s.get("values") or []})
    for name, stmt in continuous_queries(db, default).items():
        if name in have and _same_cq(have[name], stmt):
            continue
        if name in have:
            store.query(f"DROP CONTINUOUS QUERY {_ident(name)} ON {_ident(db)}", database="")
        store.query(stmt, database="")
        done.append(stmt)
    return done


def _same_cq(shown: str, stmt: str) -> bool:
    """SHOW CONTINUOUS QUERIES prints a normalized text; compare loosely."""

    def norm(text: str) -> str:
        return "".join(text.replace('"', "").split())

    return norm(shown) == norm(stmt)


def apply(
    store: InfluxStore,
    *,
    start_ns: int,
    end_ns: int,
    mode: str = "auto",
    rollup_days: int = ROLLUP_DAYS,
    raw_days: int | None = None,
    setup: bool = True,
) -> RollupReport:
    """Set up the rollups (1.x) and compute them for the window [start_ns, end_ns).

    Parameters
    ----------
    store : InfluxStore
    start_ns, end_ns : int
        Window to (re)compute, widened to whole UTC days. [ns since the epoch]
    mode : {'auto', 'cq', 'writer'}
        ``cq`` (1.x): retention policies and continuous queries on the server, the window by
        ``SELECT INTO``; ``writer``: every rollup computed here and written with line protocol;
        ``auto``: ``cq`` on 1.x, else ``writer``.
    rollup_days : int
        Life of the rollup retention policies (1.x). [days]
    raw_days : int, optional
        Shorten the default (raw) retention policy to this many days (1.x). Points older than
        that are refused from then on, including simulation results of typical years (dated
        1990): write those to another database.
    setup : bool
        Create/alter retention policies and continuous queries (``cq`` mode).

    Raises
    ------
    ServiceError, ConfigError
    """
    if mode not in ("auto", "cq", "writer"):
        raise ConfigError(f"rollup mode {mode!r} must be auto, cq or writer")
    if mode == "auto":
        mode = "cq" if _is_1x(store) else "writer"
    if mode == "cq" and not _is_1x(store):
        raise ConfigError(
            f"continuous queries need InfluxDB 1.x; {store.url} is "
            f"{store.version}: use --mode writer"
        )
    report = RollupReport(mode, [])
    if mode == "cq" and setup:
        report.statements += _setup_1x(store, rollup_days, raw_days)
    start = start_ns // _DAY_NS * _DAY_NS
    end = -(-end_ns // _DAY_NS) * _DAY_NS
    for day_start, day_end in _days(start, end, _DAY_NS):
        for r in ROLLUPS:
            if mode == "cq":
                into = f"{_ident(store.database)}.{_ident(r.rp)}.{_ident(r.target)}"
                stmt = r.select(start_ns=day_start, end_ns=day_end, into=into)
                result = store.query(stmt)
                report.points_written += sum(
                    int(row[1]) for s in result for row in s.get("values") or []
                )
            else:
                series = store.query(r.select(start_ns=day_start, end_ns=day_end))
                lines = _series_lines(series, r.target, r.int_fields)
                report.points_written += store.write_batches(lines, retention_policy=r.rp)
    lines = province_day_points(store, start, end)
    store.write_batches(lines, retention_policy=RP_DAILY)
    report.points_written += len(lines)
    report.province_days = len(lines)
    return report
