"""Cut schedules, scenarios, household load, and the fleet's coverage figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulate.coverage import OutageOptions, run_outages, schedule_year, simulation_labels
from simulate.grid import FLEET_REGION, GridFactors, peak_mask
from simulate.load import (
    ESSENTIAL_PEAK_W,
    LoadFileError,
    essential_profile_w,
    full_home_profile_w,
    plant_loads,
    read_load_file,
)
from simulate.outages import (
    ScheduleFileError,
    assign_groups,
    cut_fractions,
    parse_schedule,
    plant_zone_index,
    read_schedule,
    scenario_schedule,
    scenario_year,
)
from simulate.weather import read_weather
from telemetry.registry import load_sample_fleet

TMY3 = pytest.importorskip("pvlib").__path__[0] + "/data/723170TYA.CSV"
YEAR_2025 = pd.date_range("2025-01-01 01:00", periods=8760, freq="h", tz="UTC")


def local(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="Asia/Tehran")


# --------------------------------------------------------------------------- reading


def test_schedule_file_with_offsets_and_zones(tmp_path) -> None:
    f = tmp_path / "cuts.csv"
    f.write_text(
        "\ufeff# summer 1404\nstart,end,zone,note\n"
        "2025-07-01T12:00+03:30,2025-07-01T14:00+03:30,THR-Z1,noon\n"
        "2025-07-01T16:30:00Z,2025-07-01T18:30:00Z,THR-Z1,\n\n"
        "2025-07-01T12:00+03:30,2025-07-01T14:00+03:30,THR-Z2,same time other zone\n"
    )
    s = read_schedule(f)
    assert s.zoned
    assert s.zones == ("THR-Z1", "THR-Z2")
    assert len(s) == 3
    assert s.hours == 6.0
    assert s.start_ns[1] == local("2025-07-01 20:00").value  # 16:30Z is 20:00 in Tehran
    assert list(s.to_frame().columns) == ["start", "end", "zone"]
    again = tmp_path / "again.csv"
    s.write_csv(again)
    t = read_schedule(again)
    np.testing.assert_array_equal(t.start_ns, s.start_ns)
    np.testing.assert_array_equal(t.zone, s.zone)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("start,end\n2025-07-01T12:00,2025-07-01T14:00+03:30\n", "line 2, column start"),
        ("start,end\n2025-07-01T12:00+03:30,2025-07-01 14:00\n", "line 2, column end"),
        ("start,end\n2025-07-01T14:00+03:30,2025-07-01T12:00+03:30\n", "line 2: end"),
        ("start,end\n2025-07-01T14:00+03:30,2025-07-01T14:00+03:30\n", "not after"),
        ("start,end\nnoon,2025-07-01T14:00+03:30\n", "not an ISO 8601 time"),
        (
            "start,end,zone\n2025-07-01T12:00Z,2025-07-01T14:00Z,A\n"
            "2025-07-01T13:00Z,2025-07-01T15:00Z,A\n",
            "line 3: the cut overlaps the cut on line 2",
        ),
        (
            "start,end,zone\n2025-07-01T10:00Z,2025-07-01T20:00Z,A\n"
            "2025-07-01T11:00Z,2025-07-01T12:00Z,B\n2025-07-01T12:00Z,2025-07-01T13:00Z,A\n",
            "line 4: the cut overlaps the cut on line 2 in zone 'A'",
        ),
        (
            "start,end\n2025-07-01T12:00Z,2025-07-01T14:00Z\n2025-07-01T13:00Z,2025-07-01T15:00Z\n",
            "overlaps",
        ),
        ("start,end,zone\n2025-07-01T12:00Z,2025-07-01T14:00Z,\n", "column zone"),
        ("begin,end\n2025-07-01T12:00Z,2025-07-01T14:00Z\n", "line 1: missing column(s) start"),
        ("start,end\n", "no cuts"),
        ("", "empty file"),
        ("start,end\n2025-07-01T12:00Z\n", "line 2: 1 fields"),
    ],
)
def test_bad_schedules_name_the_line(text: str, needle: str) -> None:
    with pytest.raises(ScheduleFileError) as info:
        parse_schedule(text, "cuts.csv")
    message = str(info.value)
    assert needle in message
    assert "\n" not in message
    assert message.startswith("cuts.csv")


def test_touching_cuts_are_not_an_overlap() -> None:
    s = parse_schedule(
        "start,end\n2025-07-01T12:00Z,2025-07-01T14:00Z\n2025-07-01T14:00Z,2025-07-01T16:00Z\n"
    )
    assert s.hours == 4.0


def test_missing_schedule_file(tmp_path) -> None:
    with pytest.raises(ScheduleFileError, match="not found"):
        read_schedule(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- hours and zones


def test_partial_hours_count_their_fraction() -> None:
    s = parse_schedule(
        "start,end,zone\n2025-07-01T12:30+03:30,2025-07-01T14:00+03:30,A\n"
        "2025-12-31T23:30+00:00,2026-01-01T01:00+00:00,A\n"
    )
    c = cut_fractions(s, YEAR_2025)
    hit = np.flatnonzero(c.fraction[0])
    # UTC hours are local half hours in Tehran (+03:30): the cut, 09:00–10:30 UTC, fills the
    # interval (09:00, 10:00] UTC (labelled 13:30 local) and half of the next.
    assert [t.strftime("%H:%M") for t in YEAR_2025[hit[:2]].tz_convert("Asia/Tehran")] == [
        "13:30",
        "14:30",
    ]
    assert c.fraction[0, hit].tolist() == [1.0, 0.5, 0.5]  # and 23:30–24:00 UTC on Dec 31
    assert c.start_hour[0, hit[:2]].tolist() == [12, 12]
    assert c.hours[0] == 2.0
    assert c.cuts_outside == 1  # the New Year's cut runs past the year


def test_plants_pick_their_zone() -> None:
    zoned = parse_schedule(
        "start,end,zone\n2025-07-01T12:00Z,2025-07-01T14:00Z,A\n"
        "2025-07-01T12:00Z,2025-07-01T14:00Z,B\n"
    )
    assert plant_zone_index(zoned, ["B", "A", "", "C"]).tolist() == [1, 0, -1, -1]
    unzoned = parse_schedule("start,end\n2025-07-01T12:00Z,2025-07-01T14:00Z\n")
    assert plant_zone_index(unzoned, ["B", "", "C"]).tolist() == [0, 0, 0]


# --------------------------------------------------------------------------- scenarios


def test_summer_scenario_rotates_two_hour_blocks() -> None:
    s = scenario_schedule("summer", year=2025, zones=4, seed=7)
    assert s.zones == ("G1", "G2", "G3", "G4")
    start = (
        pd.DatetimeIndex(s.start_ns.astype("datetime64[ns]"))
        .tz_localize("UTC")
        .tz_convert("Asia/Tehran")
    )
    assert set(start.month) == {6, 7, 8, 9}
    assert ((s.end_ns - s.start_ns) == 2 * 3_600_000_000_000).all()
    assert set(start.hour) <= {8, 10, 12, 14, 16, 18, 20, 22}
    days = 30 + 31 + 31 + 30
    per_day = s.hours / 4 / days
    assert 3.5 <= per_day <= 4.0  # ≈ 2 × (1 + 0.9) h
    # No overlaps (the file reader accepts it) and the rotation moves a slot a day.
    parse_schedule(s.to_frame().to_csv(index=False))
    g1 = start[s.zone == "G1"]
    # A group's blocks are 8 h apart and move one 2-hour slot later every day.
    slot = pd.Series(((g1.hour - 8) // 2) % 4, index=g1.normalize())
    assert (slot.groupby(level=0).nunique() == 1).all()
    per_day = slot.groupby(level=0).first()
    assert (np.diff(per_day.to_numpy()) % 4 == 1).all()
    assert len(per_day) == days
    # Same seed, same cuts; another seed, other cuts.
    again = scenario_schedule("summer", year=2025, zones=4, seed=7)
    np.testing.assert_array_equal(again.start_ns, s.start_ns)
    other = scenario_schedule("summer", year=2025, zones=4, seed=8)
    assert not np.array_equal(other.start_ns, s.start_ns)


def test_winter_scenario_is_one_daytime_block() -> None:
    s = scenario_schedule("winter", year=2025, zones=3, seed=1, months=[1])
    start = (
        pd.DatetimeIndex(s.start_ns.astype("datetime64[ns]"))
        .tz_localize("UTC")
        .tz_convert("Asia/Tehran")
    )
    assert len(s) == 31 * 3
    assert set(start.hour) <= {9, 11, 13, 15}
    assert (start.hour + 2 <= 17).all()


@pytest.mark.parametrize(
    "kwargs", [{"kind": "spring"}, {"zones": 0}, {"months": [13]}, {"two_block_share": 2.0}]
)
def test_bad_scenarios_are_refused(kwargs) -> None:
    from telemetry.errors import InputError

    args = {"kind": "summer", "year": 2025, **kwargs}
    with pytest.raises(InputError):
        scenario_schedule(args.pop("kind"), **args)


def test_scenario_year_is_summer_and_winter_in_one_schedule() -> None:
    year = scenario_year(2025, zones=3, seed=5, two_block_share=0.5)
    parts = [
        scenario_schedule(k, year=2025, zones=3, seed=5, two_block_share=0.5)
        for k in ("summer", "winter")
    ]
    assert len(year) == sum(len(p) for p in parts)
    assert year.zoned
    assert year.zones == ("G1", "G2", "G3")
    assert year.hours == pytest.approx(sum(p.hours for p in parts))
    for zone in year.zones:
        mine = year.start_ns[year.zone == zone]
        assert (np.diff(mine) > 0).all()  # sorted by zone, then start
        both = np.sort(np.concatenate([p.start_ns[p.zone == zone] for p in parts]))
        np.testing.assert_array_equal(mine, both)
    parse_schedule(year.to_frame().to_csv(index=False))  # no overlaps
    months = set(pd.DatetimeIndex(year.start_ns.astype("datetime64[ns]")).month)
    assert months == {1, 2, 6, 7, 8, 9, 12}  # no cuts in spring and autumn


def test_plants_of_one_zone_share_a_scenario_group() -> None:
    groups = ["G1", "G2", "G3"]
    got = assign_groups(["THR-Z1", "THR-Z1", "", "", "G3"], ["a", "b", "c", "c2", "d"], groups)
    assert got[0] == got[1]
    assert got[4] == "G3"
    assert set(got) <= set(groups)
    assert assign_groups(["THR-Z1"], ["x"], groups)[0] == got[0]  # stable


# --------------------------------------------------------------------------- load


def test_essential_profile_is_500_w_on_summer_afternoons() -> None:
    e = essential_profile_w()
    assert ESSENTIAL_PEAK_W == 500.0
    assert e[6, 12:19].tolist() == [500.0] * 7  # July afternoon: cooler + fridge + modem
    assert e[0, 20] == 140.0  # January evening: fridge + lights + modem
    assert e[0, 12] == 80.0
    full = full_home_profile_w()
    assert (full >= e).all()
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    assert 2500 < (full.sum(axis=1) * days).sum() / 1000 < 3200  # kWh a year


def test_plant_loads_scale_and_override(tmp_path) -> None:
    f = tmp_path / "load.csv"
    f.write_text("plant_id,hour,load_w\n" + "".join(f"B,{h},{100 + h}\n" for h in range(24)))
    overrides = read_load_file(f, ["A", "B"])
    loads = plant_loads(["A", "B", "C"], np.array([700.0, 700.0, np.nan]), overrides=overrides)
    assert loads.cut_scale.tolist() == [1.4, 1.0, 1.0]
    assert loads.tables_w[loads.cut_index[1], 3, 5] == 105.0
    assert (loads.self_index == -1).all()
    full = plant_loads(["A"], np.array([np.nan]), kind="full", self_consumption=True)
    assert full.self_index[0] == 1
    assert full.cut_index[0] == 1


def test_cut_load_is_what_the_dispatch_kernel_reads() -> None:
    loads = plant_loads(["A", "B", "C"], np.array([700.0, np.nan, 250.0]))
    plants, month, hour = np.array([0, 1, 2, 0]), np.array([6, 6, 0, 0]), np.array([15, 15, 20, 12])
    got = loads.cut_load_w(plants, month, hour)
    e = essential_profile_w()
    np.testing.assert_allclose(got, [700.0, 500.0, 0.5 * e[0, 20], 1.4 * e[0, 12]])
    # Broadcast: every plant at every hour of a July day.
    day = loads.cut_load_w(np.arange(3)[:, None], np.full(24, 6), np.arange(24))
    assert day.shape == (3, 24)
    np.testing.assert_allclose(day[1], e[6])


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("plant_id,hour,load_w\nZ,0,100\n", "line 2, column plant_id"),
        ("plant_id,hour,load_w\nA,25,100\n", "line 2, column hour"),
        ("plant_id,hour,load_w\nA,1,lots\n", "line 2, column load_w"),
        ("plant_id,hour,load_w\n" + "".join(f"A,{h},1\n" for h in range(23)), "has 23 rows"),
        (
            "plant_id,hour,load_w\n" + "".join(f"A,{h % 23},1\n" for h in range(24)),
            "line 25: plant 'A' has this hour already (line 2)",
        ),
        ("plant,hour,load_w\nA,1,1\n", "missing column(s) plant_id"),
    ],
)
def test_bad_load_files_name_the_line(tmp_path, body: str, needle: str) -> None:
    f = tmp_path / "load.csv"
    f.write_text(body)
    with pytest.raises(LoadFileError) as info:
        read_load_file(f, ["A"])
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_peak_window_follows_the_tariff_half_years() -> None:
    hours = np.array([18, 19, 22, 23, 17, 20, 21])
    months = np.array([0, 0, 5, 5, 6, 11, 11])
    assert peak_mask(hours, months).tolist() == [False, True, True, False, True, True, False]
    assert peak_mask(hours, months, (22, 2)).tolist() == [
        False,
        False,
        True,
        True,
        False,
        False,
        False,
    ]


# --------------------------------------------------------------------------- fleet figures


@pytest.fixture(scope="module")
def summer_run():
    fleet = load_sample_fleet()
    schedule = scenario_schedule("summer", year=2025, zones=3, seed=2)
    groups = assign_groups(fleet.plants["outage_zone"], fleet.plants["plant_id"], schedule.zones)
    options = OutageOptions(factors=GridFactors(tariff_toman_per_kwh=2000.0))
    return run_outages(fleet, None, schedule, plant_zones=groups, options=options, chunk_plants=16)


def test_fleet_figures_are_the_sums_of_the_plant_figures(summer_run) -> None:
    s, r = summer_run.summary, summer_run.regions
    fleet = r[(r.region == FLEET_REGION) & (r.calendar == "year")].iloc[0]
    for col in (
        "outage_hours",
        "outage_hours_served",
        "unserved_kwh",
        "exported_kwh",
        "exported_peak_kwh",
        "income_toman",
        "essential_served_kwh",
    ):
        assert fleet[col] == pytest.approx(s[col].sum(), rel=1e-12), col
    assert fleet.co2_avoided_t == pytest.approx(s.co2_avoided_kg.sum() / 1000, rel=1e-12)
    assert fleet.coverage_pct == pytest.approx(
        100 * s.outage_hours_served.sum() / s.outage_hours.sum()
    )
    assert fleet.plants == len(s)
    provinces = r[(r.region != FLEET_REGION) & (r.calendar == "year")]
    assert provinces.plants.sum() == len(s)
    for col in ("outage_hours", "unserved_kwh", "exported_kwh"):
        assert provinces[col].sum() == pytest.approx(fleet[col], rel=1e-12)
    # Months of either calendar add up to the year, for the fleet and per province.
    for calendar in ("gregorian", "solar_hijri"):
        months = r[r.calendar == calendar].groupby("region")[["outage_hours", "exported_kwh"]]
        year = r[r.calendar == "year"].set_index("region")[["outage_hours", "exported_kwh"]]
        pd.testing.assert_frame_equal(months.sum().sort_index(), year.sort_index(), rtol=1e-12)
    # The heat map holds every cut hour once per calendar.
    heat = summer_run.heatmap
    for calendar in ("gregorian", "solar_hijri"):
        part = heat[heat.calendar == calendar]
        assert part.outage_hours.sum() == pytest.approx(fleet.outage_hours)
        assert part.outage_hours_served.sum() == pytest.approx(fleet.outage_hours_served)
    # Peak power: the largest hour of the summed export; no province exceeds the fleet.
    assert fleet.peak_mw == pytest.approx(summer_run.fleet_export_w.max() / 1e6)
    assert (provinces.peak_mw <= fleet.peak_mw + 1e-12).all()
    assert fleet.income_toman == pytest.approx(2000.0 * fleet.exported_kwh)


def test_plant_figures_follow_the_inverter(summer_run) -> None:
    s = summer_run.summary
    grid_tied = s[s.inverter_type == "grid_tied"]
    assert (grid_tied.coverage_pct == 0).all()
    assert (grid_tied.battery_kwh == 0).all()
    hybrid = s[s.inverter_type == "hybrid"]
    assert (hybrid.coverage_pct > 90).all()  # ≥ 2.4 kWh for ≤ 700 W through 2-h blocks
    assert (s.outage_hours > 0).all()  # scenario groups: every plant has cuts
    # What the grid got is what the PV made, less cuts, curtailment and battery losses.
    assert (s.exported_kwh <= s.ac_energy_kwh + 1e-9).all()
    assert (s.exported_kwh + s.curtailed_kwh <= s.ac_energy_kwh + 1e-6).all()
    assert set(s.outage_zone) <= {"G1", "G2", "G3"}
    assert summer_run.year == 2025


def test_sunny_midday_cut_on_the_real_kernel() -> None:
    """A zoned schedule on the sample fleet's own zones: the Tehran zone THR-Z1 (three plants,
    two of them hybrid) loses the grid from 11:00 to 13:00 on 1 July 2025."""
    fleet = load_sample_fleet()
    schedule = parse_schedule(
        "start,end,zone\n2025-07-01T11:00+03:30,2025-07-01T13:00+03:30,THR-Z1\n"
    )
    run = run_outages(fleet, None, schedule, options=OutageOptions(battery_kwh=0.0))
    s = run.summary.set_index("plant_id")
    z1 = s[s.outage_zone == "THR-Z1"]
    assert len(z1) == 3
    assert run.plants_without_cuts == len(s) - 3
    assert z1.outage_hours.tolist() == [2.0, 2.0, 2.0]
    assert z1.loc["THR-000001"].coverage_pct == 100.0  # hybrid, no battery, sunny noon
    assert z1.loc["THR-000004"].coverage_pct == 100.0
    assert z1.loc["THR-000003"].coverage_pct == 0.0  # grid-tied
    assert np.isnan(s.loc["THR-000002"].coverage_pct)  # zone THR-Z2: no cuts


def test_typical_year_moves_to_the_schedule_year() -> None:
    weather = read_weather(TMY3)
    schedule = parse_schedule(
        "start,end\n2025-07-01T12:00-05:00,2025-07-01T14:00-05:00\n"
        "2024-02-29T12:00Z,2024-02-29T13:00Z\n"
        "2025-03-01T12:00Z,2025-03-01T13:00Z\n"
    )
    assert schedule_year(schedule) == 2025
    labels, year = simulation_labels(weather, 2025)
    assert year == 2025
    assert labels[0].year == 2025
    assert len(labels) == 8760
    c = cut_fractions(schedule, labels, 1.0, "America/New_York")
    assert c.hours[0] == 3.0
    assert c.cuts_outside == 1  # 29 February 2024 is not in the simulated 2025
    leap, _ = simulation_labels(weather, 2024)  # a typical year has no 29 February
    assert cut_fractions(schedule, leap, 1.0).cuts_outside == 3  # 2025 cuts, and the leap day
    same, year_1990 = simulation_labels(weather, None)
    assert year_1990 == 1990
    assert same.equals(pd.DatetimeIndex(weather.data.index))
