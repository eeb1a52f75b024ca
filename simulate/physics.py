"""The model chain's pieces, one small function each: what the fleet kernel
(:mod:`simulate.kernel`) runs per plant and hour, and what the tests hold alone against the pvlib
function each mirrors (``tests/simulate/test_physics.py``).

Numba functions (``@njit``) callable from Python as well: the topocentric SPA solar position
(``pvlib.solarposition`` ``nrel_numpy``), Perez and Hay-Davies sky diffuse
(``pvlib.irradiance``), physical IAM (``pvlib.iam.physical``), SAPM cell temperature
(``pvlib.temperature.sapm_cell``), PVWatts DC (``pvlib.pvsystem.pvwatts_dc``) and the PVWatts
inverter (``pvlib.inverter.pvwatts``), and :func:`plant_hour`, which chains them for one plant and
one timestep. :func:`sun_table` (NumPy) holds the time-only terms shared by every plant.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from pvlib.irradiance import _get_perez_coefficients
from pvlib.temperature import TEMPERATURE_MODEL_PARAMETERS

from simulate.spa_time import day_of_year, extra_radiation_spencer, geocentric_sun, unixtime_s

__all__ = [
    "ETA_INV_NOM",
    "RACKING_CODES",
    "SAPM_PARAMS",
    "apparent_zenith_azimuth",
    "haydavies_sky",
    "iam_physical",
    "perez_sky",
    "plant_hour",
    "pvwatts_ac",
    "pvwatts_dc",
    "sapm_cell",
    "site_geometry",
    "sun_table",
]

RACKING_CODES = {"open_rack": 0, "close_mount": 1}
"""Racking name → code of ``FleetArrays.racking`` (the row of :data:`SAPM_PARAMS`)."""

SAPM_NAMES = ("open_rack_glass_polymer", "close_mount_glass_glass")
"""pvlib's SAPM parameter sets of the racking codes, in code order."""
SAPM_PARAMS = np.array(
    [
        [TEMPERATURE_MODEL_PARAMETERS["sapm"][name][key] for key in ("a", "b", "deltaT")]
        for name in SAPM_NAMES
    ]
)
"""SAPM cell temperature parameters (a, b, deltaT [°C]), one row per racking code."""
_PEREZ_F1, _PEREZ_F2 = (
    np.ascontiguousarray(c, dtype=np.float64)
    for c in _get_perez_coefficients("allsitescomposite1990")
)
_PEREZ_BINS = np.array([0.0, 1.065, 1.23, 1.5, 1.95, 2.8, 4.5, 6.2])
_ALBEDO = 0.25  # pvlib Array default
_IAM_N, _IAM_K, _IAM_L = 1.526, 4.0, 0.002  # pvlib.iam.physical defaults
_IAM_TAU0 = (1 - ((1 - _IAM_N) / (1 + _IAM_N)) ** 2) * math.exp(-_IAM_K * _IAM_L)
ETA_INV_NOM, ETA_INV_REF = 0.96, 0.9637  # pvlib.inverter.pvwatts defaults
_REFRACT_SWITCH_DEG = -(0.26667 + 0.5667)  # SPA: no refraction below this elevation


@njit(cache=True)
def apparent_zenith_azimuth(sun, t, slat, clat, slon, clon, x_par, y_par, p_mbar, temp_c):
    """Topocentric SPA for one plant and instant: (cos, sin) of apparent zenith, (sin, cos) of
    the azimuth measured from north, and the apparent zenith [degree]. Angle sums replace pvlib's
    arctan2/mod chains; the values agree to rounding."""
    s_h = sun[0, t] * clon + sun[1, t] * slon  # sin(ν − α + λ), the local hour angle H
    c_h = sun[1, t] * clon - sun[0, t] * slon
    xs = x_par * sun[4, t]
    num = -xs * s_h
    den = sun[3, t] - xs * c_h  # > 0: parallax is tiny
    r = math.sqrt(num * num + den * den)
    c_da, s_da = den / r, num / r  # parallax in right ascension Δα
    n2 = (sun[2, t] - y_par * sun[4, t]) * c_da
    r2 = math.sqrt(n2 * n2 + den * den)
    s_dp, c_dp = n2 / r2, den / r2  # topocentric declination δ'
    s_hp = s_h * c_da - c_h * s_da  # topocentric hour angle H' = H − Δα
    c_hp = c_h * c_da + s_h * s_da
    s_e0 = min(1.0, max(-1.0, slat * s_dp + clat * c_dp * c_hp))
    e0 = math.degrees(math.asin(s_e0))
    d_e = 0.0
    if e0 >= _REFRACT_SWITCH_DEG:
        d_e = (
            (p_mbar / 1010.0)
            * (283.0 / (273 + temp_c))
            * 1.02
            / (60 * math.tan(math.radians(e0 + 10.3 / (e0 + 5.11))))
        )
    zenith = 90 - (e0 + d_e)
    z_rad = math.radians(zenith)
    g_num = s_hp
    g_den = c_hp * slat - (s_dp / c_dp) * clat
    rg = math.sqrt(g_num * g_num + g_den * g_den)
    if rg > 0.0:
        s_g, c_g = g_num / rg, g_den / rg  # astronomers' azimuth Γ (from south, westward)
    else:
        s_g, c_g = 0.0, 1.0
    # azimuth from north Φ = Γ + 180°
    return math.cos(z_rad), math.sin(z_rad), -s_g, -c_g, zenith


