"""Forecast skill against a real influxd: hand-checked nMAE and skill, and the whole loop on
emulated telemetry (the climate baseline scored against what the emulated plants made)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from telemetry.influx import InfluxStore
from telemetry.lineprotocol import format_point
from tests.roshanai.test_cli import assert_one_line_error, cache_dir, roshanai

__all__ = ["cache_dir"]

T0 = pd.Timestamp("2026-07-10T06:00Z")
PLANTS = {"THR-000001": 2000.0, "THR-000002": 3000.0, "THR-000003": 1000.0}


def _fleet_skill(url: str, db: str, by: str) -> dict[str, dict]:
    """The fleet's ``sim_forecast_skill`` point of each value of tag ``by``."""
    with InfluxStore(url, db) as store:
        series = store.query(
            f"SELECT * FROM sim_forecast_skill WHERE region = '(fleet)' GROUP BY \"{by}\""
        )
    return {s["tags"][by]: dict(zip(s["columns"], s["values"][0], strict=True)) for s in series}


def _seed(url: str, db: str) -> None:
    lines = []
    for h in range(4):
        start = T0 + pd.Timedelta(hours=h)
        for pid, w in PLANTS.items():
            for q in range(4):  # a reading every 15 min: the hourly mean is w
                ns = int((start + pd.Timedelta(minutes=15 * q + 5)).value)
                if pid == "THR-000003":  # two gateway inverters adding up to w
                    for inv in ("a", "b"):
                        lines.append(
                            format_point(
                                "inverter",
                                {"plant_id": pid, "inverter": inv, "province": "Tehran"},
                                {"ac_power_w": w / 2},
                                ns,
                            )
                        )
                else:
                    lines.append(
                        format_point(
                            "inverter",
                            {"plant_id": pid, "province": "Tehran"},
                            {"ac_power_w": w},
                            ns,
                        )
                    )
            for run_id, method, factor, issued in (
                ("nwp-1", "nwp", 1.1, "2026-07-09T18:00:00Z"),
                ("clim-1", "climate", 1.5, "2026-07-09T18:00:00Z"),
                ("pers-1", "persistence", 0.8, "2026-07-09T18:00:00Z"),
            ):
                for pid, w in PLANTS.items():
                    lines.append(
                        format_point(
                            "sim_forecast",
                            {
                                "run_id": run_id,
                                "method": method,
                                "kind": "plant",
                                "plant_id": pid,
                                "province": "Tehran",
                            },
                            {"ac_power_w": w * factor, "issued": issued, "lead_h": 12.0 + h},
                            int(start.value),
                        )
                    )
    with InfluxStore(url, db) as store:
        store.write_batches(lines)


