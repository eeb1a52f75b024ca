"""The triage service of deploy/compose.yaml and deploy/systemd's triage unit run a command
the CLI takes (the structural checks of tests/roshanai/deploy cover the files themselves)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from roshanai.cli import main
from tests.triage.test_cli import _fleet_file

yaml = pytest.importorskip("yaml")

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _triage_args(command: str) -> list[str]:
    words = shlex.split(command)
    return words[words.index("triage") :]


def _accepted(args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``args`` once against a dead InfluxDB: the options are accepted (the run itself
    fails in one line, exit 1), never refused (exit 2)."""
    fleet = _fleet_file(tmp_path)
    rc = main([*args, "--fleet", str(fleet), "--influx-url", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "connection refused" in err
    return err


def test_compose_triage_service(tmp_path, capsys) -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    svc = compose["services"]["triage"]
    script = svc["command"][-1]
    assert "/run/roshanai-tokens/triage" in script
    assert (
        "/run/roshanai-tokens/triage"
        not in (DEPLOY / "compose.yaml").read_text().split("triage:")[0]
    )
    init = (DEPLOY / "influxdb" / "init" / "roshanai.sh").read_text()
    assert '"$tokens/triage"' in init
    args = _triage_args(script.split(";")[-1].replace("exec ", ""))
    assert "--every" in args
    _accepted([*args, "--runs", "1"], tmp_path, capsys)
    env = svc["environment"]
    assert any(v.endswith(":" + env["ROSHANAI_OUT_DIR"]) for v in svc["volumes"])
    assert any(v.endswith(":" + env["ROSHANAI_FLEET"] + ":ro") for v in svc["volumes"])


def test_systemd_triage_unit_and_timer(tmp_path, capsys) -> None:
    unit = (DEPLOY / "systemd" / "roshanai-triage.service").read_text()
    assert (DEPLOY / "systemd" / "roshanai-triage.timer").exists()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    args = _triage_args(exec_start.removeprefix("ExecStart="))
    assert args[args.index("--runs") + 1] == "1"
    _accepted(args, tmp_path, capsys)
    out_dir = next(
        line.split("=", 2)[2] for line in unit.splitlines() if "ROSHANAI_OUT_DIR=" in line
    )
    state = next(line.split("=", 1)[1] for line in unit.splitlines() if "StateDirectory=" in line)
    assert out_dir == f"/var/lib/{state}"
