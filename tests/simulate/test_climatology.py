"""The embedded Iran climatology and the typical year generated from it (``simulate.climatology``).

The table must be plausible for Iran's 31 province capitals and say where it comes from; the
generated year must be deterministic, physically consistent, reproduce the table's monthly means,
refuse points far outside Iran, and give yields a planner would recognise when the fleet
simulator runs on it (print them with ``pytest -s``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from importlib import resources

import numpy as np
import pandas as pd
import pvlib
import pytest

from simulate.climatology import (
    LAPSE_RATE_C_PER_M,
    MAX_DISTANCE_KM,
    default_weather,
    load_climatology,
    monthly_climate,
)
from simulate.fleet import run_fleet
from simulate.weather import COLUMNS
from telemetry.errors import InputError
from telemetry.registry import parse_fleet

MONTHS = [f"{m:02d}" for m in range(1, 13)]
YEAR_LABELS = pd.date_range("1990-01-01 01:00", "1991-01-01 00:00", freq="h", tz="UTC")
TYPICAL_CAPITALS = ("Tehran", "Isfahan", "Shiraz", "Yazd", "Kerman", "Mashhad", "Tabriz")
CASPIAN_CAPITALS = ("Rasht", "Sari")
# Measured with the built table (PVWatts 14.08 % DC losses, 96 % inverter, 5 kWp / 5 kW,
# 30° south; the validation table of the README): Tehran ≈ 1,850, Isfahan ≈ 1,910, Shiraz ≈
# 1,890, Yazd ≈ 1,900, Kerman ≈ 1,965, Mashhad ≈ 1,820, Tabriz ≈ 1,735; Rasht ≈ 1,155, Sari ≈
# 1,245 kWh/kWp. The program's own figures: about 1,800 in Tehran, 1,950 on the south-east
# plateau, 1,200 on the Caspian coast.
TYPICAL_YIELD_KWH_PER_KWP = (1650.0, 2050.0)
CASPIAN_MAX_YIELD_KWH_PER_KWP = 1400.0


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return load_climatology().set_index("city")


def _capital(table: pd.DataFrame, city: str) -> tuple[float, float, float]:
    row = table.loc[city]
    return float(row["latitude"]), float(row["longitude"]), float(row["altitude_m"])


# --------------------------------------------------------------------------- the table


def test_table_has_the_31_province_capitals(table: pd.DataFrame) -> None:
    assert len(table) == 31
    assert table.index.is_unique
    assert table["province"].is_unique
    for city in (*TYPICAL_CAPITALS, *CASPIAN_CAPITALS, "Ahvaz", "Bandar Abbas", "Zahedan"):
        assert city in table.index
    # Inside Iran's bounding box.
    assert table["latitude"].between(25.0, 40.0).all()
    assert table["longitude"].between(44.0, 63.5).all()
    assert table["altitude_m"].between(-30, 2500).all()


def test_table_values_are_plausible(table: pd.DataFrame) -> None:
    ghi = table[[f"ghi_kwh_m2_day_{m}" for m in MONTHS]].to_numpy()
    temp = table[[f"temp_c_{m}" for m in MONTHS]].to_numpy()
    wind = table[[f"wind_m_s_{m}" for m in MONTHS]].to_numpy()
    assert np.isfinite(ghi).all()
    assert np.isfinite(temp).all()
    assert np.isfinite(wind).all()
    assert ghi.min() >= 1.5
    assert ghi.max() <= 9.0
    assert temp.min() >= -15.0
    assert temp.max() <= 40.0
    assert wind.min() >= 0.5
    assert wind.max() <= 10.0
    assert table["temp_range_c"].between(3.0, 25.0).all()
    # Northern hemisphere seasons: June brighter than December, July warmer than January.
    assert (ghi[:, 5] > ghi[:, 11]).all()
    assert (temp[:, 6] > temp[:, 0]).all()
    annual_kwh_m2 = ghi.mean(axis=1) * 365
    assert annual_kwh_m2.min() > 1200
    assert annual_kwh_m2.max() < 2400
    # The Caspian coast is the cloudiest and mildest region.
    assert table.loc["Rasht", "ghi_kwh_m2_day_06"] < table.loc["Yazd", "ghi_kwh_m2_day_06"]


def test_table_states_its_sources_and_that_it_is_approximate() -> None:
    text = (resources.files("simulate") / "data" / "iran_climatology.csv").read_text("utf-8")
    comments = " ".join(line for line in text.splitlines() if line.startswith("#"))
    assert "BUILT" in comments
    assert "climate_sources" in comments
    assert "ESTIMATE" in comments


def test_load_climatology_returns_a_copy() -> None:
    first = load_climatology()
    first.loc[:, "ghi_kwh_m2_day_01"] = -1.0
    assert (load_climatology()["ghi_kwh_m2_day_01"] > 0).all()


def test_monthly_climate_at_a_capital_is_its_row(table: pd.DataFrame) -> None:
    lat, lon, alt = _capital(table, "Shiraz")
    row = table.loc["Shiraz"]
    for altitude in (None, alt):
        clim = monthly_climate(lat, lon, altitude)
        assert list(clim.index) == list(range(1, 13))
        np.testing.assert_allclose(
            clim["ghi_kwh_m2_day"],
            row[[f"ghi_kwh_m2_day_{m}" for m in MONTHS]].astype(float),
            atol=1e-6,
        )
        np.testing.assert_allclose(
            clim["temp_c"], row[[f"temp_c_{m}" for m in MONTHS]].astype(float), atol=1e-6
        )
        np.testing.assert_allclose(clim["temp_range_c"], row["temp_range_c"], atol=1e-6)


def test_monthly_climate_between_capitals_and_with_altitude(table: pd.DataFrame) -> None:
    # Kashan, between Tehran, Qom, Isfahan and Arak: a blend within its neighbours' range.
    clim = monthly_climate(33.98, 51.43)
    near = table.loc[["Qom", "Isfahan", "Tehran", "Arak", "Karaj"]]
    for col, prefix in (("ghi_kwh_m2_day", "ghi_kwh_m2_day_"), ("temp_c", "temp_c_")):
        values = near[[prefix + m for m in MONTHS]].to_numpy()
        assert (clim[col].to_numpy() >= values.min(axis=0) - 1e-9).all()
        assert (clim[col].to_numpy() <= values.max(axis=0) + 1e-9).all()
    # 1 km higher: 6.5 °C cooler, the same sunshine.
    low, high = monthly_climate(33.98, 51.43, 900.0), monthly_climate(33.98, 51.43, 1900.0)
    np.testing.assert_allclose(low["temp_c"] - high["temp_c"], 1000 * LAPSE_RATE_C_PER_M)
    np.testing.assert_allclose(low["ghi_kwh_m2_day"], high["ghi_kwh_m2_day"])


# --------------------------------------------------------------------------- generated year


def test_default_weather_is_deterministic() -> None:
    a = default_weather(32.654, 51.668)
    np.random.seed(12345)  # noqa: NPY002 -- the legacy global RNG plays no part
    b = default_weather(32.654, 51.668)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs == b.attrs


def test_default_weather_is_the_same_in_another_process() -> None:
    """The fleet runner caches generated cells on disk: another process must agree bit for bit."""
    code = (
        "import hashlib; from simulate.climatology import default_weather; "
        "print(hashlib.sha256(default_weather(38.08, 46.292, 1361.0)"
        ".to_numpy().tobytes()).hexdigest())"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONHASHSEED="123"),
        check=True,
    )
    here = hashlib.sha256(default_weather(38.08, 46.292, 1361.0).to_numpy().tobytes())
    assert proc.stdout.strip() == here.hexdigest()


def test_default_weather_shape_and_physics() -> None:
    lat, lon, alt = 35.689, 51.389, 1190.0
    wx = default_weather(lat, lon, alt)
    assert list(wx.columns) == list(COLUMNS)
    assert len(wx) == 8760
    assert wx.index.equals(YEAR_LABELS)  # end-of-interval labels, UTC, like TMY3
    assert str(wx.index.tz) == "UTC"
    assert np.isfinite(wx.to_numpy()).all()
    for col in ("ghi", "dni", "dhi", "wind_speed"):
        assert (wx[col] >= 0).all(), col
    assert (wx["dhi"] <= wx["ghi"] + 1e-9).all()
    assert wx["ghi"].max() < 1250
    assert wx["dni"].max() < 1100
    # Dark when the sun is down at the interval's midpoint.
    mid = wx.index - pd.Timedelta(minutes=30)
    sun = pvlib.location.Location(lat, lon, altitude=alt).get_solarposition(mid)
    night = (sun["apparent_elevation"] < -1.0).to_numpy()
    assert night.sum() > 3500
    assert (wx.loc[night, ["ghi", "dni", "dhi"]] == 0).all().all()
    # Hot afternoons, cool nights: Tehran in July.
    july = wx[wx.index.month == 7]
    by_hour = july["temp_air"].groupby(july.index.tz_convert("Asia/Tehran").hour).mean()
    assert by_hour.idxmax() in range(13, 18)
    assert by_hour.idxmin() in range(4, 8)
    assert 8.0 < by_hour.max() - by_hour.min() < 20.0
    # It says it is an estimate.
    assert "estimate" in wx.attrs["source"]
    assert "climatology" in wx.attrs["source"]


def test_default_weather_leap_year_and_altitude_lookup() -> None:
    wx = default_weather(29.592, 52.584, year=2000)  # altitude from pvlib's lookup
    assert len(wx) == 8784
    assert wx.index[0] == pd.Timestamp("2000-01-01 01:00", tz="UTC")
    assert wx.index[-1] == pd.Timestamp("2001-01-01 00:00", tz="UTC")
    assert "estimate" in wx.attrs["source"]


def _solar_month(index: pd.DatetimeIndex, lon_deg: float) -> np.ndarray:
    """Month of each interval's midpoint in local solar time, the generator's own binning (the
    night hours past the year's ends stay in January/December)."""
    mid = index - pd.Timedelta(minutes=30)
    solar = mid.tz_localize(None) + pd.to_timedelta(lon_deg / 15.0, unit="h")
    year = index[0].year
    month = np.asarray(solar.month)
    month = np.where(np.asarray(solar.year) > year, 12, month)
    return np.where(np.asarray(solar.year) < year, 1, month)


@pytest.mark.parametrize(
    ("place", "lat", "lon", "alt"),
    [
        ("Tehran", 35.689, 51.389, 1190.0),
        ("Tabriz", 38.080, 46.292, 1361.0),
        ("Rasht", 37.280, 49.583, -7.0),
        ("Bandar Abbas", 27.183, 56.267, 10.0),
        ("Kashan", 33.983, 51.433, 945.0),  # not a capital: interpolated
        ("Chabahar", 25.292, 60.643, 10.0),  # 470 km from Zahedan, near the cover's edge
    ],
)
def test_monthly_means_reproduce_the_table(place: str, lat: float, lon: float, alt: float) -> None:
    wx = default_weather(lat, lon, alt)
    clim = monthly_climate(lat, lon, alt)
    month = _solar_month(wx.index, lon)
    days = np.array([pd.Timestamp(1990, m, 1).days_in_month for m in range(1, 13)])
    ghi_kwh_m2_day = np.bincount(month - 1, weights=wx["ghi"].to_numpy()) / 1000.0 / days
    temp_c = np.bincount(month - 1, weights=wx["temp_air"].to_numpy()) / np.bincount(month - 1)
    np.testing.assert_allclose(ghi_kwh_m2_day, clim["ghi_kwh_m2_day"], rtol=0.02, err_msg=place)
    np.testing.assert_allclose(temp_c, clim["temp_c"], atol=0.2, err_msg=place)
    np.testing.assert_allclose(wx["wind_speed"].mean(), clim["wind_m_s"].mean(), rtol=0.05)


# --------------------------------------------------------------------------- outside Iran

FAR_POINTS = {
    "Riyadh": (24.71, 46.68),  # ≈ 630 km from Bushehr
    "Karachi": (24.86, 67.00),  # ≈ 800 km from Zahedan
    "Kabul": (34.53, 69.17),
    "Ankara": (39.93, 32.86),
    "Paris": (48.86, 2.35),
    "Sydney": (-33.87, 151.21),
    "Mid-Pacific": (0.0, -140.0),
}


@pytest.mark.parametrize("place", list(FAR_POINTS))
def test_points_far_outside_iran_get_a_labelled_coarse_estimate(place: str) -> None:
    """Outside Iran: MERRA-2's monthly irradiation, pvlib's assumed air and wind, labelled."""
    from simulate import merra2

    lat, lon = FAR_POINTS[place]
    if place == "Mid-Pacific":  # open ocean: no land cell near, refused with the way out
        for call in (lambda: monthly_climate(lat, lon), lambda: default_weather(lat, lon, 5.0)):
            with pytest.raises(InputError) as info:
                call()
            assert "\n" not in str(info.value)
            assert "--weather" in str(info.value)
        return
    clim = monthly_climate(lat, lon)
    assert clim.attrs["coarse"] is True
    assert "coarse estimate" in clim.attrs["note"]
    assert "km" in clim.attrs["note"]
    km = float(clim.attrs["note"].split(" km ")[0].rsplit(" ", 1)[-1])
    assert km > MAX_DISTANCE_KM
    np.testing.assert_allclose(clim["ghi_kwh_m2_day"], merra2.monthly_ghi(lat, lon))
    assert (clim["temp_c"] == 20.0).all()
    assert (clim["wind_m_s"] == 0.0).all()
    w = default_weather(lat, lon, 50.0)
    assert w.attrs["coarse"] is True
    assert w.attrs["source"].startswith("coarse estimate")
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    np.testing.assert_allclose(w.ghi.sum() / 1000, clim["ghi_kwh_m2_day"] @ days, rtol=0.01)


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(25.29, 60.64), (39.29, 44.52), (36.54, 61.16), (31.03, 61.49), (26.53, 53.98)],
    ids=["Chabahar", "Maku", "Sarakhs", "Zabol", "Kish"],
)
def test_iran_border_towns_are_covered(lat: float, lon: float) -> None:
    assert len(monthly_climate(lat, lon)) == 12


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((95.0, 51.0), {}),
        ((float("nan"), 51.0), {}),
        (("north", 51.0), {}),
        ((35.7, 51.4), {"year": 1700}),
        ((35.7, 51.4), {"year": 1990.5}),
        ((35.7, 51.4), {"altitude_m": float("nan")}),
    ],
    ids=["latitude>90", "nan", "text", "year_1700", "year_float", "altitude_nan"],
)
def test_invalid_arguments_are_input_errors(args: tuple, kwargs: dict) -> None:
    with pytest.raises(InputError):
        default_weather(*args, **kwargs)


