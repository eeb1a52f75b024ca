"""The fleet kernel: pvlib's ModelChain for many plants at once, compiled with numba.

The chain (see docs/contracts.md, "Simulation model chain") is SPA solar position (``nrel_numpy``,
pressure from altitude, temperature from the weather), Spencer extraterrestrial DNI, Hay-Davies or
Perez transposition, physical IAM on the beam, no spectral loss, SAPM cell temperature, PVWatts DC,
PVWatts losses and the PVWatts inverter. Its reference is
``simulate.reference.modelchain_reference`` (plain pvlib ModelChain); the tests
(``tests/simulate/test_kernel.py``) hold the two together hour by hour.

The chain's pieces are small functions of :mod:`simulate.physics`, each checked alone against
pvlib. The time-only part of the solar position and the extraterrestrial irradiance are computed
once per timestamp (``simulate.physics.sun_table``); the numba kernel runs the topocentric part and
the rest of the chain per plant, in parallel over plants, and reduces to annual, daily and
hour-of-day energies so that memory grows with plants × hours only when hourly output is asked
for.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from pvlib.pvsystem import pvwatts_losses

from simulate.physics import (
    ETA_INV_NOM,
    RACKING_CODES,
    SAPM_PARAMS,
    plant_hour,
    site_geometry,
    sun_table,
)
from telemetry.errors import InputError

__all__ = [
    "DEFAULT_LOSSES_PCT",
    "RACKING_CODES",
    "TRANSPOSITIONS",
    "FleetArrays",
    "KernelResult",
    "simulate_arrays",
]

DEFAULT_LOSSES_PCT: float = float(pvwatts_losses())
"""Total DC losses of ``pvlib.pvsystem.pvwatts_losses()`` with its defaults (≈ 14.08). [%]"""

TRANSPOSITIONS = {"haydavies": 0, "perez": 1}
"""Transposition model name → code passed to the kernel."""


@dataclass(frozen=True)
class FleetArrays:
    """Plant parameters, one element per plant (all 1-D, same length).

    Attributes
    ----------
    latitude_deg, longitude_deg : site position, north and east positive. [degree]
    altitude_m : site altitude above sea level. [m]
    dc_kwp : DC nameplate rating. [kWp]
    ac_kw : inverter AC rating. [kW]
    tilt_deg : panel tilt from horizontal. [degree]
    azimuth_deg : panel azimuth, pvlib convention (180 = south). [degree]
    gamma_pdc_per_c : PVWatts temperature coefficient of power. [1/°C]
    losses_pct : total PVWatts DC losses. [%]
    racking : ``RACKING_CODES`` value (0 open_rack, 1 close_mount).
    weather_index : row of the weather arrays used by the plant.
    """

    latitude_deg: np.ndarray
    longitude_deg: np.ndarray
    altitude_m: np.ndarray
    dc_kwp: np.ndarray
    ac_kw: np.ndarray
    tilt_deg: np.ndarray
    azimuth_deg: np.ndarray
    gamma_pdc_per_c: np.ndarray
    losses_pct: np.ndarray
    racking: np.ndarray
    weather_index: np.ndarray

    @property
    def n_plants(self) -> int:
        """Number of plants."""
        return int(np.shape(self.latitude_deg)[0])


@dataclass(frozen=True)
class KernelResult:
    """Per-plant reductions of a fleet simulation.

    Attributes
    ----------
    ac_energy_wh : (n_plants,) AC energy over all timesteps. [Wh]
    daily_ac_energy_wh : (n_plants, n_days) AC energy per ``day_index`` bin. [Wh]
    ac_energy_by_hour_wh : (n_plants, 24) AC energy per ``hour_index`` bin. [Wh]
    peak_ac_power_w : (n_plants,) largest AC power of any timestep. [W]
    poa_insolation_wh_m2 : (n_plants,) plane-of-array global insolation. [Wh/m²]
    ac_power_w : (n_plants, n_time) AC power per timestep, or None unless asked for. [W]
    """

    ac_energy_wh: np.ndarray
    daily_ac_energy_wh: np.ndarray
    ac_energy_by_hour_wh: np.ndarray
    peak_ac_power_w: np.ndarray
    poa_insolation_wh_m2: np.ndarray
    ac_power_w: np.ndarray | None = None


# --------------------------------------------------------------------------- numba kernel


@njit(parallel=True, cache=True, fastmath=False)
def _fleet_kernel(
    sun,
    ghi,
    dni,
    dhi,
    temp_air,
    wind,
    lat,
    lon,
    alt,
    dc_kwp,
    ac_kw,
    tilt,
    azim,
    gamma,
    losses,
    racking,
    widx,
    day_index,
    hour_index,
    step_h,
    transposition,
    ac_energy,
    daily,
    by_hour,
    peak,
    poa_ins,
    hourly,
    write_hourly,
):
    n_time = ghi.shape[1]
    for p in prange(lat.shape[0]):
        w = widx[p]
        geo = site_geometry(lat[p], lon[p], alt[p])
        panel = (
            math.cos(math.radians(tilt[p])),
            math.sin(math.radians(tilt[p])),
            math.cos(math.radians(azim[p])),
            math.sin(math.radians(azim[p])),
        )
        pdc0_inv = ac_kw[p] * 1000 / ETA_INV_NOM
        rating = (
            dc_kwp[p] * 1000,
            (100 - losses[p]) / 100.0,
            gamma[p],
            pdc0_inv,
            ETA_INV_NOM * pdc0_inv,
        )
        k = racking[p]
        sapm = (SAPM_PARAMS[k, 0], SAPM_PARAMS[k, 1], SAPM_PARAMS[k, 2])
        total = 0.0
        top = 0.0
        insolation = 0.0
        for t in range(n_time):
            ac = 0.0
            poa_global = 0.0
            if ghi[w, t] != 0.0 or dni[w, t] != 0.0 or dhi[w, t] != 0.0:
                # all three zero gives exactly 0 W in pvlib too: skip the sun position
                ac, poa_global = plant_hour(
                    sun,
                    t,
                    ghi[w, t],
                    dni[w, t],
                    dhi[w, t],
                    temp_air[w, t],
                    wind[w, t],
                    geo,
                    panel,
                    rating,
                    sapm,
                    transposition,
                )
            energy = ac * step_h
            total += energy
            daily[p, day_index[t]] += energy
            by_hour[p, hour_index[t]] += energy
            top = max(top, ac)
            insolation += poa_global * step_h
            if write_hourly:
                hourly[p, t] = ac
        ac_energy[p] = total
        peak[p] = top
        poa_ins[p] = insolation


# --------------------------------------------------------------------------- public wrapper

_WEATHER_RANGES = {  # name: (low, high), inclusive
    "ghi_w_m2": (0.0, 2000.0),
    "dni_w_m2": (0.0, 2000.0),
    "dhi_w_m2": (0.0, 2000.0),
    "temp_air_c": (-90.0, 70.0),
    "wind_speed_m_s": (0.0, 120.0),
}
_FLEET_RANGES = {
    "latitude_deg": (-90.0, 90.0),
    "longitude_deg": (-180.0, 360.0),
    "altitude_m": (-450.0, 9000.0),
    "dc_kwp": (1e-6, 1e7),
    "ac_kw": (1e-6, 1e7),
    "tilt_deg": (0.0, 90.0),
    "azimuth_deg": (0.0, 360.0),
    "gamma_pdc_per_c": (-0.05, 0.05),
    "losses_pct": (0.0, 99.999),
}


def _position(shape: tuple[int, ...], flat: int) -> str:
    """Where a flat index points, in the caller's terms: weather arrays are (row, timestep),
    fleet columns one value per plant."""
    if len(shape) == 2:
        row, step = np.unravel_index(flat, shape)
        return f"weather row {int(row)}, timestep {int(step)}"
    return f"plant {flat}"


def _float_array(
    name: str, value: object, shape: tuple[int, ...], bounds: tuple[float, float]
) -> np.ndarray:
    try:
        arr = np.ascontiguousarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: not convertible to float64 ({exc})") from exc
    if arr.shape != shape:
        raise InputError(f"{name}: expected shape {shape}, got {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{name}: {int(bad.sum())} non-finite value(s), first "
            f"{float(arr.flat[i])!r} at {_position(shape, i)}"
        )
    low, high = bounds
    out = (arr < low) | (arr > high)
    if out.any():
        i = int(np.flatnonzero(out)[0])
        raise InputError(
            f"{name}: {int(out.sum())} value(s) outside [{low}, {high}], "
            f"first {float(arr.flat[i])!r} at {_position(shape, i)}"
        )
    return arr


def _int_array(name: str, value: object, length: int, low: int, high: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.shape != (length,) or not np.issubdtype(arr.dtype, np.integer):
        raise InputError(
            f"{name}: expected an integer array of shape ({length},), got {arr.dtype} {arr.shape}"
        )
    if length and (arr.min() < low or arr.max() > high):
        raise InputError(
            f"{name}: values must lie in [{low}, {high}], got [{arr.min()}, {arr.max()}]"
        )
    return np.ascontiguousarray(arr, dtype=np.int64)


def _utc_times(times_utc: object) -> np.ndarray:
    if getattr(times_utc, "tz", None) is not None:  # tz-aware pandas DatetimeIndex
        times_utc = times_utc.tz_convert("UTC").tz_localize(None)  # type: ignore[attr-defined]
    times = np.asarray(times_utc)
    if times.ndim != 1 or not np.issubdtype(times.dtype, np.datetime64):
        raise InputError(
            f"times_utc: expected a 1-D datetime64 array, got {times.dtype} {times.shape}"
        )
    if np.isnat(times).any():
        raise InputError("times_utc: contains NaT")
    return times


def simulate_arrays(
    times_utc: np.ndarray,
    ghi_w_m2: np.ndarray,
    dni_w_m2: np.ndarray,
    dhi_w_m2: np.ndarray,
    temp_air_c: np.ndarray,
    wind_speed_m_s: np.ndarray,
    fleet: FleetArrays,
    *,
    day_index: np.ndarray,
    hour_index: np.ndarray,
    n_days: int,
    transposition: str = "haydavies",
    step_hours: float = 1.0,
    hourly: bool = False,
    out: np.ndarray | None = None,
    chunk_plants: int = 4096,
    progress: Callable[[int], None] | None = None,
) -> KernelResult:
    """Simulate every plant of ``fleet`` over the given timesteps, as pvlib's ModelChain would.

    Parameters
    ----------
    times_utc : numpy.ndarray of datetime64, shape (n_time,)
        Instants at which the sun position is evaluated (interval midpoints), naive UTC; a
        tz-aware pandas DatetimeIndex is accepted too.
    ghi_w_m2, dni_w_m2, dhi_w_m2 : array, shape (n_weather, n_time) or (n_time,)
        Global horizontal, direct normal and diffuse horizontal irradiance. [W/m²]
    temp_air_c : array, shape (n_weather, n_time) or (n_time,)
        Air temperature. [°C]
    wind_speed_m_s : array, shape (n_weather, n_time) or (n_time,)
        Wind speed. [m/s]
    fleet : FleetArrays
        Plant parameters; ``fleet.weather_index`` picks each plant's weather row.
    day_index : int array, shape (n_time,)
        Bin of ``daily_ac_energy_wh`` for each timestep (e.g. the local date). [0 … n_days-1]
    hour_index : int array, shape (n_time,)
        Bin of ``ac_energy_by_hour_wh`` for each timestep (e.g. local hour). [0 … 23]
    n_days : int
        Number of daily bins.
    transposition : {'haydavies', 'perez'}
        Sky diffuse model (Perez with pvlib's 'allsitescomposite1990' coefficients).
    step_hours : float, default 1.0
        Length of each timestep; energy = power × step_hours. [h]
    hourly : bool, default False
        Also return the AC power of every plant and timestep (n_plants × n_time float64).
    out : numpy.ndarray, optional
        C-contiguous float64 array of shape (n_plants, n_time) to receive the hourly AC power
        (implies ``hourly``).
    chunk_plants : int, default 4096
        Plants per kernel call; ``progress`` is called after each chunk.
    progress : callable, optional
        Called with the number of plants done so far.

    Returns
    -------
    KernelResult

    Raises
    ------
    InputError
        On a wrong dtype, shape, non-finite or out-of-range value.
    """
    times = _utc_times(times_utc)
    n_time = times.shape[0]
    if transposition not in TRANSPOSITIONS:
        raise InputError(f"transposition: {transposition!r} is not one of {sorted(TRANSPOSITIONS)}")
    if not (isinstance(step_hours, int | float) and 0 < step_hours <= 24):
        raise InputError(f"step_hours: expected a number in (0, 24], got {step_hours!r}")
    if not isinstance(n_days, int | np.integer) or n_days < 1:
        raise InputError(f"n_days: expected a positive integer, got {n_days!r}")
    if not isinstance(chunk_plants, int | np.integer) or chunk_plants < 1:
        raise InputError(f"chunk_plants: expected a positive integer, got {chunk_plants!r}")

    raw = dict(
        zip(
            _WEATHER_RANGES, (ghi_w_m2, dni_w_m2, dhi_w_m2, temp_air_c, wind_speed_m_s), strict=True
        )
    )
    n_weather = np.shape(ghi_w_m2)[0] if np.ndim(ghi_w_m2) == 2 else 1
    weather = {
        name: _float_array(
            name,
            np.reshape(value, (1, -1)) if np.ndim(value) == 1 else value,
            (n_weather, n_time),
            _WEATHER_RANGES[name],
        )
        for name, value in raw.items()
    }

    if not isinstance(fleet, FleetArrays):
        raise InputError(f"fleet: expected FleetArrays, got {type(fleet).__name__}")
    n_plants = int(np.size(fleet.latitude_deg))
    params = {
        name: _float_array(f"fleet.{name}", getattr(fleet, name), (n_plants,), bounds)
        for name, bounds in _FLEET_RANGES.items()
    }
    racking = _int_array("fleet.racking", fleet.racking, n_plants, 0, len(RACKING_CODES) - 1)
    widx = _int_array("fleet.weather_index", fleet.weather_index, n_plants, 0, n_weather - 1)
    day_idx = _int_array("day_index", day_index, n_time, 0, int(n_days) - 1)
    hour_idx = _int_array("hour_index", hour_index, n_time, 0, 23)

    if out is not None:
        if (
            not isinstance(out, np.ndarray)
            or out.dtype != np.float64
            or out.shape != (n_plants, n_time)
            or not out.flags.c_contiguous
            or not out.flags.writeable
        ):
            raise InputError(
                f"out: expected a writeable C-contiguous float64 array of shape "
                f"({n_plants}, {n_time})"
            )
        hourly = True
    elif hourly:
        out = np.zeros((n_plants, n_time))

    sun = sun_table(times)

    result = KernelResult(
        ac_energy_wh=np.zeros(n_plants),
        daily_ac_energy_wh=np.zeros((n_plants, int(n_days))),
        ac_energy_by_hour_wh=np.zeros((n_plants, 24)),
        peak_ac_power_w=np.zeros(n_plants),
        poa_insolation_wh_m2=np.zeros(n_plants),
        ac_power_w=out,
    )
    no_hourly = np.zeros((0, n_time))
    for start in range(0, n_plants, int(chunk_plants)):
        part = slice(start, min(start + int(chunk_plants), n_plants))
        # By name: a reordered parameter list cannot swap, say, tilt and azimuth silently.
        _fleet_kernel(
            sun=sun,
            ghi=weather["ghi_w_m2"],
            dni=weather["dni_w_m2"],
            dhi=weather["dhi_w_m2"],
            temp_air=weather["temp_air_c"],
            wind=weather["wind_speed_m_s"],
            lat=params["latitude_deg"][part],
            lon=params["longitude_deg"][part],
            alt=params["altitude_m"][part],
            dc_kwp=params["dc_kwp"][part],
            ac_kw=params["ac_kw"][part],
            tilt=params["tilt_deg"][part],
            azim=params["azimuth_deg"][part],
            gamma=params["gamma_pdc_per_c"][part],
            losses=params["losses_pct"][part],
            racking=racking[part],
            widx=widx[part],
            day_index=day_idx,
            hour_index=hour_idx,
            step_h=float(step_hours),
            transposition=TRANSPOSITIONS[transposition],
            ac_energy=result.ac_energy_wh[part],
            daily=result.daily_ac_energy_wh[part],
            by_hour=result.ac_energy_by_hour_wh[part],
            peak=result.peak_ac_power_w[part],
            poa_ins=result.poa_insolation_wh_m2[part],
            hourly=out[part] if out is not None else no_hourly,
            write_hourly=out is not None,
        )
        if progress is not None:
            progress(part.stop)
    return result
