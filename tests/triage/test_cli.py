"""``roshanai triage`` end to end against a real influxd, and its refusals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from roshanai.cli import main
from simulate.outages import parse_schedule
from telemetry.influx import InfluxStore
from telemetry.lineprotocol import format_point
from telemetry.schema import MEASUREMENT_INVERTER, MEASUREMENT_PLANT_FINDING
from tests.triage import synthetic as syn
from tests.triage.conftest import CUT_TEXT, faulty_readings

SINCE, UNTIL = "1990-03-13T00:00Z", "1990-03-16T00:00Z"


def _fleet_file(tmp_path: Path) -> Path:
    fleet = syn.make_fleet()
    cols = ["plant_id", "latitude", "longitude", "dc_kwp", "ac_kw", "tilt_deg", "azimuth_deg"]
    path = tmp_path / "fleet.csv"
    fleet.plants[[*cols, "outage_zone", "province"]].to_csv(path, index=False)
    return path


def _lines(readings: pd.DataFrame) -> list[str]:
    fields = ["ac_power_w", "energy_total_wh", "dc1_power_w", "dc2_power_w"]
    out = []
    for row in readings.to_dict("records"):
        values: dict[str, float | int | bool | str] = {f: float(row[f]) for f in fields}
        values["alarm_code"] = int(row["alarm_code"])
        t_ns = int(pd.Timestamp(row["time"]).value)
        out.append(format_point(MEASUREMENT_INVERTER, {"plant_id": row["plant_id"]}, values, t_ns))
    return out


def test_triage_end_to_end(influxd, influx_db, tmp_path, capsys) -> None:
    fleet_file = _fleet_file(tmp_path)
    schedule = tmp_path / "cuts.csv"
    schedule.write_text(CUT_TEXT)
    readings = faulty_readings(syn.make_fleet(), parse_schedule(CUT_TEXT))
    readings = readings[readings.time >= pd.Timestamp(SINCE)]
    with InfluxStore(influxd.url, influx_db) as store:
        store.write_batches(_lines(readings))
    out = tmp_path / "findings.csv"
    args = ["triage", "--fleet", str(fleet_file), "--influx-url", influxd.url]
    args += ["--influx-db", influx_db, "--since", SINCE, "--until", UNTIL]
    rc = main([*args, "--schedule", str(schedule), "--out", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    found = pd.read_csv(out)
    assert list(found.columns) == [
        "plant_id",
        "finding",
        "start",
        "lost_kwh_per_day",
        "confidence",
        "evidence",
    ]
    got = set(zip(found.plant_id, found.finding, strict=True))
    for pair in [
        ("ISF-005", "inverter_fault"),
        ("SHZ-006", "string_fault"),
        ("THR-007", "offline"),
        ("THR-001", "underperforming"),
    ]:
        assert pair in got, found.to_string()
    assert not any(pid.startswith(("THR-000", "ISF-000", "SHZ-000")) for pid in found.plant_id)
    assert found.lost_kwh_per_day.is_monotonic_decreasing
    assert "ISF-005" in printed
    assert max(len(line) for line in printed.splitlines()) <= 80
    with InfluxStore(influxd.url, influx_db) as store:
        series = store.query(
            f'SELECT * FROM "{MEASUREMENT_PLANT_FINDING}" GROUP BY plant_id, finding'
        )
    assert {(s["tags"]["plant_id"], s["tags"]["finding"]) for s in series} == got
    # Run again: the same findings overwrite their points.
    assert main([*args, "--schedule", str(schedule), "--out", str(out)]) == 0
    with InfluxStore(influxd.url, influx_db) as store:
        again = store.query(f'SELECT count(confidence) FROM "{MEASUREMENT_PLANT_FINDING}"')
    assert again[0]["values"][0][1] == len(found)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--since", "yesterday-ish", "--until", UNTIL], "not an ISO 8601"),
        (["--since", UNTIL, "--until", SINCE], "must be before"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, extra, message) -> None:
    out = tmp_path / "f.csv"
    fleet = _fleet_file(tmp_path)
    rc = main(["triage", "--fleet", str(fleet), "--influx-url", "http://127.0.0.1:9", *extra])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err
    assert "Traceback" not in err
    assert not out.exists()


def test_missing_fleet_exit_2(tmp_path, capsys) -> None:
    args = ["--influx-url", "http://127.0.0.1:9", "--since", SINCE, "--until", UNTIL]
    rc = main(["triage", "--fleet", str(tmp_path / "none.csv"), *args])
    assert rc == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_unreachable_database_exit_3_no_file(tmp_path, capsys) -> None:
    out = tmp_path / "f.csv"
    args = ["--influx-url", "http://127.0.0.1:9", "--since", SINCE, "--until", UNTIL]
    rc = main(["triage", "--fleet", str(_fleet_file(tmp_path)), *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 3, err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()
    assert list(tmp_path.glob(".f.*")) == []


def test_a_window_without_readings_is_refused_and_nothing_written(
    influxd, influx_db, tmp_path, capsys
) -> None:
    # The readings are in March 1990; the window asks for July 2026 (a wrong --since, or the
    # wrong database): no "no findings", no cut energy, no plant_expected points.
    readings = faulty_readings(syn.make_fleet(), parse_schedule(CUT_TEXT))
    with InfluxStore(influxd.url, influx_db) as store:
        store.write_batches(_lines(readings[readings.time >= pd.Timestamp(SINCE)]))
    schedule = tmp_path / "cuts.csv"
    schedule.write_text(CUT_TEXT)
    out = tmp_path / "findings.csv"
    rc = main(
        ["triage", "--fleet", str(_fleet_file(tmp_path)), "--influx-url", influxd.url,
         "--influx-db", influx_db, "--since", "2026-07-01", "--until", "2026-07-03",
         "--schedule", str(schedule), "--out", str(out)]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "none of the schedule's 2 cuts falls in" in err
    assert "no readings of the fleet's 37 plants in 2026-06-30 20:30–2026-07-02 20:30 UTC" in err
    assert "Traceback" not in err
    assert not out.exists()
    with InfluxStore(influxd.url, influx_db) as store:
        assert store.query('SELECT count(*) FROM "plant_expected"') == []
