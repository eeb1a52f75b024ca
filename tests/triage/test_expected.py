"""The peers' expectation: error on fault-free plants beside the month × hour mean."""

from __future__ import annotations

import numpy as np
import pytest

from tests.triage import synthetic as syn
from triage import expected as ex
from triage.hourly import bin_hourly


@pytest.fixture(scope="module")
def clean():
    fleet = syn.make_fleet()
    labels, P = syn.hourly_power()
    h = bin_hourly(syn.readings_from_power(fleet, labels, P), fleet.plant_ids, labels)
    cs = ex.clear_sky_power(fleet, labels)
    ci = ex.climate_sky_index(fleet, labels)
    rating = 1000.0 * fleet.plants.ac_kw.to_numpy(float)
    e = ex.fleet_expectation(h.ac_power_w, cs, ci, rating, ex.peers_of_fleet(fleet))
    return fleet, labels, P, e


def _daily(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], -1, 24).sum(axis=2)


def test_peers_beat_the_month_hour_mean(clean) -> None:
    fleet, labels, P, e = clean
    with_peers = np.array([pid != syn.LONE[0] for pid in fleet.plant_ids])
    mh = ex.month_hour_expectation(fleet, labels)
    peer_h = ex.nmae(P[with_peers], e.expected_w[with_peers])
    peer_d = ex.nmae(_daily(P[with_peers]), _daily(e.expected_w[with_peers]))
    mh_h = ex.nmae(P[with_peers], mh[with_peers])
    mh_d = ex.nmae(_daily(P[with_peers]), _daily(mh[with_peers]))
    print(f"nMAE hourly {peer_h:.3f} vs {mh_h:.3f}; daily {peer_d:.3f} vs {mh_d:.3f}")
    assert peer_h < 0.07  # the synthetic fleet's own noise is 4 % hourly, ±3 % calibration
    assert peer_d < 0.04
    assert peer_h < 0.6 * mh_h
    assert peer_d < 0.6 * mh_d


def test_lone_plant_falls_back_to_the_climate(clean) -> None:
    fleet, _labels, _P, e = clean
    i = fleet.plant_ids.index(syn.LONE[0])
    assert not e.from_peers[i].any()
    assert np.isfinite(e.expected_w[i]).all()
    day = e.clear_sky_w[i] > 1000
    assert 0.3 < e.sky_index[i, day].mean() <= 1.0
    others = e.from_peers[[k for k in range(len(fleet)) if k != i]]
    assert others[:, e.clear_sky_w[0] > 1000].mean() > 0.95


def test_weighted_median_ignores_one_bad_peer() -> None:
    peers = ex.find_peers(
        np.array([35.0, 35.01, 35.02, 35.03, 35.04, 35.05, 36.5]),
        np.full(7, 51.0),
        np.full(7, 30.0),
        np.full(7, 180.0),
    )
    assert peers.count.tolist() == [5, 5, 5, 5, 5, 5, 0]
    k = np.array([[0.5], [0.5], [0.52], [0.48], [0.0], [0.5], [0.9]])
    med, n = ex.peer_sky_index(k, peers)
    assert med[0, 0] == pytest.approx(0.5)
    assert n[0, 0] == 5
    assert np.isnan(med[6, 0])
    _med2, n2 = ex.peer_sky_index(k, peers, usable=np.array([[True]] * 4 + [[False]] * 3))
    assert n2[0, 0] == 3


def test_orientation_weights_prefer_similar_roofs() -> None:
    peers = ex.find_peers(
        np.array([35.0, 35.001, 35.001]),
        np.array([51.0, 51.0, 51.001]),
        np.array([30.0, 30.0, 30.0]),
        np.array([180.0, 180.0, 90.0]),
    )
    w = dict(zip(peers.index[0], peers.weight[0], strict=False))
    assert w[1] > 3 * w[2]


def test_nmae_is_relative() -> None:
    assert ex.nmae(np.array([100.0, 100.0]), np.array([110.0, 90.0])) == pytest.approx(0.1)
    assert np.isnan(ex.nmae(np.zeros(2), np.ones(2)))


