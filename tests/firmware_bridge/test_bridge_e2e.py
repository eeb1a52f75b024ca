"""The bridge end to end: ``roshanai bridge run`` processes between a real mosquitto and a real
influxd — kill -9 mid-stream, InfluxDB down for minutes, broker restarts, a six-hour backfill,
every class of bad input, two bridges sharing the stream, plant status.

Nothing is mocked. Every reading of a stream has a unique ``(plant_id, ts)``; "stored exactly
once" is checked as: as many points per plant as readings published for it, each reading at its
device time with its own ``seq``, no counter reset flagged, nothing else in ``inverter``. The
bridges run as ``python -m roshanai bridge run`` subprocesses (flags only, no ``ROSHANAI_*``
environment), each test with its own broker and database. Every wait is bounded.
"""

from __future__ import annotations

import collections
import json
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from firmware_bridge.decode import DEFAULT_MAX_PAYLOAD_BYTES
from firmware_bridge.spool import Spool
from tests.firmware_bridge.harness import (
    BASE_MS,
    PLANTS,
    PROVINCES,
    BridgeProcess,
    Publisher,
    bridge_metrics,
    expected_per_plant,
    points_per_plant,
    publish_all,
    quarantine_cli,
    quarantine_counts,
    query,
    raw_publish,
    reading,
    retained_statuses,
    spool_depth,
    stored_count,
    wait_for,
    write_fleet,
)
from tests.servers import InfluxD, Mosquitto


@pytest.fixture
def fleet_file(tmp_path: Path) -> Path:
    return write_fleet(tmp_path / "fleet.csv")


@pytest.fixture
def bridges(tmp_path: Path, fleet_file: Path) -> Iterator[Callable[..., BridgeProcess]]:
    """``bridges(mqtt_url, influx_url, db, client_id=..., ...)`` → a BridgeProcess (not started);
    every one is killed at the end of the test."""
    made: list[BridgeProcess] = []

    def make(
        mqtt_url: str, influx_url: str, db: str, *, client_id: str = "bridge-e2e", **kwargs: object
    ) -> BridgeProcess:
        b = BridgeProcess(
            mqtt_url,
            influx_url,
            db,
            tmp_path / f"state-{client_id}",
            fleet_file,
            tmp_path / "work",
            client_id=client_id,
            **kwargs,
        )  # type: ignore[arg-type]
        made.append(b)
        return b

    yield make
    for b in made:
        b.kill()


