"""The fleet kernel equals pvlib's ModelChain hour by hour (``simulate.kernel`` vs
``simulate.reference``), and its reductions, chunking and input checks behave.

All plants of a transposition run in ONE kernel call, each on its own weather row
(``weather_index``), so the multi-weather path is what is compared with the reference. Every
weather series is a full year on one common UTC axis (labels 1990-01-01 01:00 … 1991-01-01 00:00,
end of interval): pvlib's two bundled TMY3 files (rotated onto that axis), deterministic
generated weather for sites from 40° S to 60° N, and the embedded Iran climatology.

Tolerances (the issue's acceptance criteria): the largest hourly |difference| ≤ 0.5 % of the
plant's DC rating, annual energy within 0.1 %.

Each piece of the chain is held alone against the pvlib function it mirrors in
tests/simulate/test_physics.py; the time-only solar terms in tests/simulate/test_spa_time.py.
"""

from __future__ import annotations

import functools
import pathlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pvlib
import pytest

from simulate.climatology import default_weather
from simulate.kernel import (
    DEFAULT_LOSSES_PCT,
    RACKING_CODES,
    FleetArrays,
    KernelResult,
    simulate_arrays,
)
from simulate.reference import modelchain_reference
from simulate.weather import read_weather
from telemetry.errors import InputError

MAX_HOURLY_DIFF_PCT_OF_DC = 0.5
MAX_ANNUAL_DIFF_PCT = 0.1

PVLIB_DATA = pathlib.Path(pvlib.__file__).parent / "data"
LABELS = pd.date_range("1990-01-01 01:00", periods=8760, freq="h", tz="UTC")
"""Common end-of-interval labels of every weather series. [UTC]"""
MIDPOINTS = (LABELS - pd.Timedelta(minutes=30)).tz_localize(None).to_numpy("datetime64[ns]")
COLUMNS = ("ghi", "dni", "dhi", "temp_air", "wind_speed")


# --------------------------------------------------------------------------- weather


def _tmy3_on_common_axis(name: str) -> pd.DataFrame:
    """A bundled TMY3 year rotated onto ``LABELS``: the hours that fall before the file's first
    UTC label are taken from its last day (same time of day, so the sun agrees to a year's drift).
    """
    data = read_weather(PVLIB_DATA / name).data
    assert len(data) == 8760
    shift_h = int((data.index[0] - LABELS[0]) / pd.Timedelta(hours=1))
    assert 0 <= shift_h < 24
    return pd.DataFrame(
        np.roll(data.loc[:, list(COLUMNS)].to_numpy(), shift_h, axis=0),
        index=LABELS,
        columns=list(COLUMNS),
    )


