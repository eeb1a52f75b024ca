"""Forecast files as the Open-Meteo server writes them, the interval convention, the
same-weather equality with ``simulate fleet`` and the quantile aggregation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulate.fleet import run_fleet
from simulate.forecast import read_forecast
from simulate.forecast_run import FLEET_REGION, region_table, run_forecast
from simulate.weather import read_weather
from telemetry.errors import WeatherFileError
from telemetry.registry import Fleet, load_sample_fleet

TEHRAN = (35.69, 51.39)


def _clear_day_ghi(hours_utc: np.ndarray) -> np.ndarray:
    """A plausible clear July day in Tehran, GHI by UTC hour ending [W/m²]."""
    solar_noon_utc = 12.0 - 51.39 / 15.0 - 0.1  # ≈ 8.5 h UTC
    x = (hours_utc - 0.5 - solar_noon_utc) / 7.0
    return np.clip(980.0 * np.cos(np.pi / 2 * x), 0.0, None) * (np.abs(x) < 1)


def _open_meteo_json(members: int = 0, **extra) -> dict:
    """A /v1/forecast or /v1/ensemble response in the server's shape (JsonWriter.swift):
    local ISO times without offset, ``utc_offset_seconds``, ``hourly_units``."""
    n = 48
    utc = pd.date_range("2026-07-01T00:00Z", periods=n, freq="h")
    local = utc + pd.Timedelta(seconds=12600)
    hours = np.arange(n) % 24
    ghi = _clear_day_ghi(hours)
    hourly: dict = {"time": [t.strftime("%Y-%m-%dT%H:%M") for t in local]}
    units = {"time": "iso8601"}
    for k in range(members + 1):
        suffix = "" if k == 0 else f"_member{k:02d}"
        scale = 1.0 - 0.05 * k
        hourly["shortwave_radiation" + suffix] = list(np.round(ghi * scale, 1))
        hourly["diffuse_radiation" + suffix] = list(np.round(ghi * 0.15, 1))
        hourly["direct_normal_irradiance" + suffix] = list(np.round(ghi * 0.9 * scale, 1))
        hourly["temperature_2m" + suffix] = [30.0 + (h % 24 > 6) * 5.0 for h in range(n)]
        hourly["wind_speed_10m" + suffix] = [7.2] * n
        units.update(
            {
                "shortwave_radiation" + suffix: "W/m²",
                "diffuse_radiation" + suffix: "W/m²",
                "direct_normal_irradiance" + suffix: "W/m²",
                "temperature_2m" + suffix: "°C",
                "wind_speed_10m" + suffix: "km/h",
            }
        )
    doc = {
        "latitude": TEHRAN[0],
        "longitude": TEHRAN[1],
        "generationtime_ms": 1.2,
        "utc_offset_seconds": 12600,
        "timezone": "Asia/Tehran",
        "timezone_abbreviation": "GMT+3:30",
        "elevation": 1190.0,
        "hourly_units": units,
        "hourly": hourly,
    }
    doc.update(extra)
    return doc


def _fleet(n: int = 4) -> Fleet:
    plants = load_sample_fleet().plants.iloc[:0]
    sample = load_sample_fleet().plants
    rows = sample[sample["province"] == "Tehran"].head(n).copy()
    rows["latitude"] = TEHRAN[0] + 0.01 * np.arange(len(rows))
    rows["longitude"] = TEHRAN[1]
    return Fleet(pd.concat([plants, rows]).reset_index(drop=True), "test")


def test_open_meteo_json_times_units_and_interval_convention(tmp_path: Path) -> None:
    path = tmp_path / "om.json"
    path.write_text(json.dumps(_open_meteo_json()))
    fc = read_forecast(path)
    # Local 03:30 (+03:30) is 00:00 UTC: the stamp labels the END of the preceding hour.
    assert fc.labels[0] == pd.Timestamp("2026-07-01T00:00Z")
    assert fc.members == ("control",)
    # Radiation is the preceding hour's mean: taken as is.
    doc = _open_meteo_json()
    assert fc.data["ghi"][0, 0, 5] == pytest.approx(doc["hourly"]["shortwave_radiation"][5])
    # Wind: km/h → m/s.
    assert fc.data["wind_speed"][0, 0, 3] == pytest.approx(2.0)
    # Temperature is instantaneous: the hour ending at T gets the mean of T − 1 h and T.
    t = doc["hourly"]["temperature_2m"]
    assert fc.data["temp_air"][0, 0, 7] == pytest.approx(0.5 * (t[6] + t[7]))
    assert fc.data["temp_air"][0, 0, 0] == pytest.approx(t[0])


def test_unixtime_and_fahrenheit(tmp_path: Path) -> None:
    doc = _open_meteo_json()
    utc = pd.date_range("2026-07-01T00:00Z", periods=48, freq="h")
    doc["hourly"]["time"] = [int(t.timestamp()) for t in utc]
    doc["hourly_units"]["time"] = "unixtime"
    doc["hourly"]["temperature_2m"] = [86.0] * 48
    doc["hourly_units"]["temperature_2m"] = "°F"
    path = tmp_path / "om.json"
    path.write_text(json.dumps(doc))
    fc = read_forecast(path)
    assert fc.labels[0] == utc[0]  # unixtime is UTC: no offset applied
    assert fc.data["temp_air"][0, 0, 10] == pytest.approx(30.0)


def test_trailing_nulls_dropped_inner_gap_refused(tmp_path: Path) -> None:
    doc = _open_meteo_json()
    for k in ("shortwave_radiation", "diffuse_radiation", "direct_normal_irradiance"):
        doc["hourly"][k][-3:] = [None] * 3
    path = tmp_path / "om.json"
    path.write_text(json.dumps(doc))
    fc = read_forecast(path)
    assert len(fc.labels) == 45
    assert any("trailing" in n for n in fc.notes)
    doc["hourly"]["shortwave_radiation"][10] = None
    path.write_text(json.dumps(doc))
    with pytest.raises(WeatherFileError, match="ghi missing at 2026-07-01 10:00Z"):
        read_forecast(path)


def test_bad_unit_and_several_models_refused(tmp_path: Path) -> None:
    doc = _open_meteo_json()
    doc["hourly_units"]["shortwave_radiation"] = "MJ/m²"
    path = tmp_path / "om.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(WeatherFileError, match="ghi in 'MJ/m²'"):
        read_forecast(path)
    doc = _open_meteo_json()
    doc["hourly"] = {
        "time": doc["hourly"]["time"],
        "shortwave_radiation_icon_seamless": doc["hourly"]["shortwave_radiation"],
        "shortwave_radiation_gfs_seamless": doc["hourly"]["shortwave_radiation"],
    }
    path.write_text(json.dumps(doc))
    with pytest.raises(WeatherFileError, match="several models"):
        read_forecast(path)


def test_open_meteo_csv_several_locations(tmp_path: Path) -> None:
    """``format=csv`` with two locations (CsvWriter.swift): location header with
    ``location_id``, a blank line, then the hourly section with ``location_id,time``."""
    n = 24
    utc = pd.date_range("2026-07-01T00:00Z", periods=n, freq="h")
    ghi = _clear_day_ghi(np.arange(n))
    lines = [
        "location_id,latitude,longitude,elevation,utc_offset_seconds,timezone,timezone_abbreviation",
        "0,35.7,51.4,1190.0,0,GMT,GMT",
        "1,29.5,60.9,1370.0,0,GMT,GMT",
        "",
        "location_id,time,shortwave_radiation (W/m²),diffuse_radiation (W/m²),"
        "temperature_2m (°C),wind_speed_10m (km/h)",
    ]
    for loc in (0, 1):
        for k, t in enumerate(utc):
            value = "NaN" if False else f"{ghi[k] * (1.0 if loc == 0 else 0.5):.1f}"
            lines.append(f"{loc},{t:%Y-%m-%dT%H:%M},{value},{ghi[k] * 0.2:.1f},31.5,3.6")
    path = tmp_path / "om.csv"
    path.write_text("\n".join(lines) + "\n")
    fc = read_forecast(path)
    assert fc.n_locations == 2
    assert fc.labels[0] == utc[0]
    assert fc.data["ghi"][0, 1, 8] == pytest.approx(0.5 * ghi[8], abs=0.1)
    assert fc.data["wind_speed"][0, 0, 5] == pytest.approx(1.0)
    assert any("DNI" in n for n in fc.notes)  # no DNI in the file: closure from GHI and DHI
    near_zahedan, dist = fc.plant_locations(np.array([29.6]), np.array([60.8]))
    assert near_zahedan[0] == 1
    assert dist[0] < 20


def test_deterministic_forecast_equals_simulate_fleet_on_the_same_weather(
    tmp_path: Path,
) -> None:
    """A plain forecast CSV is also a weather file: the forecast's hourly AC power must equal
    ``run_fleet`` on that weather, plant by plant and hour by hour."""
    n = 48
    utc = pd.date_range("2026-07-01T01:00Z", periods=n, freq="h")
    ghi = _clear_day_ghi((np.arange(n) + 1) % 24)
    frame = pd.DataFrame(
        {
            "time": [t.isoformat() for t in utc],
            "ghi": ghi,
            "dni": ghi * 0.85,
            "dhi": ghi * 0.15,
            "temp_air": 25.0 + 10 * (ghi > 0),
            "wind_speed": 1.5,
        }
    )
    path = tmp_path / "wx.csv"
    frame.to_csv(path, index=False)
    fleet = _fleet(5)
    kept: list[np.ndarray] = []
    run = run_forecast(fleet, read_forecast(path), on_member=lambda m, i, t, p: kept.append(p))
    ref = run_fleet(fleet, read_weather(path), hourly=True)
    assert ref.ac_power_w is not None
    np.testing.assert_array_equal(kept[0], ref.ac_power_w)
    np.testing.assert_allclose(run.plant_daily_kwh[0], ref.daily_ac_energy_kwh)
    assert run.region_ac_power_w[0, -1] == pytest.approx(ref.ac_power_w.sum(axis=0))


def test_ensemble_quantiles_are_of_the_regions_sums(tmp_path: Path) -> None:
    path = tmp_path / "ens.json"
    path.write_text(json.dumps(_open_meteo_json(members=6)))
    fc = read_forecast(path)
    assert fc.members[0] == "control"
    assert fc.members[-1] == "member06"
    fleet = _fleet(4)
    per_member: list[np.ndarray] = []
    run = run_forecast(fleet, fc, on_member=lambda m, i, t, p: per_member.append(p))
    stack = np.stack(per_member)  # (members, plants, hours)
    table = region_table(run)
    fleet_rows = table[table["region"] == FLEET_REGION].reset_index(drop=True)
    sums_mw = stack.sum(axis=1) / 1e6
    np.testing.assert_allclose(fleet_rows["ac_power_p90_mw"], np.percentile(sums_mw, 10, axis=0))
    np.testing.assert_allclose(fleet_rows["ac_power_p10_mw"], np.percentile(sums_mw, 90, axis=0))
    np.testing.assert_allclose(fleet_rows["ac_power_mw"], sums_mw[0])
    # Members brighter to dimmer: the P90 (exceeded with 90 % probability) is the lower one.
    noon = int(np.argmax(sums_mw[0]))
    assert fleet_rows["ac_power_p90_mw"][noon] < fleet_rows["ac_power_p10_mw"][noon]
    days = region_table(run, daily=True)
    day_fleet = days[days["region"] == FLEET_REGION]
    assert len(day_fleet) >= 2
    assert (day_fleet["ac_energy_p90_mwh"] <= day_fleet["ac_energy_p50_mwh"]).all()


def test_far_plants_skipped_and_none_near_refused(tmp_path: Path) -> None:
    path = tmp_path / "om.json"
    path.write_text(json.dumps(_open_meteo_json()))
    fc = read_forecast(path)
    fleet = _fleet(3)
    far = fleet.plants.copy()
    far.loc[0, "latitude"] = 29.5
    run = run_forecast(Fleet(far, "t"), fc)
    assert len(run.skipped) == 1
    assert len(run.plant_ids) == 2
    far["latitude"] = 29.5
    from telemetry.errors import InputError

    with pytest.raises(InputError, match="no plant is within 50 km"):
        run_forecast(Fleet(far, "t"), fc)


def test_leading_null_radiation_of_an_ensemble_dropped(tmp_path: Path) -> None:
    """Ensemble models often have no "preceding hour" mean at their first step (null)."""
    doc = _open_meteo_json(members=2)
    for key in doc["hourly"]:
        if key.startswith(("shortwave", "diffuse", "direct")):
            doc["hourly"][key][0] = None
    doc["hourly"]["temperature_2m_member01"][0] = 10.0
    path = tmp_path / "ens.json"
    path.write_text(json.dumps(doc))
    fc = read_forecast(path)
    assert fc.labels[0] == pd.Timestamp("2026-07-01T01:00Z")
    assert any("leading" in n for n in fc.notes)
    # The dropped stamp's temperature still counts in the first kept hour's mean.
    t = doc["hourly"]["temperature_2m_member01"]
    assert fc.data["temp_air"][1, 0, 0] == pytest.approx(0.5 * (t[0] + t[1]))
