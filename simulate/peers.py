"""Each plant's peers: the other plants of the fleet near it and alike, with their weights.

The fleet as its own irradiance sensor (:mod:`triage.expected`, the bridge's live status in
:mod:`firmware_bridge.peers`): a plant's sky is judged by the median of its peers' clear-sky
indices. Peers are the other plants within :data:`PEER_RADIUS_KM` (25 km: the scale over which
hourly clear-sky indices of neighbouring sites still correlate strongly, r ≳ 0.8 in Perez et
al. 2012 and Lave & Kleissl 2013), at most :data:`MAX_PEERS` nearest ones, weighted by
distance (``exp(−d / DISTANCE_SCALE_KM)``) and orientation similarity
(``exp(−½ (Δazimuth / AZIMUTH_SCALE_DEG)² − ½ (Δtilt / TILT_SCALE_DEG)²)``), no peer above
:data:`MAX_PEER_SHARE` of the plant's total weight (:func:`cap_weights`: a weighted median in
which one peer holds half the weight is that peer's value, fault and all).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from telemetry.registry import Fleet

__all__ = [
    "AZIMUTH_SCALE_DEG",
    "CLEAR_SKY_FLOOR",
    "DISTANCE_SCALE_KM",
    "MAX_PEERS",
    "MAX_PEER_SHARE",
    "MIN_PEERS",
    "PEER_RADIUS_KM",
    "SKY_INDEX_MAX",
    "TILT_SCALE_DEG",
    "Peers",
    "cap_weights",
    "find_peers",
    "peers_of_fleet",
]

#: No peer carries more than this share of a plant's total weight (:func:`cap_weights`).
MAX_PEER_SHARE = 0.25
#: Peers are the plants within this distance. [km]
PEER_RADIUS_KM = 25.0
#: Fewer reporting peers than this: the climate default instead.
MIN_PEERS = 5
#: At most this many nearest peers per plant (bounds the work in dense cities).
MAX_PEERS = 30
#: Distance weight ``exp(-d / DISTANCE_SCALE_KM)``. [km]
DISTANCE_SCALE_KM = 10.0
#: Orientation weight scales. [degree]
AZIMUTH_SCALE_DEG = 45.0
TILT_SCALE_DEG = 20.0
#: The sky index is defined where the clear-sky output is at least this share of the AC rating.
CLEAR_SKY_FLOOR = 0.05
#: Sky indices are clipped to ``[0, SKY_INDEX_MAX]`` (cloud enhancement; bad readings).
SKY_INDEX_MAX = 1.5

_EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Peers:
    """Each plant's peers.

    Attributes
    ----------
    index : numpy.ndarray
        (n_plants, MAX_PEERS) row of each peer, -1 where there is none (nearest first).
    weight : numpy.ndarray
        (n_plants, MAX_PEERS) distance × orientation weight, 0 where there is no peer. [-]
    distance_km : numpy.ndarray
        (n_plants, MAX_PEERS) [km], inf where there is no peer.
    radius_km : float
    """

    index: np.ndarray
    weight: np.ndarray
    distance_km: np.ndarray
    radius_km: float

    @property
    def count(self) -> np.ndarray:
        """(n_plants,) number of peers within the radius."""
        return (self.index >= 0).sum(axis=1)


def cap_weights(weight: np.ndarray, share: float = MAX_PEER_SHARE) -> np.ndarray:
    """Peer weights (n_plants, n_peers) with none above ``share`` of its row's total.

    A weighted median is robust only while no single weight reaches half the total: a plant
    whose nearest neighbour stands 3 km away and the rest 20 km (``exp(−d/10 km)``: 0.74 against
    0.14 each) would otherwise take that one neighbour's sky index, and its fault with it. The
    cap is exact (the capped weights are set to the level at which each holds ``share`` of the
    new total); a row with at most ``1 / share`` peers is left as it is.
    """
    w = np.asarray(weight, float)
    enough = ((w > 0).sum(axis=1) > math.ceil(1.0 / share))[:, None]
    capped = np.zeros(w.shape, bool)
    cap = np.full((w.shape[0], 1), np.inf)
    for _ in range(w.shape[1]):
        # the level c at which the capped peers hold exactly ``share`` each of the total:
        # c = share × (sum of the uncapped) / (1 − share × number capped)
        free = np.where(capped, 0.0, w).sum(axis=1, keepdims=True)
        m = capped.sum(axis=1, keepdims=True)
        cap = share * free / np.maximum(1.0 - share * m, 1e-12)
        over = enough & ~capped & (w > cap)
        if not over.any():
            break
        capped |= over
    return np.where(enough & capped, np.minimum(w, cap), w)


def find_peers(
    latitude_deg: np.ndarray,
    longitude_deg: np.ndarray,
    tilt_deg: np.ndarray,
    azimuth_deg: np.ndarray,
    *,
    radius_km: float = PEER_RADIUS_KM,
    max_peers: int = MAX_PEERS,
) -> Peers:
    """The nearest other plants within ``radius_km`` and their weights.

    Parameters
    ----------
    latitude_deg, longitude_deg : numpy.ndarray
        (n_plants,) [degree]
    tilt_deg, azimuth_deg : numpy.ndarray
        (n_plants,) [degree], pvlib convention (180 = south).
    radius_km : float
        [km]
    max_peers : int

    Returns
    -------
    Peers
    """
    from scipy.spatial import cKDTree

    lat = np.radians(np.asarray(latitude_deg, float))
    lon = np.radians(np.asarray(longitude_deg, float))
    xyz = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1)
    n = len(lat)
    k = min(max_peers + 1, n)
    chord = 2.0 * math.sin(radius_km / _EARTH_RADIUS_KM / 2.0)
    index = np.full((n, max_peers), -1, dtype=np.int64)
    dist = np.full((n, max_peers), np.inf)
    if n > 1:
        d, j = cKDTree(xyz).query(xyz, k=k, distance_upper_bound=chord)
        d, j = np.atleast_2d(d).reshape(n, k), np.atleast_2d(j).reshape(n, k)
        self_hit = j == np.arange(n)[:, None]
        d = np.where(self_hit, np.inf, d)
        order = np.argsort(d, axis=1, kind="stable")[:, :max_peers]
        d = np.take_along_axis(d, order, axis=1)
        j = np.take_along_axis(j, order, axis=1)
        ok = np.isfinite(d)
        width = d.shape[1]
        index[:, :width] = np.where(ok, j, -1)
        dist[:, :width] = np.where(
            ok, 2.0 * _EARTH_RADIUS_KM * np.arcsin(np.minimum(d, 2) / 2), np.inf
        )
    tilt = np.asarray(tilt_deg, float)
    az = np.asarray(azimuth_deg, float)
    safe = np.maximum(index, 0)
    d_az = np.abs((az[safe] - az[:, None] + 180.0) % 360.0 - 180.0)
    d_tilt = tilt[safe] - tilt[:, None]
    weight = np.exp(-dist / DISTANCE_SCALE_KM) * np.exp(
        -0.5 * (d_az / AZIMUTH_SCALE_DEG) ** 2 - 0.5 * (d_tilt / TILT_SCALE_DEG) ** 2
    )
    weight = np.where(index >= 0, weight, 0.0)
    return Peers(index, cap_weights(weight), dist, float(radius_km))


def peers_of_fleet(fleet: Fleet, radius_km: float = PEER_RADIUS_KM) -> Peers:
    """:func:`find_peers` on a fleet's coordinates and orientations."""
    p = fleet.plants
    return find_peers(
        p["latitude"].to_numpy(float),
        p["longitude"].to_numpy(float),
        p["tilt_deg"].to_numpy(float),
        p["azimuth_deg"].to_numpy(float),
        radius_km=radius_km,
    )