def _generated_weather(
    lat_deg: float, lon_deg: float, altitude_m: float, seed: int
) -> pd.DataFrame:
    """A deterministic synthetic year: Ineichen clear sky scaled by a seeded daily clearness and
    hourly flicker, split by Erbs; seasonal + diurnal temperature; gamma-distributed wind.

    A few edge hours are planted on purpose: daylight with DHI = 0 (Perez ε = ∞), daylight with
    DNI = DHI = 0 but GHI > 0 (Perez gives NaN, ModelChain reports 0 W), and twilight GHI with
    the sun below the horizon.
    """
    rng = np.random.default_rng(seed)
    mid = LABELS - pd.Timedelta(minutes=30)
    loc = pvlib.location.Location(lat_deg, lon_deg, tz="UTC", altitude=altitude_m)
    sun = loc.get_solarposition(mid)
    clear = loc.get_clearsky(mid, model="ineichen", solar_position=sun)
    solar_clock = mid.tz_localize(None) + pd.to_timedelta(lon_deg / 15.0, unit="h")
    day = np.asarray(solar_clock.day_of_year) - 1  # 0 … 365 (the wrap-around night is harmless)
    hour = np.asarray(solar_clock.hour + solar_clock.minute / 60.0)
    k_day = rng.uniform(0.2, 1.0, 366)[day]
    flicker = rng.uniform(0.8, 1.08, len(mid))
    ghi = clear["ghi"].to_numpy() * np.clip(k_day * flicker, 0.0, 1.05)
    split = pvlib.irradiance.erbs(ghi, sun["zenith"].to_numpy(), mid)
    dni = np.nan_to_num(np.asarray(split["dni"], dtype=float))
    dhi = np.nan_to_num(np.asarray(split["dhi"], dtype=float))

    season = np.cos(2 * np.pi * (np.asarray(mid.day_of_year) - 200) / 365.0)
    season = season if lat_deg >= 0 else -season
    t_mean = 27.0 - 0.35 * abs(lat_deg)
    temp_air = (
        t_mean
        + (0.25 * abs(lat_deg)) * season
        + 5.0 * np.sin(2 * np.pi * (hour - 9.0) / 24.0)
        + rng.normal(0.0, 2.0, 366)[day]
    )
    wind = np.clip(rng.gamma(2.0, 1.6, len(mid)), 0.0, 25.0)

    daylight = np.flatnonzero(sun["apparent_zenith"].to_numpy() < 70)
    picks = rng.choice(daylight, 12, replace=False)
    dhi[picks[:6]] = 0.0  # clear-sky extreme: all diffuse gone
    dni[picks[6:]] = 0.0
    dhi[picks[6:]] = 0.0  # GHI without its components (a broken split)
    twilight = np.flatnonzero(
        (sun["apparent_zenith"].to_numpy() > 90) & (sun["apparent_zenith"].to_numpy() < 96)
    )
    ghi[rng.choice(twilight, 12, replace=False)] = 3.0
    return pd.DataFrame(
        {"ghi": ghi, "dni": dni, "dhi": dhi, "temp_air": temp_air, "wind_speed": wind}, index=LABELS
    )


@dataclass(frozen=True)
class Site:
    name: str
    latitude: float
    longitude: float
    altitude_m: float
    source: str  # "tmy3:<file>", "generated:<seed>" or "climatology"

    def weather(self) -> pd.DataFrame:
        kind, _, arg = self.source.partition(":")
        if kind == "tmy3":
            return _tmy3_on_common_axis(arg)
        if kind == "generated":
            return _generated_weather(self.latitude, self.longitude, self.altitude_m, int(arg))
        frame = default_weather(self.latitude, self.longitude, self.altitude_m)
        assert frame.index.equals(LABELS)
        return frame


SITES = (
    Site("greensboro-tmy3", 36.1, -79.95, 273.0, "tmy3:723170TYA.CSV"),
    Site("sand-point-tmy3", 55.317, -160.517, 7.0, "tmy3:703165TY.csv"),
    Site("manawatu-gen", -40.0, 175.6, 30.0, "generated:11"),
    Site("alice-springs-gen", -23.7, 133.9, 545.0, "generated:12"),
    Site("kampala-gen", 0.3, 32.6, 1200.0, "generated:13"),
    Site("quito-gen", -0.2, -78.5, 2850.0, "generated:14"),
    Site("helsinki-gen", 60.0, 24.9, 20.0, "generated:15"),
    Site("tehran-climatology", 35.7, 51.4, 1190.0, "climatology"),
    Site("zahedan-climatology", 29.5, 60.9, 1370.0, "climatology"),
)
SITE_INDEX = {site.name: i for i, site in enumerate(SITES)}

