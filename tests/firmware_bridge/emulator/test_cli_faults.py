"""``roshanai emulate`` with faults: --offline, --faults, --fault-rates, --faults-out, errors."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from firmware_bridge.emulator import Emulator
from firmware_bridge.emulator.faults import read_faults
from roshanai.cli import main
from tests.firmware_bridge.emulator.test_cli import cli_app


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "empty.toml"
    path.touch()
    return str(path)


def test_offline_writes_readings_cuts_and_truth(tmp_path, cfg, capsys):
    out, truth = tmp_path / "run.csv", tmp_path / "truth.csv"
    rc = main(
        ["--config", cfg, "emulate", "--offline", str(out), "--plants", "3", "--days", "2",
         "--start", "2025-07-01T00:00Z", "--fault-rates", "string_fault=1",
         "--faults-out", str(truth)]
    )  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    assert "wrote" in capsys.readouterr().out
    readings = pd.read_csv(out)
    assert list(readings.columns[:8]) == [
        "time", "plant_id", "ac_power_w", "energy_total_wh", "dc1_power_w", "dc2_power_w",
        "alarm_code", "stored_at",
    ]  # fmt: skip
    assert readings["plant_id"].nunique() == 3
    faults = read_faults(truth)
    assert [f.kind for f in faults] == ["string_fault"] * 3
    lost = pd.read_csv(truth)["lost_kwh_per_day"]
    assert (lost > 0).all()
    assert (tmp_path / "run_cuts.csv").exists()


def test_offline_takes_a_schedule_file_and_its_cuts_file_goes_back_to_triage(tmp_path, cfg, capsys):
    from simulate.outages import read_schedule
    from telemetry.registry import sample_fleet_path

    (tmp_path / "mine.csv").write_text(
        "start,end,zone\n2025-07-01T11:00+03:30,2025-07-01T13:00+03:30,THR-Z1\n"
    )
    out = tmp_path / "run.csv"
    rc = main(
        ["--config", cfg, "emulate", "--offline", str(out), "--fleet", str(sample_fleet_path()),
         "--days", "1", "--start", "2025-07-01T00:00Z", "--cuts", str(tmp_path / "mine.csv")]
    )  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    assert "1 cut to" in capsys.readouterr().out
    readings = pd.read_csv(out, parse_dates=["time"])
    during = (readings.time >= "2025-07-01T07:30Z") & (readings.time < "2025-07-01T09:30Z")
    assert readings[during & (readings.plant_id == "THR-000003")].empty  # THR-Z1, grid-tied
    assert not readings[during & (readings.plant_id == "THR-000001")].empty  # THR-Z1, hybrid
    assert not readings[during & (readings.plant_id == "THR-000002")].empty  # THR-Z2
    # With no cut in the run, the cuts file has a header alone: triage still takes it.
    rc = main(
        ["--config", cfg, "emulate", "--offline", str(tmp_path / "none.csv"), "--plants", "2",
         "--days", "1", "--start", "2025-07-01T00:00Z", "--cuts", "none"]
    )  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    assert len(read_schedule(tmp_path / "none_cuts.csv", allow_empty=True)) == 0


def test_a_fault_outside_the_run_is_said(tmp_path, cfg, capsys):
    from telemetry.registry import sample_fleet_path

    (tmp_path / "f.csv").write_text(
        "plant_id,kind,start,end,severity\nTHR-000001,inverter_fault,2025-08-01T10:00+03:30,,1\n"
    )
    rc = main(
        ["--config", cfg, "emulate", "--offline", str(tmp_path / "r.csv"), "--fleet",
         str(sample_fleet_path()), "--faults", str(tmp_path / "f.csv"), "--days", "1",
         "--start", "2025-07-01T00:00Z", "--cuts", "none"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "note: 1 fault of the file lies outside the run" in err


def test_live_faults_reach_the_emulator_and_the_truth_file(tmp_path, monkeypatch):
    seen: dict[str, object] = {}

    def spy(self, *args, **kwargs):
        seen.update(kwargs)
        raise SystemExit(0)

    monkeypatch.setattr(Emulator, "__init__", spy)
    truth = tmp_path / "truth.csv"
    result = CliRunner().invoke(
        cli_app(),
        ["emulate", "--plants", "20", "--duration", "3600", "--fault-rates", "offline=1",
         "--faults-out", str(truth)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    faults = seen["faults"]
    assert len(faults) == 20
    assert read_faults(truth) == list(faults)
    seen.clear()
    result = CliRunner().invoke(cli_app(), ["emulate", "--plants", "2", "--duration", "0"])
    assert result.exit_code == 0, result.output
    assert seen["faults"] == []  # without the options: none


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--faults-out", "t.csv"], "--faults-out needs --faults"),
        (["--faults", "f.csv", "--faults-random"], "exclude each other"),
        (["--fault-rates", "fire=0.1"], "'fire' is not one of"),
        (["--fault-rates", "offline=0.7,soiling=0.7"], "sum to 1.4"),
        (["--faults", "bad.csv"], "bad.csv line 2, column severity"),
        (["--faults", "missing.csv"], "cannot read the fault file"),
        (["--offline", "o.csv", "--duration", "5"], "--offline writes a file"),
        (["--offline", "o.csv", "--cuts", "spring", "--plants", "1"], "cuts must be"),
        (["--offline", "o.csv", "--cuts", "true", "--plants", "1"], "real, generic, none"),
        (["--offline", "o.csv", "--cuts", "nope.csv", "--plants", "1"], "not found: nope.csv"),
    ],
)
def test_bad_fault_options_one_line_exit_2(tmp_path, cfg, capsys, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.csv").write_text(
        "plant_id,kind,start,end,severity\nA-1,soiling,2025-07-01T00:00Z,,much\n"
    )
    rc = main(["--config", cfg, "emulate", "--mqtt-url", "mqtt://127.0.0.1:9", *args])
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert len(err.splitlines()) == 1, err
    assert needle in err


def test_live_truth_file_names_the_finding_as_the_offline_generator_does(mosquitto, tmp_path):
    """``roshanai emulate --faults F --faults-out T`` against mosquitto: the truth's
    ``finding`` is :func:`~firmware_bridge.emulator.faults.truth_finding`'s at the run's end
    (a dead gateway back within the run is ``comms_loss``, one dead to the end ``offline``; a
    comms loss whose batch arrives after the run ``offline``), its ``kind`` what was injected."""
    import os
    import subprocess
    import sys

    from tests.firmware_bridge.emulator.helpers import read_fleet_subset

    fleet, faults, truth = tmp_path / "fleet.csv", tmp_path / "faults.csv", tmp_path / "t.csv"
    ids = read_fleet_subset(4).plant_ids
    read_fleet_subset(4).plants.to_csv(fleet, index=False)
    # The run: 2026-06-30 21:00 (3 h of backfill) to 2026-07-01 12:00 UTC.
    faults.write_text(
        "plant_id,kind,start,end,severity\n"
        f"{ids[0]},offline,2026-07-01T02:00Z,2026-07-01T05:00Z,1\n"  # back within the run
        f"{ids[1]},offline,2026-07-01T06:00Z,,1\n"  # dead to the end
        f"{ids[2]},comms_loss,2026-07-01T03:00Z,2026-07-01T20:00Z,1\n"  # batch after the run
        f"{ids[3]},comms_loss,2026-07-01T03:00Z,2026-07-01T04:00Z,1\n"  # batch within it
    )
    (tmp_path / "empty.toml").touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSHANAI_")}
    proc = subprocess.run(
        [sys.executable, "-m", "roshanai", "--config", str(tmp_path / "empty.toml"), "emulate",
         "--mqtt-url", mosquitto.url, "--fleet", str(fleet), "--plants", "4",
         "--start", "2026-07-01T00:00:00Z", "--speed", "43200", "--duration", "1",
         "--interval", "300", "--backfill-hours", "3",
         "--faults", str(faults), "--faults-out", str(truth)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "simulated 2026-07-01 00:00 to 2026-07-01 12:00 UTC" in proc.stdout
    got = pd.read_csv(truth)
    assert list(got["kind"]) == ["offline", "offline", "comms_loss", "comms_loss"]
    assert list(got["finding"]) == ["comms_loss", "offline", "offline", "comms_loss"]
    assert list(got.columns).index("finding") == list(got.columns).index("alarm_code") + 1
    assert read_faults(truth) == read_faults(faults)
    # The offline generator over the same hours: the same file, the same findings.
    offline_truth = tmp_path / "offline_t.csv"
    rc = main(
        ["--config", str(tmp_path / "empty.toml"), "emulate", "--offline", str(tmp_path / "o.csv"),
         "--fleet", str(fleet), "--plants", "4", "--start", "2026-06-30T21:00Z", "--days", "0.625",
         "--faults", str(faults), "--faults-out", str(offline_truth)]
    )  # fmt: skip
    assert rc == 0
    offline = pd.read_csv(offline_truth)
    assert list(offline["finding"]) == list(got["finding"])
    assert list(offline.columns[: len(got.columns)]) == list(got.columns)
