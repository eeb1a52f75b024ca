"""Expected AC power from the peers: the fleet as its own irradiance sensor.

For plant *i* and hour *t*::

    expected_w[i, t] = clear_sky_w[i, t] × K[i, t]

- ``clear_sky_w`` is the fleet kernel's output for the plant under a clear sky: pvlib's
  Ineichen clear-sky irradiance (Linke turbidity climatology) for each 0.5° weather cell of the
  climate default, air temperature the cell's monthly mean (:func:`clear_sky_power`). The same
  model chain as every other figure of the project, so the plant's orientation, rating, losses
  and temperature are in it.
- ``K`` is the **local sky index**: the weighted median, over the plant's peers, of each peer's
  own index ``measured_w / clear_sky_w`` (:func:`peer_sky_index`). Peers are the other plants
  within :data:`PEER_RADIUS_KM` (25 km: the scale over which hourly clear-sky indices of
  neighbouring sites still correlate strongly, r ≳ 0.8 in Perez et al. 2012 and Lave & Kleissl
  2013), at most :data:`MAX_PEERS` nearest ones, weighted by distance
  (``exp(−d / DISTANCE_SCALE_KM)``) and orientation similarity
  (``exp(−½ (Δazimuth / AZIMUTH_SCALE_DEG)² − ½ (Δtilt / TILT_SCALE_DEG)²)``; the clear-sky
  normalisation already removes most of the orientation's effect, what is left is the different
  response to diffuse light). A median, not a mean, so a faulty, soiled or cut peer among them
  does not move it; plant-hours already flagged (a fault, a cut, a day far off its peers) are
  left out (:func:`fleet_expectation` does it in two passes), and so is the plant itself.
- Where fewer than :data:`MIN_PEERS` peers (5) report, ``K`` comes from the first pass's peers
  (if the second pass had left most of them out), else from the plants within
  :data:`FALLBACK_RADIUS_KM` (75 km), and only then falls back to the climate default's
  mean clear-sky index of the month at the plant's cell (:func:`climate_sky_index`: the month's
  mean daily GHI of the climate default over the clear-sky model's): an estimate that knows the
  season, not the day's clouds — on a grey December day it errs by a factor of several, so
  :mod:`triage.findings` never judges a day's energy by it.

The sky index is only defined where the clear-sky output is at least :data:`CLEAR_SKY_FLOOR`
of the plant's AC rating (dawn, dusk and night are left out; their expectation is
``clear_sky_w × K`` of the nearest defined index, or 0 at night).

Everything here takes and returns arrays (plants × hours), so the bridge can call
:func:`expected_power` on a rolling window of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulate.clearsky import clear_sky_power, clear_sky_weather, climate_sky_index
from simulate.peers import (
    AZIMUTH_SCALE_DEG,
    CLEAR_SKY_FLOOR,
    DISTANCE_SCALE_KM,
    MAX_PEER_SHARE,
    MAX_PEERS,
    MIN_PEERS,
    PEER_RADIUS_KM,
    SKY_INDEX_MAX,
    TILT_SCALE_DEG,
    Peers,
    cap_weights,
    find_peers,
    peers_of_fleet,
)
from telemetry.registry import Fleet

__all__ = [
    "AZIMUTH_SCALE_DEG",
    "CLEAR_SKY_FLOOR",
    "DISTANCE_SCALE_KM",
    "FALLBACK_RADIUS_KM",
    "MAX_PEERS",
    "MAX_PEER_SHARE",
    "MIN_PEERS",
    "PEER_RADIUS_KM",
    "SKY_INDEX_MAX",
    "TILT_SCALE_DEG",
    "Expectation",
    "Peers",
    "clear_sky_power",
    "clear_sky_weather",
    "climate_sky_index",
    "daily_sky_index",
    "expected_power",
    "find_peers",
    "fleet_expectation",
    "month_hour_expectation",
    "nmae",
    "peer_sky_index",
    "peers_of_fleet",
    "sky_index",
    "sky_sharing",
]

#: Where fewer than :data:`MIN_PEERS` peers report, the plants within this distance stand in
#: before the climate default (:func:`fleet_expectation`). [km]
FALLBACK_RADIUS_KM = 75.0
#: :func:`fleet_expectation` leaves out of the peers the plant-days whose energy is outside
#: this range of their first-pass expectation.
PEER_DAY_RANGE = (0.8, 1.25)
#: Spread of the day-to-day change of two plants' daily sky-index ratio below which they are
#: taken to share a sky (the hourly noise of a healthy pair's daily ratio; :func:`sky_sharing`).
SKY_SHARING_FLOOR = 0.03
#: The least weight factor :func:`sky_sharing` gives a peer: a neighbour under another sky
#: counts a fifth, never nothing, so one peer that happens to track the plant (or shares its
#: fault, such as a shading at the same hours) cannot become the median alone.
SKY_SHARING_MIN_FACTOR = 0.2
#: Days of the window :func:`sky_sharing` needs (two day-to-day changes).
SKY_SHARING_MIN_DAYS = 3


# --------------------------------------------------------------------------- clear sky


def month_hour_expectation(
    fleet: Fleet, labels: pd.DatetimeIndex, timezone: str = "Asia/Tehran"
) -> np.ndarray:
    """The expectation ``plant_status`` used before the peers': the climate default's
    typical-year mean AC power of the plant's month and local hour
    (:class:`firmware_bridge.status.ExpectedPower`'s table), on the hours ``labels`` — the
    reference the peers' expectation is measured against.

    Returns
    -------
    numpy.ndarray
        (n_plants, n_hours) [W].
    """
    from simulate.fleet import run_fleet

    run = run_fleet(fleet, None, hourly=True, timezone=timezone)
    assert run.ac_power_w is not None
    local = (run.labels - pd.Timedelta(minutes=30)).tz_convert(timezone)
    key = (local.month.to_numpy() - 1) * 24 + local.hour.to_numpy()
    counts = np.bincount(key, minlength=288).astype(float)
    table = np.stack(
        [np.bincount(key, weights=row, minlength=288) for row in run.ac_power_w]
    ) / np.maximum(counts, 1)
    want = (labels - pd.Timedelta(minutes=30)).tz_convert(timezone)
    return table[:, (want.month.to_numpy() - 1) * 24 + want.hour.to_numpy()]


# --------------------------------------------------------------------------- peers


# --------------------------------------------------------------------------- sky index


def sky_index(ac_power_w: np.ndarray, clear_sky_w: np.ndarray, rating_w: np.ndarray) -> np.ndarray:
    """Each plant's own clear-sky index ``measured / clear sky``, clipped to
    ``[0, SKY_INDEX_MAX]``; NaN where nothing was measured or the clear sky is below
    :data:`CLEAR_SKY_FLOOR` of the rating.

    Parameters
    ----------
    ac_power_w, clear_sky_w : numpy.ndarray
        (n_plants, n_hours) [W]
    rating_w : numpy.ndarray
        (n_plants,) AC rating. [W]
    """
    floor = CLEAR_SKY_FLOOR * np.asarray(rating_w, float)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.clip(ac_power_w / clear_sky_w, 0.0, SKY_INDEX_MAX)
    return np.where(clear_sky_w >= floor, k, np.nan)


def peer_sky_index(
    k: np.ndarray, peers: Peers, usable: np.ndarray | None = None, chunk_plants: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted median of the peers' sky indices, for every plant and hour.

    Parameters
    ----------
    k : numpy.ndarray
        (n_plants, n_hours) each plant's own index (:func:`sky_index`), NaN where undefined.
    peers : Peers
    usable : numpy.ndarray, optional
        (n_plants, n_hours) bool: plant-hours that may serve as a peer (False: flagged, cut).
    chunk_plants : int
        Plants per step (bounds the (chunk, MAX_PEERS, n_hours) work array).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The index (n_plants, n_hours), NaN where no peer reports, and the number of peers
        that report (n_plants, n_hours).
    """
    if usable is not None:
        k = np.where(usable, k, np.nan)
    n_p, n_h = peers.index.shape[0], k.shape[1]  # peers may be some plants' rows only
    out = np.full((n_p, n_h), np.nan)
    count = np.zeros((n_p, n_h), dtype=np.int64)
    for a in range(0, n_p, chunk_plants):
        b = min(n_p, a + chunk_plants)
        idx = peers.index[a:b]
        vals = k[np.maximum(idx, 0)]  # (c, K, n_h)
        valid = (idx >= 0)[:, :, None] & np.isfinite(vals)
        w = np.where(valid, peers.weight[a:b, :, None], 0.0)
        vals = np.where(valid, vals, np.inf)
        order = np.argsort(vals, axis=1, kind="stable")
        vs = np.take_along_axis(vals, order, axis=1)
        ws = np.take_along_axis(w, order, axis=1)
        cum = np.cumsum(ws, axis=1)
        total = cum[:, -1:, :]
        pos = np.argmax(cum >= 0.5 * total, axis=1)  # (c, n_h)
        med = np.take_along_axis(vs, pos[:, None, :], axis=1)[:, 0, :]
        have = total[:, 0, :] > 0
        out[a:b] = np.where(have, med, np.nan)
        count[a:b] = valid.sum(axis=1)
    return out, count


# --------------------------------------------------------------------------- expectation


@dataclass(frozen=True)
class Expectation:
    """Expected power of every plant-hour and where it came from.

    Attributes
    ----------
    clear_sky_w : numpy.ndarray
        (n_plants, n_hours) [W]
    sky_index : numpy.ndarray
        (n_plants, n_hours) the index used (peers' or the climate's). [-]
    expected_w : numpy.ndarray
        (n_plants, n_hours) [W]; NaN where neither peers nor the climate default know.
    peers_reporting : numpy.ndarray
        (n_plants, n_hours) int: peers whose index went into the median.
    from_peers : numpy.ndarray
        (n_plants, n_hours) bool: at least :data:`MIN_PEERS` peers reported.
    """

    clear_sky_w: np.ndarray
    sky_index: np.ndarray
    expected_w: np.ndarray
    peers_reporting: np.ndarray
    from_peers: np.ndarray


def _fill_and_expect(
    index: np.ndarray,
    from_peers: np.ndarray,
    count: np.ndarray,
    clear_sky_w: np.ndarray,
    climate_index: np.ndarray,
    rating_w: np.ndarray,
) -> Expectation:
    """The expectation from a sky index NaN where no peer estimate exists: the climate there,
    and at dawn, dusk and night (index undefined; the clear sky is ~0 anyway) the day's nearest
    index (else the climate's)."""
    index = np.where(from_peers, index, climate_index)
    index_df = pd.DataFrame(index.T)
    defined = CLEAR_SKY_FLOOR * np.asarray(rating_w, float)[None, :] <= clear_sky_w.T
    filled = index_df.where(defined).ffill(limit=3).bfill(limit=3).to_numpy().T
    index = np.where(np.isfinite(filled), filled, climate_index)
    return Expectation(clear_sky_w, index, clear_sky_w * index, count, from_peers)


def expected_power(
    ac_power_w: np.ndarray,
    clear_sky_w: np.ndarray,
    climate_index: np.ndarray,
    rating_w: np.ndarray,
    peers: Peers,
    *,
    usable: np.ndarray | None = None,
    min_peers: int = MIN_PEERS,
) -> Expectation:
    """One pass of the peers' expectation (see the module docstring).

    Parameters
    ----------
    ac_power_w : numpy.ndarray
        (n_plants, n_hours) measured hourly mean AC power, NaN where silent. [W]
    clear_sky_w : numpy.ndarray
        (n_plants, n_hours) :func:`clear_sky_power`. [W]
    climate_index : numpy.ndarray
        (n_plants, n_hours) :func:`climate_sky_index` (the fallback). [-]
    rating_w : numpy.ndarray
        (n_plants,) AC rating. [W]
    peers : Peers
    usable : numpy.ndarray, optional
        (n_plants, n_hours) bool: plant-hours allowed as peers.
    min_peers : int

    Returns
    -------
    Expectation
    """
    k = sky_index(ac_power_w, clear_sky_w, rating_w)
    k_peer, count = peer_sky_index(k, peers, usable)
    from_peers = (count >= min_peers) & np.isfinite(k_peer)
    return _fill_and_expect(k_peer, from_peers, count, clear_sky_w, climate_index, rating_w)


def daily_sky_index(
    ac_power_w: np.ndarray, clear_sky_w: np.ndarray, usable: np.ndarray, rating_w: np.ndarray
) -> np.ndarray:
    """(n_plants, n_days) each plant's measured over clear-sky energy per 24 h block of the
    window, over its usable hours with the sky index defined; NaN where it has fewer than 3."""
    n_h = ac_power_w.shape[1]
    day = np.arange(n_h) // 24
    n_days = int(day[-1]) + 1 if n_h else 0
    floor = CLEAR_SKY_FLOOR * np.asarray(rating_w, float)[:, None]
    ok = usable & np.isfinite(ac_power_w) & (clear_sky_w >= floor)
    onehot = np.zeros((n_h, n_days))
    onehot[np.arange(n_h), day] = 1.0
    m = np.where(ok, ac_power_w, 0.0) @ onehot
    c = np.where(ok, clear_sky_w, 0.0) @ onehot
    n = ok.astype(float) @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n >= 3) & (c > 0) & (m > 0), m / c, np.nan)


