"""The bridge end to end with real mosquitto and influxd: kills, outages, restarts, bad input.

Every reading has a unique (plant_id, ts); "stored exactly once" is checked as: InfluxDB holds
one point per published reading, per plant, and nothing else in ``inverter``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from firmware_bridge.bridge import Bridge
from firmware_bridge.decode import DEFAULT_MAX_PAYLOAD_BYTES
from firmware_bridge.mqtt import MqttLink
from firmware_bridge.spool import Spool
from telemetry.influx import InfluxStore
from telemetry.registry import read_fleet
from tests.waits import wait_for

PLANTS = [f"THR-{i:06d}" for i in range(1, 21)]
T0_MS = 1_782_896_400_000  # 2026-07-01T09:00:00Z
FLEET_CSV = "plant_id,latitude,longitude,dc_kwp,ac_kw,tilt_deg,azimuth_deg,province\n" + "".join(
    f"{p},35.7,51.4,5,5,30,180,Tehran\n" for p in PLANTS
)


def reading(i: int) -> tuple[str, bytes]:
    """The i-th reading of the stream: plant i % 20, one minute apart per plant."""
    pid = PLANTS[i % len(PLANTS)]
    ts = T0_MS + (i // len(PLANTS)) * 60_000
    body = {
        "v": 1,
        "plant_id": pid,
        "ts": ts,
        "seq": i,
        "ac_power_w": float(1000 + i % 997),
        "energy_total_wh": 1_000_000 + i,
        "ac_voltage_v": 230.0,
    }
    return f"roshanai/v1/{pid}/telemetry", json.dumps(body).encode()


def count_points(store: InfluxStore) -> int:
    try:
        series = store.query("SELECT count(ac_power_w) FROM inverter")
    except Exception:
        return -1
    return int(series[0]["values"][0][1]) if series else 0


def per_plant(store: InfluxStore) -> dict[str, int]:
    series = store.query("SELECT count(ac_power_w) FROM inverter GROUP BY plant_id")
    return {s["tags"]["plant_id"]: int(s["values"][0][1]) for s in series}


def expected_per_plant(n: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in range(n):
        pid = PLANTS[i % len(PLANTS)]
        out[pid] = out.get(pid, 0) + 1
    return out


@pytest.fixture
def fleet_file(tmp_path: Path) -> Path:
    path = tmp_path / "fleet.csv"
    path.write_text(FLEET_CSV)
    return path


class Publisher(threading.Thread):
    """Publishes readings [start, stop) at QoS 1, optionally paced."""

    def __init__(
        self, url: str, start: int, stop: int, client_id: str, per_second: float | None = None
    ) -> None:
        super().__init__(daemon=True)
        self.url, self.first, self.last = url, start, stop
        self.client_id, self.per_second = client_id, per_second
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            link = MqttLink(
                self.url, self.client_id, clean_start=True, max_pending_publishes=20
            ).start()
            t0 = time.monotonic()
            for i in range(self.first, self.last):
                topic, payload = reading(i)
                link.publish(topic, payload, qos=1)
                self.sent += 1
                if self.per_second:
                    lag = self.sent / self.per_second - (time.monotonic() - t0)
                    if lag > 0:
                        time.sleep(lag)  # the pace under test, not a wait
            link.wait_published(60)
            link.stop()
        except BaseException as exc:  # reported by the test
            self.error = exc


def bridge_log(state: Path, client_id: str) -> Path:
    """Where ``bridge_process`` writes the bridge's output (appended across restarts)."""
    return state.parent / f"{client_id}.log"


def subscribed(state: Path, client_id: str) -> Callable[[], bool]:
    """True once the bridge of ``bridge_process`` has logged its subscription."""
    marker = f"bridge {client_id}: subscribed to"
    path = bridge_log(state, client_id)
    return lambda: path.exists() and marker in path.read_text(errors="replace")


def bridge_process(
    mqtt_url: str,
    influx_url: str,
    db: str,
    state: Path,
    fleet: Path,
    client_id: str = "bridge-1",
    cwd: Path | None = None,
    share_group: str = "",
) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSHANAI_")}
    state.parent.mkdir(parents=True, exist_ok=True)
    # Output to a file the waits can read (a pipe nobody reads would block the bridge when full).
    with bridge_log(state, client_id).open("ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "roshanai",
                "bridge",
                "run",
                "--mqtt-url",
                mqtt_url,
                "--influx-url",
                influx_url,
                "--influx-db",
                db,
                "--state-dir",
                str(state),
                "--client-id",
                client_id,
                "--fleet",
                str(fleet),
                "--no-expected",
                "--metrics-interval",
                "1",
                "--share-group",
                share_group,
            ],
            cwd=cwd or state.parent,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def in_process_bridge(
    mqtt_url: str, store: InfluxStore, state: Path, fleet: Path, client_id: str = "bridge-1"
) -> Bridge:
    def factory(on_message, topics):
        return MqttLink(
            mqtt_url, client_id, manual_ack=True, on_message=on_message, subscriptions=topics
        )

    return Bridge(
        factory, store, state, fleet=read_fleet(fleet), instance=client_id, metrics_interval_s=1.0
    )