def test_too_few_near_peers_fall_back_to_the_wider_ring_not_the_climate(clean) -> None:
    # Near peers within 1 km: none, so every hour would be the climate's; with the 75 km ring
    # the city's plants stand in and the expectation follows the day's clouds.
    fleet, labels, P, _ = clean
    h = bin_hourly(syn.readings_from_power(fleet, labels, P), fleet.plant_ids, labels)
    cs = ex.clear_sky_power(fleet, labels)
    ci = ex.climate_sky_index(fleet, labels)
    rating = 1000.0 * fleet.plants.ac_kw.to_numpy(float)
    near = ex.peers_of_fleet(fleet, radius_km=1.0)
    wide = ex.peers_of_fleet(fleet, ex.FALLBACK_RADIUS_KM)
    alone = ex.fleet_expectation(h.ac_power_w, cs, ci, rating, near)
    ringed = ex.fleet_expectation(h.ac_power_w, cs, ci, rating, near, wide_peers=wide)
    city = np.array([pid != syn.LONE[0] for pid in fleet.plant_ids])
    day = cs >= 0.2 * rating[:, None]
    assert not alone.from_peers[city][day[city]].any()
    assert ringed.from_peers[city][day[city]].mean() > 0.95
    err_ring = ex.nmae(P[city], ringed.expected_w[city])
    err_climate = ex.nmae(P[city], alone.expected_w[city])
    assert err_ring < 0.07
    assert err_ring < 0.5 * err_climate
    lone = fleet.plant_ids.index(syn.LONE[0])
    assert not ringed.from_peers[lone].any()  # nobody within 75 km: the climate


def test_one_near_peer_cannot_be_the_median_alone() -> None:
    # The nearest neighbour 1 km away (exp(−d/10 km) 0.90 against ≈ 0.13 for the rest at
    # 20 km) would hold most of the weight: its fault would become the plant's sky.
    lat = np.array([35.0, 35.009, 35.18, 35.18, 35.18, 35.18, 35.18])
    lon = np.array([51.0, 51.0, 50.98, 50.99, 51.0, 51.01, 51.02])
    peers = ex.find_peers(lat, lon, np.full(7, 30.0), np.full(7, 180.0))
    assert peers.index[0, 0] == 1
    share = peers.weight[0] / peers.weight[0].sum()
    assert share.max() <= ex.MAX_PEER_SHARE + 1e-9
    k = np.array([[0.8], [0.3], [1.0], [1.0], [1.0], [1.0], [1.0]])
    med, _n = ex.peer_sky_index(k, peers)
    assert med[0, 0] == pytest.approx(1.0)
    # uncapped, the one peer decides
    raw = np.exp(-peers.distance_km[0] / ex.DISTANCE_SCALE_KM)
    assert raw[0] > 0.5 * raw[np.isfinite(raw)].sum()


def test_sky_sharing_prefers_peers_under_the_same_sky() -> None:
    # Plant 0 and peers 1–3 under one sky, peers 4–9 (the majority, same distance) under
    # another that is darker on alternate days: the plant's own days follow the first sky.
    n, days = 10, 6
    peers = ex.find_peers(
        35.0 + 0.001 * np.arange(n), np.full(n, 51.0), np.full(n, 30.0), np.full(n, 180.0)
    )
    a = np.array([0.95, 0.9, 0.97, 0.92, 0.96, 0.9])
    b = a * np.where(np.arange(days) % 2 == 0, 0.7, 1.0)
    daily = np.vstack([a * 0.97] + [a] * 3 + [b] * 6)  # plant 0 3 % low: calibration
    shared = ex.sky_sharing(daily, peers)
    w = dict(zip(shared.index[0], shared.weight[0], strict=False))
    assert min(w[j] for j in (1, 2, 3)) > 3 * max(w[j] for j in range(4, n))
    k = np.repeat(daily, 24, axis=1)
    med, _ = ex.peer_sky_index(k, shared)
    plain, _ = ex.peer_sky_index(k, peers)
    dark_hours = np.repeat(np.arange(days) % 2 == 0, 24)
    assert med[0, dark_hours] == pytest.approx(np.repeat(a, 24)[dark_hours])
    assert plain[0, dark_hours] == pytest.approx(np.repeat(b, 24)[dark_hours])
    # a fault of the plant (a step) shifts its ratio to every peer alike: the same choice
    stepped = daily.copy()
    stepped[0, 3:] *= 0.6
    w2 = ex.sky_sharing(stepped, peers).weight[0]
    assert np.argsort(-w2)[:3].tolist() == np.argsort(-shared.weight[0])[:3].tolist()
    # fewer days than needed: the distance and orientation weights
    assert ex.sky_sharing(daily[:, :2], peers) is peers
