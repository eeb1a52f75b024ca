"""Rollups against the raw readings, the writer against the continuous queries, the publishers."""

from __future__ import annotations

import uuid
from collections import defaultdict

import pytest

from dashboards.publish import quarantine_counts
from dashboards.rollups import (
    INVERTER_1D,
    INVERTER_1H,
    PROVINCE_1H,
    PROVINCE_DAY,
    ROLLUPS,
    RP_DAILY,
    RP_HOURLY,
    apply,
    continuous_queries,
    hijri_month_tag,
    retention_statements,
)
from telemetry.influx import InfluxStore
from telemetry.registry import read_fleet, sample_fleet_path

pytestmark = pytest.mark.slow

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def _raw(store, field: str) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for s in store.query(f'SELECT "{field}" FROM "inverter" GROUP BY "plant_id"', epoch="ms"):
        out[s["tags"]["plant_id"]] += [(t, v) for t, v in s["values"] if v is not None]
    return out


def _series(store, rp: str, measurement: str, epoch: str = "ms") -> dict[tuple, dict]:
    """(tags, time) → fields of a rollup measurement."""
    out = {}
    for s in store.query(f'SELECT * FROM "{rp}"."{measurement}" GROUP BY *', epoch=epoch):
        tags = tuple(sorted((s.get("tags") or {}).items()))
        for row in s["values"]:
            out[(tags, row[0])] = {
                c: v for c, v in zip(s["columns"][1:], row[1:], strict=True) if v is not None
            }
    return out


