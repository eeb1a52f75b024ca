"""Silent plant-hours: grid cut, comms loss, offline, late."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from simulate.outages import parse_schedule
from telemetry.registry import Fleet
from tests.triage.conftest import CUT_TEXT, Scenario
from triage.gaps import COMMS_LOSS, GRID_CUT, LATE, OFFLINE, REPORTED, classify_gaps, cut_mask
from triage.hourly import bin_hourly

HOUR = pd.Timedelta(hours=1)


def _hours(scenario: Scenario, plant: str, code: int) -> pd.DatetimeIndex:
    i = scenario.fleet.plant_ids.index(plant)
    return scenario.result.hourly.labels[scenario.result.gaps[i] == code]


def test_scheduled_cut_hours_are_grid_cut(scenario: Scenario) -> None:
    # zone THR-Z1: cut 09:00–13:00 local (05:30–09:30 UTC) on 03-12; the hours half cut
    # still have readings (reported), the three wholly silent ones are the grid's
    hours = _hours(scenario, "THR-000", GRID_CUT)
    assert list(hours.hour) == [7, 8, 9]
    assert (hours.day == 12).all()


def test_counter_running_on_is_comms_loss(scenario: Scenario) -> None:
    hours = _hours(scenario, "THR-008", COMMS_LOSS)
    assert 4 <= len(hours) <= 6
    assert len(_hours(scenario, "THR-008", OFFLINE)) == 0


def test_silence_with_peers_reporting_is_offline(scenario: Scenario) -> None:
    hours = _hours(scenario, "THR-007", OFFLINE)
    assert len(hours) >= 8
    assert hours.min() > pd.Timestamp("1990-03-14T18:00Z")


def _synthetic_gaps(
    edit: Callable[[pd.DataFrame], pd.DataFrame], *, schedule: bool
) -> tuple[Fleet, pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """The synthetic fleet's readings, changed by ``edit``, classed: (fleet, hour labels,
    daylight, gap codes), with the test schedule's cuts or none."""
    from tests.triage import synthetic as syn
    from triage import expected as ex

    fleet = syn.make_fleet()
    labels, P = syn.hourly_power()
    r = edit(syn.readings_from_power(fleet, labels, P))
    h = bin_hourly(r, fleet.plant_ids, labels)
    rating = np.full(len(fleet), 5000.0)
    cs = ex.clear_sky_power(fleet, labels)
    daylight = cs >= ex.CLEAR_SKY_FLOOR * rating[:, None]
    zones = fleet.plants.outage_zone.to_numpy()
    cut = cut_mask(parse_schedule(CUT_TEXT), zones, labels) if schedule else np.zeros_like(daylight)
    return fleet, labels, daylight, classify_gaps(h, cs, daylight, cut, ex.peers_of_fleet(fleet))


def test_late_batch_is_flagged_late() -> None:
    def late(r: pd.DataFrame) -> pd.DataFrame:
        r["stored_at"] = r["time"] + pd.Timedelta(seconds=5)
        m = (r.plant_id == "ISF-001") & (r.time.dt.day == 9)
        r.loc[m, "stored_at"] = pd.Timestamp("1990-03-10T12:00Z")
        return r

    fleet, labels, _, gaps = _synthetic_gaps(late, schedule=True)
    i = fleet.plant_ids.index("ISF-001")
    assert (gaps[i][labels.day == 9] == LATE).sum() >= 20
    assert (gaps[fleet.plant_ids.index("ISF-002")] == LATE).sum() == 0
    assert (gaps == REPORTED).any()


def test_a_quiet_outage_zone_is_an_unscheduled_cut() -> None:
    from triage.expected import find_peers
    from triage.gaps import inferred_cut_mask

    # zone A: 6 plants, the last 2 hybrid (they report through the cut); zone B: 6 plants.
    readings = np.full((12, 8), 12)
    readings[0:4, 3:5] = 0  # zone A's grid-tied plants silent for two hours ...
    readings[0:4, 5] = 6  # ... and half of the next (a cut ending at half past)
    readings[6, 3:7] = 0  # one plant of zone B alone: not a cut
    zone = np.array(["A"] * 6 + ["B"] * 6, dtype=object)
    hybrid = np.array([False] * 4 + [True] * 2 + [False] * 6)
    far = find_peers(np.arange(12) * 2.0, np.full(12, 51.0), np.full(12, 30.0), np.full(12, 180.0))
    got = inferred_cut_mask(readings, zone, far, hybrid=hybrid)
    assert got[:6, 3:6].all()  # hybrids included: their capped power is not their fault
    assert not got[:6, [0, 1, 2, 6, 7]].any()
    assert not got[6:].any()
    # without knowing the hybrids, 4 of 5 others quiet still make the zone's cut
    assert inferred_cut_mask(readings, zone, far)[:4, 3:5].all()