@pytest.fixture
def store(influxd, influx_db) -> Iterator[InfluxStore]:
    with InfluxStore(influxd.url, influx_db) as s:
        yield s


def subscribe_once(bridge_cm: Callable[[], Bridge]) -> None:
    """Start and stop a bridge so its persistent session exists before anything is published."""
    b = bridge_cm().start()
    b.stop()


@pytest.mark.parametrize("kill_at", [0.15, 0.6])
def test_kill_9_mid_stream_loses_and_duplicates_nothing(
    mosquitto, influxd, influx_db, store, fleet_file, tmp_path, kill_at
) -> None:
    n = 6000
    state = tmp_path / "state"
    proc = bridge_process(mosquitto.url, influxd.url, influx_db, state, fleet_file)
    try:
        wait_for(
            lambda: subscribed(state, "bridge-1")() and count_points(store) >= 0,
            30,
            "the bridge to subscribe (its session exists from here on)",
            process=proc,
        )
        pub = Publisher(mosquitto.url, 0, n, "pub-kill", per_second=1500)
        pub.start()
        wait_for(lambda: count_points(store) >= kill_at * n, 60, f"{kill_at:.0%} stored")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        killed_with = count_points(store)
        proc = bridge_process(mosquitto.url, influxd.url, influx_db, state, fleet_file)
        pub.join(120)
        assert pub.error is None, pub.error
        wait_for(lambda: count_points(store) >= n, 90, "every reading stored")
        time.sleep(2.0)  # a quiet window on purpose: a duplicate or stray point would show now
    finally:
        proc.kill()
        proc.wait(10)
    assert 0 < killed_with < n
    assert count_points(store) == n
    assert per_plant(store) == expected_per_plant(n)


@pytest.mark.slow
def test_influxdb_down_for_minutes_then_everything_lands(
    mosquitto, make_influxd, fleet_file, tmp_path
) -> None:
    db = make_influxd()
    with InfluxStore(db.url, "roshanai") as s:
        s.create_database("roshanai")
        bridge = in_process_bridge(mosquitto.url, s, tmp_path / "state", fleet_file).start()
        try:
            n_before, n_during, n_after = 500, 3000, 500
            pub = Publisher(mosquitto.url, 0, n_before, "pub-a")
            pub.run()
            wait_for(lambda: count_points(s) >= n_before, 30, "the first readings")
            db.stop()
            down_at = time.monotonic()
            pub = Publisher(
                mosquitto.url, n_before, n_before + n_during, "pub-b", per_second=25
            )  # readings keep arriving for two minutes
            pub.start()
            pub.join(200)
            assert pub.error is None
            wait_for(lambda: time.monotonic() - down_at > 150, 160, "the outage to last")
            assert bridge.spool.depth >= n_during  # all of it held, nothing acknowledged away
            assert bridge.metrics()["lag_s"] > 100
            db.start()
            Publisher(
                mosquitto.url, n_before + n_during, n_before + n_during + n_after, "pub-c"
            ).run()
            total = n_before + n_during + n_after
            wait_for(lambda: count_points(s) >= total, 120, "the backlog to land")
            wait_for(lambda: bridge.spool.depth == 0, 60, "the spool to drain")
            assert count_points(s) == total
            assert per_plant(s) == expected_per_plant(total)
            assert bridge.writer.stats.retries > 0
        finally:
            bridge.stop()


