"""The ``roshanai`` command as a user runs it: a real subprocess, exit codes, one-line errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from telemetry.registry import sample_fleet_path

GOOD_HEADER = "plant_id,latitude,longitude,dc_kwp,ac_kw,tilt_deg,azimuth_deg,province\n"
GOOD_ROW = "THR-1,35.69,51.39,5,5,30,180,Tehran\n"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("roshanai-cache")


def roshanai(
    *args: str, cwd: Path, cache: Path, env: dict[str, str] | None = None, timeout_s: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m roshanai ARGS`` in ``cwd`` with no ambient ROSHANAI_* settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ROSHANAI_")}
    base.update({"ROSHANAI_CACHE_DIR": str(cache), "COLUMNS": "120"}, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "roshanai", *args],
        cwd=cwd,
        env=base,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert lines[0].startswith("error:"), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        ["simulate", "--help"],
        ["simulate", "fleet", "--help"],
        ["simulate", "site", "--help"],
        ["config", "--help"],
        ["config", "show", "--help"],
    ],
)
def test_help_reads(args: list[str], tmp_path: Path, cache_dir: Path) -> None:
    proc = roshanai(*args, cwd=tmp_path, cache=cache_dir)
    assert proc.returncode == 0, proc.stderr
    assert "Usage: roshanai" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_help_keeps_units_in_brackets(tmp_path: Path, cache_dir: Path) -> None:
    # Rich markup took "[kWp]" for a tag and printed "DC rating ." (found by a newcomer).
    proc = roshanai("simulate", "site", "--help", cwd=tmp_path, cache=cache_dir)
    text = " ".join(proc.stdout.split())
    for unit in ("[kWp]", "[degree, north positive]", "[%]", "[default: 5.0]", "[required]"):
        assert unit in text, unit


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_outputs_are_written_all_or_none(tmp_path: Path, cache_dir: Path) -> None:
    # An unreachable database is found before the work, and nothing is written.
    proc = roshanai(
        "simulate",
        "fleet",
        "--influx-url",
        f"http://127.0.0.1:{_free_port()}",
        "--summary",
        "u.csv",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert_one_line_error(proc, 3, "cannot reach InfluxDB")
    assert list(tmp_path.iterdir()) == []
    # One output that cannot be written: none is, and the run stops before simulating.
    (tmp_path / "blocker").write_text("a file, not a folder")
    for command in (
        ["simulate", "fleet", "--summary", "ok.csv", "--hourly", "blocker/x.parquet"],
        [
            "simulate",
            "outage",
            "--scenario",
            "summer",
            "--summary",
            "ok.csv",
            "--write-schedule",
            "blocker/s.csv",
        ],
        ["simulate", "fleet", "--summary", "same.csv", "--hourly", "same.csv"],
    ):
        proc = roshanai(*command, cwd=tmp_path, cache=cache_dir)
        assert proc.returncode == 2, proc.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"], command


def test_version(tmp_path: Path, cache_dir: Path) -> None:
    from importlib.metadata import version

    proc = roshanai("--version", cwd=tmp_path, cache=cache_dir)
    assert (proc.returncode, proc.stdout.strip()) == (0, f"roshanai {version('roshanai')}")


def test_usage_errors_are_one_line(tmp_path: Path, cache_dir: Path) -> None:
    assert_one_line_error(
        roshanai("simulate", "fleet", "--bogus", cwd=tmp_path, cache=cache_dir),
        2,
        "--bogus",
        "--help",
    )
    assert_one_line_error(
        roshanai("simulate", "nothing", cwd=tmp_path, cache=cache_dir), 2, "nothing"
    )
    assert_one_line_error(
        roshanai(
            "simulate", "site", "--lat", "north", "--lon", "51", cwd=tmp_path, cache=cache_dir
        ),
        2,
        "--lat",
    )
    # A value out of range is named by its option, every one of them (not "site options line
    # 2, column latitude … (and 1 more problem)")
    line = assert_one_line_error(
        roshanai(
            "simulate",
            "site",
            "--lat",
            "99",
            "--lon",
            "51",
            "--kwp",
            "0",
            "--ac-kw",
            "3",
            cwd=tmp_path,
            cache=cache_dir,
        ),
        2,
        "--lat 99.0 is outside [-90, 90]",
        "--kwp 0.0 is outside (0,",
    )
    assert "line 2" not in line


@pytest.mark.parametrize(
    ("row", "line", "column"),
    [
        ("THR-1,95,51.39,5,5,30,180,Tehran\n", 2, "latitude"),
        ("THR-1,35.69,51.39,-5,5,30,180,Tehran\n", 2, "dc_kwp"),
        ("THR-1,35.69,51.39,5,5,120,180,Tehran\n", 2, "tilt_deg"),
        ("THR-1,35.69,51.39,5,5,30,south,Tehran\n", 2, "azimuth_deg"),
        ("THR 1,35.69,51.39,5,5,30,180,Tehran\n", 2, "plant_id"),
        (GOOD_ROW + "THR-1,35.70,51.40,5,5,30,180,Tehran\n", 3, "plant_id"),
        (GOOD_ROW + "THR-2,35.70,,5,5,30,180,Tehran\n", 3, "longitude"),
    ],
)
def test_malformed_fleet_names_row_and_column(
    row: str, line: int, column: str, tmp_path: Path, cache_dir: Path
) -> None:
    fleet = tmp_path / "fleet.csv"
    fleet.write_text(GOOD_HEADER + row)
    out = tmp_path / "out"
    proc = roshanai(
        "simulate", "fleet", str(fleet), "--out-dir", str(out), cwd=tmp_path, cache=cache_dir
    )
    assert_one_line_error(proc, 2, f"line {line}", column)
    assert not out.exists() or not any(out.iterdir())


def test_missing_column_and_missing_file(tmp_path: Path, cache_dir: Path) -> None:
    fleet = tmp_path / "fleet.csv"
    fleet.write_text("plant_id,latitude,longitude,dc_kwp\nA,35,51,5\n")
    assert_one_line_error(
        roshanai("simulate", "fleet", str(fleet), cwd=tmp_path, cache=cache_dir), 2, "ac_kw"
    )
    assert_one_line_error(
        roshanai("simulate", "fleet", str(tmp_path / "nope.csv"), cwd=tmp_path, cache=cache_dir),
        2,
        "nope.csv",
    )


def test_sample_fleet_end_to_end(tmp_path: Path, cache_dir: Path) -> None:
    proc = roshanai(
        "simulate",
        "fleet",
        "--hourly",
        str(tmp_path / "hourly.parquet"),
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    assert "kWh" in proc.stdout
    assert "estimate" in proc.stdout
    summary_path = tmp_path / "roshanai-out" / "fleet_summary.csv"
    assert (
        f"wrote {summary_path.relative_to(tmp_path)}" in proc.stdout.replace("\n", " ")
        or f"wrote {summary_path}" in proc.stdout
    )
    summary = pd.read_csv(summary_path)
    sample = pd.read_csv(sample_fleet_path())
    assert list(summary.plant_id) == list(sample.plant_id)
    for col in (
        "ac_energy_kwh",
        "specific_yield_kwh_per_kwp",
        "performance_ratio",
        "capacity_factor_pct",
        "ac_energy_kwh_jan",
        "ac_energy_kwh_farvardin",
    ):
        assert col in summary.columns
    # Monthly columns (both calendars) add up to the year.
    greg = summary.filter(regex="ac_energy_kwh_(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)$")
    assert len(greg.columns) == 12
    pd.testing.assert_series_equal(
        greg.sum(axis=1), summary.ac_energy_kwh, check_names=False, rtol=1e-6
    )
    assert summary.specific_yield_kwh_per_kwp.between(1000, 2000).all()
    hourly = pd.read_parquet(tmp_path / "hourly.parquet")
    assert list(hourly.columns) == ["time", "plant_id", "ac_power_w"]
    assert len(hourly) == 8760 * len(summary)
    per_plant_kwh = hourly.groupby("plant_id", observed=True).ac_power_w.sum() / 1000
    per_plant_kwh = per_plant_kwh.reindex(summary.plant_id).to_numpy()
    assert per_plant_kwh == pytest.approx(summary.ac_energy_kwh.to_numpy(), rel=1e-9)
    assert (tmp_path / "roshanai-out" / "fleet_summary_monthly.png").stat().st_size > 10_000


def test_site_summary(tmp_path: Path, cache_dir: Path) -> None:
    proc = roshanai(
        "simulate",
        "site",
        "--lat",
        "32.65",
        "--lon",
        "51.67",
        "--kwp",
        "5",
        "--summary",
        str(tmp_path / "site.csv"),
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    assert "yearly energy" in proc.stdout
    assert "Farvardin" in proc.stdout
    row = pd.read_csv(tmp_path / "site.csv").iloc[0]
    # Isfahan on the climate default: 1,912 kWh/kWp in the README's validation table.
    assert 1700 <= row.specific_yield_kwh_per_kwp <= 2050
    assert "P90 / P50 / P10 of annual energy over 20 sampled years" in proc.stdout
    assert row.ac_energy_p90_kwh < row.ac_energy_p50_kwh < row.ac_energy_p10_kwh


def test_site_outside_iran_is_a_labelled_coarse_estimate(tmp_path: Path, cache_dir: Path) -> None:
    """Paris: MERRA-2's monthly irradiation, warned as coarse in one line; open sea refused."""
    proc = roshanai(
        "simulate", "site", "--lat", "48.85", "--lon", "2.35", cwd=tmp_path, cache=cache_dir
    )
    assert proc.returncode == 0, proc.stderr
    assert "coarse" in proc.stdout
    warning = [line for line in proc.stderr.splitlines() if "outside Iran" in line]
    assert len(warning) == 1, proc.stderr
    assert "coarse estimate" in warning[0]
    assert_one_line_error(
        roshanai("simulate", "site", "--lat", "0", "--lon", "-140", cwd=tmp_path, cache=cache_dir),
        2,
        "--weather",
    )


