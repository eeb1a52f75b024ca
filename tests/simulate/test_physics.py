"""Component oracles: each piece of the model chain (``simulate.physics``) against the pvlib
function it mirrors, alone, on the same inputs, so that a disagreement names the piece rather
than only the end-to-end AC power (tests/simulate/test_kernel.py holds the whole chain against
ModelChain). The pieces are plain ``@njit`` functions, called here from Python one value at a
time.

Tolerances: the solar position agrees to 1e-9° (measured ≤ 6e-13°; the kernel replaces pvlib's
arctan2/mod chains by angle sums, so it agrees to rounding, not bit for bit). The other pieces
evaluate pvlib's formulas in pvlib's order and agree exactly here (measured 0, IAM 4e-16); they
are held to rtol 1e-12 (atol 1e-9 W/m², 1e-9 °C) so that another libm or LLVM version may round
differently without failing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib
import pytest

from simulate.physics import (
    RACKING_CODES,
    SAPM_PARAMS,
    apparent_zenith_azimuth,
    haydavies_sky,
    iam_physical,
    perez_sky,
    pvwatts_ac,
    pvwatts_dc,
    sapm_cell,
    site_geometry,
    sun_table,
)

MIDPOINTS = pd.date_range("1990-01-01 00:30", periods=8760, freq="h").to_numpy("datetime64[ns]")
"""Hour midpoints of the kernel's typical year (naive UTC), as in tests/simulate/test_kernel.py."""

SOLAR_SITES = (  # (name, latitude [°], longitude [°], altitude [m])
    ("tehran", 35.7, 51.4, 1190.0),
    ("quito-equator", -0.2, -78.5, 2850.0),
    ("dead-sea-below-sea-level", 31.5, 35.5, -430.0),
    ("helsinki", 60.0, 24.9, 20.0),
    ("tromso-midnight-sun", 69.65, 18.96, 10.0),
    ("ushuaia", -54.8, -68.3, 20.0),
    ("mcmurdo-polar-night", -77.85, 166.67, 10.0),
    ("south-pole", -89.99, 0.0, 2835.0),
    ("dateline-east", -40.0, 179.9, 30.0),
    ("dateline-west", 52.0, -179.9, 30.0),
)
SOLAR_TIMES = pd.DatetimeIndex(
    np.concatenate(
        [
            MIDPOINTS,  # the kernel's own year (typical-year files are coerced to 1990)
            pd.date_range("2026-01-01 00:30", periods=8760, freq="h").to_numpy("datetime64[ns]"),
        ]
    )
)
"""Hourly interval midpoints of 1990 and 2026 (forecasts run in the current year). [UTC]"""
MAX_SOLAR_ANGLE_DIFF_DEG = 1e-9
COMPONENT_RTOL = 1e-12
COMPONENT_ATOL = 1e-9


@pytest.mark.parametrize(
    ("latitude", "longitude", "altitude_m"),
    [site[1:] for site in SOLAR_SITES],
    ids=[site[0] for site in SOLAR_SITES],
)
def test_solar_position_equals_pvlib_spa(latitude: float, longitude: float, altitude_m: float):
    """Apparent zenith and azimuth, hour by hour over two years, sun up and down, against
    ``pvlib.solarposition.get_solarposition(method='nrel_numpy')`` with the pressure from the
    altitude and a varying air temperature (the refraction depends on both), as ModelChain
    calls it."""
    times = SOLAR_TIMES.to_numpy("datetime64[ns]")
    temp_air = np.random.default_rng(7).uniform(-40.0, 50.0, len(times))
    pressure_pa = pvlib.atmosphere.alt2pres(altitude_m)
    ref = pvlib.solarposition.get_solarposition(
        SOLAR_TIMES.tz_localize("UTC"),
        latitude,
        longitude,
        altitude=altitude_m,
        pressure=pressure_pa,
        method="nrel_numpy",
        temperature=temp_air,
    )
    sun = sun_table(times)
    geo = site_geometry(latitude, longitude, altitude_m)
    assert geo[6] == pytest.approx(pressure_pa / 100, rel=1e-14)  # [mbar]
    got = np.array([apparent_zenith_azimuth(sun, t, *geo, temp_air[t]) for t in range(len(times))])
    cos_z, sin_z, sin_az, cos_az, zenith = got.T
    ref_zenith = ref["apparent_zenith"].to_numpy()
    ref_azimuth = ref["azimuth"].to_numpy()
    azimuth = np.degrees(np.arctan2(sin_az, cos_az)) % 360
    zenith_diff = np.abs(zenith - ref_zenith)
    azimuth_diff = np.abs((azimuth - ref_azimuth + 180) % 360 - 180)
    print(
        f"lat {latitude:+6.2f}: max |Δ zenith| {zenith_diff.max():.1e}°, "
        f"max |Δ azimuth| {azimuth_diff.max():.1e}°"
    )
    assert (ref_zenith > 90).any()  # night is in the comparison too
    assert zenith_diff.max() <= MAX_SOLAR_ANGLE_DIFF_DEG, SOLAR_TIMES[zenith_diff.argmax()]
    assert azimuth_diff.max() <= MAX_SOLAR_ANGLE_DIFF_DEG, SOLAR_TIMES[azimuth_diff.argmax()]
    np.testing.assert_allclose(cos_z, np.cos(np.radians(ref_zenith)), rtol=0, atol=1e-14)
    np.testing.assert_allclose(sin_z, np.sin(np.radians(ref_zenith)), rtol=0, atol=1e-14)


