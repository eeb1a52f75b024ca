"""Time-only part of the NREL solar position algorithm (SPA), shared by every site.

The SPA splits cleanly into a part that depends only on the instant (Earth's heliocentric
position, nutation, aberration, sidereal time, the Sun's geocentric right ascension and
declination) and a topocentric part that depends on the observer. The fleet kernel evaluates the
first part once per timestamp here, in NumPy, and the second part per plant in numba.

The formulas and their order of operations follow ``pvlib.spa.solar_position_numpy`` (pvlib's
``nrel_numpy`` method) so that results agree to rounding; the periodic-term tables are pvlib's own.
pvlib's module-reloading switch between its NumPy and numba engines is deliberately not used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pvlib import spa as _pvlib_spa

__all__ = [
    "DELTA_T_S",
    "SOLAR_CONSTANT_W_M2",
    "GeocentricSun",
    "day_of_year",
    "extra_radiation_spencer",
    "geocentric_sun",
    "unixtime_s",
]

DELTA_T_S = 67.0
"""TT − UT1 used by pvlib's ``spa_python`` unless told otherwise. [s]"""

SOLAR_CONSTANT_W_M2 = 1366.1
"""Solar constant of ``pvlib.irradiance.get_extra_radiation``. [W/m²]"""

# Periodic-term tables of the SPA (Reda & Andreas 2004), as pvlib ships them.
_L_TABLES = tuple(getattr(_pvlib_spa, f"L{i}") for i in range(6))
_B_TABLES = (_pvlib_spa.B0, _pvlib_spa.B1)
_R_TABLES = tuple(getattr(_pvlib_spa, f"R{i}") for i in range(5))
_NUT_ABCD = _pvlib_spa.NUTATION_ABCD_ARRAY
_NUT_Y = _pvlib_spa.NUTATION_YTERM_ARRAY


@dataclass(frozen=True)
class GeocentricSun:
    """Observer-independent SPA terms, one value per timestamp (1-D float64 arrays).

    Attributes
    ----------
    sidereal_time_deg : apparent sidereal time at Greenwich, ν. [degree]
    right_ascension_deg : geocentric right ascension of the Sun, α. [degree]
    declination_deg : geocentric declination of the Sun, δ. [degree]
    parallax_deg : equatorial horizontal parallax of the Sun, ξ. [degree]
    """

    sidereal_time_deg: np.ndarray
    right_ascension_deg: np.ndarray
    declination_deg: np.ndarray
    parallax_deg: np.ndarray


def unixtime_s(times_utc: np.ndarray) -> np.ndarray:
    """Seconds since 1970-01-01 00:00 UTC of naive UTC ``datetime64`` values. [s]"""
    ns = np.asarray(times_utc).astype("datetime64[ns]").astype(np.int64)
    return ns / 1e9


def day_of_year(times_utc: np.ndarray) -> np.ndarray:
    """Day of the year (1 … 366) of naive UTC ``datetime64`` values, as pandas' ``dayofyear``."""
    t = np.asarray(times_utc)
    days = t.astype("datetime64[D]")
    return (days - days.astype("datetime64[Y]")).astype(np.int64) + 1


def extra_radiation_spencer(doy: np.ndarray) -> np.ndarray:
    """Extraterrestrial normal irradiance by Spencer (1971), as pvlib computes it.

    Parameters
    ----------
    doy : array of int
        Day of the year. [1 … 366]

    Returns
    -------
    numpy.ndarray
        Extraterrestrial direct normal irradiance. [W/m²]
    """
    b = (2.0 * np.pi / 365.0) * (np.asarray(doy, dtype=np.float64) - 1)
    r_over_r0_sq = (
        1.00011
        + 0.034221 * np.cos(b)
        + 0.00128 * np.sin(b)
        + 0.000719 * np.cos(2 * b)
        + 7.7e-05 * np.sin(2 * b)
    )
    return SOLAR_CONSTANT_W_M2 * r_over_r0_sq


def _periodic_sum(table: np.ndarray, jme: np.ndarray) -> np.ndarray:
    s = np.zeros_like(jme)
    for row in range(table.shape[0]):
        s += table[row, 0] * np.cos(table[row, 1] + table[row, 2] * jme)
    return s