# (site, tilt [°], azimuth [°], racking, DC/AC, losses [%], gamma [1/°C], dc_kwp)
PLANTS = (
    ("greensboro-tmy3", 25.0, 180.0, "open_rack", 1.2, DEFAULT_LOSSES_PCT, -0.004, 5.0),
    ("greensboro-tmy3", 60.0, 90.0, "close_mount", 1.4, 3.0, -0.0047, 250.0),
    ("greensboro-tmy3", 0.0, 180.0, "open_rack", 0.9, 25.0, -0.0025, 1.2),
    ("sand-point-tmy3", 45.0, 270.0, "close_mount", 1.1, 10.0, -0.0035, 8.0),
    ("sand-point-tmy3", 10.0, 135.0, "open_rack", 1.35, 18.0, -0.005, 40.0),
    ("sand-point-tmy3", 60.0, 200.0, "open_rack", 0.95, DEFAULT_LOSSES_PCT, -0.003, 3.3),
    ("manawatu-gen", 40.0, 90.0, "open_rack", 1.25, 7.5, -0.0037, 6.0),
    ("manawatu-gen", 15.0, 270.0, "close_mount", 1.0, 14.0, -0.0041, 10.0),
    ("alice-springs-gen", 23.0, 100.0, "close_mount", 1.4, 12.0, -0.0045, 100.0),
    ("alice-springs-gen", 5.0, 250.0, "open_rack", 0.9, 5.0, -0.0032, 4.5),
    ("kampala-gen", 0.0, 180.0, "close_mount", 1.3, 9.0, -0.004, 2.0),
    ("kampala-gen", 10.0, 225.0, "open_rack", 1.05, 20.0, -0.0029, 15.0),
    ("quito-gen", 30.0, 120.0, "open_rack", 1.15, 11.0, -0.0038, 7.0),
    ("quito-gen", 55.0, 260.0, "close_mount", 1.4, 4.0, -0.0044, 3.0),
    ("helsinki-gen", 60.0, 180.0, "open_rack", 1.3, 8.0, -0.0034, 12.0),
    ("helsinki-gen", 35.0, 95.0, "close_mount", 0.9, 16.0, -0.0042, 5.5),
    ("helsinki-gen", 5.0, 265.0, "open_rack", 1.2, DEFAULT_LOSSES_PCT, -0.0039, 9.0),
    ("tehran-climatology", 30.0, 180.0, "open_rack", 1.25, 14.0, -0.004, 5.0),
    ("tehran-climatology", 50.0, 150.0, "close_mount", 1.4, 6.0, -0.0045, 1.5),
    ("zahedan-climatology", 28.0, 190.0, "open_rack", 1.1, 10.0, -0.0036, 20.0),
    ("zahedan-climatology", 12.0, 110.0, "close_mount", 0.95, 22.0, -0.0048, 4.0),
)


def _plant(i: int) -> dict[str, Any]:
    site_name, tilt, azimuth, racking, dc_ac, losses, gamma, dc_kwp = PLANTS[i]
    site = SITES[SITE_INDEX[site_name]]
    return {
        "latitude": site.latitude,
        "longitude": site.longitude,
        "altitude_m": site.altitude_m,
        "dc_kwp": dc_kwp,
        "ac_kw": dc_kwp / dc_ac,
        "tilt_deg": tilt,
        "azimuth_deg": azimuth,
        "racking": racking,
        "losses_pct": losses,
        "gamma_pdc_per_c": gamma,
    }


def _fleet_arrays(plants: list[dict[str, Any]], weather_index: list[int]) -> FleetArrays:
    def col(key: str) -> np.ndarray:
        return np.array([p[key] for p in plants], dtype=float)

    return FleetArrays(
        latitude_deg=col("latitude"),
        longitude_deg=col("longitude"),
        altitude_m=col("altitude_m"),
        dc_kwp=col("dc_kwp"),
        ac_kw=col("ac_kw"),
        tilt_deg=col("tilt_deg"),
        azimuth_deg=col("azimuth_deg"),
        gamma_pdc_per_c=col("gamma_pdc_per_c"),
        losses_pct=col("losses_pct"),
        racking=np.array([RACKING_CODES[str(p["racking"])] for p in plants], dtype=np.int8),
        weather_index=np.asarray(weather_index, dtype=np.int64),
    )


@functools.cache
def _weathers() -> tuple[pd.DataFrame, ...]:
    return tuple(site.weather() for site in SITES)


WeatherArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@functools.cache
def _weather_matrices() -> WeatherArrays:
    """(n_sites, 8760) arrays of ghi, dni, dhi, temp_air, wind_speed."""
    ghi, dni, dhi, temp_air, wind = (
        np.stack([w[c].to_numpy(float) for w in _weathers()]) for c in COLUMNS
    )
    return ghi, dni, dhi, temp_air, wind


def _bins() -> dict[str, Any]:
    days = MIDPOINTS.astype("datetime64[D]")
    day_index = (days - days[0]).astype(np.int64)
    hour_index = (MIDPOINTS.astype("datetime64[h]") - days).astype(np.int64)
    return {"day_index": day_index, "hour_index": hour_index, "n_days": int(day_index[-1]) + 1}


def _hourly(result: KernelResult) -> np.ndarray:
    assert result.ac_power_w is not None
    return result.ac_power_w


@functools.cache
def _fleet_run(transposition: str) -> KernelResult:
    """Every plant of PLANTS in one kernel call, each on its site's weather row."""
    plants = [_plant(i) for i in range(len(PLANTS))]
    fleet = _fleet_arrays(plants, [SITE_INDEX[p[0]] for p in PLANTS])
    return simulate_arrays(
        MIDPOINTS, *_weather_matrices(), fleet, **_bins(), transposition=transposition, hourly=True
    )


# --------------------------------------------------------------------------- accuracy


@pytest.mark.parametrize("transposition", ["haydavies", "perez"])
@pytest.mark.parametrize(
    "i", range(len(PLANTS)), ids=[f"{p[0]}-{p[3]}-tilt{p[1]:g}-az{p[2]:g}" for p in PLANTS]
)
def test_kernel_equals_modelchain_hour_by_hour(i: int, transposition: str) -> None:
    plant = _plant(i)
    weather = _weathers()[SITE_INDEX[PLANTS[i][0]]]
    reference_w = modelchain_reference(plant, weather, transposition).to_numpy()
    kernel_w = _hourly(_fleet_run(transposition))[i]
    assert np.isfinite(reference_w).all()

    dc_w = float(plant["dc_kwp"]) * 1000
    worst = int(np.argmax(np.abs(kernel_w - reference_w)))
    max_diff_pct = abs(kernel_w[worst] - reference_w[worst]) / dc_w * 100
    annual_ref_wh = reference_w.sum()
    annual_diff_pct = (_fleet_run(transposition).ac_energy_wh[i] / annual_ref_wh - 1) * 100
    print(
        f"{PLANTS[i][0]:20s} {transposition:9s} max hourly diff {max_diff_pct:.2e} % of DC, "
        f"annual diff {annual_diff_pct:+.2e} % ({annual_ref_wh / dc_w:.0f} kWh/kWp)"
    )

    assert annual_ref_wh > 0.5 * dc_w * 365  # the weather is sane: > 0.5 kWh/kWp a day
    assert max_diff_pct <= MAX_HOURLY_DIFF_PCT_OF_DC, (
        f"hour {LABELS[worst]}: kernel {kernel_w[worst]:.3f} W, pvlib {reference_w[worst]:.3f} W"
    )
    assert abs(annual_diff_pct) <= MAX_ANNUAL_DIFF_PCT


def test_generated_weather_holds_the_planted_edge_hours() -> None:
    """The accuracy cases above really exercise Perez's ε = ∞ and NaN branches."""
    w = _weathers()[SITE_INDEX["kampala-gen"]]
    assert ((w["ghi"] > 0) & (w["dhi"] == 0) & (w["dni"] > 0)).sum() >= 1
    assert ((w["ghi"] > 0) & (w["dhi"] == 0) & (w["dni"] == 0)).sum() >= 1


def test_single_weather_row_equals_multi_weather_row() -> None:
    i = 3  # a Sand Point plant: weather row 1 of the fleet run
    w = SITE_INDEX[PLANTS[i][0]]
    ghi, dni, dhi, temp_air, wind = (m[w] for m in _weather_matrices())  # 1-D rows
    single = simulate_arrays(
        MIDPOINTS,
        ghi,
        dni,
        dhi,
        temp_air,
        wind,
        _fleet_arrays([_plant(i)], [0]),
        **_bins(),
        hourly=True,
    )
    np.testing.assert_array_equal(_hourly(single)[0], _hourly(_fleet_run("haydavies"))[i])


