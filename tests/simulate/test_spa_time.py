"""The time-only SPA terms (``simulate.spa_time``) against pvlib's own SPA steps.

``geocentric_sun`` is compared with ``pvlib.spa.solar_position_numpy`` stopped after the
geocentric part (``sst=True``: apparent sidereal time, right ascension, declination; ``esd=True``:
the Earth-Sun distance, from which pvlib takes the horizontal parallax), hour by hour over two
years and at random instants from 1950 to 2100. It follows pvlib's formulas in pvlib's order, so
it agrees to rounding: held to 1e-10° (measured: identical). ``extra_radiation_spencer`` is pvlib's
Spencer formula, exact to 1e-12 relative. The topocentric part and the whole solar position are
checked in tests/simulate/test_kernel.py.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pvlib
import pytest
from pvlib import spa

from simulate.spa_time import (
    DELTA_T_S,
    SOLAR_CONSTANT_W_M2,
    day_of_year,
    extra_radiation_spencer,
    geocentric_sun,
    unixtime_s,
)

MAX_ANGLE_DIFF_DEG = 1e-10


def _instants() -> pd.DatetimeIndex:
    hourly = [pd.date_range(f"{year}-01-01 00:30", periods=8760, freq="h") for year in (1990, 2026)]
    rng = np.random.default_rng(3)
    start, end = pd.Timestamp("1950-01-01").value, pd.Timestamp("2100-01-01").value
    scattered = pd.DatetimeIndex(np.sort(rng.integers(start, end, 2000)))
    return hourly[0].append(hourly[1]).append(scattered)


def _angle_diff_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs((np.asarray(a) - np.asarray(b) + 180) % 360 - 180)


def test_unixtime_and_day_of_year_agree_with_pandas() -> None:
    times = _instants()
    np.testing.assert_array_equal(
        unixtime_s(times.to_numpy("datetime64[ns]")), times.tz_localize("UTC").asi8 / 1e9
    )
    np.testing.assert_array_equal(day_of_year(times.to_numpy("datetime64[ns]")), times.day_of_year)
    leap_eve = np.array(["2024-12-31T23:30", "2025-01-01T00:30"], dtype="datetime64[ns]")
    assert day_of_year(leap_eve).tolist() == [366, 1]


def test_geocentric_sun_equals_pvlib_spa() -> None:
    unixtime = unixtime_s(_instants().to_numpy("datetime64[ns]"))
    got = geocentric_sun(unixtime)
    v, alpha, delta = spa.solar_position_numpy(
        unixtime, 0.0, 0.0, 0.0, 1013.25, 12.0, DELTA_T_S, 0.5667, 1, sst=True
    )
    (radius_au,) = spa.solar_position_numpy(
        unixtime, 0.0, 0.0, 0.0, 1013.25, 12.0, DELTA_T_S, 0.5667, 1, esd=True
    )
    xi = spa.equatorial_horizontal_parallax(radius_au)
    diffs = {
        "sidereal time": _angle_diff_deg(got.sidereal_time_deg, v),
        "right ascension": _angle_diff_deg(got.right_ascension_deg, alpha),
        "declination": np.abs(got.declination_deg - delta),
        "parallax": np.abs(got.parallax_deg - xi),
    }
    print(", ".join(f"{name} {d.max():.1e}°" for name, d in diffs.items()))
    for name, d in diffs.items():
        assert d.max() <= MAX_ANGLE_DIFF_DEG, name


def test_spa_delta_t_is_pvlibs_default() -> None:
    """ModelChain does not pass delta_t, so the kernel must use spa_python's default."""
    default = inspect.signature(pvlib.solarposition.spa_python).parameters["delta_t"].default
    assert default == DELTA_T_S


@pytest.mark.parametrize("year", [1990, 2024])  # a common and a leap year
def test_extra_radiation_equals_pvlib_spencer(year: int) -> None:
    times = pd.date_range(f"{year}-01-01 12:00", f"{year}-12-31 12:00", freq="D")
    ref = pvlib.irradiance.get_extra_radiation(times, method="spencer").to_numpy()
    got = extra_radiation_spencer(day_of_year(times.to_numpy("datetime64[ns]")))
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    np.testing.assert_allclose(
        extra_radiation_spencer(np.arange(1, 367)),
        pvlib.irradiance.get_extra_radiation(np.arange(1, 367), method="spencer"),
        rtol=1e-12,
    )
    solar_constant = inspect.signature(pvlib.irradiance.get_extra_radiation).parameters[
        "solar_constant"
    ]
    assert solar_constant.default == SOLAR_CONSTANT_W_M2
