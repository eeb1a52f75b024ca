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