def test_a_reporting_grid_tied_plant_is_not_in_its_neighbours_cut(scenario: Scenario) -> None:
    from triage.expected import peers_of_fleet
    from triage.gaps import inferred_cut_mask

    fleet = scenario.fleet
    readings = np.full((len(fleet), 5), 12)
    city = np.array([p.startswith("THR") for p in fleet.plant_ids])
    readings[city, 1:4] = 0  # the city goes quiet for 3 h ...
    me = fleet.plant_ids.index("THR-003")
    readings[me] = 12  # ... except one grid-tied plant, which reports on
    hybrid = np.zeros(len(fleet), bool)
    hybrid[fleet.plant_ids.index("THR-004")] = True
    readings[fleet.plant_ids.index("THR-004")] = 12  # a hybrid reports through the cut
    cut = inferred_cut_mask(
        readings, fleet.plants["outage_zone"], peers_of_fleet(fleet), hybrid=hybrid
    )
    assert cut[fleet.plant_ids.index("THR-005"), 1:4].all()
    assert not cut[me].any()
    assert cut[fleet.plant_ids.index("THR-004"), 1:4].all()


def test_the_whole_fleet_silent_is_no_plant_offline_even_a_lone_one() -> None:
    # A day with no reading from any plant (the bridge away, or a blackout): the lone plant,
    # with no neighbourhood to judge by, is no more offline (or out of touch) than the others;
    # while the others report, its silence is its own.
    def silence(r: pd.DataFrame) -> pd.DataFrame:
        day9 = r.time.dt.day == 9
        day10_lone = (r.time.dt.day == 10) & (r.plant_id == "ZAH-000")
        return r[~day9 & ~day10_lone]

    fleet, labels, daylight, gaps = _synthetic_gaps(silence, schedule=False)
    lone = fleet.plant_ids.index("ZAH-000")
    on_9 = np.asarray(labels.day == 9) & daylight[lone]
    on_10 = np.asarray(labels.day == 10) & daylight[lone]
    assert on_9.sum() >= 8
    assert on_10.sum() >= 8
    assert (gaps[lone][on_9] == GRID_CUT).all()
    # its counter ran on across day 10: a comms loss, judged while the others reported
    assert np.isin(gaps[lone][on_10], [OFFLINE, COMMS_LOSS]).all()


MORNING_CUT = pd.Timestamp("1990-03-09T07:00Z")


