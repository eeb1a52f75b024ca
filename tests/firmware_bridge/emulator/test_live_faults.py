"""Injected faults in the live (MQTT) emulator: power, alarms, counters, silence, backfill."""

from __future__ import annotations

import numpy as np
import pandas as pd

from firmware_bridge.emulator import Emulator, synthetic_fleet
from firmware_bridge.emulator.faults import Fault
from tests.firmware_bridge.emulator.helpers import HOUR, bell_year, ns, readings_of, ts_ns

START = ns("2025-10-07T00:00:00")  # no cuts in October
END = START + 24 * HOUR


def emulators(faults, n=4, seed=2):
    fleet = synthetic_fleet(n, seed=seed)
    common = {"seed": seed, "interval_s": 300, "typical_year": bell_year(n), "fault_rate": 0.0}
    return Emulator(fleet, faults=faults, **common), Emulator(fleet, **common)


def utc(ns_: int) -> pd.Timestamp:
    return pd.Timestamp(ns_, tz="UTC")


def by_ts(rows):
    return {ts_ns(r["ts"]): r for r in rows}


def test_power_faults_change_power_alarm_and_counter():
    ids = synthetic_fleet(4, seed=2).plants["plant_id"].tolist()
    trip = (START + 5 * HOUR, START + 8 * HOUR)
    faults = [
        Fault(ids[0], "string_fault", utc(START), None, 0.5),
        Fault(ids[1], "inverter_fault", utc(trip[0]), utc(trip[1]), 1.0, alarm_code=404),
    ]
    faulty, free = emulators(faults)
    got, want = (readings_of(e.messages(START, END)) for e in (faulty, free))
    assert got[ids[2]] == want[ids[2]]  # others untouched
    for t, r in by_ts(got[ids[0]]).items():
        w = by_ts(want[ids[0]])[t]
        assert abs(r["ac_power_w"] - 0.5 * w["ac_power_w"]) <= 0.1  # the bell never clips
        if r["ac_power_w"] > 0 and len(r["dc"]) == 2:
            assert r["dc"][1]["w"] == 0.0
    trip_rows = [r for t, r in by_ts(got[ids[1]]).items() if trip[0] <= t < trip[1]]
    assert trip_rows
    assert all(r["ac_power_w"] == 0 and r["alarm_code"] == 404 for r in trip_rows)
    assert len({r["energy_total_wh"] for r in trip_rows}) == 1  # flat
    for rows in got.values():
        e = [r["energy_total_wh"] for r in rows]
        assert (np.diff(e) >= 0).all()
    day_loss = want[ids[1]][-1]["energy_total_wh"] - got[ids[1]][-1]["energy_total_wh"]
    assert day_loss > 0
    # The faulted counter carries on the next day, the loss kept.
    nxt = faulty.readings(np.array([1]), np.array([END + 6 * HOUR]))[0]
    ref = free.readings(np.array([1]), np.array([END + 6 * HOUR]))[0]
    assert ref["energy_total_wh"] - nxt["energy_total_wh"] == day_loss


def test_offline_and_comms_loss_silence_then_backfill():
    ids = synthetic_fleet(4, seed=2).plants["plant_id"].tolist()
    off = (START + 4 * HOUR, START + 9 * HOUR)
    gap = (START + 6 * HOUR, START + 10 * HOUR)
    faults = [
        Fault(ids[0], "offline", utc(off[0]), utc(off[1]), 1.0),
        Fault(ids[3], "comms_loss", utc(gap[0]), utc(gap[1]), 1.0),
    ]
    faulty, free = emulators(faults)
    msgs = list(faulty.messages(START, END))
    got, want = readings_of(msgs), readings_of(free.messages(START, END))
    dead = by_ts(got[ids[0]])
    assert not any(off[0] <= t < off[1] for t in dead)
    first_after = min(t for t in dead if t >= off[1])
    assert dead[first_after] == by_ts(want[ids[0]])[first_after]  # the counter advanced

    # The comms loss: nothing live in the gap, all of it in batches after, nothing lost.
    def bare(rows):
        return [{k: v for k, v in r.items() if k not in ("v", "plant_id")} for r in rows]

    assert bare(got[ids[3]]) == bare(want[ids[3]])
    import json

    live_in_gap = [
        m
        for m in msgs
        if m[2] == "reading"
        and json.loads(m[1])["plant_id"] == ids[3]
        and gap[0] <= ts_ns(json.loads(m[1])["ts"]) < gap[1]
    ]
    assert not live_in_gap
    batches = [json.loads(m[1]) for m in msgs if m[2] == "batch"]
    assert sum(len(b["readings"]) for b in batches if b["plant_id"] == ids[3]) == 48
