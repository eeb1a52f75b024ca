"""MERRA-2 monthly distributions of daily irradiation: the climate default's spread and reach.

The PyPI package ``gsee-climate-data`` (BSD-3, the data companion of GSEE) ships, for every
3° × 3° cell over land and near land from 57° S to 72° N, a histogram of the **daily mean global
horizontal irradiance** of each calendar month, 128 bins, from NASA's MERRA-2 reanalysis,
2011–2015 (Gelaro et al. 2017, doi:10.1175/JCLI-D-16-0758.1; aggregated by Pfenninger &
Staffell 2016, doi:10.1016/j.energy.2016.08.060). This module reads it and answers three
questions:

- :func:`monthly_ghi` — a monthly mean daily GHI at any land point (bilinear between the four
  cell centres around it) [kWh/m²/day]: one of the climate default's sources in Iran and the
  default itself elsewhere;
- :func:`relative_quantiles` — the shape of a month's distribution of daily irradiation as
  quantiles of day ÷ month mean, taken from the nearby cell whose monthly clearness is closest
  to the target month's (the daily distribution follows the monthly mean clearness: Liu &
  Jordan 1960), so that a typical year has as many grey days as the month really has;
- :func:`coverage` — whether a point has data within reach, and how coarse the estimate is.

A 3° cell is about 330 km across: it averages a coast with its mountains (Rasht's cell is
mostly the plateau behind it). Inside Iran the default therefore takes the monthly **means**
from the capitals' table (``data/iran_climatology.csv``, with its sources) and only the
**shape** from MERRA-2; outside Iran both come from here, labelled coarse.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from telemetry.errors import InputError

__all__ = [
    "CELL_DEG",
    "SOURCE",
    "Coverage",
    "coverage",
    "monthly_ghi",
    "relative_quantiles",
]

#: Grid step of the distributions [degree].
CELL_DEG = 3.0
#: How the data is cited in outputs and the validation table.
SOURCE = "MERRA-2 2011–2015, 3° cells (gsee-climate-data 1.0, Pfenninger & Staffell 2016)"
#: A point farther than this from every cell with data is outside the cover [degree of cell].
_MAX_CELL_STEPS = 1
_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_SOLAR_CONSTANT_W_M2 = 1361.0  # Kopp & Lean 2011; only for the clearness used to pick a cell


@dataclass(frozen=True)
class _Grid:
    lat: np.ndarray  # (n_lat,) [degree], cell centres
    lon: np.ndarray  # (n_lon,) [degree]
    mean_w_m2: np.ndarray  # (n_lat, n_lon, 12) mean daily-mean GHI; NaN where no data
    cdf: np.ndarray  # (n_lat, n_lon, 12, n_bins) float32 cumulative probability, 0 → 1
    values_w_m2: np.ndarray  # (n_lat, n_lon, 12, n_bins) float32 bin values, ascending


@functools.cache
def _grid() -> _Grid:
    import gsee_climate_data

    with gsee_climate_data.load() as z:
        xk = np.asarray(z["xk"], dtype=np.float32)
        pk = np.asarray(z["pk"], dtype=np.float32)
        lat = np.asarray(z["lat"], dtype=float)
        lon = np.asarray(z["lon"], dtype=float)
    # float32 throughout (≈ 130 MB for the grid; the bridge holds it for its expected power).
    np.nan_to_num(pk, copy=False, nan=0.0)
    np.maximum(pk, 0.0, out=pk)
    np.nan_to_num(xk, copy=False, nan=0.0)
    np.maximum(xk, 0.0, out=xk)  # a few bins are below zero
    if not (np.diff(xk, axis=-1) >= 0).all():  # the package's bins ascend; keep it a checked fact
        raise RuntimeError("gsee-climate-data: bin values are not ascending")
    total = pk.sum(axis=-1, dtype=np.float64)
    has = total > 0
    safe = np.where(has, total, 1.0)
    mean = np.where(has, np.einsum("...k,...k->...", xk, pk, dtype=np.float64) / safe, np.nan)
    cdf = np.cumsum(pk, axis=-1, dtype=np.float32)
    cdf /= safe[..., None].astype(np.float32)
    del pk
    return _Grid(lat=lat, lon=lon, mean_w_m2=mean, cdf=cdf, values_w_m2=xk)


def _check(latitude_deg: float, longitude_deg: float) -> tuple[float, float]:
    lat, lon = float(latitude_deg), float(longitude_deg)
    if not (np.isfinite(lat) and np.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise InputError(f"invalid location: latitude {lat}, longitude {lon} [degrees]")
    return lat, lon


def _corners(lat: float, lon: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The four cell centres around a point: row and column indices and bilinear weights."""
    g = _grid()
    fi = (lat - g.lat[0]) / CELL_DEG
    fj = ((lon - g.lon[0]) / CELL_DEG) % len(g.lon)
    i0 = int(np.clip(np.floor(fi), 0, len(g.lat) - 2))
    j0 = int(np.floor(fj)) % len(g.lon)
    ty = float(np.clip(fi - i0, 0.0, 1.0))
    tx = float(fj - np.floor(fj))
    rows = np.array([i0, i0, i0 + 1, i0 + 1])
    cols = np.array([j0, (j0 + 1) % len(g.lon), j0, (j0 + 1) % len(g.lon)])
    w = np.array([(1 - ty) * (1 - tx), (1 - ty) * tx, ty * (1 - tx), ty * tx])
    return rows, cols, w