def test_tz_aware_times_equal_naive_utc() -> None:
    fleet = _fleet_arrays([_plant(i) for i in range(3)], [0, 0, 0])
    naive = simulate_arrays(MIDPOINTS, *_weather_matrices(), fleet, **_bins())
    aware = simulate_arrays(
        pd.DatetimeIndex(MIDPOINTS).tz_localize("UTC").tz_convert("Asia/Tehran"),  # type: ignore[arg-type]
        *_weather_matrices(),
        fleet,
        **_bins(),
    )
    np.testing.assert_array_equal(naive.ac_energy_wh, aware.ac_energy_wh)


# --------------------------------------------------------------------------- reductions, chunks


def _random_fleet(n: int, n_weather: int, seed: int = 5) -> FleetArrays:
    rng = np.random.default_rng(seed)
    dc = rng.uniform(1.0, 50.0, n)
    return FleetArrays(
        latitude_deg=rng.uniform(-40, 60, n),
        longitude_deg=rng.uniform(-180, 180, n),
        altitude_m=rng.uniform(0, 2500, n),
        dc_kwp=dc,
        ac_kw=dc / rng.uniform(0.9, 1.4, n),
        tilt_deg=rng.uniform(0, 60, n),
        azimuth_deg=rng.uniform(90, 270, n),
        gamma_pdc_per_c=rng.uniform(-0.005, -0.0025, n),
        losses_pct=rng.uniform(3, 25, n),
        racking=rng.integers(0, 2, n).astype(np.int8),
        weather_index=rng.integers(0, n_weather, n),
    )


@pytest.mark.parametrize("transposition", ["haydavies", "perez"])
def test_chunking_gives_identical_results(transposition: str) -> None:
    fleet = _random_fleet(37, len(SITES))
    whole = simulate_arrays(
        MIDPOINTS,
        *_weather_matrices(),
        fleet,
        **_bins(),
        transposition=transposition,
        hourly=True,
        chunk_plants=4096,
    )
    done: list[int] = []
    one_by_one = simulate_arrays(
        MIDPOINTS,
        *_weather_matrices(),
        fleet,
        **_bins(),
        transposition=transposition,
        hourly=True,
        chunk_plants=1,
        progress=done.append,
    )
    assert done == list(range(1, 38))
    for name in (
        "ac_energy_wh",
        "daily_ac_energy_wh",
        "ac_energy_by_hour_wh",
        "peak_ac_power_w",
        "poa_insolation_wh_m2",
        "ac_power_w",
    ):
        np.testing.assert_array_equal(getattr(one_by_one, name), getattr(whole, name), err_msg=name)