# --------------------------------------------------------------------------- yields


@pytest.fixture(scope="module")
def capital_run(table: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory):
    """One 5 kWp / 5 kW plant, 30° tilt, due south, at each capital; the simulator's own
    default weather (the embedded climatology, one generated year per 0.5° cell)."""
    header = "plant_id,latitude,longitude,altitude_m,dc_kwp,ac_kw,tilt_deg,azimuth_deg,province\n"
    rows = []
    for city in (*TYPICAL_CAPITALS, *CASPIAN_CAPITALS):
        lat, lon, alt = _capital(table, city)
        rows.append(f"{city},{lat},{lon},{alt},5,5,30,180,{table.loc[city, 'province']}\n")
    fleet = parse_fleet(header + "".join(rows), "capitals")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROSHANAI_CACHE_DIR", str(tmp_path_factory.mktemp("roshanai-cache")))
        return run_fleet(fleet, None)


def test_capital_yields_are_plausible(capital_run) -> None:
    s = capital_run.summary.set_index("plant_id")
    yields = s["specific_yield_kwh_per_kwp"]
    print("\nspecific yield on the embedded default weather (5 kWp, 30° south) [kWh/kWp/year]:")
    for city, y in yields.items():
        print(f"  {city:<8} {y:7.0f}   PR {s.loc[city, 'performance_ratio']:.3f}")

    assert capital_run.estimate
    assert "estimate" in capital_run.weather_source
    lo, hi = TYPICAL_YIELD_KWH_PER_KWP
    for city in TYPICAL_CAPITALS:
        assert lo <= yields[city] <= hi, (city, yields[city])
    for city in CASPIAN_CAPITALS:
        assert yields[city] < CASPIAN_MAX_YIELD_KWH_PER_KWP, (city, yields[city])
        assert yields[city] < 0.85 * yields[list(TYPICAL_CAPITALS)].min(), (city, yields[city])
    assert s["performance_ratio"].between(0.70, 0.85).all()
    # Annual kWh = kWh/kWp x 5 kWp.
    np.testing.assert_allclose(s["ac_energy_kwh"], 5 * yields, rtol=1e-9)


@pytest.mark.parametrize(("lat", "lon"), [(37.5, 45.0), (36.5, 60.0), (30.0, 51.0)])
def test_cell_centres_on_whole_15_degree_meridians(lat: float, lon: float) -> None:
    """Regression: a longitude that is a whole number of hours (45°, 60°) gave NaN weather."""
    w = default_weather(lat, lon)
    assert not w.isna().any().any()
    assert 1500 < w.ghi.sum() / 1000 < 2400
