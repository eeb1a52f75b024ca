"""``plant_status`` against the expectation from the peers (issue 17): a grey day is no fault, a
plant at half its peers' output is, and too few peers fall back to the climate default."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pytest

from firmware_bridge.peers import PeerExpectation, weighted_median
from firmware_bridge.status import ExpectedPower, StatusTracker
from firmware_bridge.validate import Checked
from telemetry.lineprotocol import parse_line
from telemetry.record import TelemetryRecord
from telemetry.registry import Fleet, parse_fleet

# Seven plants within 3 km of each other in Tehran, and one alone in Zahedan.
FLEET = parse_fleet(
    "plant_id,latitude,longitude,dc_kwp,ac_kw,tilt_deg,azimuth_deg,province\n"
    "H,35.700,51.400,5,5,30,180,Tehran\n"
    "F,35.705,51.410,5,5,30,180,Tehran\n"
    "P1,35.710,51.390,5,5,25,175,Tehran\n"
    "P2,35.690,51.420,5,5,30,185,Tehran\n"
    "P3,35.715,51.405,5,5,30,180,Tehran\n"
    "P4,35.695,51.385,5,5,35,180,Tehran\n"
    "P5,35.720,51.415,5,5,30,190,Tehran\n"
    "ALONE,29.500,60.860,5,5,30,180,Sistan and Baluchestan\n"
)
T0 = int(datetime(2026, 7, 1, 7, 0, tzinfo=UTC).timestamp()) * 10**9  # 10:30 in Tehran
MIN_NS = 60 * 10**9


@pytest.fixture(scope="module")
def peer() -> PeerExpectation:
    exp = PeerExpectation(FLEET, start_ns=T0 - 3 * 3600 * 10**9, horizon_h=8).start()
    assert exp.wait(300), exp.error
    return exp


def reading(pid: str, ts_ns: int, power_w: float) -> Checked:
    rec = TelemetryRecord(plant_id=pid, ts_ns=ts_ns, ac_power_w=power_w, status="producing")
    return Checked(rec, {"plant_id": pid})


def run_hour(
    tracker: StatusTracker, fleet: Fleet, share: Callable[[str], float], clear: Callable
) -> None:
    """An hour of one-minute readings of every plant at ``share(pid)`` of its clear sky, the
    status ticking every minute as the bridge's metrics thread does."""
    for i in range(60):
        t = T0 + i * MIN_NS
        for row, pid in enumerate(fleet.plants["plant_id"]):
            tracker.observe(reading(pid, t, share(pid) * clear(row, t)), t)
        tracker.tick(t + 5 * 10**9)


def test_weighted_median_ignores_nan_and_zero_weights() -> None:
    v = np.array([[1.0, 2.0, 3.0, np.nan], [5.0, 1.0, 9.0, 2.0], [np.nan, np.nan, 1.0, 1.0]])
    w = np.array([[1.0, 1.0, 1.0, 5.0], [1.0, 0.0, 3.0, 1.0], [1.0, 1.0, 0.0, 0.0]])
    med, count = weighted_median(v, w)
    assert med[0] == 2.0
    assert med[1] == 9.0  # weights 1 (2), 1 (5), 3 (9): half of 5 reached at 9
    assert np.isnan(med[2])
    assert count.tolist() == [3, 3, 0]


def test_grey_day_is_no_fault_against_the_peers_but_was_against_the_month_hour_mean(
    peer: PeerExpectation,
) -> None:
    clear = peer.grid.clear_sky_at  # type: ignore[union-attr]
    t = StatusTracker(FLEET, expected=peer)
    run_hour(t, FLEET, lambda pid: 0.4, clear)
    now = T0 + 60 * MIN_NS
    snap = t.snapshot(t.plants["H"], now)
    assert snap["expected_from_peers"] is True
    assert snap["sky_index"] == pytest.approx(0.4, abs=0.01)
    assert snap["performance_index"] == pytest.approx(1.0, abs=0.03)
    assert snap["underperforming"] is False
    assert not any(st.underperforming for pid, st in t.plants.items() if pid != "ALONE")
    assert t.plants["ALONE"].underperforming  # no peers: the climate's sky, as before
    point = parse_line(t.tick(now + 301 * 10**9)[0])
    assert {"sky_index", "expected_from_peers", "performance_index"} <= set(point.fields)

    # The same readings against the typical-year month × hour mean: every Tehran plant flagged.
    old = ExpectedPower(FLEET).start()
    assert old.wait(300), old.error
    t_old = StatusTracker(FLEET, expected=old)
    run_hour(t_old, FLEET, lambda pid: 0.4, clear)
    old_snap = t_old.snapshot(t_old.plants["H"], now)
    assert old_snap["performance_index"] < 0.5
    assert old_snap["underperforming"] is True