def test_daily_energy_is_the_counters_rise_each_utc_day(store, scenario):
    raw = _raw(store, "energy_total_wh")
    expected = {}
    for pid, points in raw.items():
        by_day = defaultdict(list)
        for t, v in points:
            by_day[t // DAY_MS * DAY_MS].append(v)
        for day, values in by_day.items():
            expected[(pid, day)] = max(values) - min(values)
    got = {
        (dict(tags)["plant_id"], t): f["energy_wh"]
        for (tags, t), f in _series(store, RP_DAILY, INVERTER_1D).items()
    }
    assert got == pytest.approx(expected)
    assert len(got) >= len(scenario.fleet)


def test_hourly_means_and_province_sums(store, scenario):
    raw = _raw(store, "ac_power_w")
    hourly = _series(store, RP_HOURLY, INVERTER_1H)
    sums: dict[tuple[str, int], float] = defaultdict(float)
    for (tags, t), f in hourly.items():
        d = dict(tags)
        values = [v for ts, v in raw[d["plant_id"]] if t <= ts < t + HOUR_MS]
        assert f["ac_power_w"] == pytest.approx(sum(values) / len(values))
        assert f["readings"] == len(values)
        sums[(d.get("province", ""), t)] += f["ac_power_w"]
    province = {
        (dict(tags).get("province", ""), t): f
        for (tags, t), f in _series(store, RP_HOURLY, PROVINCE_1H).items()
    }
    assert {k: v["ac_power_w"] for k, v in province.items()} == pytest.approx(dict(sums))
    assert any(f.get("plants_producing", 0) > 0 for f in province.values())


def test_province_days_sum_the_plants_and_carry_both_calendars(store, scenario):
    plant_days = _series(store, RP_DAILY, INVERTER_1D)
    energy: dict[tuple[str, int], float] = defaultdict(float)
    for (tags, t), f in plant_days.items():
        energy[(dict(tags)["province"], t)] += f["energy_wh"] / 1000
    days = _series(store, RP_DAILY, PROVINCE_DAY)
    assert len(days) == len(energy)
    registered = scenario.fleet.plants.groupby("province").size().to_dict()
    from datetime import UTC, datetime

    for (tags, t), f in days.items():
        d = dict(tags)
        day = datetime.fromtimestamp(t / 1000, UTC).date()
        assert d["month"] == f"{day:%Y-%m}"
        assert d["hijri_month"] == hijri_month_tag(day)
        assert f["energy_kwh"] == pytest.approx(energy[(d["province"], t)])
        assert f["plants_registered"] == registered[d["province"]]
        assert 0 < f["availability_pct"] <= 100
        assert f["plant_daylight_hours"] == f["plants_registered"] * f["daylight_hours"]


def test_continuous_queries_are_installed_once(store, scenario):
    shown = {
        row[0]
        for s in store.query("SHOW CONTINUOUS QUERIES", database="")
        if s.get("name") == scenario.database
        for row in s.get("values") or []
    }
    assert shown == set(continuous_queries(scenario.database)) == {r.name for r in ROLLUPS}
    rps = {
        row[0]
        for s in store.query(f'SHOW RETENTION POLICIES ON "{scenario.database}"', database="")
        for row in s["values"]
    }
    assert {RP_HOURLY, RP_DAILY} <= rps
    again = apply(store, start_ns=scenario.end_ns - 3_600_000_000_000, end_ns=scenario.end_ns)
    assert not [s for s in again.statements if "CONTINUOUS QUERY" in s]


def test_writer_mode_equals_the_servers_continuous_queries(store, scenario, influxd):
    """2.x/3.x take the writer: on a copy of the raw data it must write what SELECT INTO did."""
    copy = f"dash_copy_{uuid.uuid4().hex[:8]}"
    influxd.create_database(copy)
    try:
        for m in ("inverter", "plant_registry"):
            store.query(f'SELECT * INTO "{copy}"."autogen"."{m}" FROM "{m}" GROUP BY *')
        with InfluxStore(scenario.url, copy, timeout_s=60) as other:
            for stmt in retention_statements(copy, []):  # the buckets an operator creates
                other.query(stmt, database="")
            report = apply(other, start_ns=scenario.start_ns, end_ns=scenario.end_ns, mode="writer")
            assert report.mode == "writer"
            assert report.points_written > 0
            for rp, m in (
                (RP_HOURLY, INVERTER_1H),
                (RP_HOURLY, PROVINCE_1H),
                (RP_DAILY, INVERTER_1D),
                (RP_DAILY, PROVINCE_DAY),
            ):
                assert _series(other, rp, m, "ns") == _series(store, rp, m, "ns"), m
            assert not other.query("SHOW CONTINUOUS QUERIES", database="")[0].get("values") or all(
                s.get("name") != copy or not s.get("values")
                for s in other.query("SHOW CONTINUOUS QUERIES", database="")
            )
    finally:
        influxd.drop_database(copy)


def test_raw_retention_can_be_shortened(influxd, influx_db):
    with InfluxStore(influxd.url, influx_db) as s:
        report = apply(s, start_ns=0, end_ns=86_400_000_000_000, raw_days=400)
        assert any("DURATION 400d" in st for st in report.statements)
        rps = s.query(f'SHOW RETENTION POLICIES ON "{influx_db}"', database="")[0]
        default = next(r for r in rps["values"] if r[rps["columns"].index("default")])
        assert default[rps["columns"].index("duration")] == "9600h0m0s"


def test_rollups_cli_and_publishers(scenario, influxd, influx_db, tmp_path, monkeypatch):
    from roshanai.cli import main

    monkeypatch.chdir(tmp_path)
    url = ["--influx-url", influxd.url, "--influx-db", influx_db]
    assert main(["dashboards", "publish-registry", "--fleet", str(sample_fleet_path()), *url]) == 0
    assert (
        main(
            [
                "dashboards",
                "publish-quarantine",
                "--state-dir",
                str(scenario.state_dir),
                "--client-id",
                "bridge-x",
                *url,
            ]
        )
        == 0
    )
    assert main(["dashboards", "rollups", "--since", "1d", *url]) == 0
    with InfluxStore(influxd.url, influx_db) as s:
        n = s.query(
            'SELECT count("latitude") FROM (SELECT last("latitude") AS "latitude" '
            'FROM "plant_registry" GROUP BY "plant_id")'
        )[0]["values"][0][1]
        assert n == len(read_fleet(sample_fleet_path()))
        got = {
            x["tags"]["reason"]: x["values"][0][1]
            for x in s.query(
                'SELECT last("quarantined") FROM "bridge_quarantine" GROUP BY "reason"'
            )
        }
        assert got == quarantine_counts(scenario.state_dir)
        assert sum(got.values()) == scenario.published["bad"]
    assert main(["dashboards", "publish-quarantine", "--state-dir", str(tmp_path), *url]) == 2