def sky_sharing(daily_index: np.ndarray, peers: Peers) -> Peers:
    """The peers reweighted by how closely each one's sky followed the plant's own.

    For plant *i* and peer *j*, ``r_ij(d) = log k_i(d) − log k_j(d)`` (their daily sky
    indices, :func:`daily_sky_index`) is constant when they see the same sky: a calibration
    difference, a fault, soiling or a shading shifts it for every peer alike (so it does not
    change which peers rank first), while a cloud field that covers one and not the other
    moves it from day to day. The spread ``s_ij`` is the median absolute day-to-day change of
    ``r_ij`` (a step fault is one change among many, so a median ignores it), and the weight
    becomes ``w_ij × max(SKY_SHARING_MIN_FACTOR, (1 + (s_ij / SKY_SHARING_FLOOR)²)⁻¹)``: peers
    under another sky (a front across the neighbourhood, the far side of a mountain) count
    less, down to a fifth; with fewer than :data:`SKY_SHARING_MIN_DAYS` days, or the same
    spread for all, the weights are the distance and orientation ones.
    """
    n_d = daily_index.shape[1]
    if n_d < SKY_SHARING_MIN_DAYS:
        return peers
    with np.errstate(invalid="ignore", divide="ignore"):
        lk = np.log(daily_index)
    idx = peers.index
    lj = np.where((idx >= 0)[:, :, None], lk[np.maximum(idx, 0)], np.nan)  # (n, K, D)
    r = lk[:, None, :] - lj
    change = np.abs(np.diff(r, axis=2))
    have = np.isfinite(change).any(axis=2)
    with np.errstate(invalid="ignore"):
        spread = np.nanmedian(np.where(have[:, :, None], change, 0.0), axis=2)
    spread = np.where(have, spread, 0.0)
    factor = np.maximum(SKY_SHARING_MIN_FACTOR, 1.0 / (1.0 + (spread / SKY_SHARING_FLOOR) ** 2))
    return Peers(idx, cap_weights(peers.weight * factor), peers.distance_km, peers.radius_km)