def test_plant_at_half_its_peers_output_on_a_clear_day_underperforms(
    peer: PeerExpectation,
) -> None:
    clear = peer.grid.clear_sky_at  # type: ignore[union-attr]
    t = StatusTracker(FLEET, expected=peer)
    run_hour(t, FLEET, lambda pid: 0.475 if pid == "F" else 0.95, clear)
    now = T0 + 60 * MIN_NS
    f = t.snapshot(t.plants["F"], now)
    h = t.snapshot(t.plants["H"], now)
    assert f["expected_from_peers"] is True
    assert f["sky_index"] == pytest.approx(0.95, abs=0.01)
    assert f["performance_index"] == pytest.approx(0.5, abs=0.03)
    assert f["underperforming"] is True
    # F is left out of the others' peers; they stay at index ~1.
    assert h["performance_index"] == pytest.approx(1.0, abs=0.03)
    assert h["underperforming"] is False


def test_too_few_peers_fall_back_to_the_climate_default(peer: PeerExpectation) -> None:
    clear = peer.grid.clear_sky_at  # type: ignore[union-attr]
    t = StatusTracker(FLEET, expected=peer)
    run_hour(t, FLEET, lambda pid: 0.9, clear)
    now = T0 + 60 * MIN_NS
    alone = t.snapshot(t.plants["ALONE"], now)
    row = list(FLEET.plants["plant_id"]).index("ALONE")
    climate = float(peer.grid.climate_at(now)[row])  # type: ignore[union-attr]
    assert 0.5 < climate <= 1.0
    assert alone["expected_from_peers"] is False
    assert alone["sky_index"] == pytest.approx(climate, abs=1e-3)
    assert alone["performance_index"] == pytest.approx(0.9 / climate, abs=0.03)
    # Three Tehran plants silent and two in alarm: H has one reporting peer left, the climate.
    t2 = StatusTracker(FLEET, expected=peer)
    for i in range(20):
        ts = T0 + i * MIN_NS
        for row2, pid in enumerate(FLEET.plants["plant_id"]):
            if pid in ("P1", "P2", "P3") and i > 2:
                continue
            rec = TelemetryRecord(
                plant_id=pid,
                ts_ns=ts,
                ac_power_w=0.4 * clear(row2, ts),
                alarm_code=7 if pid in ("P4", "P5") else 0,
            )
            t2.observe(Checked(rec, {"plant_id": pid}), ts)
        t2.tick(ts)
    h = t2.snapshot(t2.plants["H"], T0 + 19 * MIN_NS)
    assert h["expected_from_peers"] is False


def test_no_expectation_yet_and_plants_at_sea_get_none() -> None:
    fleet = parse_fleet(
        "plant_id,latitude,longitude,dc_kwp,ac_kw,tilt_deg,azimuth_deg\n"
        "SEA,0.0,-140.0,5,5,10,180\nTHR,35.7,51.4,5,5,30,180\n"
    )
    exp = PeerExpectation(fleet, start_ns=T0 - 3600 * 10**9, horizon_h=4)
    t = StatusTracker(fleet, expected=exp)  # not started: the status works without it
    t.observe(reading("THR", T0, 3000.0), T0)
    snap = t.snapshot(t.plants["THR"], T0)
    assert "sky_index" not in snap
    assert "performance_index" not in snap
    exp.start()
    assert exp.wait(300), exp.error
    t.observe(reading("SEA", T0 + MIN_NS, 3000.0), T0 + MIN_NS)
    t.observe(reading("THR", T0 + MIN_NS, 3000.0), T0 + MIN_NS)
    t.tick(T0 + MIN_NS)
    assert "sky_index" not in t.snapshot(t.plants["SEA"], T0 + MIN_NS)
    thr = t.snapshot(t.plants["THR"], T0 + MIN_NS)
    assert thr["expected_from_peers"] is False
    assert "performance_index" in thr
