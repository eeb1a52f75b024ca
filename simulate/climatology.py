"""The climate default: monthly climate with its sources, and typical years generated from it.

When a site planner has no weather file, the simulator falls back on this module:

- **In Iran**, a table of the 31 province capitals (``data/iran_climatology.csv``): monthly mean
  daily GHI, air temperature and wind, each row saying where its values come from (see
  ``data/README.md`` and the validation table in the README), interpolated to any point within
  :data:`MAX_DISTANCE_KM` of a capital;
- **elsewhere**, a labelled coarse estimate: MERRA-2's monthly irradiation on its 3° grid
  (:mod:`simulate.merra2`), with the air temperature and wind pvlib's ModelChain assumes.

An hourly year is then generated:

1. clear-sky irradiance (Ineichen with pvlib's Linke turbidity climatology) at each interval's
   midpoint;
2. a daily clear-sky index per solar day, spread like the month's real days: the quantiles of
   MERRA-2's distribution of daily irradiation for that month near the point, arranged in a
   fixed seeded order, scaled so that the monthly mean is the table's exactly (or, for a
   sampled year, drawn at random from that distribution);
3. DNI from GHI with DIRINT (Perez et al. 1992), DHI as the closure ``ghi - dni*cos(zenith)``;
4. air temperature: the monthly mean (smoothed across months, means kept exact) plus a diurnal
   cycle from a minimum at sunrise to a maximum at 15:00 solar time, wider on clear days;
   wind: the monthly mean with a mild afternoon maximum.

The result is an estimate for planning, not a substitute for measured or satellite data.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from importlib import resources

import numpy as np
import pandas as pd
import pvlib

from simulate import merra2
from telemetry.errors import InputError

__all__ = [
    "MAX_DISTANCE_KM",
    "covers",
    "default_weather",
    "load_climatology",
    "monthly_climate",
    "sampled_years",
]

#: Points farther than this from every province capital are outside the table's cover [km].
MAX_DISTANCE_KM = 500.0
#: Number of nearest capitals blended by inverse-distance weighting.
N_NEIGHBOURS = 4
#: Standard-atmosphere lapse rate used to move temperatures between altitudes [°C/m].
LAPSE_RATE_C_PER_M = 0.0065

_EARTH_RADIUS_KM = 6371.0
_MONTHS = tuple(f"{m:02d}" for m in range(1, 13))
_SEED = 1990  # fixed: the day-to-day pattern is part of the dataset, not a random draw
_K_MIN, _K_MAX = 0.08, 1.0  # bounds of a day's clear-sky index (overcast .. Ineichen-clear)
_T_MAX_SOLAR_H = 15.0  # solar time of the daily temperature maximum [h]
_WIND_DIURNAL = 0.25  # relative amplitude of the wind's diurnal cycle [-]
_MAX_ZENITH_DEG = 87.0  # below ~3° elevation all irradiance is treated as diffuse

_SOURCE = (
    "estimate: typical year generated from Roshanai's Iran climatology "
    "(province capitals' monthly means with their sources; MERRA-2 daily spread; {where})"
)
_SOURCE_COARSE = (
    "coarse estimate: typical year generated from MERRA-2 3° monthly irradiation outside Iran, "
    "air 20 °C and wind 0 m/s as pvlib's ModelChain assumes ({where})"
)
#: Outside the capitals' cover there is no temperature or wind climatology here: the values
#: pvlib's ModelChain assumes when weather lacks them (pvlib.modelchain, ``temp_air`` 20 °C,
#: ``wind_speed`` 0 m/s). A labelled assumption, not a climate figure.
OUTSIDE_IRAN_TEMP_C = 20.0
OUTSIDE_IRAN_WIND_M_S = 0.0


@functools.cache
def _table() -> pd.DataFrame:
    text = (resources.files("simulate") / "data" / "iran_climatology.csv").read_text("utf-8")
    df = pd.read_csv(io.StringIO(text), comment="#")
    needed = ["province", "city", "latitude", "longitude", "altitude_m", "temp_range_c"]
    for prefix in ("ghi_kwh_m2_day_", "temp_c_", "wind_m_s_"):
        needed += [prefix + m for m in _MONTHS]
    missing = [c for c in needed if c not in df.columns]
    if missing or df[needed[2:]].isna().to_numpy().any():
        raise RuntimeError(f"embedded climatology table is damaged (columns {missing or 'NaN'})")
    return df


def load_climatology() -> pd.DataFrame:
    """The climate default's table, one row per province capital (built from its sources).

    Returns
    -------
    pandas.DataFrame
        31 rows. Columns ``province``, ``city``, ``latitude``, ``longitude`` [degree],
        ``altitude_m`` [m], ``temp_range_c`` (annual mean daily max − min) [°C], and for each
        month ``MM`` = 01..12: ``ghi_kwh_m2_day_MM`` (mean daily global horizontal
        irradiation) [kWh/m²/day], ``temp_c_MM`` (mean air temperature) [°C],
        ``wind_m_s_MM`` (mean wind speed at 10 m) [m/s]; ``ghi_source``, ``temp_source``,
        ``wind_source`` (the sources of the row's values: ``simulate.climate_sources``). A copy:
        callers may modify it.
    """
    return _table().copy()


def covers(latitude_deg: float, longitude_deg: float) -> str:
    """How the climate default covers a point: ``"iran"``, ``"coarse"`` or ``"none"``.

    ``"iran"`` within :data:`MAX_DISTANCE_KM` of a capital; ``"coarse"`` elsewhere on land or
    near it (MERRA-2's monthly irradiation, labelled coarse); ``"none"`` where
    :func:`default_weather` would refuse the point (open sea, invalid coordinates).
    """
    try:
        lat, lon = _check_point(latitude_deg, longitude_deg)
    except InputError:
        return "none"
    tab = _table()
    dist_km = _great_circle_km(lat, lon, tab["latitude"].to_numpy(), tab["longitude"].to_numpy())
    if dist_km.min() <= MAX_DISTANCE_KM:
        return "iran"
    return "coarse" if merra2.coverage(lat, lon).covered else "none"


def _great_circle_km(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * _EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def _check_point(latitude_deg: float, longitude_deg: float) -> tuple[float, float]:
    try:
        lat, lon = float(latitude_deg), float(longitude_deg)
    except (TypeError, ValueError):
        raise InputError(
            f"latitude/longitude must be numbers: {latitude_deg!r}, {longitude_deg!r}"
        ) from None
    if not (np.isfinite(lat) and np.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise InputError(f"invalid location: latitude {lat}, longitude {lon} [degrees]")
    return lat, lon


def monthly_climate(
    latitude_deg: float, longitude_deg: float, altitude_m: float | None = None
) -> pd.DataFrame:
    """Monthly climate at any point in Iran, interpolated between province capitals.

    Inverse-distance weighting (power 2, great-circle distance) of the nearest
    :data:`N_NEIGHBOURS` capitals. With ``altitude_m``, temperatures are first brought to sea
    level and back with the standard lapse rate of 6.5 °C/km.

    Parameters
    ----------
    latitude_deg : float
        Latitude, north positive. [degree]
    longitude_deg : float
        Longitude, east positive. [degree]
    altitude_m : float, optional
        Site elevation above sea level; None interpolates temperatures as they are. [m]

    Returns
    -------
    pandas.DataFrame
        Indexed by month 1..12: ``ghi_kwh_m2_day`` [kWh/m²/day], ``temp_c`` [°C],
        ``wind_m_s`` [m/s], ``temp_range_c`` (mean daily max − min) [°C].

    Raises
    ------
    InputError
        The point is invalid, or outside Iran with no MERRA-2 land cell near it.

    Notes
    -----
    Farther than :data:`MAX_DISTANCE_KM` from every capital, the monthly GHI is MERRA-2's
    (:func:`simulate.merra2.monthly_ghi`) and temperature and wind are the values pvlib's
    ModelChain assumes (:data:`OUTSIDE_IRAN_TEMP_C`, :data:`OUTSIDE_IRAN_WIND_M_S`); the frame's
    ``attrs['coarse']`` is then True and ``attrs['note']`` says so.
    """
    lat, lon = _check_point(latitude_deg, longitude_deg)
    tab = _table()
    dist_km = _great_circle_km(lat, lon, tab["latitude"].to_numpy(), tab["longitude"].to_numpy())
    order = np.argsort(dist_km, kind="stable")[:N_NEIGHBOURS]
    if dist_km[order[0]] > MAX_DISTANCE_KM:
        ghi = merra2.monthly_ghi(lat, lon)  # InputError where no land cell is near
        far = pd.DataFrame(
            {
                "ghi_kwh_m2_day": ghi,
                "temp_c": np.full(12, OUTSIDE_IRAN_TEMP_C),
                "wind_m_s": np.full(12, OUTSIDE_IRAN_WIND_M_S),
                "temp_range_c": np.zeros(12),
            },
            index=pd.RangeIndex(1, 13, name="month"),
        )
        far.attrs["coarse"] = True
        far.attrs["note"] = (
            f"({lat:.2f}, {lon:.2f}) is {dist_km[order[0]]:.0f} km from the nearest Iranian "
            f"province capital: coarse estimate, {merra2.coverage(lat, lon).note}; air "
            f"{OUTSIDE_IRAN_TEMP_C:g} °C and wind {OUTSIDE_IRAN_WIND_M_S:g} m/s assumed"
        )
        return far
    weight = 1.0 / np.maximum(dist_km[order], 0.01) ** 2  # a 10 m floor: exact at a capital
    weight /= weight.sum()
    near = tab.iloc[order]

    def blend(prefix: str, offset: np.ndarray | float = 0.0) -> np.ndarray:
        values = near[[prefix + m for m in _MONTHS]].to_numpy(float) + np.reshape(offset, (-1, 1))
        return np.asarray(weight @ values)

    if altitude_m is None:
        temp_c = blend("temp_c_")
    else:
        sea_level = LAPSE_RATE_C_PER_M * near["altitude_m"].to_numpy(float)
        temp_c = blend("temp_c_", sea_level) - LAPSE_RATE_C_PER_M * float(altitude_m)
    out = pd.DataFrame(
        {
            "ghi_kwh_m2_day": blend("ghi_kwh_m2_day_"),
            "temp_c": temp_c,
            "wind_m_s": blend("wind_m_s_"),
            "temp_range_c": np.full(12, float(weight @ near["temp_range_c"].to_numpy(float))),
        },
        index=pd.RangeIndex(1, 13, name="month"),
    )
    out.attrs["coarse"] = False
    out.attrs["note"] = f"interpolated between {', '.join(near['city'])}"
    return out


#: Probabilities at which a month's distribution of daily irradiation is tabulated. [-]
SHAPE_PROBABILITIES = (np.arange(256) + 0.5) / 256


def _checked_climate(climate: pd.DataFrame) -> pd.DataFrame:
    cols = ["ghi_kwh_m2_day", "temp_c", "wind_m_s", "temp_range_c"]
    missing = [c for c in cols if c not in climate.columns]
    if missing or len(climate) != 12:
        raise InputError(f"a monthly climate needs 12 rows and columns {cols} (missing {missing})")
    values = climate[cols].to_numpy(float)
    if not np.isfinite(values).all() or (values[:, 0] < 0).any():
        raise InputError("a monthly climate must be finite, with GHI >= 0")
    out = climate[cols].copy()
    out.index = pd.RangeIndex(1, 13, name="month")
    out.attrs["coarse"] = bool(climate.attrs.get("coarse", False))
    out.attrs["note"] = str(climate.attrs.get("note", "given monthly climate"))
    return out


def _daily_clear_sky_index(
    k_month: float,
    cs_daily_wh: np.ndarray,
    month: int,
    shape: np.ndarray,
    sample: int | None = None,
) -> np.ndarray:
    """Daily clear-sky indices of one month, spread like the month's real days.

    ``shape`` is the month's daily irradiation as multiples of its mean at
    :data:`SHAPE_PROBABILITIES` (:func:`simulate.merra2.relative_quantiles`). The typical year
    (``sample`` None) takes the month's days at evenly spaced quantiles, in a fixed seeded order,
    and its irradiation-weighted mean is exactly ``k_month``; clipping to [_K_MIN, _K_MAX] is
    made up by a common scale. A sampled year (``sample`` = S) draws each day at random from
    the same distribution with the same scale, so that its month varies about ``k_month`` as
    weather does (days drawn independently: no persistence from day to day).
    """
    n = len(cs_daily_wh)
    rng = np.random.default_rng(_SEED + month)
    typical = np.interp((np.arange(n) + 0.5) / n, SHAPE_PROBABILITIES, shape)
    typical = typical[rng.permutation(n)]
    target = k_month * cs_daily_wh.sum()
    scale = k_month
    for _ in range(60):
        got = float(np.clip(scale * typical, _K_MIN, _K_MAX) @ cs_daily_wh)
        if got <= 0 or abs(got - target) <= 1e-10 * target:
            break
        scale *= target / got
    k = np.clip(scale * typical, _K_MIN, _K_MAX)
    # 1 to rounding, except where the month is clearer than the clear-sky model allows.
    restore = target / (k @ cs_daily_wh)
    if sample is None:
        return np.asarray(k * restore)
    draw = np.random.default_rng([_SEED, int(sample), month]).uniform(size=n)
    drawn = np.clip(scale * np.interp(draw, SHAPE_PROBABILITIES, shape), _K_MIN, _K_MAX)
    return np.asarray(drawn * restore)


def _diurnal_temperature_shape(solar_time_h: np.ndarray, sunrise_h: np.ndarray) -> np.ndarray:
    """−1 at sunrise, +1 at 15:00 solar time, half-cosines between (mean ≈ 0 over a day)."""
    rise_len = _T_MAX_SOLAR_H - sunrise_h
    since_rise = (solar_time_h - sunrise_h) % 24.0
    rising = since_rise < rise_len
    fall = (since_rise - rise_len) / (24.0 - rise_len)
    return np.where(rising, -np.cos(np.pi * since_rise / rise_len), np.cos(np.pi * fall))


def _smooth_monthly(
    values: np.ndarray, day_month: np.ndarray, day_of_year: np.ndarray, days_in_year: int
) -> np.ndarray:
    """Daily values interpolated between mid-months (cyclic), each month's mean kept exact."""
    mid = np.array([pd.Timestamp(2001, m, 15).day_of_year for m in range(1, 13)], dtype=float)
    mid = mid * days_in_year / 365.0
    x = np.concatenate([mid - days_in_year, mid, mid + days_in_year])
    daily = np.interp(day_of_year, x, np.tile(values, 3))
    for m in range(1, 13):
        sel = day_month == m
        daily[sel] += values[m - 1] - daily[sel].mean()
    return np.asarray(daily)


def _generate(
    lat: float,
    lon: float,
    alt: float,
    year: int,
    clim: pd.DataFrame,
    samples: Sequence[int | None],
) -> list[pd.DataFrame]:
    """The hourly years of :func:`default_weather` for several samples, sharing the sun."""

    labels = pd.date_range(
        pd.Timestamp(int(year), 1, 1, 1), pd.Timestamp(int(year) + 1, 1, 1), freq="h", tz="UTC"
    )
    mid = labels - pd.Timedelta(minutes=30)
    # Days and months by local solar date, so that no daylight hour straddles a day boundary.
    solar_clock = (mid.tz_localize(None) + pd.to_timedelta(lon / 15.0, unit="h")).as_unit("ns")
    # The night hours that spill into the neighbouring years join the year's first/last day.
    first_day, last_day = pd.Timestamp(int(year), 1, 1), pd.Timestamp(int(year), 12, 31)
    solar_date = solar_clock.normalize()
    solar_date = solar_date.where(solar_date >= first_day, first_day)
    solar_date = solar_date.where(solar_date <= last_day, last_day)
    day_key = np.asarray(solar_date.asi8)
    days, day_idx = np.unique(day_key, return_inverse=True)
    day_stamp = pd.DatetimeIndex(days)
    day_month = np.asarray(day_stamp.month)
    hour_month = day_month[day_idx]
    doy_hour = np.asarray(mid.day_of_year)

    # Temperature first: the solar position's refraction uses it (as the simulator's does).
    eot_min = pvlib.solarposition.equation_of_time_spencer71(doy_hour)
    decl = pvlib.solarposition.declination_spencer71(doy_hour)
    solar_time_h = np.asarray((mid.hour + mid.minute / 60.0 + lon / 15.0 + eot_min / 60.0) % 24)
    cos_ws = np.clip(-np.tan(np.radians(lat)) * np.tan(decl), -1.0, 1.0)
    sunrise_h = 12.0 - np.degrees(np.arccos(cos_ws)) / 15.0
    sunrise_h = np.clip(sunrise_h, 3.0, 9.0)  # keeps the shape defined at polar extremes

    loc = pvlib.location.Location(lat, lon, tz="UTC", altitude=alt)
    sp_approx = loc.get_solarposition(mid)
    cs = loc.get_clearsky(mid, model="ineichen", solar_position=sp_approx)
    cs_ghi = cs["ghi"].to_numpy(float)

    # Daily clear-sky index per month: monthly irradiation exact, day-to-day spread seeded.
    ghi_table_wh = clim["ghi_kwh_m2_day"].to_numpy() * 1000.0
    cs_daily_wh = np.bincount(day_idx, weights=cs_ghi, minlength=len(days))
    k_month = np.empty(12)
    shapes = []
    for m in range(1, 13):
        sel = day_month == m
        k_month[m - 1] = ghi_table_wh[m - 1] * sel.sum() / cs_daily_wh[sel].sum()
        shapes.append(
            merra2.relative_quantiles(
                lat, lon, m, SHAPE_PROBABILITIES, float(clim["ghi_kwh_m2_day"].iloc[m - 1])
            )
        )

    def daily_index(which: int | None) -> np.ndarray:
        k = np.empty(len(days))
        for m in range(1, 13):
            sel = day_month == m
            k[sel] = _daily_clear_sky_index(
                k_month[m - 1], cs_daily_wh[sel], m, shapes[m - 1], which
            )
        return k

    # Temperature: smoothed daily mean + diurnal cycle; range wider in clear months and days.
    t_daily = _smooth_monthly(
        clim["temp_c"].to_numpy(),
        day_month,
        np.asarray(day_stamp.day_of_year, dtype=float),
        len(days),
    )
    k_rel = k_month / np.average(k_month, weights=np.bincount(day_month - 1, minlength=12))
    range_month = clim["temp_range_c"].to_numpy() * np.clip(k_rel, 0.7, 1.3)
    diurnal = _diurnal_temperature_shape(solar_time_h, sunrise_h)

    def air_temperature(k_day: np.ndarray) -> np.ndarray:
        range_day = range_month[day_month - 1] * np.clip(k_day / k_month[day_month - 1], 0.5, 1.2)
        temp = t_daily[day_idx] + 0.5 * range_day[day_idx] * diurnal
        # Keep each month's mean exact despite the discrete hourly sampling of the cycle.
        month_mean = np.bincount(hour_month - 1, weights=temp) / np.bincount(hour_month - 1)
        return np.asarray(temp + (clim["temp_c"].to_numpy() - month_mean)[hour_month - 1])

    wind = clim["wind_m_s"].to_numpy()[hour_month - 1] * (
        1.0 + _WIND_DIURNAL * np.cos(2 * np.pi * (solar_time_h - _T_MAX_SOLAR_H) / 24.0)
    )

    # The sun position the simulator will use (pressure from altitude, refraction with the
    # typical year's air temperature; a sampled year's differs by < 0.01° near the horizon).
    k_typical = daily_index(None)
    sp = loc.get_solarposition(mid, temperature=air_temperature(k_typical))
    zenith = sp["apparent_zenith"].to_numpy(float)
    cos_z = np.cos(np.radians(zenith))
    dni_extra = np.asarray(pvlib.irradiance.get_extra_radiation(mid), dtype=float)
    frames = []
    for which in samples:
        k_day = k_typical if which is None else daily_index(which)
        temp_air = air_temperature(k_day)

        # Split GHI with DIRINT; DHI closes the balance, so it is never negative.
        ghi = np.where(zenith < 90.0, cs_ghi * k_day[day_idx], 0.0)
        dni = pvlib.irradiance.dirint(
            pd.Series(ghi, index=mid),
            pd.Series(zenith, index=mid),
            mid,
            pressure=pvlib.atmosphere.alt2pres(alt),
            use_delta_kt_prime=True,
        ).to_numpy(float)
        dni = np.nan_to_num(dni, nan=0.0)
        dni = np.where(zenith < _MAX_ZENITH_DEG, dni, 0.0)
        dni = np.clip(dni, 0.0, np.minimum(dni_extra, ghi / np.maximum(cos_z, 1e-6)))
        dhi = np.maximum(ghi - dni * cos_z, 0.0)

        out = pd.DataFrame(
            {
                "ghi": ghi,
                "dni": dni,
                "dhi": dhi,
                "temp_air": temp_air,
                "wind_speed": np.maximum(wind, 0.0),
            },
            index=labels,
        )
        where = f"{lat:.3f}N {lon:.3f}E, {alt:.0f} m"
        if which is not None:
            where += f", sampled year {int(which)}"
        out.attrs["source"] = (_SOURCE if not clim.attrs["coarse"] else _SOURCE_COARSE).format(
            where=where
        )
        out.attrs["coarse"] = bool(clim.attrs["coarse"])
        frames.append(out)
    return frames


def default_weather(
    latitude_deg: float,
    longitude_deg: float,
    altitude_m: float | None = None,
    year: int = 1990,
    sample: int | None = None,
    climate: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """An hourly typical (or sampled) year at a point, generated from the climate default.

    In Iran from the capitals' table, elsewhere from MERRA-2 (labelled coarse: see
    :func:`monthly_climate`). Deterministic: the same arguments always give the same numbers.
    Each month's mean daily GHI equals :func:`monthly_climate` (to rounding), as does its mean
    air temperature.

    Parameters
    ----------
    latitude_deg : float
        Latitude, north positive. [degree]
    longitude_deg : float
        Longitude, east positive. [degree]
    altitude_m : float, optional
        Site elevation; None uses :func:`pvlib.location.lookup_altitude`. [m]
    year : int, default 1990
        Calendar year of the index (1990 as for typical-year files).
    sample : int, optional
        None: the typical year, each month's days at evenly spaced quantiles of its
        distribution. An integer S ≥ 0: one of many possible years, its days drawn at random
        (seed S) from the same monthly distributions, for the spread of annual yield
        (:func:`simulate.spread.yield_spread`).
    climate : pandas.DataFrame, optional
        Monthly climate to generate from, shaped as :func:`monthly_climate`'s result (columns
        ``ghi_kwh_m2_day``, ``temp_c``, ``wind_m_s``, ``temp_range_c`` indexed by month 1–12);
        None: :func:`monthly_climate` at the point. The validation table uses it to run every
        source through the same generator.

    Returns
    -------
    pandas.DataFrame
        One row per hour of ``year`` (8760, or 8784 in a leap year), index tz-aware UTC
        **labelled at the end of each hourly interval**: ``year``-01-01 01:00 UTC to
        ``year+1``-01-01 00:00 UTC, like TMY3. Values are interval means evaluated at the
        midpoint (label − 30 min). Columns ``ghi``, ``dni``, ``dhi`` [W/m²], ``temp_air``
        [°C], ``wind_speed`` [m/s]; ``attrs['source']`` says it is a generated estimate.

    Raises
    ------
    InputError
        Invalid point or year, or a point outside Iran (see :func:`monthly_climate`).
    """
    _check_sample(sample)
    lat, lon, alt, clim = _prepare(latitude_deg, longitude_deg, altitude_m, year, climate)
    return _generate(lat, lon, alt, int(year), clim, [sample])[0]


def _check_sample(sample: object) -> None:
    if sample is not None and (
        isinstance(sample, bool) or not isinstance(sample, (int, np.integer)) or sample < 0
    ):
        raise InputError(f"sample must be a non-negative integer or None, not {sample!r}")


def _prepare(
    latitude_deg: float,
    longitude_deg: float,
    altitude_m: float | None,
    year: int,
    climate: pd.DataFrame | None,
) -> tuple[float, float, float, pd.DataFrame]:
    lat, lon = _check_point(latitude_deg, longitude_deg)
    if not isinstance(year, (int, np.integer)) or not 1800 <= int(year) <= 2200:
        raise InputError(f"year must be an integer in 1800..2200, not {year!r}")
    if altitude_m is None:
        altitude_m = float(pvlib.location.lookup_altitude(lat, lon))
    elif not np.isfinite(float(altitude_m)):
        raise InputError(f"invalid altitude: {altitude_m!r} [m]")
    alt = float(altitude_m)
    clim = monthly_climate(lat, lon, alt) if climate is None else _checked_climate(climate)
    return lat, lon, alt, clim


def sampled_years(
    latitude_deg: float,
    longitude_deg: float,
    samples: Sequence[int | None],
    altitude_m: float | None = None,
    year: int = 1990,
    climate: pd.DataFrame | None = None,
) -> list[pd.DataFrame]:
    """Several generated years at one point, as :func:`default_weather` makes each.

    ``sampled_years(lat, lon, [None, 0, 1])[k]`` equals
    ``default_weather(lat, lon, sample=[None, 0, 1][k])``; the sun and the clear sky are
    computed once for all.

    Parameters
    ----------
    latitude_deg, longitude_deg : float
        The point. [degree]
    samples : sequence of int or None
        None for the typical year, S ≥ 0 for sampled year S.
    altitude_m, year, climate
        As :func:`default_weather`.

    Returns
    -------
    list of pandas.DataFrame
    """
    for s in samples:
        _check_sample(s)
    lat, lon, alt, clim = _prepare(latitude_deg, longitude_deg, altitude_m, year, climate)
    return _generate(lat, lon, alt, int(year), clim, list(samples))
