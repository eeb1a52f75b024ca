"""Offline generator: each fault changes exactly what it should; cuts; counters; truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from firmware_bridge.emulator import offline, synthetic_fleet
from firmware_bridge.emulator.faults import Fault, random_faults
from firmware_bridge.emulator.offline import emulated_readings, pvwatts_ac_w, pvwatts_dc_w
from telemetry.errors import InputError

T0 = pd.Timestamp("2025-10-01", tz="UTC")  # no cuts in October (the calendars as they happened)
T1 = T0 + pd.Timedelta(days=14)
SUN_UTC_H = (3, 13)  # flat DC from 03:30 to 12:30 UTC (07:00–16:00 Tehran), ramps beside


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.fixture
def flat_dc(monkeypatch):
    """Every plant's DC is ``dc_w`` in the sun hours of every day, no spread, no noise."""

    def install(dc_w: float = 2000.0) -> None:
        def hourly(fleet, hour_starts_ns, sample, timezone):
            hour = (hour_starts_ns // 3_600_000_000_000) % 24
            day = (hour >= SUN_UTC_H[0]) & (hour < SUN_UTC_H[1])
            return np.where(day, dc_w, 0.0)[None, :].repeat(len(fleet), 0), "flat"

        monkeypatch.setattr(offline, "_hourly_dc_w", hourly)
        monkeypatch.setattr(offline, "PLANT_SPREAD", 0.0)
        monkeypatch.setattr(offline, "READING_NOISE", 0.0)

    return install


@pytest.fixture(scope="module")
def fleet():
    return synthetic_fleet(8, seed=1)


def plant_rows(run, pid: str) -> pd.DataFrame:
    """A plant's readings by time, with the fault-free ``free_ac_power_w`` and
    ``free_energy_total_wh`` beside."""
    r = run.readings
    mine = r["plant_id"] == pid
    rows = r[mine].copy()
    rows["free_ac_power_w"] = run.expected_ac_power_w.loc[mine, "ac_power_w"]
    rows["free_energy_total_wh"] = run.expected_ac_power_w.loc[mine, "energy_total_wh"]
    return rows.set_index("time")


def two_input_plant(run) -> str:
    r = run.readings
    return str(r.loc[r["dc2_power_w"].notna(), "plant_id"].iloc[0])


def test_inverter_model_round_trip():
    pdc0 = np.full(5, 5000 / 0.96)
    dc = np.array([0.0, 40.0, 1000.0, 2000.0, 5000.0])
    ac = pvwatts_ac_w(dc, pdc0)
    assert ac[3] == pytest.approx(1921.0253, abs=1e-3)  # pvlib.inverter.pvwatts(2000, 5208.3)
    assert ac[2] == pytest.approx(948.3055, abs=1e-3)
    back = pvwatts_dc_w(ac, pdc0)
    assert back[2:] == pytest.approx(dc[2:], rel=1e-9)
    assert pvwatts_ac_w(np.array([6000.0]), pdc0[:1])[0] == 5000.0  # clipped at the rating


def test_string_fault_halves_dc_and_ac_through_the_inverter(flat_dc, fleet):
    flat_dc(2000.0)
    base = emulated_readings(fleet, T0, T1, cuts=False)
    pid = two_input_plant(base)
    f = Fault(pid, "string_fault", utc("2025-10-05T00:00"), None, 0.5)
    run = emulated_readings(fleet, T0, T1, faults=[f], cuts=False)
    rows = plant_rows(run, pid)
    noon = rows.loc[utc("2025-10-06T08:00")]
    before = rows.loc[utc("2025-10-04T08:00")]
    assert before["ac_power_w"] == pytest.approx(1921.0, abs=0.05)
    assert noon["free_ac_power_w"] == pytest.approx(1921.0, abs=0.05)
    # DC 2000 → 1000 W: AC = 948.3 W (a bit less than half: the inverter's efficiency falls)
    assert noon["ac_power_w"] == pytest.approx(948.3, abs=0.05)
    assert noon["dc1_power_w"] + noon["dc2_power_w"] == pytest.approx(1000.0, abs=0.2)
    assert noon["dc2_power_w"] < 100.0  # the dead input (share 0.46–0.54 of 2000 W)
    assert noon["dc1_power_w"] == pytest.approx(before["dc1_power_w"], abs=0.1)
    assert (rows["alarm_code"] == 0).all()
    # Nothing else changes: other plants, and this one before the fault.
    other = run.readings["plant_id"] != pid
    assert run.readings[other].equals(base.readings[other])
    assert (rows.loc[: utc("2025-10-04T23:55"), "ac_power_w"] == rows.loc[
        : utc("2025-10-04T23:55"), "free_ac_power_w"]).all()  # fmt: skip


def test_string_fault_in_a_clipping_hour_costs_less(flat_dc, fleet):
    flat_dc(6000.0)  # 6 kW DC on a 5 kW inverter: clipped
    pid = str(fleet.plants["plant_id"][0])
    f = Fault(pid, "string_fault", T0, None, 0.5)
    rows = plant_rows(emulated_readings(fleet, T0, T1, faults=[f], cuts=False), pid)
    noon = rows.loc[utc("2025-10-06T08:00")]
    assert noon["free_ac_power_w"] == 5000.0
    assert noon["ac_power_w"] == pytest.approx(2887.5, abs=0.05)  # 3000 W DC: 42 % lost, not 50


def test_soiling_grows_linearly_and_the_cleaning_resets_it(flat_dc, fleet):
    flat_dc(2000.0)
    pid = str(fleet.plants["plant_id"][1])
    dirty, clean = utc("2025-10-01T08:00"), utc("2025-10-12T00:00")
    run = emulated_readings(
        fleet, T0, T1, faults=[Fault(pid, "soiling", dirty, clean, 0.01)], cuts=False
    )
    rows = plant_rows(run, pid)
    dc = rows["dc1_power_w"] + rows["dc2_power_w"].fillna(0.0)
    assert dc[dirty] == pytest.approx(2000.0, abs=0.1)
    assert dc[utc("2025-10-06T08:00")] == pytest.approx(1900.0, abs=0.1)  # 5 days: 5 %
    ten = utc("2025-10-11T08:00")  # 10 days at 1 %/day: 10 % lower
    assert dc[ten] == pytest.approx(1800.0, abs=0.1)
    assert rows.loc[ten, "ac_power_w"] == pytest.approx(1727.0, abs=0.05)  # pvwatts(1800 W)
    after = rows.loc[clean:]
    assert (after["ac_power_w"] == after["free_ac_power_w"]).all()  # 0 after the cleaning
    assert dc[utc("2025-10-12T08:00")] == pytest.approx(2000.0, abs=0.1)
    truth = run.truth.iloc[0]
    assert truth["kind"] == "soiling"
    assert 0 < truth["lost_kwh_per_day"] < 2.0


def test_shading_only_within_its_local_hours(flat_dc, fleet):
    flat_dc(2000.0)
    pid = str(fleet.plants["plant_id"][2])
    f = Fault(pid, "shading", T0, None, 0.5, hours=(8, 10))  # 04:30–06:30 UTC
    rows = plant_rows(emulated_readings(fleet, T0, T1, faults=[f], cuts=False), pid)
    shaded = rows.loc[utc("2025-10-03T05:00")]
    assert shaded["ac_power_w"] == pytest.approx(948.3, abs=0.05)
    for t in ("2025-10-03T04:25", "2025-10-03T06:30", "2025-10-03T09:00"):
        assert rows.loc[utc(t), "ac_power_w"] == rows.loc[utc(t), "free_ac_power_w"]


def test_inverter_fault_zero_ac_alarm_flat_counter(flat_dc, fleet):
    flat_dc(2000.0)
    pid = str(fleet.plants["plant_id"][3])
    a, b = utc("2025-10-03T05:00"), utc("2025-10-04T06:00")
    f = Fault(pid, "inverter_fault", a, b, 1.0, alarm_code=301)
    run = emulated_readings(fleet, T0, T1, faults=[f], cuts=False)
    rows = plant_rows(run, pid)
    during = rows.loc[a : b - pd.Timedelta(minutes=5)]
    assert (during["ac_power_w"] == 0).all()
    sun = during["free_ac_power_w"] > 0
    assert (during.loc[sun, "alarm_code"] == 301).all()
    assert (during.loc[~sun, "alarm_code"] == 0).all()  # asleep at night
    assert (during["dc1_power_w"] == 0).all()
    counter = rows["energy_total_wh"]
    # Flat from the first reading of the trip (the step into it still counts half a step).
    assert counter[a + pd.Timedelta(minutes=5)] == counter[b - pd.Timedelta(minutes=5)]
    assert (rows.loc[b:, "ac_power_w"] == rows.loc[b:, "free_ac_power_w"]).all()
    truth = run.truth.iloc[0]
    assert truth["alarm_code"] == 301
    # 24 h of sun lost of a 9-hour flat day at 1921 W (plus ramps): a whole day's energy
    day_kwh = (rows.loc["2025-10-02", "free_ac_power_w"].sum() * 5 / 60) / 1000
    assert truth["lost_kwh_per_day"] == pytest.approx(day_kwh, rel=0.01)


def test_comms_loss_arrives_later_counter_never_back(flat_dc, fleet):
    flat_dc(2000.0)
    pid = str(fleet.plants["plant_id"][4])
    a, b = utc("2025-10-03T04:00"), utc("2025-10-03T10:00")
    run = emulated_readings(fleet, T0, T1, faults=[Fault(pid, "comms_loss", a, b, 1.0)], cuts=False)
    rows = plant_rows(run, pid)
    gap = rows.loc[a : b - pd.Timedelta(minutes=5)]
    assert len(gap) == 72  # 6 h of 5-minute readings, all backfilled
    assert (gap["stored_at"] == b).all()
    rest = rows.drop(gap.index)
    assert (rest["stored_at"] == rest.index).all()
    assert (np.diff(rows["energy_total_wh"].to_numpy()) >= 0).all()
    assert rows.loc[b, "energy_total_wh"] > rows.loc[a, "energy_total_wh"] + 10_000
    assert run.truth.iloc[0]["lost_kwh_per_day"] == 0.0
    # In arrival order the counter never goes backwards either, once the backfill is in.
    arrived = rows[rows["stored_at"] <= b]
    assert arrived["energy_total_wh"].is_monotonic_increasing
    # Without an end the readings never arrive within the run.
    run2 = emulated_readings(
        fleet, T0, T1, faults=[Fault(pid, "comms_loss", a, None, 1.0)], cuts=False
    )
    assert plant_rows(run2, pid).index.max() < a


def test_offline_no_rows_then_resumes_with_the_advanced_counter(flat_dc, fleet):
    flat_dc(2000.0)
    pid = str(fleet.plants["plant_id"][5])
    a, b = utc("2025-10-03T00:00"), utc("2025-10-05T00:00")
    run = emulated_readings(fleet, T0, T1, faults=[Fault(pid, "offline", a, b, 1.0)], cuts=False)
    rows = plant_rows(run, pid)
    assert rows.loc[a : b - pd.Timedelta(seconds=1)].empty
    last, first = rows.loc[: a - pd.Timedelta(seconds=1)].iloc[-1], rows.loc[b:].iloc[0]
    two_days_wh = 2 * rows.loc["2025-10-02", "free_ac_power_w"].sum() * 5 / 60
    assert first["energy_total_wh"] - last["energy_total_wh"] == pytest.approx(
        two_days_wh, rel=0.01
    )
    assert first["energy_total_wh"] == first["free_energy_total_wh"]
    assert run.truth.iloc[0]["lost_kwh_per_day"] == 0.0


def test_no_reading_during_a_cut_and_the_counter_stops(flat_dc, fleet):
    flat_dc(2000.0)
    start = pd.Timestamp("2025-07-01", tz="UTC")
    run = emulated_readings(fleet, start, start + pd.Timedelta(days=3), seed=2)
    sched = run.schedule
    assert len(sched) > 0
    assert set(sched.zone) <= set(run.cut_zone)
    hybrid = set(fleet.plants.loc[fleet.plants["inverter_type"] == "hybrid", "plant_id"])
    r = run.readings
    checked = 0
    for pid, zone in run.cut_zone.items():
        mine = r[r["plant_id"] == pid]
        t = mine["time"].astype("int64").to_numpy()
        for s, e in zip(sched.start_ns[sched.zone == zone], sched.end_ns[sched.zone == zone],
                        strict=True):  # fmt: skip
            inside = (t >= s) & (t < e)
            if pid in hybrid:
                assert inside.any()  # the battery keeps the gateway up
                continue
            assert not inside.any()
            before, after = mine[t < s].iloc[-1], mine[t >= e].iloc[0]
            # Across the cut at most half a step either side (trapezoid), nothing within.
            gain = after["energy_total_wh"] - before["energy_total_wh"]
            assert gain <= (before["ac_power_w"] + after["ac_power_w"]) * 0.5 * 5 / 60 + 1
            checked += 1
    assert checked > 5


def test_truth_matches_a_fault_free_run():
    """Real simulator (sampled year): each fault's lost energy is the counters' difference."""
    fleet = synthetic_fleet(40, seed=4)
    start, end = pd.Timestamp("2025-07-01", tz="UTC"), pd.Timestamp("2025-07-08", tz="UTC")
    faults = random_faults(
        fleet, start, end, rates={"string_fault": 0.2, "soiling": 0.2, "inverter_fault": 0.2},
        seed=4,
    )  # fmt: skip
    run = emulated_readings(fleet, start, end, faults=faults, seed=4)
    again = emulated_readings(fleet, start, end, faults=faults, seed=4)
    pd.testing.assert_frame_equal(run.readings, again.readings)  # deterministic
    other = emulated_readings(fleet, start, end, faults=faults, seed=5)
    assert not run.readings["ac_power_w"].equals(other.readings["ac_power_w"])
    r, free = run.readings, run.expected_ac_power_w
    for _, t in run.truth.iterrows():
        mine = r["plant_id"] == t["plant_id"]
        idx = r.index[mine][-1]  # the last reading: one fault a plant, so all of it is this one
        lost_wh = free.loc[idx, "energy_total_wh"] - r.loc[idx, "energy_total_wh"]
        assert t["lost_kwh"] * 1000 == pytest.approx(lost_wh, abs=2.0)
        assert t["lost_kwh_per_day"] * t["active_days"] == pytest.approx(t["lost_kwh"])
    kinds = set(run.truth["kind"])
    assert kinds == {"string_fault", "soiling", "inverter_fault"}
    # Peers differ (spread, noise) and days differ (sampled year).
    daily = r.groupby([r["plant_id"], r["time"].dt.floor("D")])["ac_power_w"].sum()
    assert daily.groupby(level=0).std().min() > 0
    assert daily.groupby(level=1).nunique().min() > 30
    assert set(r.columns) >= set(offline.READING_COLUMNS)
    assert r["time"].dt.tz is not None
    assert r["stored_at"].dt.tz is not None


def test_bad_inputs(fleet):
    with pytest.raises(InputError, match="not in the fleet"):
        emulated_readings(fleet, T0, T1, faults=[Fault("NOPE-1", "offline", T0, None, 1.0)])
    with pytest.raises(InputError, match="step_s must divide an hour"):
        emulated_readings(fleet, T0, T1, step_s=7)
    with pytest.raises(InputError, match="needs a UTC offset"):
        emulated_readings(fleet, "2025-10-01", T1)
    with pytest.raises(InputError, match="cuts must be"):
        emulated_readings(fleet, T0, T1, cuts="spring")