@dataclass(frozen=True)
class Coverage:
    """How well the MERRA-2 grid covers a point.

    Attributes
    ----------
    covered : bool
        Some cell within one cell step has data for every month.
    weight_with_data : float
        Share of the bilinear weight on cells with data, 0–1: below 1 the point is on a coast
        or an island and the estimate leans on the land side. [-]
    note : str
        One line for warnings and ``attrs['source']``.
    """

    covered: bool
    weight_with_data: float
    note: str


def _neighbourhood(lat: float, lon: float) -> tuple[np.ndarray, np.ndarray]:
    g = _grid()
    i = int(np.argmin(np.abs(g.lat - lat)))
    j = int(np.argmin(np.abs(((g.lon - lon + 180.0) % 360.0) - 180.0)))
    rows, cols = [], []
    for di in range(-_MAX_CELL_STEPS, _MAX_CELL_STEPS + 1):
        for dj in range(-_MAX_CELL_STEPS, _MAX_CELL_STEPS + 1):
            r = i + di
            if 0 <= r < len(g.lat):
                rows.append(r)
                cols.append((j + dj) % len(g.lon))
    return np.array(rows), np.array(cols)


def coverage(latitude_deg: float, longitude_deg: float) -> Coverage:
    """Whether the MERRA-2 distributions reach a point, and how coarse the estimate is there.

    Parameters
    ----------
    latitude_deg, longitude_deg : float
        The point. [degree]

    Returns
    -------
    Coverage
    """
    lat, lon = _check(latitude_deg, longitude_deg)
    g = _grid()
    rows, cols, w = _corners(lat, lon)
    full = np.isfinite(g.mean_w_m2[rows, cols]).all(axis=-1)
    share = float(w[full].sum())
    nr, nc = _neighbourhood(lat, lon)
    near = bool(np.isfinite(g.mean_w_m2[nr, nc]).all(axis=-1).any())
    if not near:
        return Coverage(False, 0.0, f"({lat:.2f}, {lon:.2f}) has no MERRA-2 land cell near it")
    note = f"{SOURCE}, {share:.0%} of the bilinear weight on land cells"
    return Coverage(True, share, note)


def monthly_ghi(latitude_deg: float, longitude_deg: float) -> np.ndarray:
    """Monthly mean daily GHI at a point from the MERRA-2 cells around it.

    Bilinear between the four surrounding cell centres, over the cells that have data for every
    month (weights renormalised); where none of the four has data, the nearest cell of the 3 × 3
    block around the point that has.

    Parameters
    ----------
    latitude_deg, longitude_deg : float
        The point. [degree]

    Returns
    -------
    numpy.ndarray
        12 values, January first. [kWh/m²/day]

    Raises
    ------
    InputError
        No cell with data near the point (open ocean, Antarctica, the high Arctic).
    """
    lat, lon = _check(latitude_deg, longitude_deg)
    g = _grid()
    rows, cols, w = _corners(lat, lon)
    vals = g.mean_w_m2[rows, cols]  # (4, 12)
    full = np.isfinite(vals).all(axis=-1)
    if full.any() and w[full].sum() > 0:
        mean = (w[full] @ vals[full]) / w[full].sum()
    else:
        nr, nc = _neighbourhood(lat, lon)
        block = g.mean_w_m2[nr, nc]
        ok = np.isfinite(block).all(axis=-1)
        if not ok.any():
            raise InputError(
                f"({lat:.2f}, {lon:.2f}) has no MERRA-2 land cell within {CELL_DEG:.0f}°: "
                "no default weather there; pass a weather file with --weather FILE"
            )
        dist = np.hypot(g.lat[nr] - lat, (((g.lon[nc] - lon + 180.0) % 360.0) - 180.0))
        k = int(np.argmin(np.where(ok, dist, np.inf)))
        mean = block[k]
    return np.asarray(mean * 24.0 / 1000.0)


