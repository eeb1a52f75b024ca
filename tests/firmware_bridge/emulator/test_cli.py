"""``roshanai emulate``: help, one-line errors, a given fleet, end to end against mosquitto."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import numpy as np
import typer
from typer.testing import CliRunner

from firmware_bridge.emulator import (
    Emulator,
    emulate_command,
)
from firmware_bridge.emulator.gateways import OUTAGE_BLOCKS_PER_DAY
from telemetry.registry import read_fleet
from tests.firmware_bridge.emulator.helpers import (
    DAY,
    SEC,
    ns,
    read_fleet_subset,
    readings_of,
    ts_ns,
)


def cli_app() -> typer.Typer:
    app = typer.Typer()
    app.command("emulate")(emulate_command)

    @app.command("other")
    def other() -> None:  # a second command keeps `emulate` a named sub-command
        pass

    return app


def test_cli_help():
    result = CliRunner().invoke(cli_app(), ["emulate", "--help"])
    assert result.exit_code == 0
    for flag in (
        "--mqtt-url",
        "--plants",
        "--fleet",
        "--backfill-hours",
        "--duration",
        "--speed",
        "--seed",
        "--bad-rate",
        "--fleet-out",
        "--client-id",
        "--start",
        "--max-message-kb",
    ):
        assert flag in result.output
    text = " ".join(result.output.replace("│", " ").split())
    assert "ahead of the wall clock" in text
    assert "--max-message-kb (64 KiB)" in text
    assert "[default: 64.0]" in text


def test_cli_start_ahead_of_the_clock_is_a_one_line_error(tmp_path):
    """Refused before the fleet is simulated or the broker dialled (there is none)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSHANAI_")}
    (tmp_path / "empty.toml").touch()
    for args, needle in [
        (
            [
                "--duration",
                "60",
                "--speed",
                "60",
                "--start",
                datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            ],
            "within --duration 60 at --speed 60",
        ),
        (["--speed", "60", "--start", "2099-01-01T00:00:00Z"], "is ahead of the clock"),
    ]:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "roshanai",
                "--config",
                str(tmp_path / "empty.toml"),
                "emulate",
                "--mqtt-url",
                "mqtt://127.0.0.1:9",
                "--plants",
                "2",
                *args,
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2, proc.stdout + proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith("error: --start ")
        assert needle in lines[0]
        latest = re.search(r"the latest allowed start is (\S+Z)$", lines[0])[1]
        assert datetime.fromisoformat(latest) <= datetime.now(UTC)


def refused(cwd, *args: str) -> str:
    """``python -m roshanai emulate ARGS`` against no broker: its one-line refusal (exit 2)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "roshanai", "emulate", "--mqtt-url", "mqtt://127.0.0.1:9",
         "--plants", "2", "--duration", "0", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def emulator_kwargs(monkeypatch, *args: str) -> dict[str, object]:
    """The keyword arguments ``roshanai emulate --plants 2 --duration 0 ARGS`` builds its
    Emulator with (the run stops there)."""
    seen: dict[str, object] = {}

    def spy(self, *a, **kwargs):
        seen.update(kwargs)
        raise SystemExit(0)  # stop once the emulator has been configured

    with monkeypatch.context() as m:
        m.setattr(Emulator, "__init__", spy)
        result = CliRunner().invoke(
            cli_app(), ["emulate", "--plants", "2", "--duration", "0", *args]
        )
    assert result.exit_code == 0, result.output
    return seen


def test_cli_timezone_flag_reaches_the_emulator(tmp_path, monkeypatch):
    """``--timezone`` is the gateways' clock (as the setting); an unknown zone is one line."""
    assert (
        refused(tmp_path, "--timezone", "Mars/Olympus_Mons")
        == "error: timezone 'Mars/Olympus_Mons' is not an IANA time zone"
    )
    assert emulator_kwargs(monkeypatch, "--timezone", "Asia/Dubai")["timezone"] == "Asia/Dubai"


def test_cli_live_cuts_none_or_generic_and_the_rest_refused(tmp_path, monkeypatch):
    """A live run takes ``--cuts none`` (no cut calendar: the gateway is never down for one)
    or ``generic``; a real calendar or a file needs ``--offline`` and is refused in one line."""
    assert refused(tmp_path, "--cuts", "real") == (
        "error: a live run takes --cuts generic (the default) or none, not 'real': real "
        "calendars, scenarios and schedule files need --offline"
    )
    blocks = [
        emulator_kwargs(monkeypatch, *args)["outage_blocks_per_day"]
        for args in (["--cuts", "none"], ["--cuts", "generic"], [])
    ]
    assert blocks == [0.0, OUTAGE_BLOCKS_PER_DAY, OUTAGE_BLOCKS_PER_DAY]
    one = read_fleet_subset(1)
    now = time.time_ns()
    quiet = Emulator(one, seed=0, start_ns=now - DAY, outage_blocks_per_day=0.0)
    assert not quiet.calendar.is_cut(np.zeros(1, dtype=np.int64), np.int64(now)).any()
    assert quiet.outages(now - 30 * DAY, now) == []


