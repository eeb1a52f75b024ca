"""``roshanai simulate forecast`` as a user runs it (real subprocesses): an Open-Meteo
ensemble on the sample fleet's Tehran plants, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.roshanai.test_cli import assert_one_line_error, cache_dir, roshanai
from tests.simulate.test_forecast import _open_meteo_json

__all__ = ["cache_dir"]  # the session fixture, shared with test_cli


def test_forecast_ensemble_on_the_sample_fleet(tmp_path: Path, cache_dir: Path) -> None:
    (tmp_path / "ens.json").write_text(json.dumps(_open_meteo_json(members=4)))
    proc = roshanai(
        "simulate",
        "forecast",
        "--forecast",
        "ens.json",
        "--hourly",
        "out/h.parquet",
        "--out-dir",
        "out",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    assert "5 member(s)" in proc.stdout
    # The sample fleet spans Iran: plants beyond 50 km of Tehran are left out, said once.
    assert "left out" in proc.stderr
    plants = pd.read_csv(tmp_path / "out" / "forecast_plants.csv")
    assert {"ac_energy_kwh", "ac_energy_p90_kwh", "ac_energy_p10_kwh"} <= set(plants.columns)
    assert (plants["ac_energy_p90_kwh"] <= plants["ac_energy_p10_kwh"] + 1e-9).all()
    regions = pd.read_csv(tmp_path / "out" / "forecast_regions.csv")
    assert "(fleet)" in set(regions["region"])
    hourly = pq.read_table(tmp_path / "out" / "h.parquet").to_pandas()
    assert set(hourly["member"].astype(str)) == {
        "control",
        "member01",
        "member02",
        "member03",
        "member04",
    }
    assert hourly["plant_id"].nunique() == plants["plant_id"].nunique()


def test_forecast_bad_input_is_one_line(tmp_path: Path, cache_dir: Path) -> None:
    proc = roshanai("simulate", "forecast", cwd=tmp_path, cache=cache_dir)
    assert_one_line_error(proc, 2, "--forecast")
    (tmp_path / "bad.json").write_text("{not json")
    proc = roshanai("simulate", "forecast", "--forecast", "bad.json", cwd=tmp_path, cache=cache_dir)
    assert_one_line_error(proc, 2, "not valid JSON")
    (tmp_path / "out").mkdir()
    assert not any((tmp_path / "out").iterdir())


def test_forecast_with_tomorrows_cuts(tmp_path: Path, cache_dir: Path) -> None:
    """The sample fleet's Tehran plants: zone THR-Z1 holds two hybrids and a grid-tied plant.
    A dusk cut after a dark day with empty batteries is not carried; the table says so."""
    doc = _open_meteo_json()
    for k in ("shortwave_radiation", "diffuse_radiation", "direct_normal_irradiance"):
        doc["hourly"][k] = [0.0] * len(doc["hourly"][k])  # a dark sky: nothing recharges
    (tmp_path / "dark.json").write_text(json.dumps(doc))
    (tmp_path / "cuts.csv").write_text(
        "start,end,zone\n2026-07-01T20:00+03:30,2026-07-01T22:00+03:30,THR-Z1\n"
    )
    proc = roshanai(
        "simulate",
        "forecast",
        "--forecast",
        "dark.json",
        "--schedule",
        "cuts.csv",
        "--initial-soc",
        "0",
        "--out-dir",
        "out",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    assert "households whose cuts will not be covered" in proc.stdout
    cuts = pd.read_csv(tmp_path / "out" / "forecast_cuts.csv")
    assert set(cuts["plant_id"]) == {"THR-000001", "THR-000003", "THR-000004"}
    assert (~cuts["covered"]).all()
    assert (cuts["hours_uncovered"] == 2.0).all()
    hybrid = cuts[cuts["inverter_type"] == "hybrid"]
    assert (hybrid["soc_start_pct"] == 10.0).all()  # empty: the depth-of-discharge floor
    proc = roshanai(
        "simulate",
        "forecast",
        "--forecast",
        "dark.json",
        "--cuts",
        "c.csv",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert_one_line_error(proc, 2, "--cuts needs --schedule")


def test_forecast_written_to_influxdb(
    tmp_path: Path, cache_dir: Path, influxd: object, influx_db: str
) -> None:
    """``--influx-url``: sim_forecast points for regions (with P-values) and plants, at the
    start of each hour, as the schema says."""
    from telemetry.influx import InfluxStore

    url = influxd.url  # type: ignore[attr-defined]
    (tmp_path / "ens.json").write_text(json.dumps(_open_meteo_json(members=2)))
    proc = roshanai(
        "simulate",
        "forecast",
        "--forecast",
        "ens.json",
        "--out-dir",
        "out",
        "--influx-url",
        url,
        "--influx-db",
        influx_db,
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    assert "points of sim_forecast" in proc.stdout
    with InfluxStore(url, influx_db) as store:
        fleet_rows = store.query(
            "SELECT ac_power_w, ac_power_p90_w, ac_power_p10_w, lead_h FROM sim_forecast "
            "WHERE kind = 'region' AND region = '(fleet)'",
            epoch="ns",
        )
        plants = store.query(
            "SELECT count(ac_power_w) FROM sim_forecast WHERE kind = 'plant' GROUP BY plant_id"
        )
    values = fleet_rows[0]["values"]
    assert len(values) == 48
    # Time = the start of the hour: the first hour ends at 00:00Z, so it starts 23:00Z.
    assert values[0][0] == int(pd.Timestamp("2026-06-30T23:00Z").value)
    assert all(v[2] <= v[3] for v in values)  # P90 ≤ P10
    regions = pd.read_csv(tmp_path / "out" / "forecast_regions.csv")
    fleet_csv = regions[regions["region"] == "(fleet)"]["ac_power_mw"].to_numpy()
    assert [v[1] / 1e6 for v in values] == pytest.approx(list(fleet_csv), rel=1e-5)
    assert len(plants) == 4
    assert {s["values"][0][1] for s in plants} == {48}


def test_forecast_baselines(tmp_path: Path, cache_dir: Path) -> None:
    """No forecast file: the climate baseline runs on every plant the climate default covers;
    persistence needs InfluxDB; the sources exclude each other."""
    proc = roshanai(
        "simulate",
        "forecast",
        "--baseline",
        "climate",
        "--start",
        "2026-07-10T00:00",
        "--hours",
        "24",
        "--out-dir",
        "out",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    assert "climate baseline" in proc.stdout
    plants = pd.read_csv(tmp_path / "out" / "forecast_plants.csv")
    assert plants["plant_id"].nunique() == 39
    day = plants[plants["date"] == "2026-07-10"]
    # A July day on the climate default: about 5–7.5 kWh per kWp.
    assert day["ac_energy_kwh"].between(15, 40).all()
    proc = roshanai(
        "simulate", "forecast", "--baseline", "persistence", cwd=tmp_path, cache=cache_dir
    )
    assert_one_line_error(proc, 2, "--influx-url")
    proc = roshanai(
        "simulate", "forecast", "--baseline", "climate", "--fetch", cwd=tmp_path, cache=cache_dir
    )
    assert_one_line_error(proc, 2, "exclude each other")
    proc = roshanai("simulate", "forecast", "--baseline", "sunny", cwd=tmp_path, cache=cache_dir)
    assert_one_line_error(proc, 2, "climate, persistence")
