"""The outage-aware forecast table on hand-checked cases: a noon cut on a sunny day with a
full battery, a dusk cut with an empty one, and a grid-tied plant."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulate.coverage import OutageOptions
from simulate.forecast_cuts import household_cuts
from simulate.load import ESSENTIAL_PEAK_W, essential_profile_w
from simulate.outages import parse_schedule
from telemetry.registry import Fleet, load_sample_fleet

# Hours on UTC whole hours are Iran's half hours: the hour ending 09:00Z is 11:30–12:30 local,
# its midpoint 12:00. A cut on local whole hours covers half of its first and last hours.
LABELS = pd.date_range("2026-07-01T21:00Z", periods=24, freq="h")
MID = (LABELS - pd.Timedelta(minutes=30)).tz_convert("Asia/Tehran")


def _plant(kind: str, battery_kwh: float, zone: str = "A") -> Fleet:
    p = load_sample_fleet().plants.iloc[:1].copy()
    p["plant_id"] = f"X-{kind}"
    p["inverter_type"] = kind
    p["battery_kwh"] = battery_kwh
    p["outage_zone"] = zone
    p["essential_load_w"] = 500.0
    p["ac_kw"] = 5.0
    return Fleet(p.reset_index(drop=True), "test")


def _sunny_pv_w() -> np.ndarray:
    """Hourly AC power of a 5 kW plant on a clear July day (peak 4 kW at local noon)."""
    local_mid = (LABELS - pd.Timedelta(minutes=30)).tz_convert("Asia/Tehran")
    h = (local_mid.hour + local_mid.minute / 60).to_numpy(float)
    return np.clip(4000.0 * np.cos((h - 12.5) / 7.0 * np.pi / 2), 0.0, None)[None, :] * (
        np.abs(h - 12.5) < 7
    )


def _schedule(start_local: str, end_local: str, zone: str = "A"):
    return parse_schedule(f"start,end,zone\n{start_local},{end_local},{zone}\n", "test")


def _weights(start_h: float, end_h: float) -> np.ndarray:
    """Share of each hour of 2 July (local) inside the cut [start_h, end_h)."""
    lo = (MID.hour + MID.minute / 60).to_numpy(float) - 0.5
    share = np.clip(np.minimum(end_h, lo + 1) - np.maximum(start_h, lo), 0.0, 1.0)
    return share * (MID.day == 2)


def _need_kwh(w: np.ndarray) -> float:
    """Essential load (500 W scale) over the weighted hours, at each midpoint's hour [kWh]."""
    table = essential_profile_w()  # (12, 24) [W], July = row 6
    return float((table[6, MID.hour.to_numpy()] * w).sum()) * 500.0 / ESSENTIAL_PEAK_W / 1000.0


def test_noon_cut_sunny_day_full_battery_is_covered() -> None:
    fleet = _plant("hybrid", 5.0)
    table = household_cuts(
        fleet, _sunny_pv_w(), LABELS, _schedule("2026-07-02T12:00+03:30", "2026-07-02T14:00+03:30")
    )
    row = table.iloc[0]
    assert row["cut_hours"] == pytest.approx(2.0)
    assert bool(row["covered"])
    assert row["hours_uncovered"] == pytest.approx(0.0)
    assert row["short_kwh"] == pytest.approx(0.0)
    w = _weights(12.0, 14.0)
    assert w.sum() == pytest.approx(2.0)
    assert row["need_kwh"] == pytest.approx(_need_kwh(w))
    assert row["served_kwh"] == pytest.approx(row["need_kwh"])
    # A reserve battery starts full and the sunny morning keeps it full.
    assert row["soc_start_pct"] == pytest.approx(100.0)
    pv = _sunny_pv_w()[0]
    assert row["pv_kwh"] == pytest.approx(float((pv * w).sum()) / 1000.0)
    # PV beyond the load and a full battery: curtailed, the export the cut cost.
    assert row["export_lost_kwh"] == pytest.approx(row["pv_kwh"] - row["need_kwh"], rel=1e-6)


def test_dusk_cut_with_an_empty_battery_is_not_covered() -> None:
    fleet = _plant("hybrid", 5.0)
    dark = np.zeros((1, len(LABELS)))  # a dark day: nothing recharges the battery
    table = household_cuts(
        fleet,
        dark,
        LABELS,
        _schedule("2026-07-02T20:00+03:30", "2026-07-02T22:00+03:30"),
        options=OutageOptions(initial_soc_frac=0.0),
    )
    row = table.iloc[0]
    need = _need_kwh(_weights(20.0, 22.0))
    assert row["need_kwh"] == pytest.approx(need)
    assert row["served_kwh"] == pytest.approx(0.0)
    assert row["short_kwh"] == pytest.approx(need)
    assert row["hours_uncovered"] == pytest.approx(2.0)
    assert not bool(row["covered"])
    # Empty = the usable range drawn: what is left is the 10 % the depth of discharge keeps.
    assert row["soc_start_pct"] == pytest.approx(10.0)


def test_grid_tied_plant_serves_nothing_and_loses_its_export() -> None:
    fleet = _plant("grid_tied", 0.0)
    pv = _sunny_pv_w()
    table = household_cuts(
        fleet, pv, LABELS, _schedule("2026-07-02T11:30+03:30", "2026-07-02T13:30+03:30")
    )
    row = table.iloc[0]
    assert row["cut_hours"] == pytest.approx(2.0)
    assert row["served_kwh"] == pytest.approx(0.0)
    assert row["hours_uncovered"] == pytest.approx(2.0)
    assert np.isnan(row["soc_start_pct"])
    # A half-past cut lines up with the hours: two whole hours, midpoints 12:00 and 13:00.
    w = _weights(11.5, 13.5)
    assert sorted(MID.hour[w > 0]) == [12, 13]
    assert w.sum() == pytest.approx(2.0)
    expected = float((pv[0] * w).sum()) / 1000.0
    assert row["pv_kwh"] == pytest.approx(expected)
    assert row["export_lost_kwh"] == pytest.approx(expected)


def test_plants_without_cuts_and_cuts_outside_the_horizon_give_no_row() -> None:
    fleet = _plant("hybrid", 5.0, zone="B")
    table = household_cuts(
        fleet, _sunny_pv_w(), LABELS, _schedule("2026-07-02T12:00+03:30", "2026-07-02T14:00+03:30")
    )
    assert table.empty
    fleet = _plant("hybrid", 5.0)
    table = household_cuts(
        fleet, _sunny_pv_w(), LABELS, _schedule("2026-07-05T12:00+03:30", "2026-07-05T14:00+03:30")
    )
    assert table.empty