@njit(cache=True)
def perez_sky(dhi, dni, dni_extra, zenith, cos_z, proj, ct, st):
    """Perez (1990, allsitescomposite1990) sky diffuse, as pvlib.irradiance.perez. NaN when
    pvlib gives NaN (dhi = dni = 0 with the sun up)."""
    if zenith > 90:
        return 0.0  # pvlib: airmass is NaN below the horizon → 0
    z = math.radians(zenith)
    airmass = 1.0 / (cos_z + 0.50572 * ((6.07995 + (90 - zenith)) ** -1.6364))
    delta = dhi * airmass / dni_extra
    if dhi == 0.0:
        if dni == 0.0:
            return math.nan
        b = 7  # ε = ∞, the clearest bin
    else:
        eps = ((dhi + dni) / dhi + 1.041 * z**3) / (1 + 1.041 * z**3)
        if not eps >= 0.0:
            return math.nan
        b = 0
        for k in range(1, 8):
            if eps >= _PEREZ_BINS[k]:
                b = k
    f1 = max(_PEREZ_F1[b, 0] + _PEREZ_F1[b, 1] * delta + _PEREZ_F1[b, 2] * z, 0.0)
    f2 = _PEREZ_F2[b, 0] + _PEREZ_F2[b, 1] * delta + _PEREZ_F2[b, 2] * z
    term1 = 0.5 * (1 - f1) * (1 + ct)
    term2 = f1 * max(proj, 0.0) / max(cos_z, math.cos(math.radians(85)))
    term3 = f2 * st
    return max(dhi * (term1 + term2 + term3), 0.0)


@njit(cache=True)
def iam_physical(cos_aoi):
    """pvlib.iam.physical (n=1.526, K=4, L=0.002) from cos(aoi) > 0."""
    sin1 = math.sqrt(1 - cos_aoi * cos_aoi)
    sin2 = 1 / _IAM_N * sin1
    cos2 = math.sqrt(1 - sin2 * sin2)
    rho_s = ((cos_aoi - _IAM_N * cos2) / (cos_aoi + _IAM_N * cos2)) ** 2
    rho_p = ((cos2 - _IAM_N * cos_aoi) / (cos2 + _IAM_N * cos_aoi)) ** 2
    absorb = math.exp(-_IAM_K * _IAM_L / cos2)
    return ((1 - rho_s) * absorb + (1 - rho_p) * absorb) / 2 / _IAM_TAU0


@njit(cache=True)
def haydavies_sky(dhi, dni, dni_extra, cos_z, proj, ct):
    """Hay-Davies sky diffuse, as pvlib.irradiance.haydavies (its 0.01745 floor on cos zenith)."""
    rb = max(proj, 0.0) / max(cos_z, 0.01745)
    ai = dni / dni_extra
    return max(dhi * (1 - ai) * (0.5 * (1 + ct)), 0.0) + max(dhi * (ai * rb), 0.0)


@njit(cache=True)
def sapm_cell(poa_global, temp_air, wind_speed, a, b, delta_t):
    """SAPM cell temperature [°C], as pvlib.temperature.sapm_cell (irrad_ref = 1000 W/m²)."""
    return poa_global * math.exp(a + b * wind_speed) + temp_air + poa_global / 1000.0 * delta_t


@njit(cache=True)
def pvwatts_dc(effective, t_cell, pdc0, gamma):
    """PVWatts DC power [W], as pvlib.pvsystem.pvwatts_dc (temp_ref = 25 °C), before losses."""
    return effective * 0.001 * pdc0 * (1 + gamma * (t_cell - 25.0))


