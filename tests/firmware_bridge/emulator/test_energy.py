"""Power and counters: the simulator's typical year, clouds, faults, cuts, household load."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from firmware_bridge.emulator import (
    Emulator,
    typical_year,
)
from simulate.load import essential_profile_w, plant_loads
from tests.firmware_bridge.emulator.helpers import (
    DAY,
    SEC,
    emulator,
    ns,
    read_fleet_subset,
    readings_of,
    ts_ns,
)

TEHRAN = ZoneInfo("Asia/Tehran")


def tehran(t_ns: int) -> datetime:
    return datetime.fromtimestamp(t_ns / SEC, UTC).astimezone(TEHRAN)


def test_counters_monotonic_seq_increasing_night_zero_and_physics():
    e = emulator(n=10, fault_rate=0.3)
    start = ns("2026-07-01T00:00:00")
    by_plant = readings_of(e.messages(start, start + 2 * DAY))
    assert len(by_plant) == 10
    for pid, rows in by_plant.items():
        energy = [r["energy_total_wh"] for r in rows]
        seq = [r["seq"] for r in rows]
        assert all(b >= a for a, b in itertools.pairwise(energy)), pid
        assert all(b == a + 1 for a, b in itertools.pairwise(seq)), pid
        assert 1_000_000 < energy[0] < 40_000_000  # 0.2–3.5 years of a 5 kW plant
        # A day's counter increase equals its power integrated (minute readings).
        day = [r for r in rows if r["ts"].startswith("2026-07-01")]
        integral_wh = sum(r["ac_power_w"] for r in day) / 60.0
        assert day[-1]["energy_total_wh"] - day[0]["energy_total_wh"] == pytest.approx(
            integral_wh, rel=0.01, abs=30
        )
        assert 10_000 < integral_wh < 45_000  # (the hand-made year is a clear 4.6 kW bell)
        for r in rows:
            hour = int(r["ts"][11:13])
            if 16 <= hour <= 23 or hour < 2:  # Tehran night (19:30–05:30)
                assert r["ac_power_w"] == 0.0
                assert r["status"] in ("standby", "off")
            assert 0.0 <= r["ac_power_w"] <= 5000.0
            assert (r["status"] == "producing") == (r["ac_power_w"] > 0)
            assert (r["status"] == "fault") == (r["alarm_code"] != 0)
            if r["ac_freq_hz"] == 0.0:  # a power cut: no grid
                assert r["ac_voltage_v"] == 0.0
                assert r["status"] in ("off", "fault")
            else:
                assert 225.0 <= r["ac_voltage_v"] <= 235.0
                assert abs(r["ac_freq_hz"] - 50.0) <= 0.05
                assert r["ac_current_a"] == pytest.approx(
                    r["ac_power_w"] / r["ac_voltage_v"], abs=0.01
                )
            assert len(r["dc"]) in (1, 2)
            dc_w = sum(s["w"] for s in r["dc"])
            if r["ac_power_w"] > 0:
                assert dc_w == pytest.approx(r["ac_power_w"] / 0.96 + 12.0, abs=0.3)
                assert all(250 < s["v"] < 450 for s in r["dc"])
            else:
                assert dc_w == 0.0
            assert -100 <= r["rssi_dbm"] <= -50
            assert 0 < r["temp_c"] < 70
    statuses = Counter(r["status"] for rows in by_plant.values() for r in rows)
    assert statuses["producing"]
    assert statuses["standby"]
    assert statuses["fault"]


def test_power_follows_the_simulator():
    fleet = read_fleet_subset(6)
    ty = typical_year(fleet)
    e = Emulator(fleet, seed=0, typical_year=ty, outage_blocks_per_day=0.0, fault_rate=0.0)
    # Mid-hour readings equal the hourly mean scaled by the day's cloudiness (≤ 1, mostly > 0.9).
    hour = 24 * 181 + 8  # 1 July 08:00–09:00 UTC (11:30–12:30 Tehran)
    t = ns("2026-07-01T08:30:00")
    got = np.array([r["ac_power_w"] for r in e.readings(np.arange(6), np.full(6, t))])
    ratio = got / ty.ac_power_w[:, hour]
    assert np.all((ratio > 0.3) & (ratio <= 1.0001))
    assert np.median(ratio) > 0.9
    night = e.readings(np.arange(6), np.full(6, ns("2026-07-01T21:00:00")))
    assert all(r["ac_power_w"] == 0.0 and r["status"] == "standby" for r in night)
    assert np.all((e.annual_energy_wh > 6_000_000) & (e.annual_energy_wh < 10_000_000))

    # Sunrise on the local clock: the first producing reading of each plant on 21 June comes
    # within 90 minutes after the sun rises there (pvlib SPA), both in Asia/Tehran time.
    from pvlib.solarposition import sun_rise_set_transit_spa

    day = ns("2026-06-21T00:00:00")
    times = day + np.arange(0, DAY, 60 * SEC)
    plants = fleet.plants
    for i in range(6):
        rows = e.readings(np.full(len(times), i), times)
        first = next(ts_ns(r["ts"]) for r in rows if r["ac_power_w"] > 0)
        sun = sun_rise_set_transit_spa(
            pd.DatetimeIndex([pd.Timestamp("2026-06-21 12:00", tz=TEHRAN)]),
            plants["latitude"].iloc[i],
            plants["longitude"].iloc[i],
        )
        sunrise = sun["sunrise"].iloc[0].to_pydatetime()
        assert sunrise.utcoffset() == tehran(first).utcoffset()  # +03:30, no DST
        lag_min = (tehran(first) - sunrise).total_seconds() / 60
        assert 0 < lag_min < 90, (plants["plant_id"].iloc[i], tehran(first), sunrise)
        assert 4 <= tehran(first).hour <= 7


def test_hybrid_plant_serves_the_essential_load_of_the_local_hour_during_a_cut():
    """A hybrid plant's power during a cut is its household's essential load from
    :mod:`simulate.load` (scaled by ``essential_load_w``) at the Asia/Tehran month and hour,
    not a flat figure: 500 W × scale on a July afternoon, less on a July morning."""
    e = emulator(n=31, seed=5, fault_rate=0.0)
    free = emulator(n=31, seed=5, fault_rate=0.0, outage_blocks_per_day=0.0)  # no cuts
    plants = e.fleet.plants
    loads = plant_loads(plants["plant_id"].tolist(), plants["essential_load_w"].to_numpy(float))
    start = ns("2025-07-01T00:00:00")
    seen_hours, capped = set(), 0
    for cut in e.outages(start, start + 5 * DAY):
        for p in np.flatnonzero((e.plant_cut_zones == cut.zone) & e.hybrid):
            times = np.arange(cut.start_ns, cut.end_ns, 10 * 60 * SEC)
            index = np.full(len(times), p)
            pv = [r["ac_power_w"] for r in free.readings(index, times)]
            for r, pv_w, t in zip(e.readings(index, times), pv, times, strict=True):
                when = tehran(int(t))
                load_w = float(loads.cut_load_w(p, when.month - 1, when.hour))
                assert r["ac_power_w"] == pytest.approx(min(load_w, pv_w), abs=0.06)
                assert r["ac_freq_hz"] > 0  # the hybrid inverter keeps its AC side up
                capped += pv_w > load_w + 1
                seen_hours.add(when.hour)
    assert capped > 20
    assert {14, 15} & seen_hours
    assert {8, 9} & seen_hours
    scale = plants["essential_load_w"].to_numpy(float) / 500.0
    assert loads.cut_load_w(0, 6, 15) == pytest.approx(500.0 * scale[0])
    assert essential_profile_w()[6, 8] < essential_profile_w()[6, 15]


def test_faults_start_in_local_daytime():
    """Faults stop a plant for 0.5–4 h starting between 07:00 and 17:00 Asia/Tehran."""
    e = emulator(n=10, fault_rate=1.0, outage_blocks_per_day=0.0)
    start = ns("2026-03-10T00:00:00")
    times = start + np.arange(0, 3 * DAY, 30 * 60 * SEC)
    for p in range(e.n_plants):
        rows = e.readings(np.full(len(times), p), times)
        faults = [tehran(ts_ns(r["ts"])) for r in rows if r["status"] == "fault"]
        assert faults
        assert all(7 <= f.hour < 21 for f in faults)
        days = {f.date() for f in faults}
        assert len(days) == 3  # one a day
        for d in days:
            first = min(f for f in faults if f.date() == d)
            assert 7 <= first.hour < 17
            stop = max(f for f in faults if f.date() == d)
            assert (stop - first).total_seconds() < 4 * 3600
