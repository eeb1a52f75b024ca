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