def _series(tables: tuple[np.ndarray, ...], jme: np.ndarray) -> np.ndarray:
    total = _periodic_sum(tables[0], jme)
    for power, table in enumerate(tables[1:], start=1):
        total = total + _periodic_sum(table, jme) * jme**power
    return total / 10**8


def geocentric_sun(unixtime: np.ndarray, delta_t_s: float = DELTA_T_S) -> GeocentricSun:
    """Compute the observer-independent part of the SPA for each instant.

    Parameters
    ----------
    unixtime : numpy.ndarray
        Instants as seconds since 1970-01-01 00:00 UTC. [s]
    delta_t_s : float, default 67.0
        Difference between terrestrial time and UT1. [s]

    Returns
    -------
    GeocentricSun
        Sidereal time, geocentric right ascension and declination, horizontal parallax.
    """
    unixtime = np.asarray(unixtime, dtype=np.float64)
    jd = unixtime * 1.0 / 86400 + 2440587.5
    jde = jd + delta_t_s * 1.0 / 86400
    jc = (jd - 2451545) * 1.0 / 36525
    jce = (jde - 2451545) * 1.0 / 36525
    jme = jce * 1.0 / 10

    radius_au = _series(_R_TABLES, jme)
    helio_lon = np.rad2deg(_series(_L_TABLES, jme)) % 360
    helio_lat = np.rad2deg(_series(_B_TABLES, jme))
    theta = (helio_lon + 180.0) % 360
    beta = -1.0 * helio_lat

    x0 = 297.85036 + 445267.111480 * jce - 0.0019142 * jce**2 + jce**3 / 189474
    x1 = 357.52772 + 35999.050340 * jce - 0.0001603 * jce**2 - jce**3 / 300000
    x2 = 134.96298 + 477198.867398 * jce + 0.0086972 * jce**2 + jce**3 / 56250
    x3 = 93.27191 + 483202.017538 * jce - 0.0036825 * jce**2 + jce**3 / 327270
    x4 = 125.04452 - 1934.136261 * jce + 0.0020708 * jce**2 + jce**3 / 450000
    psi_sum = np.zeros_like(jce)
    eps_sum = np.zeros_like(jce)
    for row in range(_NUT_Y.shape[0]):
        a, b, c, d = _NUT_ABCD[row]
        y = _NUT_Y[row]
        arg = np.radians(y[0] * x0 + y[1] * x1 + y[2] * x2 + y[3] * x3 + y[4] * x4)
        psi_sum += (a + b * jce) * np.sin(arg)
        eps_sum += (c + d * jce) * np.cos(arg)
    delta_psi = psi_sum * 1.0 / 36000000
    delta_eps = eps_sum * 1.0 / 36000000

    u = 1.0 * jme / 10
    eps0 = (
        84381.448
        - 4680.93 * u
        - 1.55 * u**2
        + 1999.25 * u**3
        - 51.38 * u**4
        - 249.67 * u**5
        - 39.05 * u**6
        + 7.12 * u**7
        + 27.87 * u**8
        + 5.79 * u**9
        + 2.45 * u**10
    )
    epsilon = eps0 * 1.0 / 3600 + delta_eps
    delta_tau = -20.4898 / (3600 * radius_au)
    lamd = theta + delta_psi + delta_tau
    v0 = (
        280.46061837 + 360.98564736629 * (jd - 2451545) + 0.000387933 * jc**2 - jc**3 / 38710000
    ) % 360.0
    v = v0 + delta_psi * np.cos(np.radians(epsilon))

    eps_rad = np.radians(epsilon)
    lamd_rad = np.radians(lamd)
    num = np.sin(lamd_rad) * np.cos(eps_rad) - np.tan(np.radians(beta)) * np.sin(eps_rad)
    alpha = np.degrees(np.arctan2(num, np.cos(lamd_rad))) % 360
    beta_rad = np.radians(beta)
    delta = np.degrees(
        np.arcsin(
            np.sin(beta_rad) * np.cos(eps_rad)
            + np.cos(beta_rad) * np.sin(eps_rad) * np.sin(lamd_rad)
        )
    )
    xi = 8.794 / (3600 * radius_au)
    return GeocentricSun(v, alpha, delta, xi)