def test_reductions_add_up() -> None:
    """hourly output sums to the annual energy; daily and hour-of-day bins partition it."""
    fleet = _random_fleet(25, len(SITES), seed=9)
    local = pd.DatetimeIndex(MIDPOINTS).tz_localize("UTC").tz_convert("Asia/Tehran")
    dates = local.normalize().tz_localize(None)
    days, day_index = np.unique(dates.to_numpy(), return_inverse=True)
    step_hours = 0.75  # not 1, so a forgotten step factor shows
    res = simulate_arrays(
        MIDPOINTS,
        *_weather_matrices(),
        fleet,
        day_index=day_index.reshape(-1),
        hour_index=local.hour.to_numpy().astype(np.int64),
        n_days=len(days),
        step_hours=step_hours,
        hourly=True,
    )
    assert res.ac_power_w is not None
    assert res.ac_power_w.shape == (25, 8760)
    assert res.daily_ac_energy_wh.shape == (25, len(days)) == (25, 366)
    assert (res.ac_energy_wh > 0).all()
    total = res.ac_energy_wh
    np.testing.assert_allclose(res.ac_power_w.sum(axis=1) * step_hours, total, rtol=1e-12)
    np.testing.assert_allclose(res.daily_ac_energy_wh.sum(axis=1), total, rtol=1e-12)
    np.testing.assert_allclose(res.ac_energy_by_hour_wh.sum(axis=1), total, rtol=1e-12)
    np.testing.assert_array_equal(res.peak_ac_power_w, res.ac_power_w.max(axis=1))
    assert (res.peak_ac_power_w <= fleet.ac_kw * 1000 * (1 + 1e-12)).all()  # clipped at AC
    local_day = np.bincount(day_index.reshape(-1), weights=res.ac_power_w[0] * step_hours)
    np.testing.assert_allclose(local_day, res.daily_ac_energy_wh[0], rtol=1e-12, atol=1e-9)

    summary_only = simulate_arrays(
        MIDPOINTS,
        *_weather_matrices(),
        fleet,
        day_index=day_index.reshape(-1),
        hour_index=local.hour.to_numpy().astype(np.int64),
        n_days=len(days),
        step_hours=step_hours,
    )
    assert summary_only.ac_power_w is None
    np.testing.assert_array_equal(summary_only.ac_energy_wh, total)


def test_out_array_receives_the_hourly_power() -> None:
    fleet = _random_fleet(4, len(SITES), seed=2)
    out = np.full((4, 8760), -1.0)
    res = simulate_arrays(MIDPOINTS, *_weather_matrices(), fleet, **_bins(), out=out)
    assert res.ac_power_w is out
    assert (out >= 0).all()
    np.testing.assert_allclose(out.sum(axis=1), res.ac_energy_wh, rtol=1e-12)


# --------------------------------------------------------------------------- input validation


def _small_case(n_time: int = 48) -> dict[str, Any]:
    """Two days of one weather row and two plants, as keyword arguments of simulate_arrays."""
    ghi, dni, dhi, temp_air, wind = (m[:1, :n_time].copy() for m in _weather_matrices())
    return {
        "times_utc": MIDPOINTS[:n_time],
        "ghi_w_m2": ghi,
        "dni_w_m2": dni,
        "dhi_w_m2": dhi,
        "temp_air_c": temp_air,
        "wind_speed_m_s": wind,
        "fleet": _fleet_arrays([_plant(0), _plant(1)], [0, 0]),
        "day_index": np.repeat(np.arange(2), 24)[:n_time],
        "hour_index": np.arange(n_time) % 24,
        "n_days": 2,
    }


def _replace_fleet(case: dict[str, Any], **changes: Any) -> dict[str, Any]:
    fleet = case["fleet"]
    assert isinstance(fleet, FleetArrays)
    return {**case, "fleet": FleetArrays(**{**fleet.__dict__, **changes})}


def test_small_case_is_valid() -> None:
    res = simulate_arrays(**_small_case())
    assert (res.ac_energy_wh > 0).all()


def test_nan_in_weather_is_rejected() -> None:
    case = _small_case()
    case["dni_w_m2"][0, 30] = np.nan
    with pytest.raises(
        InputError,
        match=r"dni_w_m2: 1 non-finite value\(s\), first nan at "
        r"weather row 0, timestep 30",
    ):
        simulate_arrays(**case)


def test_nan_in_a_later_weather_row_is_located() -> None:
    case = _small_case()
    for name in ("ghi_w_m2", "dni_w_m2", "dhi_w_m2", "temp_air_c", "wind_speed_m_s"):
        case[name] = np.vstack([case[name]] * 3)
    case["temp_air_c"][2, 7] = np.inf
    with pytest.raises(
        InputError,
        match=r"temp_air_c: 1 non-finite value\(s\), first inf at "
        r"weather row 2, timestep 7",
    ):
        simulate_arrays(**case)