def test_cli_given_fleet_first_n_plants_env_url(mosquitto, tmp_path, monkeypatch):
    monkeypatch.setenv("ROSHANAI_MQTT_URL", mosquitto.url)
    given, out = tmp_path / "given.csv", tmp_path / "fleet.csv"
    read_fleet_subset(4).plants.to_csv(given, index=False)
    result = CliRunner().invoke(
        cli_app(),
        [
            "emulate",
            "--fleet",
            str(given),
            "--plants",
            "2",
            "--fleet-out",
            str(out),
            "--duration",
            "0.5",
            "--speed",
            "7200",
            "--start",
            "2026-07-01T08:00:00+03:30",
        ],
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert read_fleet(out).plant_ids == read_fleet(given).plant_ids[:2]
    assert "from 2 plants" in result.output
    assert mosquitto.url in result.output
    assert "simulated 2026-07-01 04:30 to 2026-07-01 05:30 UTC" in result.output
    bad = CliRunner().invoke(cli_app(), ["emulate", "--fleet", str(given), "--plants", "9"])
    assert "only 4 plants" in str(bad.exception)


def test_cli_end_to_end_against_mosquitto(mosquitto, tmp_path):
    from firmware_bridge.mqtt import MqttLink

    received: list[tuple[str, bytes]] = []
    lock = threading.Lock()

    def on_message(m):
        with lock:
            received.append((m.topic, m.payload))

    sub = MqttLink(
        mosquitto.url,
        "emulate-test-sub",
        clean_start=True,
        subscriptions=["roshanai/v1/+/telemetry"],
        on_message=on_message,
    ).start()
    fleet_out = tmp_path / "fleet.csv"
    try:
        result = CliRunner().invoke(
            cli_app(),
            [
                "emulate",
                "--mqtt-url",
                mosquitto.url,
                "--plants",
                "6",
                "--seed",
                "1",
                "--start",
                "2026-07-01T00:00:00Z",
                "--speed",
                "43200",
                "--duration",
                "2",
                "--interval",
                "300",
                "--backfill-hours",
                "3",
                "--fleet-out",
                str(fleet_out),
            ],
        )
        assert result.exit_code == 0, result.output + repr(result.exception)
        published = int(
            re.search(r"published ([\d,]+) messages", result.output)[1].replace(",", "")
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(received) < published:
            time.sleep(0.05)
    finally:
        sub.stop()
    assert len(received) == published > 1500
    fleet = read_fleet(fleet_out)
    assert len(fleet) == 6
    # What the command published is what an emulator of that fleet and seed says.
    start = ns("2026-07-01T00:00:00")
    e = Emulator(fleet, seed=1, interval_s=300, start_ns=start)
    expected = [(t, p) for t, p, _ in e.backfill(3.0)]
    expected += [(t, p) for t, p, _ in e.messages(start, start + DAY)]
    assert Counter(received) == Counter(expected)
    by_plant = readings_of(
        (t, p, "batch" if b'"readings"' in p else "reading") for t, p in received
    )
    assert sorted(by_plant) == sorted(fleet.plant_ids)
    for rows in by_plant.values():
        energy = [r["energy_total_wh"] for r in rows]
        assert energy == sorted(energy)
        assert all(r["ac_power_w"] == 0.0 for r in rows if "T20:" <= r["ts"][10:14] <= "T23:")
    # Batches after cuts carry the cut's readings, 5 minutes apart, inside the cut.
    cuts = e.outages(start, start + DAY)
    batches = [json.loads(p) for _, p in received if b'"readings"' in p]
    after_cut = [b for b in batches if ts_ns(b["readings"][0]["ts"]) >= start]
    assert len(batches) - len(after_cut) == 6
    assert after_cut
    for batch in after_cut:
        stamps = [ts_ns(r["ts"]) for r in batch["readings"]]
        assert np.all(np.diff(stamps) == 300 * SEC)
        zone = e.plant_cut_zones[fleet.plant_ids.index(batch["plant_id"])]
        assert any(
            c.zone == zone and c.start_ns <= stamps[0] and stamps[-1] < c.end_ns for c in cuts
        )
