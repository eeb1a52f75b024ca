"""The bridge end to end over TLS against the generated broker, and privacy of what is stored.

``python -m roshanai bridge run`` gets its broker account, CA and URL from the environment, as
the systemd units and the compose file give them; a plant publishes with its own credentials;
the reading appears in a real influxd. The fleet file carries names, national ids and street
addresses: after the bridge, ``dashboards publish-registry`` and ``simulate fleet`` have written
to the same database, none of those values is anywhere in it, nor in the broker's files, nor in
any output of the commands (which also never print a password).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from firmware_bridge.mqtt import MqttLink
from roshanai.cli import main
from telemetry.registry import COLUMNS
from telemetry.schema import REGISTRY_TAGS
from tests.roshanai.deploy.conftest import (
    PERSONAL,
    PERSONAL_VALUES,
    PLANTS,
    deploy,
    start_broker,
    write_fleet,
)
from tests.waits import wait_for


def read_env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key] = value
    return out


def dump_database(influxd, db: str) -> str:
    """Every series key, tag key, field key and value of ``db`` as one text."""
    parts = [
        json.dumps(influxd.query(q, db))
        for q in ("SHOW MEASUREMENTS", "SHOW SERIES", "SHOW TAG KEYS", "SHOW FIELD KEYS")
    ]
    measurements = influxd.query("SHOW MEASUREMENTS", db)["results"][0]["series"][0]["values"]
    for (name,) in measurements:
        parts.append(json.dumps(influxd.query(f'SELECT * FROM "{name}"', db)))
    return "\n".join(parts)


def test_registry_tags_are_contract_columns_only() -> None:
    """Columns outside the fleet contract (names, national ids, addresses) can never be tags."""
    contract = {c.name for c in COLUMNS}
    assert set(REGISTRY_TAGS) <= contract
    assert not set(PERSONAL) & contract


def test_bridge_ingests_over_tls_and_nothing_personal_is_stored(
    tmp_path: Path, influxd, influx_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = write_fleet(tmp_path / "fleet.csv")
    d = deploy(tmp_path / "broker", fleet)
    broker = start_broker(d, tmp_path / "broker-run")
    bridge_env = read_env_file(d.out / "bridge.env")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSHANAI_")}
    env.update(bridge_env)
    env.update(
        ROSHANAI_MQTT_URL=d.url,
        ROSHANAI_MQTT_CA_FILE=d.ca,
        ROSHANAI_INFLUX_URL=influxd.url,
        ROSHANAI_INFLUX_DB=influx_db,
        ROSHANAI_STATE_DIR=str(tmp_path / "state"),
        ROSHANAI_FLEET=str(fleet),
    )
    bridge_log = tmp_path / "bridge.log"
    with bridge_log.open("wb") as log:  # a file the waits can read while the bridge runs
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "roshanai",
                "bridge",
                "run",
                "--no-expected",
                "--metrics-interval",
                "1",
            ],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def bridge_output() -> str:
        return bridge_log.read_text(errors="replace")

    def tail() -> str:
        return bridge_output()[-3000:]

    plant = PLANTS[0]
    try:
        wait_for(
            lambda: (
                f"as {bridge_env['ROSHANAI_MQTT_USERNAME']} ("
                in broker.output_path.read_text(errors="replace")
            ),
            30,
            "the bridge to connect over TLS",
            process=proc,
            diagnostics=tail,
        )
        wait_for(
            lambda: "subscribed to" in bridge_output(),
            30,
            "the bridge to subscribe",
            process=proc,
            diagnostics=tail,
        )
        ts = (datetime.now(UTC) - timedelta(minutes=2)).replace(microsecond=0)
        reading = {
            "v": 1,
            "plant_id": plant,
            "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seq": 1,
            "ac_power_w": 3210.5,
            "energy_total_wh": 1_234_567,
            "status": "producing",
        }
        with MqttLink(
            d.url,
            plant,
            username=plant,
            password=d.passwords[plant],
            ca_file=d.ca,
            clean_start=True,
        ) as lk:
            lk.publish(f"roshanai/v1/{plant}/availability", b"online")
            lk.publish(f"roshanai/v1/{plant}/telemetry", json.dumps(reading).encode())
            assert lk.wait_published(10)

        def stored() -> list:
            res = influxd.query(
                f"SELECT ac_power_w, province FROM inverter WHERE plant_id = '{plant}'", influx_db
            )["results"][0]
            return res.get("series", [{}])[0].get("values", [])

        wait_for(
            lambda: bool(stored()), 30, "the reading in InfluxDB", process=proc, diagnostics=tail
        )
        rows = stored()
        assert rows[0][1:] == [3210.5, "Tehran"]
        assert rows[0][0] == int(ts.timestamp() * 1e9)
        wait_for(
            lambda: "plant_status" in json.dumps(influxd.query("SHOW MEASUREMENTS", influx_db)),
            30,
            "the plant's status",
            process=proc,
            diagnostics=tail,
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        broker.stop(timeout_s=15)

    # More writers of registry data into the same database.
    urls = ["--influx-url", influxd.url, "--influx-db", influx_db]
    assert main(["dashboards", "publish-registry", "--fleet", str(fleet), *urls]) == 0
    assert (
        main(["simulate", "fleet", str(fleet), "--summary", str(tmp_path / "sum.csv"), *urls]) == 0
    )

    stored_text = dump_database(influxd, influx_db)
    assert plant in stored_text
    assert "Tehran" in stored_text
    for value in PERSONAL_VALUES:
        assert value not in stored_text, f"{value!r} reached InfluxDB"
    series = influxd.query("SHOW TAG KEYS", influx_db)["results"][0]["series"]
    tag_keys = {key for s in series for (key,) in s["values"]}
    assert "province" in tag_keys
    assert not tag_keys & set(PERSONAL)

    # ... nor any file of the deployment, nor any output; and no password is printed.
    printed = bridge_output() + "".join(capsys.readouterr())
    for path in d.out.iterdir():
        text = path.read_text(errors="replace")
        for value in PERSONAL_VALUES:
            assert value not in text, f"{value!r} in {path.name}"
    for value in PERSONAL_VALUES:
        assert value not in printed
    for password in d.passwords.values():
        assert password not in printed
        assert password not in broker.output_path.read_text(errors="replace")