def test_unwritable_output_is_one_line(tmp_path: Path, cache_dir: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = roshanai(
        "simulate", "fleet", "--summary", str(blocker / "s.csv"), cwd=tmp_path, cache=cache_dir
    )
    assert proc.returncode != 0
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_unreachable_influx_is_one_line(tmp_path: Path, cache_dir: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    proc = roshanai(
        "simulate",
        "fleet",
        "--influx-url",
        f"http://127.0.0.1:{port}",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert_one_line_error(proc, 3, f"127.0.0.1:{port}")


def test_config_show_masks_secrets(tmp_path: Path, cache_dir: Path) -> None:
    (tmp_path / "roshanai.toml").write_text(
        '[influx]\nurl = "http://db:8086"\npassword = "toml-secret"\n'
    )
    proc = roshanai(
        "config",
        "show",
        cwd=tmp_path,
        cache=cache_dir,
        env={"ROSHANAI_MQTT_PASSWORD": "hunter2", "ROSHANAI_INFLUX_DB": "fromenv"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "hunter2" not in proc.stdout
    assert "toml-secret" not in proc.stdout
    assert "fromenv" in proc.stdout
    assert "http://db:8086" in proc.stdout


def test_fleet_results_to_influxdb(
    tmp_path: Path, cache_dir: Path, influxd, influx_db: str
) -> None:
    """``--influx-url``/``--influx-db`` write the run; the yearly points equal the summary."""
    proc = roshanai(
        "simulate",
        "fleet",
        "--influx-url",
        influxd.url,
        "--influx-db",
        influx_db,
        "--no-plot",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    summary = pd.read_csv(tmp_path / "roshanai-out" / "fleet_summary.csv")
    result = influxd.query("SELECT sum(ac_energy_kwh) FROM sim_plant_year", db=influx_db)
    total = result["results"][0]["series"][0]["values"][0][1]
    assert total == pytest.approx(summary.ac_energy_kwh.sum(), rel=1e-9)
    tags = influxd.query("SHOW TAG VALUES FROM sim_plant_year WITH KEY = plant_id", db=influx_db)[
        "results"
    ][0]["series"][0]["values"]
    assert sorted(v[1] for v in tags) == sorted(summary.plant_id)
    # The climate default's P90/P50/P10 over sampled years go with the run, as in the summary.
    assert "P90 / P50 / P10 of annual energy over 20 sampled years" in proc.stdout
    p90 = influxd.query("SELECT sum(ac_energy_p90_kwh) FROM sim_plant_year", db=influx_db)
    p90_total = p90["results"][0]["series"][0]["values"][0][1]
    assert p90_total == pytest.approx(summary.ac_energy_p90_kwh.sum(), rel=1e-9)
    assert (summary.ac_energy_p90_kwh <= summary.ac_energy_p50_kwh).all()
    assert (summary.ac_energy_p50_kwh <= summary.ac_energy_p10_kwh).all()
    assert (summary.ac_energy_p90_kwh < summary.ac_energy_kwh).all()


def test_unknown_province_is_warned_about_once(tmp_path: Path, cache_dir: Path) -> None:
    fleet = tmp_path / "f.csv"
    fleet.write_text(
        GOOD_HEADER + GOOD_ROW + "THR-2,35.69,51.39,5,5,30,180,Tehrn\n"
        "THR-3,35.69,51.39,5,5,30,180,Tehrn\n",
        encoding="utf-8",
    )
    proc = roshanai(
        "simulate",
        "fleet",
        str(fleet),
        "--no-plot",
        "--summary",
        "s.csv",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    warnings = [x for x in proc.stderr.splitlines() if "none of Iran's 31" in x]
    assert len(warnings) == 1
    assert "'Tehrn'" in warnings[0]


def test_weather_with_shifted_times_is_warned_about(tmp_path: Path, cache_dir: Path) -> None:
    import pvlib

    from simulate.weather import read_weather

    path = Path(pvlib.__file__).parent / "data" / "723170TYA.CSV"
    site = ["simulate", "site", "--lat", "36.1", "--lon", "-79.95"]
    good = roshanai(*site, "--weather", str(path), cwd=tmp_path, cache=cache_dir)
    assert good.returncode == 0, good.stderr
    assert "solar noon" not in good.stderr
    df = read_weather(path).data
    df.index = (df.index - pd.Timedelta(hours=5)).tz_localize(None).tz_localize("UTC")
    df.assign(time=df.index.strftime("%Y-%m-%dT%H:%M:%S+00:00")).to_csv(
        tmp_path / "local.csv", index=False
    )
    bad = roshanai(*site, "--weather", "local.csv", cwd=tmp_path, cache=cache_dir)
    assert bad.returncode == 0, bad.stderr
    assert "peaks 5.0 h before solar noon" in " ".join(bad.stderr.split())