def _cut_at_home(
    plant: str, hours: int, t0: pd.Timestamp = MORNING_CUT
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """The plant's house without power from ``t0`` for ``hours``: no reading, and the inverter
    produced nothing but the step after its last reading (its counter resumes there)."""
    t1 = t0 + pd.Timedelta(hours=hours)

    def edit(r: pd.DataFrame) -> pd.DataFrame:
        mine = r.plant_id == plant
        inside = mine & (r.time >= t0) & (r.time < t1)
        later = mine & (r.time >= t1)
        first_after = r.loc[later, "energy_total_wh"].min()
        last_before = r.loc[mine & (r.time < t0), "energy_total_wh"].max()
        step = r.loc[mine & (r.time < t0), "ac_power_w"].iloc[-1] * 900 / 3600
        r.loc[later, "energy_total_wh"] -= first_after - (last_before + step)
        return r[~inside]

    return edit


def test_a_short_silence_with_the_counter_standing_still_is_the_houses_own_cut() -> None:
    # No schedule, the neighbours report (their feeder was up): 2 h without a reading and
    # without production, then the plant is back — its house lost the grid, not a fault.
    fleet, labels, _, gaps = _synthetic_gaps(_cut_at_home("ISF-001", 2), schedule=False)
    i = fleet.plant_ids.index("ISF-001")
    window = (labels > pd.Timestamp("1990-03-09T07:00Z")) & (
        labels <= pd.Timestamp("1990-03-09T09:00Z")
    )
    assert list(gaps[i][window]) == [GRID_CUT, GRID_CUT]
    assert not np.isin(gaps[i], [OFFLINE, COMMS_LOSS]).any()


def test_a_long_silence_with_the_counter_standing_still_is_offline() -> None:
    # Longer than any cut block (two of them back to back): the plant was off, a fault.
    fleet, _, _, gaps = _synthetic_gaps(_cut_at_home("ISF-001", 6), schedule=False)
    i = fleet.plant_ids.index("ISF-001")
    assert (gaps[i] == OFFLINE).sum() == 6
    assert not (gaps[i] == GRID_CUT).any()


def test_a_short_silence_with_the_counter_running_on_stays_comms_loss() -> None:
    def gap(r: pd.DataFrame) -> pd.DataFrame:
        t0 = pd.Timestamp("1990-03-09T07:00Z")
        return r[~((r.plant_id == "ISF-001") & (r.time >= t0) & (r.time < t0 + 2 * HOUR))]

    fleet, _, _, gaps = _synthetic_gaps(gap, schedule=False)
    i = fleet.plant_ids.index("ISF-001")
    assert (gaps[i] == COMMS_LOSS).sum() == 2
    assert not (gaps[i] == GRID_CUT).any()


def test_a_plant_silent_from_the_window_start_and_back_is_not_offline() -> None:
    # Nothing before the window to read its counter by: back after a day and a half, it came
    # back by itself (the link, as a dead gateway does); back after 2 h, a cut. Neither is
    # left "offline" on the worklist while the plant reports.
    def silent_from_start(r: pd.DataFrame) -> pd.DataFrame:
        t0 = r.time.min()
        long = (r.plant_id == "ISF-001") & (r.time < t0 + pd.Timedelta(hours=36))
        first_light = r.loc[(r.plant_id == "ISF-002") & (r.ac_power_w > 100), "time"].min()
        short = (r.plant_id == "ISF-002") & (r.time < first_light + 2 * HOUR)
        return r[~long & ~short]

    fleet, _, daylight, gaps = _synthetic_gaps(silent_from_start, schedule=False)
    a, b = fleet.plant_ids.index("ISF-001"), fleet.plant_ids.index("ISF-002")
    assert ((gaps[a] == COMMS_LOSS) & daylight[a]).sum() >= 10
    assert not (gaps[a] == OFFLINE).any()
    assert 1 <= (gaps[b] == GRID_CUT).sum() <= 3
    assert not np.isin(gaps[b], [OFFLINE, COMMS_LOSS]).any()


def test_a_hybrid_held_at_its_house_load_is_islanded_not_at_hours_that_recur() -> None:
    from triage.gaps import islanded_mask

    n_h = 24 * 5
    hour = np.arange(n_h) % 24
    sun = (hour >= 6) & (hour < 18)
    bell = np.where(sun, 4000.0 * np.sin(np.pi * (hour - 6 + 0.5) / 12), 0.0)
    E = np.tile(bell, (4, 1))
    P = E.copy()
    daylight = np.tile(sun, (4, 1))
    # plant 0 (hybrid): a cut 10:30–12:30 on day 1 — hour 10 half cut, 11 held at the load,
    # 12 half — and another 14:00–16:00 on day 3
    d1, d3 = 24, 72
    P[0, d1 + 10] = 0.5 * (E[0, d1 + 10] + 700)
    P[0, d1 + 11] = 700.0
    P[0, d1 + 12] = 0.5 * (E[0, d1 + 12] + 700)
    P[0, d3 + 14 : d3 + 16] = 700.0
    # plant 1 (hybrid): shaded 15–17 every day, down to 600 W
    P[1, (hour >= 15) & (hour < 17)] = 600.0
    # plant 2 (grid-tied) and plant 3 (hybrid) with the same 2 h as plant 0's day 3; plant 3's
    # lasts 6 h (no cut block is that long: a fault)
    P[2, d3 + 14 : d3 + 16] = 700.0
    P[3, d1 + 9 : d1 + 15] = 700.0
    hybrid = np.array([True, True, False, True, True])
    # plant 4 (hybrid): a dead string from day 3 on, half its power all day — its low hours
    # at either end of the day are under the cap, but no hour beside them is fine: no cut
    E = np.vstack([E, bell])
    P = np.vstack([P, np.where(np.arange(n_h) >= 72, 0.5 * bell, bell)])
    daylight = np.vstack([daylight, sun])
    got = islanded_mask(P, E, daylight, hybrid, np.full(5, 700.0), hour)
    assert list(np.flatnonzero(got[0])) == [d1 + 10, d1 + 11, d1 + 12, d3 + 14, d3 + 15]
    assert not got[1].any()
    assert not got[2].any()
    assert not got[3].any()
    assert ((0.5 * bell[:24] <= 910) & (bell[:24] >= 1365)).any()  # the case is a real one
    assert not got[4].any()


def test_a_late_afternoon_cut_is_no_comms_loss_for_the_step_before_it() -> None:
    # 16:30–18:30 local: the counter's last step before the cut (15 min at the afternoon's
    # power) is more than a fifth of the little the gap's daylight would have given; it is no
    # sign that the plant produced through the gap.
    t0 = pd.Timestamp("1990-03-09T13:00Z")
    fleet, _, _, gaps = _synthetic_gaps(_cut_at_home("ISF-001", 2, t0), schedule=False)
    i = fleet.plant_ids.index("ISF-001")
    assert not np.isin(gaps[i], [OFFLINE, COMMS_LOSS]).any()
    assert (gaps[i] == GRID_CUT).sum() >= 1