def test_broker_restart_with_queued_messages_loses_nothing(
    make_mosquitto, store, fleet_file, tmp_path
) -> None:
    broker = make_mosquitto()
    state = tmp_path / "state"
    subscribe_once(lambda: in_process_bridge(broker.url, store, state, fleet_file))
    n = 2000
    Publisher(broker.url, 0, n // 2, "pub-1").run()  # queued for the stopped bridge
    broker.stop()
    broker.start()  # persistence: the session and its queue come back
    Publisher(broker.url, n // 2, n, "pub-2").run()
    bridge = in_process_bridge(broker.url, store, state, fleet_file).start()
    try:
        wait_for(lambda: count_points(store) >= n, 60, "all readings")
        broker.stop()  # and a restart under a running bridge: it reconnects
        broker.start()
        Publisher(broker.url, n, n + 500, "pub-3").run()
        wait_for(lambda: count_points(store) >= n + 500, 60, "readings after the restart")
    finally:
        bridge.stop()
    assert count_points(store) == n + 500
    assert per_plant(store) == expected_per_plant(n + 500)


def test_six_hour_backfill_batch_lands_with_device_timestamps(
    mosquitto, store, fleet_file, tmp_path
) -> None:
    bridge = in_process_bridge(mosquitto.url, store, tmp_path / "state", fleet_file).start()
    try:
        pid = PLANTS[3]
        start_ms = T0_MS - 6 * 3600_000
        readings = [
            {
                "ts": start_ms + k * 60_000,
                "ac_power_w": 0.0 if k < 60 else 2500.0,
                "energy_total_wh": 5_000_000 + 10 * k,
            }
            for k in range(360)
        ]
        link = MqttLink(mosquitto.url, "gateway", clean_start=True).start()
        link.publish(
            f"roshanai/v1/{pid}/telemetry",
            json.dumps({"v": 1, "plant_id": pid, "readings": readings}).encode(),
        )
        link.wait_published(10)
        link.stop()
        wait_for(lambda: count_points(store) >= 360, 30, "the batch")
    finally:
        bridge.stop()
    rows = store.query(f"SELECT ac_power_w FROM inverter WHERE plant_id = '{pid}'", epoch="ms")[0][
        "values"
    ]
    assert len(rows) == 360
    assert rows[0][0] == start_ms
    assert rows[-1][0] == start_ms + 359 * 60_000
    assert [r[0] for r in rows] == [start_ms + k * 60_000 for k in range(360)]


BAD = [
    ("malformed_json", "THR-000001", b'{"v": 1, "plant_id": "THR-000001", "ts": '),
    (
        "bad_schema",
        "THR-000001",
        b'{"v": 1, "plant_id": "THR-000001", "ts": "2026-07-01T09:00:00Z", "ac_power_w": "lots"}',
    ),
    (
        "non_finite",
        "THR-000001",
        b'{"v": 1, "plant_id": "THR-000001", "ts": 1782896400000, "ac_power_w": NaN}',
    ),
    (
        "non_finite",
        "THR-000001",
        b'{"v": 1, "plant_id": "THR-000001", "ts": 1782896400000, "ac_power_w": 1e999}',
    ),
    (
        "out_of_range",
        "THR-000001",
        b'{"v": 1, "plant_id": "THR-000001", "ts": 1782896400000, "ac_power_w": 9000.0}',
    ),
    (
        "out_of_range",
        "THR-000001",
        b'{"v": 1, "plant_id": "THR-000001", "ts": 1782896400000, "ac_voltage_v": 900.0}',
    ),
    (
        "unknown_plant",
        "ZZZ-999999",
        b'{"v": 1, "plant_id": "ZZZ-999999", "ts": 1782896400000, "ac_power_w": 100.0}',
    ),
    (
        "plant_mismatch",
        "THR-000001",
        b'{"v": 1, "plant_id": "THR-000002", "ts": 1782896400000, "ac_power_w": 100.0}',
    ),
    (
        "future_ts",
        "THR-000001",
        b'{"v": 1, "plant_id": "THR-000001", "ts": "2099-01-01T00:00:00Z", "ac_power_w": 100.0}',
    ),
    (
        "oversized",
        "THR-000001",
        b'{"v": 1, "plant_id": "THR-000001", "pad": "'
        + b"x" * (DEFAULT_MAX_PAYLOAD_BYTES + 1000)
        + b'"}',
    ),
    ("bad_tag", "bad,id", b'{"v": 1, "plant_id": "bad,id", "ts": 1782896400000}'),
    ("bad_tag", "bad id=1", b'{"v": 1, "plant_id": "bad id=1", "ts": 1782896400000}'),
    ("bad_tag", 'q"uote', b'{"v": 1, "plant_id": "q\\"uote", "ts": 1782896400000}'),
    ("non_utf8", "THR-000001", b'{"v": 1, "plant_id": "THR-000001", "status": "\xff\xfe"}'),
]


def test_bad_input_is_quarantined_and_nothing_injected(
    mosquitto, store, fleet_file, tmp_path
) -> None:
    state = tmp_path / "state"
    bridge = in_process_bridge(mosquitto.url, store, state, fleet_file).start()
    link = MqttLink(mosquitto.url, "gateway-bad", clean_start=True).start()
    good = 0
    try:
        for k, (_, topic_id, payload) in enumerate(BAD):
            topic, body = reading(k)  # a good reading before every bad one
            link.publish(topic, body)
            good += 1
            link.publish(f"roshanai/v1/{topic_id}/telemetry", payload)
        # An energy counter going backwards is kept and flagged.
        pid = PLANTS[0]
        for j, energy in enumerate((2_000_000, 2_000_500, 10)):
            link.publish(
                f"roshanai/v1/{pid}/telemetry",
                json.dumps(
                    {
                        "v": 1,
                        "plant_id": pid,
                        "ts": T0_MS + 3600_000 + j * 60_000,
                        "ac_power_w": 500.0,
                        "energy_total_wh": energy,
                    }
                ).encode(),
            )
        # A batch mixing good and bad readings keeps the good ones.
        link.publish(
            f"roshanai/v1/{pid}/telemetry",
            json.dumps(
                {
                    "v": 1,
                    "plant_id": pid,
                    "readings": [
                        {"ts": T0_MS + 7200_000, "ac_power_w": 100.0},
                        {"ts": T0_MS + 7260_000, "ac_power_w": 99999.0},
                        {"ts": T0_MS + 7320_000, "ac_power_w": 300.0},
                    ],
                }
            ).encode(),
        )
        # A topic with a newline or a wildcard-free odd name.
        link.publish("roshanai/v1/THR-000001\nx/telemetry", b"{}")
        link.wait_published(10)
        total_good = good + 3 + 2
        wait_for(lambda: count_points(store) >= total_good, 30, "the good readings")
        wait_for(
            lambda: sum(bridge.spool.quarantine_counts().values()) >= len(BAD) + 1,
            30,
            "the quarantine",
        )
    finally:
        link.stop()
        bridge.stop()
    assert count_points(store) == total_good
    counts = Spool(state / "spool.sqlite3").quarantine_counts()
    for reason in {r for r, _, _ in BAD}:
        assert counts.get(reason, 0) >= 1, (reason, counts)
    measurements = {v[0] for s in store.query("SHOW MEASUREMENTS") for v in s["values"]}
    assert measurements <= {"inverter", "bridge", "plant_status"}
    tag_values = {
        v[1]
        for s in store.query("SHOW TAG VALUES FROM inverter WITH KEY = plant_id")
        for v in s["values"]
    }
    assert tag_values <= set(PLANTS)
    flagged = store.query(
        f"SELECT energy_total_wh, counter_reset FROM inverter "
        f"WHERE plant_id = '{PLANTS[0]}' AND counter_reset = true"
    )
    assert flagged
    assert flagged[0]["values"][0][1] == 10


def test_two_bridges_share_the_stream_and_a_killed_one_loses_nothing(
    mosquitto, influxd, influx_db, store, fleet_file, tmp_path
) -> None:
    n = 6000
    a = bridge_process(
        mosquitto.url,
        influxd.url,
        influx_db,
        tmp_path / "a",
        fleet_file,
        client_id="bridge-a",
        share_group="roshanai",
    )
    b = bridge_process(
        mosquitto.url,
        influxd.url,
        influx_db,
        tmp_path / "b",
        fleet_file,
        client_id="bridge-b",
        share_group="roshanai",
    )
    try:
        wait_for(
            lambda: (
                subscribed(tmp_path / "a", "bridge-a")()
                and subscribed(tmp_path / "b", "bridge-b")()
            ),
            30,
            "both bridges to subscribe to the shared group",
        )
        pub = Publisher(mosquitto.url, 0, n, "pub-share", per_second=1500)
        pub.start()
        wait_for(lambda: count_points(store) >= 0.3 * n, 60, "30 % stored")
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        a = bridge_process(
            mosquitto.url,
            influxd.url,
            influx_db,
            tmp_path / "a",
            fleet_file,
            client_id="bridge-a",
            share_group="roshanai",
        )
        pub.join(120)
        assert pub.error is None
        wait_for(lambda: count_points(store) >= n, 90, "every reading stored")
        time.sleep(2.0)  # a quiet window (and a last self-metrics point of each, every 1 s)
        received = {}
        for s in store.query("SELECT last(received) FROM bridge GROUP BY instance"):
            received[s["tags"]["instance"]] = s["values"][0][1]
    finally:
        for p in (a, b):
            p.kill()
            p.wait(10)
    assert count_points(store) == n
    assert per_plant(store) == expected_per_plant(n)
    assert received.get("bridge-a", 0) > 0.1 * n
    assert received.get("bridge-b", 0) > 0.1 * n
