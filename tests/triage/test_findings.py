"""Each finding on a hand-made case, none on clean plants, no cut ever a finding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.triage import synthetic as syn
from tests.triage.conftest import FAULTS, Scenario
from triage.findings import FINDING_COLUMNS, loss_z, onset, yoy_rate


@pytest.mark.parametrize(("plant", "finding"), sorted(FAULTS.items()))
def test_each_fault_is_found_as_its_finding(scenario: Scenario, plant: str, finding: str) -> None:
    f = scenario.result.findings
    got = f[f.plant_id == plant]
    assert finding in set(got.finding), got.to_string()
    row = got[got.finding == finding].iloc[0]
    assert 0.5 <= row.confidence <= 0.99
    assert row.evidence
    if finding != "comms_loss":
        assert row.lost_kwh_per_day > 0


def test_step_faults_are_dated_within_a_day(scenario: Scenario) -> None:
    f = scenario.result.findings.set_index(["plant_id", "finding"])
    began = syn.UNTIL - pd.Timedelta(days=2)
    for key in (("ISF-005", "inverter_fault"), ("SHZ-006", "string_fault")):
        assert abs(f.loc[key, "start"] - began) <= pd.Timedelta(hours=18), key
    assert abs(f.loc[("THR-001", "underperforming"), "start"] - began) <= pd.Timedelta(days=1)


def test_no_finding_on_fault_free_plants(scenario: Scenario) -> None:
    f = scenario.result.findings
    flagged = set(f.plant_id) - set(FAULTS)
    assert flagged == set(), f[f.plant_id.isin(flagged)].to_string()
    assert scenario.clean.findings.empty, scenario.clean.findings.to_string()


def test_one_finding_per_faulty_plant(scenario: Scenario) -> None:
    f = scenario.result.findings
    assert f.groupby("plant_id").size().max() == 1, f.to_string()


def test_cuts_are_never_findings_and_are_counted_apart(scenario: Scenario) -> None:
    # The THR-Z1 cut (4 h) and the ISF-Z2 cut silence their zones: none of it is a finding.
    assert scenario.clean.findings.empty
    assert scenario.clean.cut_kwh_total > 10.0  # the program's figure
    assert scenario.result.cut_kwh_total == pytest.approx(scenario.clean.cut_kwh_total, rel=0.2)


def test_cut_without_a_schedule_is_inferred_from_the_neighbourhood(scenario: Scenario) -> None:
    from triage.run import triage_fleet

    labels, P = syn.hourly_power()
    r = syn.readings_from_power(scenario.fleet, labels, P)
    city = r.plant_id.str.startswith("THR")
    t = r.time
    blackout = (
        city & (t >= pd.Timestamp("1990-03-12T06:00Z")) & (t < pd.Timestamp("1990-03-12T10:00Z"))
    )
    res = triage_fleet(r[~blackout], scenario.fleet, syn.SINCE, syn.UNTIL)
    assert res.findings.empty, res.findings.to_string()
    assert res.cut_kwh_total > 10.0


def test_findings_are_ranked_by_lost_energy(scenario: Scenario) -> None:
    f = scenario.result.findings
    assert list(f.columns) == list(FINDING_COLUMNS)
    assert f.lost_kwh_per_day.is_monotonic_decreasing
    assert f.iloc[-1].finding == "comms_loss"  # produced its energy: ranked last


def test_alarm_code_is_an_inverter_fault_with_high_confidence(scenario: Scenario) -> None:
    from triage.run import triage_fleet

    labels, P = syn.hourly_power()
    r = syn.readings_from_power(scenario.fleet, labels, P)
    m = (r.plant_id == "SHZ-002") & (r.time > syn.UNTIL - pd.Timedelta(days=1))
    r.loc[m, "alarm_code"] = 4011
    r.loc[m, "ac_power_w"] = 0.0
    res = triage_fleet(r, scenario.fleet, syn.SINCE, syn.UNTIL)
    row = res.findings.set_index("plant_id").loc["SHZ-002"]
    assert row.finding == "inverter_fault"
    assert row.confidence == 0.95
    assert "4011" in row.evidence


def test_degradation_needs_two_years() -> None:
    # 14 days: never reported (the clean run above has no finding at all); the rate itself:
    days = pd.date_range("2020-01-01", periods=3 * 365, freq="D")
    pi = pd.Series(1.0 - 0.03 * np.arange(len(days)) / 365, index=days)
    assert yoy_rate(pi) == pytest.approx(-0.03, abs=0.003)
    assert np.isnan(yoy_rate(pi.iloc[:300]))


def test_onset_finds_a_fault_that_began_and_stayed() -> None:
    flags = np.array([0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 1], bool)
    assert onset(flags) == 5
    assert onset(np.zeros(5, bool)) is None


def test_zone_cut_without_a_schedule_is_no_finding(scenario: Scenario) -> None:
    # One outage zone of a city (half its plants) silent for 4 h, nobody told triage: the peers
    # alone (6 of 12 silent) would not call it a cut; the zone does.
    from triage.run import triage_fleet

    labels, P = syn.hourly_power()
    r = syn.readings_from_power(scenario.fleet, labels, P)
    zone = r.plant_id.map(scenario.fleet.plants.set_index("plant_id")["outage_zone"])
    t = r.time
    blackout = (
        zone.eq("THR-Z1")
        & (t >= pd.Timestamp("1990-03-12T06:00Z"))
        & (t < pd.Timestamp("1990-03-12T10:00Z"))
    )
    res = triage_fleet(r[~blackout], scenario.fleet, syn.SINCE, syn.UNTIL)
    assert res.findings.empty, res.findings.to_string()
    assert res.cut_kwh_total > 5.0


def test_a_large_step_loss_is_found_after_one_day(scenario: Scenario) -> None:
    from triage.run import triage_fleet

    labels, P = syn.hourly_power()
    P[scenario.fleet.plant_ids.index("ISF-007"), labels > syn.UNTIL - pd.Timedelta(days=1)] *= 0.55
    r = syn.readings_from_power(scenario.fleet, labels, P)
    f = triage_fleet(r, scenario.fleet, syn.SINCE, syn.UNTIL).findings
    assert f.plant_id.tolist() == ["ISF-007"], f.to_string()
    row = f.iloc[0]
    assert row.finding == "underperforming"
    assert abs(row.start - (syn.UNTIL - pd.Timedelta(days=1))) <= pd.Timedelta(hours=12)
    # a 15 % loss for one day is not enough (two days needed below 25 %)
    P2 = syn.hourly_power()[1]
    P2[scenario.fleet.plant_ids.index("ISF-007"), labels > syn.UNTIL - pd.Timedelta(days=1)] *= 0.85
    clean = triage_fleet(
        syn.readings_from_power(scenario.fleet, labels, P2), scenario.fleet, syn.SINCE, syn.UNTIL
    ).findings
    assert clean.empty, clean.to_string()


def test_one_alarm_hour_under_a_grey_sky_is_an_inverter_fault(scenario: Scenario) -> None:
    # A trip of one daylight hour on a day at a fifth of the clear sky (the expectation below
    # the daylight share): the alarm code alone is evidence.
    from triage.run import triage_fleet

    labels, P = syn.hourly_power()
    local = (labels - pd.Timedelta(minutes=30)).tz_convert("Asia/Tehran")
    last_day = (syn.UNTIL - pd.Timedelta(hours=12)).tz_convert("Asia/Tehran").normalize()
    grey = np.asarray(local.normalize() == last_day)
    P[:, grey] *= 0.2
    r = syn.readings_from_power(scenario.fleet, labels, P)
    t_local = r.time.dt.tz_convert("Asia/Tehran")
    m = (r.plant_id == "SHZ-002") & (t_local.dt.normalize() == last_day) & (t_local.dt.hour == 12)
    r.loc[m, "alarm_code"] = 301
    r.loc[m, ["ac_power_w", "dc1_power_w", "dc2_power_w"]] = 0.0
    f = triage_fleet(r, scenario.fleet, syn.SINCE, syn.UNTIL).findings
    assert f.set_index("plant_id").loc["SHZ-002", "finding"] == "inverter_fault"
    assert set(f.plant_id) == {"SHZ-002"}, f.to_string()


def test_a_halved_plant_is_found_after_one_grey_day(scenario: Scenario) -> None:
    # A dead string of a one-input inverter on a day at 45 % of the clear sky: a loss of
    # ≥ 40 % is beyond what a healthy neighbour strays under any sky; 25 % on that day is not.
    from triage.run import triage_fleet

    def last_day_grey(loss: float) -> pd.DataFrame:
        labels, P = syn.hourly_power()
        last = labels > syn.UNTIL - pd.Timedelta(days=1)
        P[:, last] *= 0.45
        P[scenario.fleet.plant_ids.index("THR-004"), last] *= 1.0 - loss
        r = syn.readings_from_power(scenario.fleet, labels, P)
        return triage_fleet(r, scenario.fleet, syn.SINCE, syn.UNTIL).findings

    f = last_day_grey(0.5)
    assert f.plant_id.tolist() == ["THR-004"], f.to_string()
    assert f.iloc[0].finding == "underperforming"
    assert last_day_grey(0.25).empty


def test_morning_shading_on_clear_days_is_found_in_two_days(scenario: Scenario) -> None:
    # Two clear days on which every plant's first morning hours reach only 60 % of the
    # clear-sky model (the low sun), and one plant shaded then: those hours count as clear
    # because the day is, so the shading is found from two days of history.
    from triage.run import triage_fleet

    labels, P = syn.hourly_power()
    local = (labels - pd.Timedelta(minutes=30)).tz_convert("Asia/Tehran")
    until = syn.UNTIL - pd.Timedelta(days=3)  # two clear days of the synthetic weather
    since = until - pd.Timedelta(days=2)
    keep = (labels > since) & (labels <= until)
    morning = np.isin(local.hour, [8, 9])
    P[:, morning] *= 0.6
    i = scenario.fleet.plant_ids.index("SHZ-003")
    P[i, morning] *= 0.1  # a wall: 6 % of the day
    r = syn.readings_from_power(scenario.fleet, labels[keep], P[:, keep])
    f = triage_fleet(r, scenario.fleet, since, until).findings
    mine = f[f.plant_id == "SHZ-003"]
    assert mine.finding.tolist() == ["shading"], f.to_string()
    assert "08–10 h local" in mine.iloc[0].evidence


def test_loss_z_weighs_days_by_the_spread_a_healthy_plant_shows_there() -> None:
    # Two days at 85 %, the peers' 10 % quantile at 97.44 % (a spread of 2 %, the floor): the
    # deficit is 0.15 / 0.02 × √2 = 10.6 standard deviations.
    z = loss_z(np.array([0.85, 0.85]), np.array([0.97437, np.nan]), np.array([]))
    assert z == pytest.approx(0.15 / 0.02 * np.sqrt(2), rel=1e-3)
    # A plant whose own ratio swung by 10 % from day to day before: σ = 0.1 / 0.6745 / √2.
    noisy = loss_z(np.array([0.85, 0.85]), np.array([0.97437, np.nan]), np.array([1, 0.9, 1, 0.9]))
    assert noisy == pytest.approx(0.15 / (0.1 / 0.6745 / np.sqrt(2)) * np.sqrt(2), rel=1e-3)
    # A grey day's wide neighbourhood (10 % quantile at 80 %): σ = 0.2 / 1.2816.
    grey = loss_z(np.array([0.85]), np.array([0.8]), np.array([]))
    assert grey == pytest.approx(0.15 / (0.2 / 1.2816), rel=1e-3)


def test_two_low_days_are_no_finding_for_a_plant_whose_ratio_always_swung(
    scenario: Scenario,
) -> None:
    # A plant under a sky of its own: its ratio to the peers swung ±8 % from day to day all
    # along, so two days at 85 % are within its usual scatter; the same two days on a plant
    # that had followed its peers are a finding.
    from triage.run import triage_fleet

    labels, P = syn.hourly_power()
    i = scenario.fleet.plant_ids.index("ISF-007")
    local = (labels - pd.Timedelta(minutes=30)).tz_convert("Asia/Tehran")
    day = np.asarray(pd.factorize(local.normalize())[0])
    last_two = np.asarray(labels > syn.UNTIL - pd.Timedelta(days=2))

    def findings(swing: bool) -> pd.DataFrame:
        Q = P.copy()
        if swing:
            Q[i, ~last_two] *= np.where(day[~last_two] % 2 == 0, 1.08, 0.92)
        Q[i, last_two] *= 0.85
        r = syn.readings_from_power(scenario.fleet, labels, Q)
        return triage_fleet(r, scenario.fleet, syn.SINCE, syn.UNTIL).findings

    steady = findings(swing=False)
    assert steady.plant_id.tolist() == ["ISF-007"], steady.to_string()
    assert steady.iloc[0].finding == "underperforming"
    assert "σ" in steady.iloc[0].evidence
    swung = findings(swing=True)
    assert swung.empty, swung.to_string()
