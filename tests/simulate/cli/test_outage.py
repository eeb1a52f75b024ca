"""``roshanai simulate outage`` and ``size-battery`` as a user runs them (real subprocesses)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from telemetry.registry import sample_fleet_path
from tests.roshanai.test_cli import assert_one_line_error, cache_dir, roshanai

__all__ = ["cache_dir"]  # the session fixture, shared with test_cli

SCHEDULE = (
    "start,end,zone\n"
    "2025-07-01T11:00+03:30,2025-07-01T13:00+03:30,THR-Z1\n"
    "2025-07-01T20:00+03:30,2025-07-01T22:00+03:30,THR-Z1\n"
    "2025-07-02T20:00+03:30,2025-07-02T22:00+03:30,THR-Z2\n"
)


@pytest.mark.parametrize(
    "args", [["simulate", "outage", "--help"], ["simulate", "size-battery", "--help"]]
)
def test_help_reads(args: list[str], tmp_path: Path, cache_dir: Path) -> None:
    proc = roshanai(*args, cwd=tmp_path, cache=cache_dir)
    assert proc.returncode == 0, proc.stderr
    assert "Usage: roshanai" in proc.stdout
    assert "kWh" in proc.stdout  # units survive rich markup


def test_outage_with_a_schedule_file(tmp_path: Path, cache_dir: Path) -> None:
    (tmp_path / "cuts.csv").write_text(SCHEDULE)
    proc = roshanai(
        "simulate",
        "outage",
        "--schedule",
        "cuts.csv",
        "--summary",
        "out/s.csv",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    assert "(fleet)" in proc.stdout
    assert "plant(s) have no cuts" in proc.stderr  # the other provinces' zones
    s = pd.read_csv(tmp_path / "out" / "s.csv").set_index("plant_id")
    for col in (
        "outage_hours",
        "outage_hours_served",
        "coverage_pct",
        "unserved_kwh",
        "ac_energy_kwh",
        "exported_kwh",
        "income_toman",
    ):
        assert col in s.columns
    assert s.loc["THR-000001", "outage_hours"] == 4.0
    assert s.loc["THR-000001", "coverage_pct"] == 100.0  # hybrid with 4.8 kWh
    assert s.loc["THR-000003", "coverage_pct"] == 0.0  # grid-tied
    assert s.loc["THR-000002", "outage_hours"] == 2.0  # THR-Z2
    assert pd.isna(s.loc["KHR-000001", "coverage_pct"])
    regions = pd.read_csv(tmp_path / "out" / "s_regions.csv")
    fleet = regions[(regions.region == "(fleet)") & (regions.calendar == "year")].iloc[0]
    assert fleet.outage_hours == pytest.approx(s.outage_hours.sum())
    assert fleet.exported_kwh == pytest.approx(s.exported_kwh.sum())
    heat = pd.read_csv(tmp_path / "out" / "s_heatmap.csv")
    assert set(heat.start_hour) == {11, 20}
    assert (tmp_path / "out" / "s_coverage.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("start,end\n2025-07-01T11:00,2025-07-01T13:00+03:30\n", "line 2, column start"),
        ("start,end\n2025-07-01T13:00+03:30,2025-07-01T11:00+03:30\n", "line 2: end"),
        (
            "start,end,zone\n2025-07-01T11:00Z,2025-07-01T13:00Z,A\n"
            "2025-07-01T12:00Z,2025-07-01T14:00Z,A\n",
            "line 3: the cut overlaps",
        ),
        ("when,until\n2025-07-01T11:00Z,2025-07-01T13:00Z\n", "missing column"),
    ],
)
def test_bad_schedule_is_one_line_and_writes_nothing(
    body: str, needle: str, tmp_path: Path, cache_dir: Path
) -> None:
    (tmp_path / "cuts.csv").write_text(body)
    proc = roshanai(
        "simulate",
        "outage",
        "--schedule",
        "cuts.csv",
        "--out-dir",
        "out",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert_one_line_error(proc, 2, "cuts.csv", needle)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([], "--schedule"),
        (["--scenario", "spring"], "scenario"),
        (["--scenario", "summer", "--dod", "120"], "--dod"),
        (["--scenario", "summer", "--months", "6,13"], "--months"),
        (["--scenario", "summer", "--load", "nope.csv"], "nope.csv"),
        (["--schedule", "missing.csv"], "missing.csv"),
        (["--scenario", "summer-2025", "--cut-hours", "6-14"], "night"),
        (["--scenario", "summer-2025", "--cut-hours", "9"], "--cut-hours"),
        (["--scenario", "summer-2025", "--evening-hours", "17-25"], "--evening-hours"),
        (["--scenario", "summer-2025", "--blocks-per-day", "3"], "1 or 2"),
        (["--scenario", "winter-2024", "--evening-block"], "night"),
        (["--schedule", "s.csv", "--cut-hours", "9-17"], "--scenario"),
    ],
)
def test_bad_options_are_one_line(
    args: list[str], needle: str, tmp_path: Path, cache_dir: Path
) -> None:
    proc = roshanai("simulate", "outage", "--out-dir", "out", *args, cwd=tmp_path, cache=cache_dir)
    assert_one_line_error(proc, 2, needle)
    assert not (tmp_path / "out").exists()


def test_scenario_run_and_its_schedule(tmp_path: Path, cache_dir: Path) -> None:
    proc = roshanai(
        "simulate",
        "outage",
        "--scenario",
        "winter",
        "--zones",
        "3",
        "--seed",
        "5",
        "--no-plot",
        "--write-schedule",
        "winter.csv",
        "--reserve-pct",
        "50",
        "--tariff",
        "3000",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    s = pd.read_csv(tmp_path / "roshanai-out" / "outage_summary.csv")
    assert (s.outage_hours > 0).all()
    assert set(s.outage_zone) <= {"G1", "G2", "G3"}
    assert s.income_toman.sum() == pytest.approx(3000 * s.exported_kwh.sum())
    cuts = pd.read_csv(tmp_path / "winter.csv")
    assert list(cuts.columns) == ["start", "end", "zone"]
    assert cuts.start.str.endswith("+03:30").all()
    # Written on the fleet's own outage_zone names (THR-Z1, …), not the scenario's groups.
    fleet = pd.read_csv(sample_fleet_path())
    assert set(cuts.zone) == set(fleet.outage_zone)
    # The written schedule runs again and gives the same figures.
    again = roshanai(
        "simulate",
        "outage",
        "--schedule",
        "winter.csv",
        "--no-plot",
        "--summary",
        "again.csv",
        "--reserve-pct",
        "50",
        "--tariff",
        "3000",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert again.returncode == 0, again.stderr
    assert "have no cuts" not in again.stderr
    b = pd.read_csv(tmp_path / "again.csv").set_index("plant_id")
    a = s.set_index("plant_id").loc[b.index]
    for column in ("outage_hours", "exported_kwh", "income_toman"):
        np.testing.assert_allclose(b[column], a[column], rtol=1e-9, err_msg=column)


def test_size_battery(tmp_path: Path, cache_dir: Path) -> None:
    proc = roshanai(
        "simulate",
        "size-battery",
        "--lat",
        "35.7",
        "--lon",
        "51.4",
        "--scenario",
        "summer",
        "--target-coverage",
        "95",
        "--summary",
        "curve.csv",
        "--plot",
        "curve.png",
        "--cost-per-kwh",
        "10000000",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    assert "smallest battery reaching 95 %" in proc.stdout
    curve = pd.read_csv(tmp_path / "curve.csv").sort_values("battery_kwh")
    assert curve.coverage_pct.is_monotonic_increasing
    chosen = curve[curve.coverage_pct >= 95 - 1e-9].battery_kwh.min()
    below = curve[curve.battery_kwh < chosen]
    assert below.battery_kwh.max() >= chosen - 0.0100001  # bisection to 0.01 kWh
    assert (below.coverage_pct < 95).all()
    assert f"{chosen:g} kWh" in proc.stdout
    assert curve.cost_toman.tolist() == pytest.approx((curve.battery_kwh * 1e7).tolist())
    assert (tmp_path / "curve.png").stat().st_size > 10_000


def test_size_battery_needs_the_zone_of_a_zoned_schedule(tmp_path: Path, cache_dir: Path) -> None:
    (tmp_path / "cuts.csv").write_text(SCHEDULE)
    proc = roshanai(
        "simulate",
        "size-battery",
        "--lat",
        "35.7",
        "--lon",
        "51.4",
        "--schedule",
        "cuts.csv",
        "--no-plot",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert_one_line_error(proc, 2, "--zone", "THR-Z1")
    ok = roshanai(
        "simulate",
        "size-battery",
        "--lat",
        "35.7",
        "--lon",
        "51.4",
        "--schedule",
        "cuts.csv",
        "--zone",
        "THR-Z1",
        "--sizes",
        "0,1,2,4",
        "--no-plot",
        "--target-coverage",
        "100",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert ok.returncode == 0, ok.stderr
    assert "smallest battery reaching 100 %: 2 kWh" in ok.stdout  # 1 kWh at 20–22 h, 500 W


def test_outage_results_to_influxdb(
    tmp_path: Path, cache_dir: Path, influxd, influx_db: str
) -> None:
    (tmp_path / "cuts.csv").write_text(SCHEDULE)
    proc = roshanai(
        "simulate",
        "outage",
        "--schedule",
        "cuts.csv",
        "--no-plot",
        "--influx-url",
        influxd.url,
        "--influx-db",
        influx_db,
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    s = pd.read_csv(tmp_path / "roshanai-out" / "outage_summary.csv")

    def one(q: str) -> float:
        return influxd.query(q, db=influx_db)["results"][0]["series"][0]["values"][0][1]

    assert one("SELECT sum(outage_hours) FROM sim_plant_year") == pytest.approx(
        s.outage_hours.sum()
    )
    assert one("SELECT sum(exported_kwh) FROM sim_plant_year") == pytest.approx(
        s.exported_kwh.sum()
    )
    assert one(
        "SELECT sum(exported_kwh) FROM sim_outage_region WHERE region = '(fleet)' "
        "AND calendar = 'year'"
    ) == pytest.approx(s.exported_kwh.sum())
    assert one(
        "SELECT sum(outage_hours) FROM sim_outage_heatmap WHERE calendar = 'solar_hijri'"
    ) == pytest.approx(s.outage_hours.sum())
    times = influxd.query("SELECT outage_hours FROM sim_plant_year LIMIT 1", db=influx_db)[
        "results"
    ][0]["series"][0]["values"]
    assert times[0][0] == pd.Timestamp("2025-01-01", tz="UTC").value  # the schedule's year


def test_size_battery_curve_to_influxdb(
    tmp_path: Path, cache_dir: Path, influxd, influx_db: str
) -> None:
    proc = roshanai(
        "simulate",
        "size-battery",
        "--lat",
        "32.65",
        "--lon",
        "51.67",
        "--scenario",
        "summer",
        "--sizes",
        "0,1,2,3",
        "--target-coverage",
        "99",
        "--no-plot",
        "--influx-url",
        influxd.url,
        "--influx-db",
        influx_db,
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    rows = influxd.query(
        "SELECT battery_kwh, coverage_pct, smallest FROM sim_battery_sizing", db=influx_db
    )["results"][0]["series"][0]["values"]
    assert sorted(r[1] for r in rows) == [0.0, 1.0, 2.0, 3.0]
    coverage = [r[2] for r in sorted(rows, key=lambda r: r[1])]
    assert coverage == sorted(coverage)
    assert sum(r[3] for r in rows) == 1  # one smallest size


def test_outage_table_fits_80_columns(tmp_path: Path, cache_dir: Path) -> None:
    proc = roshanai(
        "simulate",
        "outage",
        "--scenario",
        "summer",
        "--no-plot",
        "--summary",
        "o.csv",
        cwd=tmp_path,
        cache=cache_dir,
        env={"COLUMNS": "80"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "…" not in proc.stdout  # no province name or figure cut short
    assert max(len(line) for line in proc.stdout.splitlines()) <= 80
    assert "Baluchestan" in proc.stdout


def test_summer_2025_marks_the_evening_block_and_the_export_cuts_kept_from_the_grid(
    tmp_path: Path, cache_dir: Path
) -> None:
    proc = roshanai(
        "simulate",
        "outage",
        "--scenario",
        "summer-2025",
        "--zones",
        "4",
        "--no-plot",
        "--write-schedule",
        "s.csv",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    assert "export_lost_to_cuts_kwh" in proc.stdout
    assert "unannounced" in proc.stdout
    cuts = pd.read_csv(tmp_path / "s.csv")
    assert list(cuts.columns) == ["start", "end", "zone", "announced"]
    assert set(cuts.announced) == {True, False}
    s = pd.read_csv(tmp_path / "roshanai-out" / "outage_summary.csv")
    # A grid-tied plant exports all its PV but that of the cut hours: the lost export.
    g = s[s.inverter_type == "grid_tied"]
    assert (g.export_lost_to_cuts_kwh > 0).all()
    np.testing.assert_allclose(
        g.ac_energy_kwh - g.exported_kwh, g.export_lost_to_cuts_kwh, atol=1e-3
    )
    r = pd.read_csv(tmp_path / "roshanai-out" / "outage_summary_regions.csv")
    fleet = r[(r.region == "(fleet)") & (r.calendar == "year")].iloc[0]
    assert fleet.export_lost_to_cuts_kwh == pytest.approx(s.export_lost_to_cuts_kwh.sum())
    assert fleet.grid_tied_lost_to_cuts_kwh == pytest.approx(g.export_lost_to_cuts_kwh.sum())
    months = r[(r.region == "(fleet)") & (r.calendar == "gregorian")]
    assert months.export_lost_to_cuts_kwh.sum() == pytest.approx(fleet.export_lost_to_cuts_kwh)
    assert months[months.month.isin([1, 2, 3, 4, 10, 11, 12])].export_lost_to_cuts_kwh.sum() == 0
