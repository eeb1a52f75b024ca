"""Synthetic fleets: plausible, deterministic, numbered per province; written as fleet files."""

from __future__ import annotations

from firmware_bridge.emulator import PROVINCE_CODES, synthetic_fleet, write_fleet
from telemetry.registry import read_fleet


def test_synthetic_fleet_is_plausible_and_deterministic():
    a, b = synthetic_fleet(200, seed=4), synthetic_fleet(200, seed=4)
    assert a.plants.equals(b.plants)
    assert not a.plants.equals(synthetic_fleet(200, seed=5).plants)
    p = a.plants
    assert len(a) == 200
    assert p["plant_id"].is_unique
    assert p["plant_id"].str.fullmatch(r"[A-Z]{3}-\d{6}").all()
    assert set(p["plant_id"].str[:3]) <= set(PROVINCE_CODES.values())
    assert p["province"].nunique() == 31  # round the capitals
    assert p["tilt_deg"].between(20, 35).all()
    assert p["azimuth_deg"].between(160, 200).all()
    assert (p["ac_kw"] == 5.0).all()
    assert p["dc_kwp"].between(5.0, 5.5).all()
    hybrid = p["inverter_type"] == "hybrid"
    assert 0.05 < hybrid.mean() < 0.35
    assert (p.loc[hybrid, "battery_kwh"] > 0).all()
    assert (p.loc[~hybrid, "battery_kwh"] == 0).all()
    assert p["outage_zone"].str.fullmatch(r"[A-Z]{3}-Z[123]").all()
    assert p["latitude"].between(25, 40).all()
    assert p["longitude"].between(44, 64).all()


def test_fleet_ids_number_per_province():
    p = synthetic_fleet(40, seed=0).plants
    twice = p[p["plant_id"].str.endswith("-000002")]
    assert len(twice) == 9  # 40 plants round 31 capitals: 9 provinces get a second plant


def test_write_fleet_round_trips_contract_columns_first(tmp_path):
    fleet = synthetic_fleet(12, seed=3)
    path = write_fleet(fleet, tmp_path / "fleet.csv")
    header = path.read_text().splitlines()[0].split(",")
    assert header[:3] == ["plant_id", "latitude", "longitude"]
    again = read_fleet(path)
    assert again.plant_ids == fleet.plant_ids
    assert again.plants["outage_zone"].tolist() == fleet.plants["outage_zone"].tolist()