def test_skill_hand_checked(
    tmp_path: Path, cache_dir: Path, influxd: object, influx_db: str
) -> None:
    url = influxd.url  # type: ignore[attr-defined]
    _seed(url, influx_db)
    proc = roshanai(
        "simulate",
        "forecast-skill",
        "--since",
        "2026-07-10T06:00Z",
        "--until",
        "2026-07-10T10:00Z",
        "--influx-url",
        url,
        "--influx-db",
        influx_db,
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    rows = _fleet_skill(url, influx_db, "run_id")
    nwp = rows["nwp-1"]
    assert nwp["plant_hours"] == 12
    assert nwp["nmae_pct"] == pytest.approx(10.0)  # 1.1 × measured, inverters added up
    assert nwp["skill_vs_climate"] == pytest.approx(1 - 0.1 / 0.5)
    assert nwp["skill_vs_persistence"] == pytest.approx(1 - 0.1 / 0.2)
    assert rows["clim-1"]["nmae_pct"] == pytest.approx(50.0)
    assert rows["clim-1"].get("skill_vs_climate") is None  # not against itself
    assert rows["pers-1"]["skill_vs_climate"] == pytest.approx(1 - 0.2 / 0.5)
    with InfluxStore(url, influx_db) as store:
        plant = store.query(
            "SELECT * FROM sim_forecast_skill WHERE kind = 'plant' AND plant_id = 'THR-000003' "
            "AND run_id = 'nwp-1'"
        )
    one = dict(zip(plant[0]["columns"], plant[0]["values"][0], strict=True))
    assert one["plant_hours"] == 4
    assert one["nmae_pct"] == pytest.approx(10.0)
    assert one["skill_vs_climate"] == pytest.approx(0.8)
    assert one["province"] == "Tehran"
    # Hourly measured / forecast of the fleet: 1 / 1.1 every hour.
    for q in ("error_ratio_q10", "error_ratio_q50", "error_ratio_q90"):
        assert nwp[q] == pytest.approx(1 / 1.1)


def test_skill_bad_input(tmp_path: Path, cache_dir: Path) -> None:
    proc = roshanai(
        "simulate",
        "forecast-skill",
        "--since",
        "2026-07-10",
        "--until",
        "2026-07-09",
        "--influx-url",
        "http://127.0.0.1:9",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert_one_line_error(proc, 2, "must be before")


def _perfect_forecast(fleet, labels: pd.DatetimeIndex, path: Path) -> None:
    """The weather the emulator ran on (sampled year 0 of each cell, by UTC day of year) as a
    plain forecast CSV: a forecast that knew the sky."""
    from simulate.fleet import default_fleet_weather, fleet_cells

    weather, _ = default_fleet_weather(fleet, sample=0)
    centres, _ = fleet_cells(fleet)
    data = weather.data
    idx = pd.DatetimeIndex(data.index)
    key = {(t.day_of_year, t.hour): i for i, t in enumerate(idx)}
    rows = [key[(t.day_of_year, t.hour)] for t in labels]
    parts = []
    for c, (lat, lon) in enumerate(centres):
        cell = data[c].iloc[rows].reset_index(drop=True)
        cell.insert(0, "time", [t.isoformat() for t in labels])
        cell.insert(1, "latitude", lat)
        cell.insert(2, "longitude", lon)
        parts.append(cell)
    pd.concat(parts).to_csv(path, index=False)


def test_skill_end_to_end_on_emulated_telemetry(
    tmp_path: Path, cache_dir: Path, influxd: object, influx_db: str
) -> None:
    """Emulated plants in InfluxDB; a forecast that knew the sky and the climate baseline, both
    written by ``simulate forecast --influx-url``; ``forecast-skill`` must find the informed
    forecast the better one, hour by hour (a shifted hour or a unit slip would not)."""
    from firmware_bridge.emulator.offline import emulated_readings
    from telemetry.registry import load_sample_fleet, sample_fleet_path
    from tests.triage.test_cli import _lines

    url = influxd.url  # type: ignore[attr-defined]
    fleet = load_sample_fleet()
    start, end = pd.Timestamp("2026-12-01T00:00Z"), pd.Timestamp("2026-12-04T00:00Z")
    tele = emulated_readings(fleet, start, end, cuts=False, step_s=900, seed=3)
    readings = tele.readings.assign(alarm_code=tele.readings["alarm_code"].fillna(0))
    for col in ("energy_total_wh", "dc1_power_w", "dc2_power_w"):
        readings[col] = readings[col].fillna(0.0)
    with InfluxStore(url, influx_db) as store:
        store.write_batches(_lines(readings))
    labels = pd.date_range(start + pd.Timedelta(hours=1), end, freq="h")
    _perfect_forecast(fleet, labels, tmp_path / "knew.csv")
    common = ("--influx-url", url, "--influx-db", influx_db, "--no-plot")[:-1]
    proc = roshanai(
        "simulate",
        "forecast",
        str(sample_fleet_path()),
        "--forecast",
        "knew.csv",
        "--out-dir",
        "a",
        *common,
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    proc = roshanai(
        "simulate",
        "forecast",
        str(sample_fleet_path()),
        "--baseline",
        "climate",
        "--start",
        "2026-12-01T00:00Z",
        "--hours",
        "72",
        "--out-dir",
        "b",
        *common,
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    proc = roshanai(
        "simulate",
        "forecast-skill",
        "--since",
        "2026-12-01T00:00Z",
        "--until",
        "2026-12-04T00:00Z",
        *common,
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    rows = _fleet_skill(url, influx_db, "method")
    assert rows["nwp"]["plant_hours"] > 1000
    # Both cover the same hours (a baseline starting an hour early would lose one).
    assert rows["climate"]["plant_hours"] == rows["nwp"]["plant_hours"]
    assert rows["nwp"]["nmae_pct"] < rows["climate"]["nmae_pct"]
    assert rows["nwp"]["skill_vs_climate"] > 0.2
    # A later deterministic forecast takes its P90/P50/P10 from those errors.
    proc = roshanai(
        "simulate",
        "forecast",
        str(sample_fleet_path()),
        "--forecast",
        "knew.csv",
        "--out-dir",
        "c",
        *common,
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    assert "from the errors of the last 1 scored nwp forecast" in proc.stderr
    regions = pd.read_csv(tmp_path / "c" / "forecast_regions.csv")
    fleet_rows = regions[(regions["region"] == "(fleet)") & (regions["ac_power_mw"] > 0.01)]
    assert (fleet_rows["ac_power_p90_mw"] <= fleet_rows["ac_power_p50_mw"]).all()
    assert (fleet_rows["ac_power_p50_mw"] <= fleet_rows["ac_power_p10_mw"]).all()
    assert (fleet_rows["ac_power_p90_mw"] < fleet_rows["ac_power_mw"]).all()