@njit(cache=True)
def pvwatts_ac(pdc, pdc0_inv, pac0):
    """PVWatts inverter AC power [W], as pvlib.inverter.pvwatts (eta_inv_nom 0.96, ref 0.9637);
    ``pac0`` = eta_inv_nom × ``pdc0_inv``."""
    if pdc == 0.0:
        return 0.0
    zeta = pdc / pdc0_inv
    eta = ETA_INV_NOM / ETA_INV_REF * (-0.0162 * zeta - 0.0059 / zeta + 0.9858)
    return max(0.0, min(pac0, eta * pdc))


@njit(cache=True)
def site_geometry(lat_deg, lon_deg, alt_m):
    """Observer terms of the topocentric SPA: (sin lat, cos lat, sin lon, cos lon, parallax x,
    parallax y, pressure [mbar] by pvlib.atmosphere.alt2pres)."""
    lat_r = math.radians(lat_deg)
    slat, clat = math.sin(lat_r), math.cos(lat_r)
    u = math.atan(0.99664719 * math.tan(lat_r))
    return (
        slat,
        clat,
        math.sin(math.radians(lon_deg)),
        math.cos(math.radians(lon_deg)),
        math.cos(u) + alt_m / 6378140 * clat,
        0.99664719 * math.sin(u) + alt_m / 6378140 * slat,
        100 * ((44331.514 - alt_m) / 11880.516) ** (1 / 0.1902632) / 100,
    )


@njit(cache=True)
def plant_hour(sun, t, ghi, dni, dhi, temp_c, wind_m_s, geo, panel, rating, sapm, transposition):
    """One plant, one timestep: (AC power [W], POA global irradiance [W/m²]).

    ``geo`` = (sin lat, cos lat, sin lon, cos lon, parallax x, parallax y, pressure [mbar]),
    ``panel`` = (cos tilt, sin tilt, cos azimuth, sin azimuth),
    ``rating`` = (pdc0 [W], loss factor, gamma [1/°C], inverter pdc0 [W], pac0 [W]),
    ``sapm`` = (a, b, deltaT).
    """
    ct, st, c_sa, s_sa = panel
    cos_z, sin_z, s_az, c_az, zenith = apparent_zenith_azimuth(
        sun, t, geo[0], geo[1], geo[2], geo[3], geo[4], geo[5], geo[6], temp_c
    )
    proj = min(1.0, max(-1.0, ct * cos_z + st * sin_z * (c_az * c_sa + s_az * s_sa)))
    poa_direct = max(dni * proj, 0.0)
    if transposition == 0:
        sky = haydavies_sky(dhi, dni, sun[5, t], cos_z, proj, ct)
    else:
        sky = perez_sky(dhi, dni, sun[5, t], zenith, cos_z, proj, ct, st)
        if sky != sky:
            return 0.0, 0.0  # ModelChain fills the resulting NaN AC power with 0
    poa_diffuse = sky + ghi * _ALBEDO * (1 - ct) * 0.5
    poa_global = poa_direct + poa_diffuse
    iam = iam_physical(proj) if poa_direct > 0.0 else 0.0
    effective = poa_direct * iam + poa_diffuse
    t_cell = sapm_cell(poa_global, temp_c, wind_m_s, sapm[0], sapm[1], sapm[2])
    pdc0, loss_factor, gamma, pdc0_inv, pac0 = rating
    pdc = pvwatts_dc(effective, t_cell, pdc0, gamma) * loss_factor
    return pvwatts_ac(pdc, pdc0_inv, pac0), poa_global


def sun_table(times: np.ndarray) -> np.ndarray:
    """Time-only terms of the kernel, shape (6, n_time): sin and cos of the Greenwich hour angle
    ν − α, sin and cos of the declination δ, sin of the horizontal parallax ξ (SPA, geocentric),
    and the Spencer extraterrestrial DNI [W/m²], for naive UTC ``datetime64`` instants."""
    geo = geocentric_sun(unixtime_s(times))
    gha = np.radians(geo.sidereal_time_deg - geo.right_ascension_deg)
    dec = np.radians(geo.declination_deg)
    return np.ascontiguousarray(
        np.stack(
            [
                np.sin(gha),
                np.cos(gha),
                np.sin(dec),
                np.cos(dec),
                np.sin(np.radians(geo.parallax_deg)),
                extra_radiation_spencer(day_of_year(times)),
            ]
        )
    )
