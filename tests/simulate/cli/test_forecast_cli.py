"""``roshanai simulate forecast`` as a user runs it (real subprocesses): an Open-Meteo
ensemble on the sample fleet's Tehran plants, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

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