def test_weather_of_the_wrong_shape_is_rejected() -> None:
    case = _small_case()
    case["temp_air_c"] = case["temp_air_c"][:, :47]
    with pytest.raises(InputError, match=r"temp_air_c: expected shape \(1, 48\), got \(1, 47\)"):
        simulate_arrays(**case)


def test_weather_rows_must_agree() -> None:
    case = _small_case()
    case["wind_speed_m_s"] = np.vstack([case["wind_speed_m_s"]] * 2)
    with pytest.raises(InputError, match=r"wind_speed_m_s: expected shape \(1, 48\)"):
        simulate_arrays(**case)


def test_negative_irradiance_is_rejected() -> None:
    case = _small_case()
    case["ghi_w_m2"][0, 12] = -5.0
    with pytest.raises(
        InputError,
        match=r"ghi_w_m2: 1 value\(s\) outside \[0.0, 2000.0\], "
        r"first -5.0 at weather row 0, timestep 12",
    ):
        simulate_arrays(**case)


def test_tilt_120_is_rejected() -> None:
    case = _replace_fleet(_small_case(), tilt_deg=np.array([20.0, 120.0]))
    with pytest.raises(
        InputError,
        match=r"fleet.tilt_deg: 1 value\(s\) outside \[0.0, 90.0\], "
        r"first 120.0 at plant 1",
    ):
        simulate_arrays(**case)


def test_fleet_column_of_the_wrong_length_is_rejected() -> None:
    case = _replace_fleet(_small_case(), dc_kwp=np.array([5.0, 5.0, 5.0]))
    with pytest.raises(InputError, match=r"fleet.dc_kwp: expected shape \(2,\), got \(3,\)"):
        simulate_arrays(**case)


@pytest.mark.parametrize(
    ("weather_index", "message"),
    [
        (np.array([0, 1]), r"fleet.weather_index: values must lie in \[0, 0\], got \[0, 1\]"),
        (np.array([-1, 0]), r"fleet.weather_index: values must lie in \[0, 0\], got \[-1, 0\]"),
        (
            np.array([0.0, 0.0]),
            r"fleet.weather_index: expected an integer array of shape \(2,\), "
            r"got float64 \(2,\)",
        ),
        (np.array([0]), r"fleet.weather_index: expected an integer array of shape \(2,\)"),
    ],
)
def test_bad_weather_index_is_rejected(weather_index: np.ndarray, message: str) -> None:
    case = _replace_fleet(_small_case(), weather_index=weather_index)
    with pytest.raises(InputError, match=message):
        simulate_arrays(**case)


def test_unknown_racking_is_rejected() -> None:
    case = _replace_fleet(_small_case(), racking=np.array([0, 2], dtype=np.int8))
    with pytest.raises(InputError, match=r"fleet.racking: values must lie in \[0, 1\]"):
        simulate_arrays(**case)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"transposition": "isotropic"},
            r"transposition: 'isotropic' is not one of "
            r"\['haydavies', 'perez'\]",
        ),
        ({"step_hours": 0}, r"step_hours: expected a number in \(0, 24\], got 0"),
        ({"n_days": 1}, r"day_index: values must lie in \[0, 0\], got \[0, 1\]"),
        ({"hour_index": np.arange(48)}, r"hour_index: values must lie in \[0, 23\], got \[0, 47\]"),
        ({"chunk_plants": 0}, r"chunk_plants: expected a positive integer, got 0"),
        ({"times_utc": np.arange(48.0)}, r"times_utc: expected a 1-D datetime64 array"),
        (
            {"out": np.zeros((2, 48), dtype=np.float32)},
            r"out: expected a writeable C-contiguous "
            r"float64 array of shape \(2, 48\)",
        ),
    ],
)
def test_bad_arguments_are_rejected(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        simulate_arrays(**{**_small_case(), **changes})


def test_fleet_must_be_fleet_arrays() -> None:
    case = {**_small_case(), "fleet": {"latitude_deg": [35.0]}}
    with pytest.raises(InputError, match="fleet: expected FleetArrays, got dict"):
        simulate_arrays(**case)
