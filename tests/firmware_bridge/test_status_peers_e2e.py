"""End to end: ``roshanai bridge run --fleet FLEET.csv`` as a user starts it (no
``--no-expected``), readings published to a real mosquitto, and the ``plant_status`` points in a
real influxd carry the peers' ``performance_index`` and ``sky_index``.

The fleet is placed where the sun is up when the test runs (:mod:`peer_helpers`), so it works
at any hour; the plants report 40 % of their clear-sky output (a grey sky).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firmware_bridge.peers import compute_grid
from telemetry.registry import read_fleet
from tests.firmware_bridge.harness import _clean_env, publish_all, query
from tests.firmware_bridge.peer_helpers import daylight_site, write_local_fleet
from tests.servers import InfluxD, Mosquitto

SHARE = 0.4


def test_bridge_writes_status_against_the_peers(
    mosquitto: Mosquitto, influxd: InfluxD, influx_db: str, tmp_path: Path
) -> None:
    site, lat, lon = daylight_site()
    fleet_path = tmp_path / "fleet.csv"
    ids = write_local_fleet(fleet_path, 7, lat, lon)
    fleet = read_fleet(fleet_path)
    now_ns = time.time_ns()
    grid = compute_grid(fleet, now_ns - 3600 * 10**9, horizon_h=3)
    log_path = tmp_path / "bridge.log"
    args = [
        sys.executable,
        "-m",
        "roshanai",
        "bridge",
        "run",
        "--mqtt-url",
        mosquitto.url,
        "--influx-url",
        influxd.url,
        "--influx-db",
        influx_db,
        "--state-dir",
        str(tmp_path / "state"),
        "--fleet",
        str(fleet_path),
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            args, cwd=tmp_path, env=_clean_env(tmp_path), stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 120
        while "expected power from the peers ready" not in log_path.read_text():
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        got: dict[str, dict] = {}
        deadline = time.monotonic() + 120
        k = 0
        while len(got) < len(ids):
            assert time.monotonic() < deadline, f"{site}: {got}\n{log_path.read_text()[-3000:]}"
            ts_ms = time.time_ns() // 10**6
            messages = []
            for row, pid in enumerate(ids):
                power_w = SHARE * grid.clear_sky_at(row, ts_ms * 10**6)
                body = {
                    "v": 1,
                    "plant_id": pid,
                    "ts": ts_ms,
                    "ac_power_w": round(power_w, 1),
                    "energy_total_wh": 100_000 + k,
                    "status": "producing",
                }
                messages.append((f"roshanai/v1/{pid}/telemetry", json.dumps(body).encode()))
            publish_all(mosquitto.url, messages, "gateways")
            k += 1
            time.sleep(3)
            series = query(
                influxd,
                influx_db,
                "SELECT last(performance_index) AS pi, last(sky_index) AS k, "
                "last(underperforming) AS u FROM plant_status WHERE expected_from_peers = true "
                "GROUP BY plant_id",
            )
            got = {
                s["tags"]["plant_id"]: dict(zip(s["columns"], s["values"][0], strict=True))
                for s in series
            }
    finally:
        proc.terminate()
        code = proc.wait(60)
    assert code == 0, log_path.read_text()[-3000:]
    for pid, fields in got.items():
        assert fields["k"] == pytest.approx(SHARE, abs=0.03), (site, pid, fields)
        assert fields["pi"] == pytest.approx(1.0, abs=0.05), (site, pid, fields)
        assert fields["u"] is False
    stored = query(influxd, influx_db, "SELECT count(ac_power_w) FROM inverter")
    assert int(stored[0]["values"][0][1]) >= len(ids)