def assert_exactly_once(server: InfluxD, db: str, indices: range | list[int]) -> None:
    want = expected_per_plant(indices)
    assert stored_count(server, db) == len(indices)
    assert points_per_plant(server, db) == want
    # Every reading at its own device time, with its own values.
    stored = {
        (s["tags"]["plant_id"], row[0], row[1])
        for s in query(server, db, "SELECT seq FROM inverter GROUP BY plant_id")
        for row in s["values"]
    }
    assert stored == {
        (PLANTS[i % len(PLANTS)], BASE_MS + (i // len(PLANTS)) * 60_000, i) for i in indices
    }
    # The stream's counters only rise: no redelivery or restart may pass for a counter reset.
    assert query(server, db, "SELECT count(counter_reset) FROM inverter") == []


# -- 1. kill -9 mid-stream -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kill_at", "per_second"),
    [
        (0.1, 2500),
        (0.6, 2500),
        (0.35, None),  # unpaced: a backlog in the broker and thousands in flight to the bridge
    ],
    ids=["10%", "60%", "35%-backlog"],
)
def test_kill_9_mid_stream_stores_every_reading_exactly_once(
    mosquitto: Mosquitto,
    influxd: InfluxD,
    influx_db: str,
    bridges,
    kill_at: float,
    per_second: float | None,
) -> None:
    n = 20_000
    bridge = bridges(mosquitto.url, influxd.url, influx_db).start()
    pub = Publisher(mosquitto.url, range(n), "pub-kill", per_second=per_second)
    pub.start()
    wait_for(
        lambda: stored_count(influxd, influx_db) >= kill_at * n,
        60,
        f"{kill_at:.0%} of the stream stored",
        diagnostics=bridge.log_tail,
    )
    bridge.kill()
    stored_at_kill, published_at_kill = stored_count(influxd, influx_db), pub.sent
    # The stream goes on into the bridge's session while it is dead.
    wait_for(
        lambda: pub.sent >= min(n, published_at_kill + 1000) or pub.done.is_set(),
        30,
        "readings published while the bridge is dead",
    )
    bridge.start()
    pub.finish(120)
    took = wait_for(
        lambda: stored_count(influxd, influx_db) >= n,
        120,
        "every reading stored",
        diagnostics=bridge.log_tail,
    )
    wait_for(lambda: spool_depth(bridge.state_dir) == 0, 30, "the spool to drain")
    time.sleep(1.5)  # a quiet window on purpose: a late duplicate or stray point would show now
    metrics = bridge_metrics(influxd, influx_db, "bridge-e2e")
    assert bridge.terminate() == 0, bridge.log_tail()
    print(
        f"\nkill at {kill_at:.0%}: published {published_at_kill} of {n} and stored "
        f"{stored_at_kill} when killed; all stored {took:.1f} s after the publisher ended; "
        f"bridge counted {metrics[-1]['received']} received, {metrics[-1]['duplicates']} "
        f"duplicates"
    )
    assert 0 < stored_at_kill < published_at_kill < n  # killed mid-stream, publishing went on
    assert_exactly_once(influxd, influx_db, range(n))
    assert quarantine_counts(bridge.state_dir) == {}


# -- 2. InfluxDB down for minutes ----------------------------------------------------------------


@pytest.mark.slow
def test_influxdb_down_for_200_s_then_everything_lands(
    mosquitto: Mosquitto, make_influxd, bridges
) -> None:
    db_server: InfluxD = make_influxd()
    db = "roshanai"
    db_server.create_database(db)
    bridge = bridges(mosquitto.url, db_server.url, db).start()
    n_before, n_during, n_after = 1000, 3800, 1000
    Publisher(mosquitto.url, range(n_before), "pub-before").run()
    wait_for(lambda: stored_count(db_server, db) >= n_before, 30, "the first readings")
    db_server.stop()
    down_ms = time.time() * 1000
    down_at = time.monotonic()
    # Readings keep arriving: 20 a second for 190 s.
    pub = Publisher(
        mosquitto.url, range(n_before, n_before + n_during), "pub-during", per_second=20
    )
    pub.start()
    depths = []
    while time.monotonic() - down_at < 200:
        assert bridge.alive, bridge.log_tail()
        depths.append(spool_depth(bridge.state_dir))
        time.sleep(5)  # samples of the spool depth through the outage, not a wait
    pub.finish(30)
    held = spool_depth(bridge.state_dir)
    db_server.start()
    up_ms = time.time() * 1000
    Publisher(
        mosquitto.url, range(n_before + n_during, n_before + n_during + n_after), "pub-after"
    ).run()
    total = n_before + n_during + n_after
    took = wait_for(
        lambda: stored_count(db_server, db) >= total,
        120,
        "the backlog to land",
        diagnostics=bridge.log_tail,
    )

    def drained_point() -> bool:
        points = bridge_metrics(db_server, db, "bridge-e2e")
        return bool(points) and points[-1]["time"] > up_ms and points[-1]["spool_depth"] == 0

    wait_for(drained_point, 30, "a self-metrics point with an empty spool")
    points = bridge_metrics(db_server, db, "bridge-e2e")
    assert bridge.terminate() == 0, bridge.log_tail()
    outage = [p for p in points if down_ms + 5000 < p["time"] < up_ms]
    print(
        f"\nInfluxDB down {(up_ms - down_ms) / 1000:.0f} s: spool held {held} lines "
        f"(sampled {depths[0]} … {depths[-1]}), {len(outage)} self-metrics points kept; "
        f"max lag {max(p['lag_s'] for p in outage):.0f} s; backlog of {total} readings "
        f"stored {took:.1f} s after InfluxDB came back"
    )
    assert held >= n_during  # every reading held in the spool, none acknowledged away
    assert depths == sorted(depths)
    # The self-metrics written during the outage reached InfluxDB afterwards, and tell the story.
    assert len(outage) > 100
    depth_series = [p["spool_depth"] for p in outage]
    assert depth_series == sorted(depth_series)
    assert depth_series[-1] >= n_during
    assert max(p["lag_s"] for p in outage) > 100
    after = [p for p in points if p["time"] > up_ms]
    assert after[-1]["spool_depth"] == 0
    assert after[-1]["lag_s"] == 0
    assert_exactly_once(db_server, db, range(total))


def test_bridge_started_while_influxdb_is_down_creates_the_database_when_it_is_up(
    mosquitto: Mosquitto, make_influxd, bridges
) -> None:
    db_server: InfluxD = make_influxd()
    db_server.stop()
    db = "created_by_the_bridge"  # the bridge cannot create it yet
    bridge = bridges(mosquitto.url, db_server.url, db).start()
    Publisher(mosquitto.url, range(1000), "pub-early").run()
    wait_for(lambda: spool_depth(bridge.state_dir) >= 1000, 15, "the spool to hold the stream")
    db_server.start()
    wait_for(
        lambda: stored_count(db_server, db) >= 1000,
        60,
        "the stream to land",
        diagnostics=bridge.log_tail,
    )
    assert bridge.terminate() == 0, bridge.log_tail()
    assert_exactly_once(db_server, db, range(1000))


# -- 3. broker restarts --------------------------------------------------------------------------


def test_broker_restarts_lose_nothing(
    mosquitto: Mosquitto, influxd: InfluxD, influx_db: str, bridges
) -> None:
    bridge = bridges(mosquitto.url, influxd.url, influx_db).start()
    # (a) Restarted under a running bridge, in the middle of a stream: the publisher's client
    # resends what the broker had not acknowledged, the bridge reconnects to its session.
    n1 = 8000
    pub = Publisher(mosquitto.url, range(n1), "pub-a", per_second=2000)
    pub.start()
    wait_for(lambda: pub.sent >= n1 // 3, 30, "a third of the stream published")
    stored_at_restart = stored_count(influxd, influx_db)
    mosquitto.stop()
    time.sleep(1.0)  # the outage under test: the stream's publisher and the bridge lose the broker
    mosquitto.start()
    pub.finish(90)
    wait_for(
        lambda: stored_count(influxd, influx_db) >= n1,
        60,
        "the stream after the restart",
        diagnostics=bridge.log_tail,
    )
    assert bridge.alive
    # (b) Messages queued for the stopped bridge's persistent session survive a broker restart.
    assert bridge.terminate() == 0, bridge.log_tail()
    n2 = n1 + 4000
    Publisher(mosquitto.url, range(n1, n2), "pub-b").run()
    mosquitto.stop()
    mosquitto.start()
    bridge.start()
    wait_for(
        lambda: stored_count(influxd, influx_db) >= n2,
        60,
        "the queued messages",
        diagnostics=bridge.log_tail,
    )
    # (c) The bridge killed mid-stream (messages in flight to it, unacknowledged), then the
    # broker restarted under the stream, then the bridge back.
    n3 = n2 + 6000
    pub = Publisher(mosquitto.url, range(n2, n3), "pub-c", per_second=2000)
    pub.start()
    wait_for(lambda: pub.sent >= 2000, 30, "the stream to be under way")
    bridge.kill()
    mosquitto.stop()
    mosquitto.start()
    bridge.start()
    pub.finish(90)
    wait_for(
        lambda: stored_count(influxd, influx_db) >= n3,
        60,
        "the last stream",
        diagnostics=bridge.log_tail,
    )
    time.sleep(1.5)  # a quiet window on purpose: a late duplicate would show now
    assert bridge.terminate() == 0, bridge.log_tail()
    print(
        f"\nbroker restarted with {stored_at_restart} of {n1} stored, then with "
        f"{n2 - n1} queued for the stopped bridge, then with the bridge killed: "
        f"{stored_count(influxd, influx_db)} of {n3} stored"
    )
    assert_exactly_once(influxd, influx_db, range(n3))


# -- 4. six-hour backfill ------------------------------------------------------------------------


def test_six_hour_backfill_batch_lands_with_device_timestamps(
    mosquitto: Mosquitto, influxd: InfluxD, influx_db: str, bridges
) -> None:
    bridge = bridges(mosquitto.url, influxd.url, influx_db).start()
    pid = PLANTS[3]
    cut_ms = (int(time.time() * 1000) - 8 * 3600_000) // 60_000 * 60_000
    backlog = [
        {
            "ts": cut_ms + k * 60_000,
            "ac_power_w": round(max(0.0, 3000.0 - abs(k - 180) * 20.0), 1),
            "energy_total_wh": 7_000_000 + 25 * k,
            "status": "producing",
        }
        for k in range(360)
    ]
    # The gateway comes back: a live reading first, then the six hours it buffered, in one
    # message (as gateways do after a power cut).
    live = {
        "v": 1,
        "plant_id": pid,
        "ts": cut_ms + 360 * 60_000,
        "ac_power_w": 1500.0,
        "energy_total_wh": 7_000_000 + 25 * 360,
    }
    publish_all(
        mosquitto.url,
        [
            (f"roshanai/v1/{pid}/telemetry", json.dumps(live).encode()),
            (
                f"roshanai/v1/{pid}/telemetry",
                json.dumps({"v": 1, "plant_id": pid, "readings": backlog}).encode(),
            ),
        ],
        "gateway-backfill",
    )
    wait_for(
        lambda: stored_count(influxd, influx_db) >= 361,
        30,
        "the batch",
        diagnostics=bridge.log_tail,
    )
    assert bridge.terminate() == 0
    rows = query(
        influxd,
        influx_db,
        f"SELECT ac_power_w, energy_total_wh, counter_reset "
        f"FROM inverter WHERE plant_id = '{pid}' AND time < {live['ts']}ms",
    )[0]["values"]
    assert len(rows) == 360
    assert rows[0][0] == cut_ms
    assert rows[-1][0] == cut_ms + 359 * 60_000
    assert [r[0] for r in rows] == [b["ts"] for b in backlog]
    assert [r[1] for r in rows] == [b["ac_power_w"] for b in backlog]
    assert [r[2] for r in rows] == [b["energy_total_wh"] for b in backlog]
    assert all(r[3] is None for r in rows)  # a backfill after a newer reading is no reset
    assert stored_count(influxd, influx_db) == 361


def test_twelve_hour_cut_backfill_in_one_message_lands(
    mosquitto: Mosquitto, influxd: InfluxD, influx_db: str, bridges
) -> None:
    """A 12-hour cut at one-minute readings, every field of the canonical payload, uploaded as
    one message: about 200 KB, three times the 64 KiB the bridge used to refuse."""
    bridge = bridges(mosquitto.url, influxd.url, influx_db).start()
    pid = PLANTS[4]
    cut_ms = (int(time.time() * 1000) - 13 * 3600_000) // 60_000 * 60_000
    backlog = [
        {
            "ts": cut_ms + k * 60_000,
            "seq": 10_000 + k,
            "ac_power_w": round(max(0.0, 3000.0 - abs(k - 360) * 9.0), 1),
            "ac_voltage_v": 228.4,
            "ac_current_a": 9.87,
            "ac_freq_hz": 50.01,
            "energy_total_wh": 7_000_000 + 25 * k,
            "energy_today_wh": 25 * k,
            "dc": [{"v": 351.2, "a": 4.31, "w": 1513.7}, {"v": 349.8, "a": 4.29, "w": 1500.6}],
            "temp_c": 41.2,
            "status": "producing",
            "alarm_code": 0,
            "rssi_dbm": -71,
        }
        for k in range(720)
    ]
    payload = json.dumps({"v": 1, "plant_id": pid, "readings": backlog}).encode()
    assert 3 * 64 * 1024 < len(payload) < DEFAULT_MAX_PAYLOAD_BYTES
    publish_all(mosquitto.url, [(f"roshanai/v1/{pid}/telemetry", payload)], "gateway-12h")
    wait_for(
        lambda: stored_count(influxd, influx_db) >= 720,
        30,
        "the batch",
        diagnostics=bridge.log_tail,
    )
    assert bridge.terminate() == 0
    rows = query(
        influxd,
        influx_db,
        f"SELECT seq, dc2_power_w, energy_today_wh FROM inverter WHERE plant_id = '{pid}'",
    )[0]["values"]
    assert [r[0] for r in rows] == [b["ts"] for b in backlog]
    assert [r[1] for r in rows] == [b["seq"] for b in backlog]
    assert {r[2] for r in rows} == {1500.6}
    assert quarantine_counts(bridge.state_dir) == {}


# -- 5. bad input --------------------------------------------------------------------------------

P1, P2 = PLANTS[0], PLANTS[1]
TOPIC1 = f"roshanai/v1/{P1}/telemetry"
EXTRA_MS = BASE_MS + 86_400_000  # device time of the readings that are not stream readings


def _one(ts: object = EXTRA_MS, topic_plant: str = P1, **fields: object) -> tuple[str, bytes]:
    body = {"v": 1, "plant_id": topic_plant, "ts": ts, **fields}
    return f"roshanai/v1/{topic_plant}/telemetry", json.dumps(body).encode()


def _bad_inputs() -> list[tuple[str, str, bytes]]:
    """(expected reason, topic, payload) of every class of bad input the bridge must refuse."""
    now_ms = int(time.time() * 1000)
    return [
        ("malformed_json", TOPIC1, b'{"v": 1, "plant_id": "E2E-0001", "ts": '),
        ("malformed_json", TOPIC1, b""),
        ("malformed_json", TOPIC1, b'{"v": 1, "ts": 1, "ac_power_w": 12,}'),
        ("malformed_json", TOPIC1, b"[" * 20_000 + b"]" * 20_000),
        ("bad_schema", *_one(ac_power_w="lots")),
        ("bad_schema", *_one(ac_power_w=True)),
        ("bad_schema", *_one(dc={"v": 1})),
        ("bad_schema", TOPIC1, b"[1, 2, 3]"),
        ("bad_schema", TOPIC1, json.dumps({"v": 1, "plant_id": P1, "ac_power_w": 1.0}).encode()),
        ("bad_schema", *_one(ts="yesterday", ac_power_w=1.0)),
        ("bad_schema", *_one(ac_power_w=1.0, status='producing"\nx=1')),
        ("bad_schema", TOPIC1, json.dumps({"v": "1", "ts": EXTRA_MS, "ac_power_w": 1.0}).encode()),
        (
            "unsupported_version",
            TOPIC1,
            json.dumps({"v": 2, "ts": EXTRA_MS, "ac_power_w": 1.0}).encode(),
        ),
        ("non_finite", TOPIC1, f'{{"v": 1, "ts": {EXTRA_MS}, "ac_power_w": NaN}}'.encode()),
        ("non_finite", TOPIC1, f'{{"v": 1, "ts": {EXTRA_MS}, "temp_c": Infinity}}'.encode()),
        ("non_finite", TOPIC1, f'{{"v": 1, "ts": {EXTRA_MS}, "ac_power_w": -Infinity}}'.encode()),
        ("non_finite", TOPIC1, f'{{"v": 1, "ts": {EXTRA_MS}, "ac_power_w": 1e999}}'.encode()),
        ("out_of_range", *_one(ac_power_w=7600.0)),  # > 1.5 x 5 kW
        ("out_of_range", *_one(ac_power_w=1000.0, ac_voltage_v=900.0)),
        ("out_of_range", *_one(ac_power_w=1000.0, ac_voltage_v=-5.0)),
        ("out_of_range", *_one(ts=now_ms - 500 * 86_400_000, ac_power_w=1000.0)),
        ("unknown_plant", *_one(topic_plant="ZZZ-9999", ac_power_w=100.0)),
        (
            "plant_mismatch",
            TOPIC1,
            json.dumps({"v": 1, "plant_id": P2, "ts": EXTRA_MS, "ac_power_w": 1.0}).encode(),
        ),
        (
            "plant_mismatch",
            TOPIC1,
            json.dumps(
                {"v": 1, "plant_id": f"{P1}\nx", "ts": EXTRA_MS, "ac_power_w": 1.0}
            ).encode(),
        ),
        (
            "plant_mismatch",
            TOPIC1,
            json.dumps({"v": 1, "plant_id": f'{P1}",x=1 y', "ts": 1, "ac_power_w": 1.0}).encode(),
        ),
        ("future_ts", *_one(ts=now_ms + 86_400_000, ac_power_w=1.0)),
        ("future_ts", *_one(ts="2099-01-01T00:00:00Z", ac_power_w=1.0)),
        (
            "oversized",
            TOPIC1,
            b'{"v": 1, "plant_id": "E2E-0001", "pad": "'
            + b"x" * (DEFAULT_MAX_PAYLOAD_BYTES + 1000)
            + b'"}',
        ),
        ("bad_tag", "roshanai/v1/E2E,0001/telemetry", b'{"v": 1, "ts": 1, "ac_power_w": 1}'),
        ("bad_tag", "roshanai/v1/E2E 0001/telemetry", b'{"v": 1, "ts": 1, "ac_power_w": 1}'),
        ("bad_tag", "roshanai/v1/E2E=0001/telemetry", b'{"v": 1, "ts": 1, "ac_power_w": 1}'),
        ("bad_tag", 'roshanai/v1/E2E"0001/telemetry', b'{"v": 1, "ts": 1, "ac_power_w": 1}'),
        ("bad_tag", "roshanai/v1/E2E\\0001/telemetry", b'{"v": 1, "ts": 1, "ac_power_w": 1}'),
        ("bad_tag", "roshanai/v1/تهران-1/telemetry", b'{"v": 1, "ts": 1, "ac_power_w": 1}'),
        ("bad_tag", f"roshanai/v1/{'A' * 65}/telemetry", b'{"v": 1, "ts": 1, "ac_power_w": 1}'),
        ("non_utf8", TOPIC1, b'{"v": 1, "plant_id": "E2E-0001", "status": "\xff\xfe"}'),
        ("non_utf8", TOPIC1, b'{"v": 1, "plant_id": "E2E-\xc3\x28", "ts": 1}'),
        # Gateway availability (last will) topics: they name a plant too.
        ("unknown_plant", "roshanai/v1/ZZZ-9999/availability", b"offline"),
        ("bad_tag", "roshanai/v1/E2E,0001/availability", b"offline"),
        ("bad_tag", 'roshanai/v1/E2E"1 x=2/availability', b"offline"),
        # OpenDTU and AhoyDTU layouts.
        ("bad_schema", "solar/114190000002/0/power", b"abc"),
        ("unknown_plant", "solar/114190000001/0/power", b"1500"),
        ("unknown_plant", "inverter/evil,name/ch0/P_AC", b"100"),
        ("non_finite", "inverter/E2E-0003/ch0", b'{"P_AC": 1e999}'),
        ("bad_schema", "inverter/E2E-0005/ch0", b"not json"),
    ]


#: Topics the broker itself refuses (it drops the publishing connection): never seen downstream.
BROKER_REFUSED = [
    b"roshanai/v1/E2E-0001\nx/telemetry",
    b"roshanai/v1/E2E-\x00/telemetry",
    b"roshanai/v1/E2E-\x01/telemetry",
    b"roshanai/v1/\xff\xfe/telemetry",
    b"roshanai/v1/E2E-\xed\xa0\x80/telemetry",
]

#: Fields a stored ``inverter`` point may have.
INVERTER_FIELD_KEYS = {
    "ac_power_w",
    "ac_voltage_v",
    "ac_current_a",
    "ac_freq_hz",
    "energy_total_wh",
    "temp_c",
    "status",
    "alarm_code",
    "rssi_dbm",
    "seq",
    "counter_reset",
} | {f"dc{n}_{q}" for n in range(1, 17) for q in ("voltage_v", "current_a", "power_w")}


def test_every_bad_input_is_quarantined_and_nothing_injected(
    mosquitto: Mosquitto, influxd: InfluxD, influx_db: str, bridges, tmp_path: Path
) -> None:
    bridge = bridges(mosquitto.url, influxd.url, influx_db).start()
    bad = _bad_inputs()
    messages: list[tuple[str, bytes]] = []
    good = 0
    for topic, payload in ((t, p) for _, t, p in bad):
        messages.append(reading(good))  # good readings around every bad one
        good += 1
        messages.append((topic, payload))
    # An energy counter going backwards: kept, and flagged.
    for k, energy in enumerate((2_000_000, 2_000_500, 10, 30)):
        messages.append(_one(EXTRA_MS + k * 60_000, ac_power_w=500.0, energy_total_wh=energy))
    # Batches mixing good and bad readings keep the good ones: one read by the typed decoder,
    # one (with a NaN token) by the fallback.
    t = EXTRA_MS + 3600_000
    mixed = [
        {"ts": t, "ac_power_w": 100.0},
        {"ts": t + 60_000, "ac_power_w": 99_999.0},
        {"ts": t + 120_000, "ac_power_w": "x"},
        {"ac_power_w": 1.0},
        {"ts": t + 180_000, "plant_id": P2, "ac_power_w": 1.0},
        {"ts": int(time.time() * 1000) + 86_400_000, "ac_power_w": 1.0},
        {"ts": t + 240_000, "ac_power_w": 300.0, "ac_voltage_v": 231.0},
    ]
    messages.append((TOPIC1, json.dumps({"v": 1, "plant_id": P1, "readings": mixed}).encode()))
    messages.append(
        (
            TOPIC1,
            (
                f'{{"v": 1, "readings": [{{"ts": {t + 300_000}, "ac_power_w": 10.0}}, '
                f'{{"ts": {t + 360_000}, "ac_power_w": NaN}}, {{"ts": {t + 420_000}, '
                f'"ac_power_w": 20.0}}]}}'
            ).encode(),
        )
    )
    mixed_bad = [
        "out_of_range",
        "bad_schema",
        "bad_schema",
        "plant_mismatch",
        "future_ts",
        "non_finite",
    ]
    extra_good = 4 + 2 + 2
    messages += [reading(good + k) for k in range(5)]
    good += 5
    publish_all(mosquitto.url, messages, "gateway-bad")
    refused = [
        raw_publish(mosquitto.host, mosquitto.port, topic, b'{"v": 1}') for topic in BROKER_REFUSED
    ]

    expected = collections.Counter([reason for reason, _, _ in bad] + mixed_bad)

    def state() -> str:
        return (
            f"stored {stored_count(influxd, influx_db)} of {good + extra_good}; quarantine "
            f"{quarantine_counts(bridge.state_dir)} (expected {dict(expected)})\n"
            f"{bridge.log_tail()}"
        )

    wait_for(
        lambda: stored_count(influxd, influx_db) >= good + extra_good,
        30,
        "the good readings",
        diagnostics=state,
    )
    wait_for(
        lambda: sum(quarantine_counts(bridge.state_dir).values()) >= expected.total(),
        30,
        "the quarantine",
        diagnostics=state,
    )
    wait_for(
        lambda: (
            (bridge_metrics(influxd, influx_db, "bridge-e2e") or [{}])[-1].get("quarantined")
            == expected.total()
        ),
        15,
        "the quarantined count in InfluxDB",
        diagnostics=state,
    )
    time.sleep(1.5)  # anything more (a stray point, a late rejection) would show by now
    assert bridge.alive, bridge.log_tail()
    assert refused == [False] * len(BROKER_REFUSED)  # the broker drops those publishers
    cli_counts, cli_out = quarantine_cli(bridge.state_dir, tmp_path / "work")  # while running
    assert bridge.terminate() == 0, bridge.log_tail()

    # The quarantine, through the CLI and the API: every message with its reason.
    assert cli_counts == dict(expected), cli_out
    spool = Spool(bridge.state_dir / "spool.sqlite3")
    assert spool.quarantine_counts() == dict(expected)
    entries = spool.quarantined(1000)
    spool.close()
    by_reason = collections.defaultdict(list)
    for e in entries:
        by_reason[e.reason].append(e)
        assert e.detail
        assert "\n" not in e.detail
    assert {e.topic for e in by_reason["bad_tag"]} == {t for r, t, _ in bad if r == "bad_tag"}
    # A serial or name the fleet does not list names no plant.
    assert {e.plant_id for e in by_reason["unknown_plant"]} == {"ZZZ-9999", None}
    oversized = by_reason["oversized"][0]
    assert oversized.topic == TOPIC1
    assert len(oversized.payload) <= 64 * 1024
    non_utf8 = {e.payload for e in by_reason["non_utf8"]}
    assert non_utf8 == {p for r, _, p in bad if r == "non_utf8"}  # kept byte for byte

    # InfluxDB: the good readings, exactly; nothing injected.
    stream = range(good)
    per_plant = points_per_plant(influxd, influx_db)
    want = expected_per_plant(stream)
    extra = query(
        influxd,
        influx_db,
        f"SELECT ac_power_w, energy_total_wh, counter_reset FROM "
        f"inverter WHERE time >= {EXTRA_MS}ms",
    )[0]["values"]
    assert per_plant.keys() == want.keys()
    assert per_plant[P1][0] == want[P1][0] + extra_good
    assert {p: v for p, v in per_plant.items() if p != P1} == {
        p: v for p, v in want.items() if p != P1
    }
    assert stored_count(influxd, influx_db) == good + extra_good
    assert [(r[0] - EXTRA_MS, r[2], r[3]) for r in extra[:4]] == [
        (0, 2_000_000, None),
        (60_000, 2_000_500, None),
        (120_000, 10, True),
        (180_000, 30, None),
    ]
    assert [(r[0] - t, r[1]) for r in extra[4:]] == [
        (0, 100.0),
        (240_000, 300.0),
        (300_000, 10.0),
        (420_000, 20.0),
    ]

    def values(q: str) -> set[str]:
        return {v[-1] for s in query(influxd, influx_db, q) for v in s["values"]}

    assert values("SHOW MEASUREMENTS") <= {"inverter", "bridge", "plant_status"}
    assert values("SHOW TAG VALUES FROM inverter WITH KEY = plant_id") == set(PLANTS)
    assert values("SHOW TAG VALUES WITH KEY = plant_id") <= set(PLANTS)
    assert values("SHOW TAG VALUES FROM inverter WITH KEY = province") == set(PROVINCES)
    assert values("SHOW TAG VALUES WITH KEY = province") <= set(PROVINCES)
    assert values("SHOW TAG KEYS FROM inverter") == {"plant_id", "province"}
    assert values("SHOW TAG KEYS FROM plant_status") <= {"plant_id", "province"}
    assert values("SHOW TAG VALUES FROM bridge WITH KEY = instance") == {"bridge-e2e"}
    assert {
        v[0]
        for s in query(influxd, influx_db, "SHOW FIELD KEYS FROM inverter")
        for v in s["values"]
    } <= INVERTER_FIELD_KEYS
    assert len(values("SHOW SERIES FROM inverter")) == len(PLANTS)
    print(
        f"\n{good + extra_good} good readings stored around {expected.total()} refused "
        f"({len(expected)} reasons) and {len(BROKER_REFUSED)} topics the broker dropped"
    )


# -- 6. two bridges on a shared subscription -----------------------------------------------------


def test_two_bridges_split_the_stream_and_a_killed_one_loses_nothing(
    mosquitto: Mosquitto, influxd: InfluxD, influx_db: str, bridges
) -> None:
    n = 12_000
    a = bridges(
        mosquitto.url, influxd.url, influx_db, client_id="bridge-a", share_group="roshanai"
    ).start()
    b = bridges(
        mosquitto.url, influxd.url, influx_db, client_id="bridge-b", share_group="roshanai"
    ).start()
    pub = Publisher(mosquitto.url, range(n), "pub-share", per_second=2500)
    pub.start()
    wait_for(
        lambda: stored_count(influxd, influx_db) >= 0.3 * n,
        60,
        "30 % stored",
        diagnostics=a.log_tail,
    )
    a.kill()
    stored_at_kill, published_at_kill = stored_count(influxd, influx_db), pub.sent
    wait_for(  # the stream goes on into the killed bridge's share of the session
        lambda: pub.sent >= min(n, published_at_kill + 1000) or pub.done.is_set(),
        30,
        "readings published while bridge-a is dead",
    )
    a.start()
    pub.finish(120)
    took = wait_for(
        lambda: stored_count(influxd, influx_db) >= n,
        90,
        "every reading stored",
        diagnostics=lambda: a.log_tail() + "\n" + b.log_tail(),
    )
    wait_for(
        lambda: spool_depth(a.state_dir) == spool_depth(b.state_dir) == 0, 30, "the spools to drain"
    )
    # Gateway availability (last will) is not split: every bridge keeps every plant's status.
    publish_all(
        mosquitto.url,
        [("roshanai/v1/ZZZ-0001/availability", b"offline")]
        + [(f"roshanai/v1/{p}/availability", b"offline") for p in PLANTS[:4]],
        "gw",
    )
    wait_for(
        lambda: (
            quarantine_counts(a.state_dir) == quarantine_counts(b.state_dir) == {"unknown_plant": 1}
        ),
        15,
        "both bridges to see the availability messages",
    )

    def all_offline() -> bool:
        got = retained_statuses(mosquitto.url, PLANTS[:4])
        return set(got) == set(PLANTS[:4]) and all(st["online"] is False for st in got.values())

    wait_for(all_offline, 15, "the retained statuses to say offline")
    time.sleep(2.0)  # a quiet window: a last self-metrics point of each, and any stray point
    received = {
        p["tags"]["instance"]: p["values"][0][1]
        for p in query(influxd, influx_db, "SELECT last(received) FROM bridge GROUP BY instance")
    }
    assert a.terminate() == 0, a.log_tail()
    assert b.terminate() == 0, b.log_tail()
    print(
        f"\ntwo bridges: bridge-a killed with {stored_at_kill} of {n} stored and "
        f"{published_at_kill} published; received per instance {received}; all stored "
        f"{took:.1f} s after the publisher ended"
    )
    assert 0 < stored_at_kill < published_at_kill < n
    assert received.keys() == {"bridge-a", "bridge-b"}
    assert all(r > 0.2 * n for r in received.values()), received  # each took a share
    assert_exactly_once(influxd, influx_db, range(n))


# -- 7. plant status -----------------------------------------------------------------------------


def test_plant_status_is_retained_and_follows_the_gateway_will(
    mosquitto: Mosquitto, influxd: InfluxD, influx_db: str, bridges, tmp_path: Path
) -> None:
    bridge = bridges(mosquitto.url, influxd.url, influx_db).start()
    p_live, p_will, p_alarm = PLANTS[0], PLANTS[1], PLANTS[2]
    now_ms = int(time.time() * 1000) // 60_000 * 60_000
    messages = []
    for k in range(5):  # five minutes of production, the counter rising 50 Wh a minute
        ts = now_ms - (5 - k) * 60_000
        for pid in (p_live, p_will):
            messages.append(
                _one(
                    ts, pid, ac_power_w=3000.0, energy_total_wh=500_000 + 50 * k, status="producing"
                )
            )
    messages.append(_one(now_ms - 60_000, p_alarm, ac_power_w=0.0, status="fault", alarm_code=17))
    publish_all(mosquitto.url, messages, "gateways")
    plants = [p_live, p_will, p_alarm]

    def statuses_are(want: dict[str, bool]) -> Callable[[], bool]:
        def check() -> bool:
            got = retained_statuses(mosquitto.url, plants)
            return all(p in got and got[p]["online"] is v for p, v in want.items())

        return check

    wait_for(
        statuses_are({p: True for p in plants}),
        20,
        "online statuses",
        every_s=0.5,
        diagnostics=lambda: f"{retained_statuses(mosquitto.url, plants)}\n{bridge.log_tail()}",
    )
    status = retained_statuses(mosquitto.url, plants)
    assert status[p_live]["plant_id"] == p_live
    assert status[p_live]["producing"] is True
    assert status[p_live]["ac_power_w"] == 3000.0
    days = {
        datetime.fromtimestamp((now_ms - m * 60_000) / 1000, ZoneInfo("Asia/Tehran")).date()
        for m in (5, 1)
    }
    if len(days) == 1:  # the counter rose 4 x 50 Wh today (unless Tehran's midnight came between)
        assert status[p_live]["energy_today_wh"] == 200.0
    else:
        assert 0.0 <= status[p_live]["energy_today_wh"] < 200.0
    assert status[p_live]["alarm"] is False
    assert status[p_alarm]["alarm"] is True
    assert status[p_alarm]["alarm_code"] == 17
    assert status[p_alarm]["producing"] is False

    # One gateway says it goes offline; another dies and the broker sends its last will.
    publish_all(mosquitto.url, [(f"roshanai/v1/{p_live}/availability", b"offline")], "gw-live")
    will_topic = f"roshanai/v1/{p_will}/availability"
    gateway = subprocess.Popen(
        [sys.executable, "-c", GATEWAY_WITH_WILL, mosquitto.url, will_topic],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert gateway.stdout is not None
        ready, _, _ = select.select([gateway.stdout], [], [], 30)
        line = gateway.stdout.readline() if ready else b"(nothing for 30 s)\n"
        if line.strip() != b"connected":
            pytest.fail(f"gateway failed: {(line + gateway.communicate(timeout=10)[0]).decode()}")
    finally:
        gateway.kill()
        gateway.wait(10)
    wait_for(
        statuses_are({p_live: False, p_will: False, p_alarm: True}),
        20,
        "offline statuses",
        every_s=0.5,
        diagnostics=lambda: f"{retained_statuses(mosquitto.url, plants)}\n{bridge.log_tail()}",
    )

    # A reading brings a plant back online.
    publish_all(mosquitto.url, [_one(now_ms, p_live, ac_power_w=2000.0)], "gateways")
    wait_for(statuses_are({p_live: True, p_will: False}), 20, "back online", every_s=0.5)

    def online_history() -> dict[str, list[bool]]:
        return {
            s["tags"]["plant_id"]: [v[1] for v in s["values"]]
            for s in query(influxd, influx_db, "SELECT online FROM plant_status GROUP BY plant_id")
        }

    wait_for(
        lambda: len(online_history().get(p_live, [])) >= 3,
        20,
        "the last status points in InfluxDB",
        diagnostics=lambda: str(online_history()),
    )
    assert bridge.terminate() == 0, bridge.log_tail()

    history = online_history()
    assert set(history) == set(plants)
    assert history[p_live] == [True, False, True]
    assert history[p_will] == [True, False]
    assert history[p_alarm] == [True]
    alarm = query(
        influxd,
        influx_db,
        f"SELECT alarm, alarm_code, inverter_status FROM plant_status WHERE plant_id = '{p_alarm}'",
    )
    assert alarm[0]["values"][-1][1:] == [True, 17, "fault"]


def test_status_changed_while_the_broker_is_away_is_published_when_it_is_back(
    mosquitto: Mosquitto, influxd: InfluxD, influx_db: str, bridges
) -> None:
    """A status that changes just before a broker outage reaches the retained topic once the
    broker is back (the bridge used to drop it and republish only 5 min later)."""
    bridge = bridges(mosquitto.url, influxd.url, influx_db, metrics_interval_s=10.0).start()
    plant = PLANTS[0]
    now_ms = int(time.time() * 1000) // 60_000 * 60_000

    def alarm_is(want: bool) -> Callable[[], bool]:
        def check() -> bool:
            got = retained_statuses(mosquitto.url, [plant])
            return plant in got and got[plant]["alarm"] is want

        return check

    publish_all(
        mosquitto.url,
        [_one(now_ms - 120_000, plant, ac_power_w=0.0, status="fault", alarm_code=17)],
        "gw",
    )
    wait_for(alarm_is(True), 30, "the alarm status", every_s=0.5, diagnostics=bridge.log_tail)
    stored = stored_count(influxd, influx_db)
    publish_all(
        mosquitto.url,
        [_one(now_ms - 60_000, plant, ac_power_w=2500.0, status="producing", alarm_code=0)],
        "gw",
    )
    wait_for(lambda: stored_count(influxd, influx_db) > stored, 30, "the second reading")
    mosquitto.stop()  # the status ticks every 10 s: almost always the next one is now
    time.sleep(11.0)  # at least one status tick while the broker is away
    mosquitto.start()
    wait_for(
        alarm_is(False),
        20,
        "the cleared alarm after the broker's return",
        every_s=0.5,
        diagnostics=bridge.log_tail,
    )
    assert bridge.alive


GATEWAY_WITH_WILL = """
import sys
import time
from firmware_bridge.mqtt import MqttLink
url, topic = sys.argv[1:3]
link = MqttLink(url, "gateway-will", clean_start=True, will=(topic, b"offline", True),
                max_pending_publishes=10).start(timeout_s=10)
link.publish(topic, b"online", retain=True)
link.wait_published(10)
print("connected", flush=True)
time.sleep(60)  # stays connected until the test kills it (the broker then sends the will)
"""


# -- gateways through the CLI ---------------------------------------------------------------------


def test_dtu_gateway_under_its_own_base_topic_reaches_influxdb(
    mosquitto: Mosquitto, influxd: InfluxD, influx_db: str, bridges
) -> None:
    """`bridge run --fleet` hands the fleet's serials to the decoder (they were never passed
    before), under the base topic the gateway was set to; the stop summary adds up."""
    from tests.firmware_bridge.harness import DTU_SERIAL

    bridge = bridges(
        mosquitto.url,
        influxd.url,
        influx_db,
        extra_args=["--opendtu-prefix", "home/dtu", "--ahoy-prefix", ""],
    ).start()
    t0 = int(time.time()) - 120
    p = f"home/dtu/{DTU_SERIAL}"
    cycle = [
        (f"{p}/status/reachable", "1"),
        (f"{p}/status/producing", "1"),
        (f"{p}/status/last_update", str(t0)),
        (f"{p}/0/power", "612.30"),
        (f"{p}/0/yieldtotal", "1234.567"),
        (f"{p}/1/power", "300.1"),
        ("home/dtu/dtu/uptime", "77"),
        ("solar/114190000099/0/power", "5"),
    ]  # not read
    publish_all(mosquitto.url, [(t, v.encode()) for t, v in cycle], "gw-home")
    wait_for(
        lambda: stored_count(influxd, influx_db) >= 1,
        20,
        "the reading",
        diagnostics=bridge.log_tail,
    )
    assert bridge.terminate() == 0
    rows = query(
        influxd,
        influx_db,
        "SELECT ac_power_w, energy_total_wh, dc1_power_w FROM inverter GROUP BY plant_id",
        epoch="s",
    )
    assert [(r["tags"]["plant_id"], r["values"]) for r in rows] == [
        (PLANTS[1], [[t0, 612.3, 1234567.0, 300.1]])
    ]
    summary = bridge.log_text().strip().splitlines()[-1]
    assert "received 7 messages; readings: 1 accepted" in summary, summary
    assert "1 stored; 0 quarantined" in summary, summary