def _transposition_grid() -> dict[str, np.ndarray]:
    """Every combination of surface, sun and irradiance values, with the edges on purpose:
    horizontal and vertical surfaces, the sun at the zenith, grazing (85–90°) and below the
    horizon, DHI = 0 (Perez ε = ∞), DNI = DHI = 0 (Perez NaN with the sun up), both ends of the
    yearly extraterrestrial DNI."""
    axes = {
        "surface_tilt": [0.0, 5.0, 30.0, 60.0, 90.0],
        "surface_azimuth": [0.0, 90.0, 180.0, 270.0],
        "solar_zenith": [0.0, 10.0, 45.0, 70.0, 80.0, 85.0, 87.0, 89.0, 89.9, 90.0, 90.5, 95.0],
        "solar_azimuth": [0.0, 135.0, 180.0, 300.0],
        "dhi": [0.0, 1.0, 50.0, 300.0, 700.0],
        "dni": [0.0, 1.0, 200.0, 900.0],
        "dni_extra": [1321.0, 1412.0],
    }
    mesh = np.meshgrid(*axes.values(), indexing="ij")
    grid = {name: m.reshape(-1) for name, m in zip(axes, mesh, strict=True)}
    grid["airmass"] = pvlib.atmosphere.get_relative_airmass(
        grid["solar_zenith"], model="kastenyoung1989"
    )
    grid["projection"] = pvlib.irradiance.aoi_projection(
        grid["surface_tilt"], grid["surface_azimuth"], grid["solar_zenith"], grid["solar_azimuth"]
    )
    return grid


def test_perez_equals_pvlib_perez() -> None:
    """``perez_sky`` against ``pvlib.irradiance.perez`` ('allsitescomposite1990', the relative
    Kasten-Young airmass of the apparent zenith that ModelChain passes), NaN where pvlib is."""
    g = _transposition_grid()
    ref = pvlib.irradiance.perez(
        g["surface_tilt"],
        g["surface_azimuth"],
        g["dhi"],
        g["dni"],
        g["dni_extra"],
        g["solar_zenith"],
        g["solar_azimuth"],
        g["airmass"],
        model="allsitescomposite1990",
    )
    cos_z = np.cos(np.radians(g["solar_zenith"]))
    tilt = np.radians(g["surface_tilt"])
    got = np.array(
        [
            perez_sky(*args)
            for args in zip(
                g["dhi"],
                g["dni"],
                g["dni_extra"],
                g["solar_zenith"],
                cos_z,
                g["projection"],
                np.cos(tilt),
                np.sin(tilt),
                strict=True,
            )
        ]
    )
    nan = np.isnan(ref)
    assert nan.any()
    assert (got[g["solar_zenith"] > 90] == 0).all()  # pvlib: no airmass, no sky diffuse
    print(f"perez: {len(got)} cases, max |Δ| {np.nanmax(np.abs(got - ref)):.1e} W/m²")
    np.testing.assert_allclose(got, ref, rtol=COMPONENT_RTOL, atol=COMPONENT_ATOL, equal_nan=True)


def test_haydavies_equals_pvlib_haydavies() -> None:
    g = _transposition_grid()
    ref = pvlib.irradiance.haydavies(
        g["surface_tilt"],
        g["surface_azimuth"],
        g["dhi"],
        g["dni"],
        g["dni_extra"],
        g["solar_zenith"],
        g["solar_azimuth"],
    )
    cos_z = np.cos(np.radians(g["solar_zenith"]))
    cos_tilt = np.cos(np.radians(g["surface_tilt"]))
    got = np.array(
        [
            haydavies_sky(*args)
            for args in zip(
                g["dhi"], g["dni"], g["dni_extra"], cos_z, g["projection"], cos_tilt, strict=True
            )
        ]
    )
    print(f"haydavies: {len(got)} cases, max |Δ| {np.abs(got - ref).max():.1e} W/m²")
    np.testing.assert_allclose(got, ref, rtol=COMPONENT_RTOL, atol=COMPONENT_ATOL)