def _extraterrestrial_daily_w_m2(lat_deg: float) -> np.ndarray:
    """Mean daily extraterrestrial horizontal irradiance of each month (FAO-56 eq. 21). [W/m²]"""
    doy = np.arange(1, 366)
    dr = 1 + 0.033 * np.cos(2 * np.pi * doy / 365)
    decl = 0.409 * np.sin(2 * np.pi * doy / 365 - 1.39)
    phi = np.radians(lat_deg)
    ws = np.arccos(np.clip(-np.tan(phi) * np.tan(decl), -1.0, 1.0))
    ra = (
        _SOLAR_CONSTANT_W_M2
        / np.pi
        * dr
        * (ws * np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.sin(ws))
    )
    month = np.repeat(np.arange(12), _DAYS_IN_MONTH)
    return np.bincount(month, weights=ra) / _DAYS_IN_MONTH


def relative_quantiles(
    latitude_deg: float,
    longitude_deg: float,
    month: int,
    probabilities: np.ndarray,
    target_kwh_m2_day: float | None = None,
) -> np.ndarray:
    """Quantiles of a month's daily irradiation, as multiples of the month's mean.

    Parameters
    ----------
    latitude_deg, longitude_deg : float
        The point. [degree]
    month : int
        Calendar month, 1–12.
    probabilities : numpy.ndarray
        Non-exceedance probabilities in (0, 1). [-]
    target_kwh_m2_day : float, optional
        The month's mean daily GHI the quantiles will be scaled to [kWh/m²/day]. The shape is
        taken from the cell of the 3 × 3 block around the point whose monthly clearness index
        (mean ÷ extraterrestrial) is closest to the target's; None: the nearest cell with data.

    Returns
    -------
    numpy.ndarray
        Day ÷ month-mean ratios, one per probability; their mean over a uniform grid of
        probabilities is 1 (to discretisation). [-]
    """
    lat, lon = _check(latitude_deg, longitude_deg)
    if not 1 <= int(month) <= 12:
        raise InputError(f"month must be 1–12, not {month!r}")
    m = int(month) - 1
    g = _grid()
    nr, nc = _neighbourhood(lat, lon)
    means = g.mean_w_m2[nr, nc, m]
    ok = np.isfinite(g.mean_w_m2[nr, nc]).all(axis=-1) & (means > 0)
    if not ok.any():
        raise InputError(f"({lat:.2f}, {lon:.2f}) has no MERRA-2 land cell within 3°")
    if target_kwh_m2_day is None:
        dist = np.hypot(g.lat[nr] - lat, (((g.lon[nc] - lon + 180.0) % 360.0) - 180.0))
        k = int(np.argmin(np.where(ok, dist, np.inf)))
    else:
        kt_target = target_kwh_m2_day * 1000.0 / 24.0 / _extraterrestrial_daily_w_m2(lat)[m]
        kt_cells = np.array(
            [
                means[i] / _extraterrestrial_daily_w_m2(float(g.lat[r]))[m] if ok[i] else np.inf
                for i, r in enumerate(nr)
            ]
        )
        k = int(np.argmin(np.abs(kt_cells - kt_target)))
    r, c = nr[k], nc[k]
    values = np.interp(
        np.asarray(probabilities, float),
        g.cdf[r, c, m].astype(float),
        g.values_w_m2[r, c, m].astype(float),
    )
    return np.asarray(values / g.mean_w_m2[r, c, m])
