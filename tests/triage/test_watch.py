"""``roshanai triage`` writing the worklist and the expectation, run after run, against a real
influxd: kept starts, closing, ``--every`` replays, a run that fails, and bad options."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from roshanai.cli import main
from telemetry.influx import InfluxStore
from telemetry.schema import MEASUREMENT_INVERTER, MEASUREMENT_PLANT_EXPECTED
from tests.triage import synthetic as syn
from tests.triage.test_cli import _fleet_file, _lines
from triage import watch as tw

#: Readings from here on are seeded (the windows below start no earlier).
SEED_FROM = pd.Timestamp("1990-03-12T00:00Z")
#: ISF-005's inverter trips here (0 W, every reading).
TRIP = pd.Timestamp("1990-03-14T00:00Z")


def _readings(repair_at: pd.Timestamp | None = None) -> pd.DataFrame:
    """The synthetic fleet's readings with one inverter trip at ISF-005 from :data:`TRIP`
    (until ``repair_at``, if given)."""
    fleet = syn.make_fleet()
    labels, power = syn.hourly_power()
    r = syn.readings_from_power(fleet, labels, power)
    tripped = (r.plant_id == "ISF-005") & (r.time >= TRIP)
    if repair_at is not None:
        tripped &= r.time < repair_at
    r.loc[tripped, ["ac_power_w", "dc1_power_w", "dc2_power_w"]] = 0.0
    return r[r.time >= SEED_FROM].reset_index(drop=True)


def _seed(url: str, db: str, readings: pd.DataFrame) -> None:
    with InfluxStore(url, db) as store:
        store.write_batches(_lines(readings))


def _findings(url: str, db: str) -> pd.DataFrame:
    with InfluxStore(url, db) as store:
        series = store.query("SELECT * FROM plant_finding GROUP BY plant_id, finding")
    rows = []
    for s in series:
        for values in s["values"]:
            row = dict(zip(s["columns"], values, strict=True))
            row.update(s["tags"])
            rows.append(row)
    frame = pd.DataFrame(rows)
    frame["time"] = pd.to_datetime(frame["time"].astype("int64"), unit="ns", utc=True)
    return frame


def _args(fleet: Path, url: str, db: str, out: Path) -> list[str]:
    base = ["triage", "--fleet", str(fleet), "--influx-url", url, "--influx-db", db]
    return [*base, "--out", str(out)]


def test_plant_expected_points_start_of_hour_daylight_only(influxd, influx_db, tmp_path, capsys):
    readings = _readings()
    readings = readings[~((readings.plant_id == "THR-007") & (readings.time >= TRIP))]
    _seed(influxd.url, influx_db, readings)
    fleet_file = _fleet_file(tmp_path)
    out = tmp_path / "f.csv"
    args = _args(fleet_file, influxd.url, influx_db, out)
    rc = main([*args, "--since", "1990-03-13T00:00Z", "--until", "1990-03-15T00:00Z"])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    with InfluxStore(influxd.url, influx_db) as store:
        got = store.query(
            f"SELECT * FROM \"{MEASUREMENT_PLANT_EXPECTED}\" WHERE plant_id = 'THR-002'"
        )[0]
        means = store.query(
            f'SELECT mean(ac_power_w) FROM "{MEASUREMENT_INVERTER}" WHERE plant_id = '
            "'THR-002' AND time >= '1990-03-13T00:00:00Z' AND time < '1990-03-15T00:00:00Z' "
            "GROUP BY time(1h)"
        )[0]
        silent = store.query(
            f"SELECT count(clear_sky_ac_power_w), count(ac_power_w) FROM "
            f"\"{MEASUREMENT_PLANT_EXPECTED}\" WHERE plant_id = 'THR-007' AND time >= "
            "'1990-03-14T00:00:00Z'"
        )[0]["values"][0]
        total = store.query(f'SELECT count(sky_index) FROM "{MEASUREMENT_PLANT_EXPECTED}"')
    frame = pd.DataFrame(got["values"], columns=got["columns"])
    assert {
        "expected_ac_power_w",
        "clear_sky_ac_power_w",
        "sky_index",
        "peers_reporting",
        "from_peers",
        "ac_power_w",
        "province",
    } <= set(frame.columns)
    assert set(frame["province"]) == {"THR"}
    assert (frame["clear_sky_ac_power_w"] > 0).all()
    # Daylight only: about 11–13 of each day's 24 hours, two days.
    assert 18 <= len(frame) <= 28, len(frame)
    # Time = the hour's start: the same label InfluxQL's GROUP BY time(1h) gives the readings.
    hourly_mean = dict(means["values"])
    for t, p in zip(frame["time"], frame["ac_power_w"], strict=True):
        assert p == pytest.approx(hourly_mean[t], rel=1e-9)
    assert (frame["from_peers"]).all()
    assert (frame["peers_reporting"] >= 5).all()
    # A silent plant: points with the expectation, without ac_power_w.
    assert silent[1] > 0, silent
    assert silent[2] in (None, 0), silent
    assert total[0]["values"][0][1] > 37 * 18
    assert "plant_expected" in printed


def test_every_replay_keeps_the_first_start_and_reads_the_first_runs_findings(
    influxd, influx_db, tmp_path, capsys
):
    _seed(influxd.url, influx_db, _readings())
    out = tmp_path / "f.csv"
    args = _args(_fleet_file(tmp_path), influxd.url, influx_db, out)
    every = ["--every", "1d", "--window", "2d", "--runs", "2", "--until", "1990-03-15T00:00Z"]
    rc = main([*args, *every])
    captured = capsys.readouterr()
    assert rc == 0, captured.out + captured.err
    runs = [line for line in captured.out.splitlines() if line.startswith("run ")]
    assert len(runs) == 2, captured.out
    assert "1990-03-13 00:00–1990-03-15 00:00 UTC" in runs[0]
    assert "1990-03-14 00:00–1990-03-16 00:00 UTC" in runs[1]
    assert "0 carried on" in runs[0]
    assert "0 carried on" not in runs[1]  # the second run read the first's findings
    points = _findings(influxd.url, influx_db)
    trip = points[(points.plant_id == "ISF-005") & (points.finding == "inverter_fault")]
    assert len(trip) == 1, points.to_string()
    # Run 1 saw the trip from its first daylight hour on 03-14; run 2's window starts at the
    # trip, so its own start would be the same morning or later: it keeps run 1's.
    first_start = trip["time"].iloc[0]
    assert TRIP <= first_start < TRIP + pd.Timedelta(hours=12)
    assert bool(trip["open"].iloc[0]) is True
    assert trip["triaged_until"].iloc[0] == "1990-03-16T00:00:00Z"
    csv = pd.read_csv(out)
    row = csv[(csv.plant_id == "ISF-005") & (csv.finding == "inverter_fault")]
    assert pd.Timestamp(row["start"].iloc[0]) == first_start
    # Every point on the worklist is one of run 2's findings.
    assert set(zip(points.plant_id, points.finding, strict=True)) == set(
        zip(csv.plant_id, csv.finding, strict=True)
    )


def test_kept_start_when_the_window_rolls_past_it(influxd, influx_db, tmp_path, capsys):
    _seed(influxd.url, influx_db, _readings())
    out = tmp_path / "f.csv"
    args = _args(_fleet_file(tmp_path), influxd.url, influx_db, out)
    assert main([*args, "--since", "1990-03-13", "--until", "1990-03-15"]) == 0
    start1 = (
        pd.read_csv(out)
        .set_index(["plant_id", "finding"])
        .loc[("ISF-005", "inverter_fault"), "start"]
    )
    # Run 2 starts after the trip began: alone it would say "since 03-15 morning".
    rc = main(
        [*args, "--since", "1990-03-15T00:00Z", "--until", "1990-03-16T00:00Z", "--out", str(out)]
    )
    printed = capsys.readouterr().out
    assert rc == 0, printed
    csv = pd.read_csv(out).set_index(["plant_id", "finding"])
    assert csv.loc[("ISF-005", "inverter_fault"), "start"] == start1
    assert pd.Timestamp(start1) < pd.Timestamp("1990-03-15T00:00Z")
    points = _findings(influxd.url, influx_db)
    assert len(points[(points.plant_id == "ISF-005") & (points.finding == "inverter_fault")]) == 1
    assert "03-14" in printed  # the printed worklist shows the kept start too


def test_repaired_fault_is_closed_in_the_next_run(influxd, influx_db, tmp_path, capsys):
    repair = pd.Timestamp("1990-03-15T00:00Z")
    _seed(influxd.url, influx_db, _readings(repair_at=repair))
    out = tmp_path / "f.csv"
    args = _args(_fleet_file(tmp_path), influxd.url, influx_db, out)
    assert main([*args, "--since", "1990-03-13", "--until", "1990-03-15T00:00Z"]) == 0
    capsys.readouterr()
    points = _findings(influxd.url, influx_db)
    trip = points[(points.plant_id == "ISF-005") & (points.finding == "inverter_fault")]
    assert len(trip) == 1
    assert bool(trip["open"].iloc[0])
    # Run 2 still has the tripped day in its window, but the last day is fine: closed.
    rc = main([*args, "--since", "1990-03-14T00:00Z", "--until", "1990-03-16T00:00Z"])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    points = _findings(influxd.url, influx_db)
    trip = points[(points.plant_id == "ISF-005") & (points.finding == "inverter_fault")]
    assert len(trip) == 1, trip.to_string()
    assert bool(trip["open"].iloc[0]) is False
    assert trip["closed_at"].iloc[0] == "1990-03-16T00:00:00Z"
    csv = pd.read_csv(out)
    assert ("ISF-005", "inverter_fault") not in set(zip(csv.plant_id, csv.finding, strict=True))
    assert "1 closed" in printed
    # A third run over the same window does not bring it back.
    assert main([*args, "--since", "1990-03-14T00:00Z", "--until", "1990-03-16T00:00Z"]) == 0
    points = _findings(influxd.url, influx_db)
    trip = points[(points.plant_id == "ISF-005") & (points.finding == "inverter_fault")]
    assert len(trip) == 1
    assert bool(trip["open"].iloc[0]) is False


def test_a_run_with_influxdb_away_fails_in_one_line_and_the_next_succeeds(
    make_influxd, tmp_path, capsys, monkeypatch
):
    server = make_influxd()
    server.create_database("roshanai")
    _seed(server.url, "roshanai", _readings())
    server.stop()
    waits: list[pd.Timestamp] = []

    def wait(when: pd.Timestamp) -> None:  # the replay's clock: bring InfluxDB back for run 2
        waits.append(when)
        if len(waits) == 2:
            server.start()

    monkeypatch.setattr(tw, "_sleep_until", wait)
    args = _args(_fleet_file(tmp_path), server.url, "roshanai", tmp_path / "f.csv")
    every = ["--every", "1d", "--window", "2d", "--runs", "2", "--until", "1990-03-15T00:00Z"]
    rc = main([*args, *every])
    captured = capsys.readouterr()
    assert rc == 0, captured.out + captured.err
    errors = captured.err.strip().splitlines()
    assert len(errors) == 1, captured.err
    assert errors[0].startswith("run 1 ")
    assert "next run tries again" in errors[0]
    assert "Traceback" not in captured.err
    runs = [line for line in captured.out.splitlines() if line.startswith("run ")]
    assert len(runs) == 1, captured.out
    assert runs[0].startswith("run 2 "), captured.out
    assert len(_findings(server.url, "roshanai")) > 0


def test_every_run_failing_exits_1_one_line_each(tmp_path, capsys):
    args = _args(_fleet_file(tmp_path), "http://127.0.0.1:9", "roshanai", tmp_path / "f.csv")
    rc = main([*args, "--every", "1h", "--runs", "2", "--until", "1990-03-15T00:00Z"])
    err = capsys.readouterr().err
    assert rc == 1
    assert len(err.strip().splitlines()) == 2, err
    assert "connection refused" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--every", "90s"], "whole number of hours"),
        (["--every", "hourly"], "not a duration"),
        (["--every", "1h", "--window", "0h"], "whole number of hours"),
        (["--every", "1h", "--since", "1990-03-13"], "--since does not go with --every"),
        (["--every", "1h", "--runs", "0"], "--runs must be 1 or more"),
        (["--window", "2d", "--since", "1990-03-13", "--until", "1990-03-15"], "go with --every"),
        (["--runs", "2", "--since", "1990-03-13", "--until", "1990-03-15"], "go with --every"),
        (["--until", "1990-03-15"], "--since and --until are needed"),
        (["--every", "1h", "--until", "soon"], "not an ISO 8601"),
    ],
)
def test_bad_options_one_line_exit_2(tmp_path, capsys, extra, message) -> None:
    args = _args(_fleet_file(tmp_path), "http://127.0.0.1:9", "roshanai", tmp_path / "f.csv")
    rc = main([*args, *extra])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert message in err
    assert len(err.strip().splitlines()) == 1, err


def test_parse_duration() -> None:
    assert tw.parse_duration("1h", "--every") == pd.Timedelta(hours=1)
    assert tw.parse_duration("120m", "--every") == pd.Timedelta(hours=2)
    assert tw.parse_duration("3d", "--window") == pd.Timedelta(days=3)


def test_wall_clock_ends_are_the_hour_before_now() -> None:
    clock = iter([pd.Timestamp("2026-07-01T09:47Z"), pd.Timestamp("2026-07-01T10:01Z")])
    ends = tw.run_ends(pd.Timedelta(hours=1), now=lambda: next(clock))
    assert next(ends) == pd.Timestamp("2026-07-01T09:00Z")
    assert next(ends) == pd.Timestamp("2026-07-01T10:00Z")


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_ends_cleanly_with_one_line(tmp_path) -> None:
    """A wall-clock run against a dead InfluxDB fails, waits for the next hour, and SIGINT
    (then SIGTERM, the service manager's stop) ends it with one line and exit 0."""
    command = [
        sys.executable,
        "-m",
        "roshanai.cli",
        "triage",
        "--fleet",
        str(_fleet_file(tmp_path)),
    ]
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = subprocess.Popen(
            [*command, "--influx-url", "http://127.0.0.1:9", "--every", "1h"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            # as from a terminal: a shell's background job (a CI runner's) inherits SIGINT
            # ignored, and then Python, rightly, leaves it ignored (as under nohup)
            preexec_fn=_sigint_default,
        )
        assert proc.stderr is not None
        line = proc.stderr.readline()  # run 1 failed: the loop now waits an hour
        assert line.startswith("run 1 "), line
        time.sleep(0.5)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert err.strip().splitlines() == ["stopped after 1 run (1 failed)"], err
        assert "Traceback" not in err


def test_a_window_without_any_reading_closes_nothing(influxd, influx_db, tmp_path, capsys):
    """The bridge away for days (no readings at all) is no repair: the run is refused in one
    line and the worklist stays."""
    _seed(influxd.url, influx_db, _readings())
    args = _args(_fleet_file(tmp_path), influxd.url, influx_db, tmp_path / "f.csv")
    assert main([*args, "--since", "1990-03-13", "--until", "1990-03-15T00:00Z"]) == 0
    capsys.readouterr()
    rc = main([*args, "--since", "1990-03-16T00:00Z", "--until", "1990-03-18T00:00Z"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "no readings of the fleet's 37 plants" in err
    points = _findings(influxd.url, influx_db)
    trip = points[(points.plant_id == "ISF-005") & (points.finding == "inverter_fault")]
    assert len(trip) == 1
    assert bool(trip["open"].iloc[0]) is True


def test_a_changed_fleet_file_is_read_again_between_runs(
    influxd, influx_db, tmp_path, capsys, monkeypatch
):
    _seed(influxd.url, influx_db, _readings())
    fleet_file = _fleet_file(tmp_path)
    waits: list[pd.Timestamp] = []

    def wait(when: pd.Timestamp) -> None:  # between the runs: the lone plant leaves the fleet
        waits.append(when)
        if len(waits) == 2:
            frame = pd.read_csv(fleet_file)
            frame[frame.plant_id != "ZAH-000"].to_csv(fleet_file, index=False)

    monkeypatch.setattr(tw, "_sleep_until", wait)
    args = _args(fleet_file, influxd.url, influx_db, tmp_path / "f.csv")
    every = ["--every", "1d", "--window", "2d", "--runs", "2", "--until", "1990-03-15T00:00Z"]
    rc = main([*args, *every])
    out = capsys.readouterr().out
    assert rc == 0, out
    runs = [line for line in out.splitlines() if line.startswith("run ")]
    assert "of 37 plants" in runs[0]
    assert "of 36 plants" in runs[1]


def test_wall_clock_runs_wait_for_the_next_hour_and_go_on_after_a_failure() -> None:
    clock = [pd.Timestamp("2026-07-01T09:47Z")]
    waited: list[pd.Timestamp] = []
    periods: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    lines: list[str] = []

    def wait(when: pd.Timestamp) -> None:
        waited.append(when)
        clock[0] = max(clock[0], when)

    def run(t0: pd.Timestamp, t1: pd.Timestamp) -> tw.RunReport:
        periods.append((t0, t1))
        clock[0] += pd.Timedelta(minutes=2)
        if len(periods) == 2:
            raise ConnectionError("InfluxDB away\nsecond line")
        raise tw.InputError("bad reading")

    rc = tw.watch(
        run,
        every=pd.Timedelta(hours=1),
        window=pd.Timedelta(days=3),
        runs=3,
        report=lambda k, rep: None,
        failed=lambda k, t0, t1, line: lines.append(line),
        stopped=lambda done, failures: None,
        now=lambda: clock[0],
        sleep_until=wait,
    )
    assert rc == 1
    assert [t1 for _, t1 in periods] == [
        pd.Timestamp("2026-07-01T09:00Z"),
        pd.Timestamp("2026-07-01T10:00Z"),
        pd.Timestamp("2026-07-01T11:00Z"),
    ]
    assert periods[0][0] == pd.Timestamp("2026-06-28T09:00Z")
    assert waited[1:] == [pd.Timestamp("2026-07-01T10:05Z"), pd.Timestamp("2026-07-01T11:05Z")]
    assert lines == ["bad reading", "ConnectionError: InfluxDB away", "bad reading"]


def test_a_finding_open_for_40_days_is_carried_with_its_first_start(
    influxd, influx_db, tmp_path, capsys
):
    """An open finding's point stays at its first start however long ago that was: a run
    40 days later carries it on (the same point), it does not open a new one."""
    from tests.dashboards.seed import finding_line

    _seed(influxd.url, influx_db, _readings())
    first = TRIP - pd.Timedelta(days=40)
    old = {
        "plant_id": "ISF-005",
        "finding": "inverter_fault",
        "start_ns": int(first.value),
        "lost_kwh_per_day": 20.0,
        "confidence": 0.9,
        "evidence": "40 days ago",
        "triaged_until": "1990-02-03T00:00:00Z",
        "province": "ISF",
        "open": True,
    }
    with InfluxStore(influxd.url, influx_db) as store:
        store.write_lines([finding_line(old)])
    out = tmp_path / "f.csv"
    args = _args(_fleet_file(tmp_path), influxd.url, influx_db, out)
    rc = main([*args, "--since", "1990-03-13", "--until", "1990-03-15T00:00Z"])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    csv = pd.read_csv(out).set_index(["plant_id", "finding"])
    assert pd.Timestamp(csv.loc[("ISF-005", "inverter_fault"), "start"]) == first
    points = _findings(influxd.url, influx_db)
    trip = points[(points.plant_id == "ISF-005") & (points.finding == "inverter_fault")]
    assert list(trip["time"]) == [first], trip.to_string()
    assert bool(trip["open"].iloc[0]) is True
    assert trip["triaged_until"].iloc[0] == "1990-03-15T00:00:00Z"


def _open_on_both_sides(url: str, db: str, until: pd.Timestamp) -> tuple[dict, set]:
    """(plant, kind) -> open, as the next run reads it, and the (plant, kind) pairs the
    dashboards' worklist query shows."""
    from dashboards.queries import worklist
    from triage.io import read_open_findings

    with InfluxStore(url, db) as store:
        latest = read_open_findings(store, ["ISF-005"], until)
        shown = store.query(worklist(province=False, time_filter="time <= now()"))
    state = dict(zip(zip(latest.plant_id, latest.finding, strict=True), latest.open, strict=True))
    return state, {(s["tags"]["plant_id"], s["tags"]["finding"]) for s in shown}


@pytest.mark.parametrize("offset_h", [0, -6])
def test_found_again_at_or_before_a_closed_point_is_open_for_triage_and_the_worklist(
    influxd, influx_db, offset_h
):
    """A closed finding found again with the start of its point (0) or earlier (-6 h: readings
    backfilled): the closed point is rewritten open, ``closed_at`` cleared, and both the next
    run and the dashboards' worklist query say open (an earlier start was written as a new
    point behind the closed one, which stayed the latest: closed for both, run after run)."""
    from triage.io import read_open_findings, write_findings
    from triage.worklist import carry_on

    fleet = syn.make_fleet()
    start = TRIP + pd.Timedelta(hours=6)
    found = pd.DataFrame(
        [
            {
                "plant_id": "ISF-005",
                "finding": "inverter_fault",
                "start": start,
                "lost_kwh_per_day": 20.0,
                "confidence": 0.9,
                "evidence": "tripped",
            }
        ]
    )
    judged = np.ones(len(fleet.plant_ids), bool)
    until1, until2, until3 = (TRIP + pd.Timedelta(days=d) for d in (1, 2, 3))
    with InfluxStore(influxd.url, influx_db) as store:
        wl = carry_on(
            found, read_open_findings(store, fleet.plant_ids, until1), fleet.plant_ids, judged
        )
        write_findings(store, wl.findings, fleet, until1)
        wl = carry_on(
            found.iloc[:0],
            read_open_findings(store, fleet.plant_ids, until2),
            fleet.plant_ids,
            judged,
        )
        assert len(wl.closed) == 1
        write_findings(store, wl.findings, fleet, until2, wl.closed)
    key = ("ISF-005", "inverter_fault")
    state, shown = _open_on_both_sides(influxd.url, influx_db, until2)
    assert state == {key: False}
    assert key not in shown
    again = found.assign(start=start + pd.Timedelta(hours=offset_h))
    with InfluxStore(influxd.url, influx_db) as store:
        latest = read_open_findings(store, fleet.plant_ids, until3)
        wl = carry_on(again, latest, fleet.plant_ids, judged)
        write_findings(store, wl.findings, fleet, until3, wl.closed)
    assert bool(wl.findings.reopen.iloc[0])
    assert wl.findings.start.iloc[0] == start  # the closed point's time: its identity
    state, shown = _open_on_both_sides(influxd.url, influx_db, until3 + pd.Timedelta(hours=1))
    assert state == {key: True}
    assert key in shown
    points = _findings(influxd.url, influx_db)
    assert list(points["time"]) == [start], points.to_string()
    assert points["closed_at"].iloc[0] in ("", None)
    assert bool(points["open"].iloc[0]) is True