def test_iam_equals_pvlib_physical() -> None:
    """The kernel's IAM is pvlib.iam.physical with its defaults (ModelChain's aoi_model
    'physical'), from normal incidence to grazing; the kernel calls it only for cos(aoi) > 0."""
    aoi = np.concatenate([np.linspace(0.0, 89.0, 891), [89.5, 89.9, 89.99, 89.999]])
    ref = pvlib.iam.physical(aoi)
    got = np.array([iam_physical(c) for c in np.cos(np.radians(aoi))])
    print(f"iam: max |Δ| {np.abs(got - ref).max():.1e}")
    assert got[0] == pytest.approx(1.0, abs=1e-15)
    np.testing.assert_allclose(got, ref, rtol=COMPONENT_RTOL, atol=1e-15)


@pytest.mark.parametrize("racking", sorted(RACKING_CODES))
def test_cell_temperature_equals_pvlib_sapm_cell(racking: str) -> None:
    name = {"open_rack": "open_rack_glass_polymer", "close_mount": "close_mount_glass_glass"}
    p = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][name[racking]]
    poa, temp_air, wind = (
        m.reshape(-1)
        for m in np.meshgrid(
            [0.0, 1.0, 200.0, 800.0, 1000.0, 1400.0],
            [-40.0, -5.0, 0.0, 25.0, 49.0],
            [0.0, 0.5, 3.0, 10.0, 25.0],
            indexing="ij",
        )
    )
    # The racking code picks pvlib's parameter set (the kernel reads SAPM_PARAMS by code).
    np.testing.assert_array_equal(
        SAPM_PARAMS[RACKING_CODES[racking]], [p["a"], p["b"], p["deltaT"]]
    )
    ref = pvlib.temperature.sapm_cell(poa, temp_air, wind, p["a"], p["b"], p["deltaT"])
    got = np.array(
        [
            sapm_cell(e, t, w, p["a"], p["b"], p["deltaT"])
            for e, t, w in zip(poa, temp_air, wind, strict=True)
        ]
    )
    np.testing.assert_allclose(got, ref, rtol=COMPONENT_RTOL, atol=COMPONENT_ATOL)


def test_dc_power_equals_pvlib_pvwatts_dc() -> None:
    effective, t_cell, pdc0, gamma = (
        m.reshape(-1)
        for m in np.meshgrid(
            [0.0, 1.0, 100.0, 500.0, 1000.0, 1300.0],
            [-40.0, 0.0, 25.0, 45.0, 85.0],
            [1200.0, 5000.0, 250_000.0],
            [-0.005, -0.004, -0.0025],
            indexing="ij",
        )
    )
    ref = pvlib.pvsystem.pvwatts_dc(effective, t_cell, pdc0, gamma)
    got = np.array([pvwatts_dc(*args) for args in zip(effective, t_cell, pdc0, gamma, strict=True)])
    np.testing.assert_allclose(got, ref, rtol=COMPONENT_RTOL, atol=COMPONENT_ATOL)


@pytest.mark.parametrize("ac_kw", [1.0, 5.0, 208.0])
def test_ac_power_equals_pvlib_inverter_pvwatts(ac_kw: float) -> None:
    """From 0 W through the low-load cut-off (η < 0 below ζ ≈ 0.6 %) to clipping at 150 %."""
    pdc0 = ac_kw * 1000 / 0.96  # the contract's inverter pdc0
    pdc = np.concatenate([[0.0, 1e-9, 1e-3], np.linspace(0.0, 0.01 * pdc0, 201)[1:]])
    pdc = np.concatenate([pdc, np.linspace(0.0, 1.5 * pdc0, 1501)[1:]])
    ref = pvlib.inverter.pvwatts(pdc, pdc0, eta_inv_nom=0.96)
    got = np.array([pvwatts_ac(x, pdc0, 0.96 * pdc0) for x in pdc])
    assert (ref == 0).sum() > 3  # the cut-off is in the grid
    assert (ref == 0.96 * pdc0).sum() > 100  # and the clipping
    np.testing.assert_allclose(got, ref, rtol=COMPONENT_RTOL, atol=COMPONENT_ATOL)
