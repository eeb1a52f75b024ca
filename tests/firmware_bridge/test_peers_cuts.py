"""Cuts in the peers' expectation: a plant whose outage zone, or most of whose neighbourhood, went
silent at once is no sky sensor for the others and is never called underperforming."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from firmware_bridge.peers import LiveReadings, PeerExpectation, local_sky_index
from firmware_bridge.status import StatusTracker
from firmware_bridge.validate import Checked
from telemetry.record import TelemetryRecord
from telemetry.registry import Fleet, parse_fleet

T0 = int(datetime(2026, 7, 1, 7, 0, tzinfo=UTC).timestamp()) * 10**9  # 10:30 in Tehran
MIN_NS = 60 * 10**9
OFFLINE_NS = 900 * 10**9


def tehran_fleet(zones: dict[str, str]) -> Fleet:
    """Twelve alike plants within 3 km of each other in Tehran; ``zones``: outage zone by id."""
    rng = np.random.default_rng(3)
    rows = ["plant_id,latitude,longitude,dc_kwp,ac_kw,tilt_deg,azimuth_deg,outage_zone"]
    for i, (dlat, dlon) in enumerate(rng.uniform(-0.012, 0.012, (12, 2))):
        pid = f"T{i:02d}"
        rows.append(f"{pid},{35.7 + dlat:.5f},{51.4 + dlon:.5f},5,5,30,180,{zones.get(pid, '')}")
    return parse_fleet("\n".join(rows) + "\n")


ZONED = tehran_fleet({"T00": "Z1", "T01": "Z1", "T02": "Z1", "T03": "Z1"})


@pytest.fixture(scope="module")
def zoned() -> PeerExpectation:
    exp = PeerExpectation(ZONED, start_ns=T0 - 3 * 3600 * 10**9, horizon_h=8).start()
    assert exp.wait(300), exp.error
    return exp


def live_readings(exp: PeerExpectation, share: float, now_ns: int) -> LiveReadings:
    """Every plant reporting ``share`` of its clear sky a minute before ``now_ns``."""
    assert exp.grid is not None
    n = len(exp.fleet)
    live = LiveReadings(n)
    ts = now_ns - MIN_NS
    live.ts_ns[:] = ts
    live.seen_ns[:] = ts
    live.clear_sky_w[:] = [exp.grid.clear_sky_at(i, ts) for i in range(n)]
    live.ac_power_w[:] = share * live.clear_sky_w
    return live


def silence(live: LiveReadings, rows: list[int], now_ns: int) -> None:
    """The plants of ``rows`` last heard 40 minutes before ``now_ns``."""
    live.ts_ns[rows] = now_ns - 40 * MIN_NS
    live.seen_ns[rows] = now_ns - 40 * MIN_NS


def test_zone_gone_silent_is_a_cut_and_its_reporting_plant_no_peer(zoned: PeerExpectation) -> None:
    now = T0 + 60 * MIN_NS
    live = live_readings(zoned, 0.9, now)
    _, _, count_before, cut_before = local_sky_index(live, zoned, now, offline_after_ns=OFFLINE_NS)
    assert not cut_before.any()
    # Z1 cut: three of its four plants silent, T03 (hybrid, on its battery) reports a curtailed
    # output that is no measure of the sky.
    silence(live, [0, 1, 2], now)
    live.ac_power_w[3] = 0.2 * live.clear_sky_w[3]
    k, from_peers, count, cut = local_sky_index(live, zoned, now, offline_after_ns=OFFLINE_NS)
    assert cut.tolist() == [True] * 4 + [False] * 8
    # The others' peers: the eight reporting plants outside Z1 (each less itself), not T03.
    assert count[4:].tolist() == [7] * 8
    assert count_before[4:].tolist() == [11] * 8
    assert from_peers[4:].all()
    assert k[4:] == pytest.approx(0.9, abs=1e-6)
    # Half the zone silent is a cut already; a quarter is not.
    live = live_readings(zoned, 0.9, now)
    silence(live, [0], now)
    assert not local_sky_index(live, zoned, now, offline_after_ns=OFFLINE_NS)[3].any()
    silence(live, [0, 1], now)
    assert local_sky_index(live, zoned, now, offline_after_ns=OFFLINE_NS)[3][:4].all()


def test_neighbourhood_gone_silent_is_a_cut_without_zones() -> None:
    fleet = tehran_fleet({})
    exp = PeerExpectation(fleet, start_ns=T0 - 3 * 3600 * 10**9, horizon_h=8).start()
    assert exp.wait(300), exp.error
    assert exp.zone is None
    now = T0 + 60 * MIN_NS
    live = live_readings(exp, 0.9, now)
    silence(live, [0, 1, 2, 3, 4], now)  # five of twelve: a minority of anyone's peers
    cut = local_sky_index(live, exp, now, offline_after_ns=OFFLINE_NS)[3]
    assert not cut.any()
    silence(live, [0, 1, 2, 3, 4, 5, 6, 7], now)  # eight of twelve: most of everyone's peers
    live.ac_power_w[8] = 0.2 * live.clear_sky_w[8]
    _, _, count, cut = local_sky_index(live, exp, now, offline_after_ns=OFFLINE_NS)
    assert cut.all()
    assert count.max() == 0  # nobody in a cut serves as a peer: the climate fallback for all
    # Plants silent for more than a day are gone, not cut.
    live = live_readings(exp, 0.9, now)
    live.ts_ns[:8] = now - 25 * 3600 * 10**9
    assert not local_sky_index(live, exp, now, offline_after_ns=OFFLINE_NS)[3].any()


def reading(pid: str, ts_ns: int, power_w: float) -> Checked:
    rec = TelemetryRecord(plant_id=pid, ts_ns=ts_ns, ac_power_w=power_w, status="producing")
    return Checked(rec, {"plant_id": pid})


def test_plant_in_a_cut_is_never_underperforming(zoned: PeerExpectation) -> None:
    """An hour of the whole fleet at 90 % of clear sky, then a cut of Z1 for an hour: T00–T02
    go silent, T03 reports 20 % of its clear sky from its battery. T03 is not flagged (it was,
    before cuts counted), and the plants outside the zone keep their peers' index."""
    grid = zoned.grid
    assert grid is not None
    ids = ZONED.plants["plant_id"].tolist()
    t = StatusTracker(ZONED, expected=zoned)
    for i in range(120):
        ts = T0 + i * MIN_NS
        for row, pid in enumerate(ids):
            share = 0.9
            if i >= 60 and row < 3:
                continue
            if i >= 60 and row == 3:
                share = 0.2
            t.observe(reading(pid, ts, share * grid.clear_sky_at(row, ts)), ts)
        t.tick(ts + 5 * 10**9)
    now = T0 + 120 * MIN_NS
    hybrid = t.snapshot(t.plants["T03"], now)
    assert hybrid["performance_index"] < 0.4  # far below its expectation ...
    assert hybrid["underperforming"] is False  # ... but in a cut: no fault
    assert bool(t.live.cut[3])
    for pid in ids[4:]:
        snap = t.snapshot(t.plants[pid], now)
        assert snap["expected_from_peers"] is True
        assert snap["sky_index"] == pytest.approx(0.9, abs=0.005)
        assert snap["underperforming"] is False
    # The cut ends: the zone reports again, and T03 at 20 % is flagged within the hour.
    for i in range(120, 180):
        ts = T0 + i * MIN_NS
        for row, pid in enumerate(ids):
            share = 0.2 if row == 3 else 0.9
            t.observe(reading(pid, ts, share * grid.clear_sky_at(row, ts)), ts)
        t.tick(ts + 5 * 10**9)
    assert not t.live.cut.any()
    assert t.plants["T03"].underperforming is True


def test_plant_flagged_before_a_cut_is_cleared_when_it_begins(zoned: PeerExpectation) -> None:
    grid = zoned.grid
    assert grid is not None
    ids = ZONED.plants["plant_id"].tolist()
    t = StatusTracker(ZONED, expected=zoned)
    for i in range(60):
        ts = T0 + i * MIN_NS
        for row, pid in enumerate(ids):
            if i >= 30 and row < 3:
                continue  # Z1 cut from minute 30: three of its plants silent
            share = 0.3 if row == 3 else 0.9
            t.observe(reading(pid, ts, share * grid.clear_sky_at(row, ts)), ts)
            if i == 29 and row == 3:
                assert t.plants["T03"].underperforming is True  # before the cut: a fault
        t.tick(ts + 5 * 10**9)
    assert bool(t.live.cut[3])
    assert t.plants["T03"].underperforming is False