def _rows(peers: Peers, rows: np.ndarray) -> Peers:
    return Peers(peers.index[rows], peers.weight[rows], peers.distance_km[rows], peers.radius_km)


def fleet_expectation(
    ac_power_w: np.ndarray,
    clear_sky_w: np.ndarray,
    climate_index: np.ndarray,
    rating_w: np.ndarray,
    peers: Peers,
    *,
    excluded: np.ndarray | None = None,
    min_peers: int = MIN_PEERS,
    wide_peers: Peers | None = None,
) -> Expectation:
    """The expectation in two passes, with a fallback chain before the climate.

    The first pass takes every peer-hour not in ``excluded`` (cuts, alarms); the second leaves
    out of the peers, besides, every plant-day whose energy lay outside
    :data:`PEER_DAY_RANGE` of its first-pass expectation (a fault, soiling, a trip) unless at
    least half of its own peers strayed that day too (then the sky did). Where
    fewer than ``min_peers`` are left in an hour the index comes, in this order, from

    1. the first pass, if it had ``min_peers``: the second left most of the neighbourhood out
       (a grey day on which the whole neighbourhood strayed from its first-pass expectation
       is the sky varying, not every plant failing at once);
    2. the peers of ``wide_peers`` (within :data:`FALLBACK_RADIUS_KM`), second-pass usable:
       a sky index further away still knows the day's clouds, which the climate does not
       (daily clear-sky indices stay correlated over ~100 km, Perez et al. 2012);
    3. the climate default.

    Parameters and result as :func:`expected_power`; ``excluded`` (n_plants, n_hours) bool;
    ``wide_peers`` (:func:`find_peers` with ``radius_km=FALLBACK_RADIUS_KM``), optional.
    ``from_peers`` is True where any of steps 0–2 had ``min_peers``.
    """
    usable = np.ones(ac_power_w.shape, bool) if excluded is None else ~excluded
    k = sky_index(ac_power_w, clear_sky_w, rating_w)
    peers = sky_sharing(daily_sky_index(ac_power_w, clear_sky_w, usable, rating_w), peers)
    k1, n1 = peer_sky_index(k, peers, usable)
    ok1 = (n1 >= min_peers) & np.isfinite(k1)
    first = _fill_and_expect(k1, ok1, n1, clear_sky_w, climate_index, rating_w)
    n_h = ac_power_w.shape[1]
    day = np.arange(n_h) // 24
    measured = np.where(np.isfinite(ac_power_w) & usable, ac_power_w, 0.0)
    expected = np.where(np.isfinite(ac_power_w) & usable, first.expected_w, 0.0)
    n_days = int(day[-1]) + 1 if n_h else 0
    m_day = np.stack([np.bincount(day, weights=r, minlength=n_days) for r in measured])
    e_day = np.stack([np.bincount(day, weights=r, minlength=n_days) for r in expected])
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = m_day / e_day
    low, high = PEER_DAY_RANGE
    off_day = np.isfinite(ratio) & ((ratio < low) | (ratio > high))
    # A plant-day stays in when most of its peers strayed too: the first pass erred that day
    # (a front across the neighbourhood), the plants did not all fail at once.
    has = peers.index >= 0
    peer_off = np.where(has[:, :, None], off_day[np.maximum(peers.index, 0)], False)
    shared = peer_off.sum(axis=1) >= 0.5 * np.maximum(has.sum(axis=1), 1)[:, None]
    off_day &= ~shared
    usable2 = usable & ~off_day[:, day]
    k2, n2 = peer_sky_index(k, peers, usable2)
    ok = (n2 >= min_peers) & np.isfinite(k2)
    index = np.where(ok, k2, np.where(ok1, k1, np.nan))
    count = np.where(ok, n2, n1)
    ok |= ok1
    defined = clear_sky_w >= CLEAR_SKY_FLOOR * np.asarray(rating_w, float)[:, None]
    if wide_peers is not None:
        short = np.flatnonzero((defined & ~ok).any(axis=1))
        if len(short):
            kw, nw = peer_sky_index(k, _rows(wide_peers, short), usable2)
            okw = (nw >= min_peers) & np.isfinite(kw) & ~ok[short]
            index[short] = np.where(okw, kw, index[short])
            count[short] = np.where(okw, nw, count[short])
            ok[short] |= okw
    return _fill_and_expect(index, ok, count, clear_sky_w, climate_index, rating_w)


def nmae(measured: np.ndarray, expected: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Normalised mean absolute error ``Σ|expected − measured| / Σ measured`` over ``mask``
    (and where both are finite). [-]"""
    ok = np.isfinite(measured) & np.isfinite(expected)
    if mask is not None:
        ok &= mask
    total = float(np.sum(measured[ok]))
    return float(np.sum(np.abs(expected[ok] - measured[ok])) / total) if total > 0 else math.nan
