"""The foundation against real servers: mosquitto, influxd 1.6.7 and VictoriaMetrics.

A canonical telemetry message goes broker → subscriber → InfluxStore → influxd and comes back
equal through InfluxQL; the broker keeps a persistent session's messages over a restart; influxd
reads our line protocol as we do; a fleet run's figures come back from influxd equal to its
summary. (The store's own paths and errors are tested in ``test_influx.py``.) Every wait is
bounded.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import jdatetime
import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roshanai.config import Settings
from simulate.fleet import GREGORIAN_MONTHS, HIJRI_MONTHS, FleetRun, run_fleet
from simulate.results import expected_lines, run_points, write_run
from telemetry.errors import ConfigError
from telemetry.influx import InfluxStore
from telemetry.lineprotocol import Point, parse_line
from telemetry.record import DcString, TelemetryRecord, parse_ts
from telemetry.registry import parse_fleet
from telemetry.schema import INVERTER_FIELDS, MEASUREMENT_INVERTER, TAG_PLANT_ID
from tests.servers import InfluxD, Mosquitto
from tests.telemetry.test_lineprotocol import points, same_value

WAIT_S = 10.0

CANONICAL = {
    "v": 1,
    "plant_id": "ZNJ-000123",
    "ts": "2026-07-01T09:00:00Z",
    "seq": 812,
    "ac_power_w": 3200.5,
    "ac_voltage_v": 228.1,
    "ac_current_a": 14.0,
    "ac_freq_hz": 50.01,
    "energy_total_wh": 1234567,
    "dc": [{"v": 350.1, "a": 5.2, "w": 1820.0}],
    "temp_c": 41.2,
    "status": "producing",
    "alarm_code": 0,
    "rssi_dbm": -71,
}


# -- helpers -------------------------------------------------------------------------------------


def decode_canonical(payload: bytes) -> TelemetryRecord:
    """The canonical single-reading payload → record (the bridge's decoder does more)."""
    doc = json.loads(payload)
    values = {k: v for k, v in doc.items() if k in TelemetryRecord.__struct_fields__}
    dc = tuple(
        DcString(voltage_v=s.get("v"), current_a=s.get("a"), power_w=s.get("w"))
        for s in doc.get("dc", [])
    )
    return TelemetryRecord(**{**values, "dc": dc}, ts_ns=parse_ts(doc["ts"]))


def record_point(record: TelemetryRecord, province: str = "") -> Point:
    """A record as a point of measurement ``inverter`` (fields typed as the schema says)."""
    fields = {
        name: kind(getattr(record, name))
        for name, kind in INVERTER_FIELDS.items()
        if getattr(record, name) is not None
    }
    return Point(
        MEASUREMENT_INVERTER,
        {TAG_PLANT_ID: record.plant_id, "province": province},
        fields,
        record.ts_ns,
    )


class MqttClient:
    """A paho 2.x client with its network loop in a thread and bounded waits on events."""

    def __init__(self, broker: Mosquitto, client_id: str = "", *, clean: bool = True) -> None:
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean,
            protocol=mqtt.MQTTv311,
        )
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.session_present: bool | None = None
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        self.client.on_message = lambda _c, _u, msg: self.messages.put(msg)
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()
        assert self.connected.wait(WAIT_S), "no CONNACK"

    def _on_connect(self, _c: Any, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        assert not reason.is_failure, reason
        self.session_present = bool(flags.session_present)
        self.connected.set()

    def subscribe(self, topic: str, qos: int = 1) -> None:
        self.subscribed.clear()
        self.client.subscribe(topic, qos=qos)
        assert self.subscribed.wait(WAIT_S), "no SUBACK"

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(timeout=WAIT_S)
        assert info.is_published(), "no PUBACK"

    def next_message(self) -> mqtt.MQTTMessage:
        return self.messages.get(timeout=WAIT_S)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def mqtt_clients() -> Iterator[Callable[..., MqttClient]]:
    made: list[MqttClient] = []

    def make(*args: Any, **kwargs: Any) -> MqttClient:
        made.append(MqttClient(*args, **kwargs))
        return made[-1]

    yield make
    for c in made:
        c.close()


def rows(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """InfluxQL series → one dict per row (tags merged in)."""
    out = []
    for s in series:
        for values in s["values"]:
            out.append({**s.get("tags", {}), **dict(zip(s["columns"], values, strict=True))})
    return out


# -- MQTT → InfluxDB -----------------------------------------------------------------------------


def test_canonical_message_from_broker_to_influxd_and_back(
    mosquitto: Mosquitto,
    influxd: InfluxD,
    influx_db: str,
    mqtt_clients: Callable[..., MqttClient],
) -> None:
    topic = f"roshanai/v1/{CANONICAL['plant_id']}/telemetry"
    sub = mqtt_clients(mosquitto, "test-bridge")
    sub.subscribe("roshanai/v1/+/telemetry", qos=1)
    pub = mqtt_clients(mosquitto, "ZNJ-000123-gw")
    pub.publish(topic, json.dumps(CANONICAL).encode(), qos=1)

    msg = sub.next_message()
    assert msg.topic == topic
    assert msg.qos == 1
    record = decode_canonical(msg.payload)
    assert record.ts_ns == 1_782_896_400_000_000_000  # 2026-07-01T09:00:00Z
    point = record_point(record, province="Zanjan")

    with InfluxStore(influxd.url, influx_db) as store:
        store.write_lines([point.to_line()])
        series = store.query(f"SELECT * FROM {MEASUREMENT_INVERTER} WHERE plant_id = 'ZNJ-000123'")
    (row,) = rows(series)
    assert row["time"] == record.ts_ns
    assert row["plant_id"] == "ZNJ-000123"
    assert row["province"] == "Zanjan"
    for name, value in point.fields.items():
        assert row[name] == value, name
        assert isinstance(row[name], str) == isinstance(value, str)
    assert row["ac_power_w"] == 3200.5
    assert row["status"] == "producing"
    assert row["seq"] == 812


def test_persistent_session_keeps_messages_over_a_broker_restart(
    mosquitto: Mosquitto,
    mqtt_clients: Callable[..., MqttClient],
) -> None:
    bridge = mqtt_clients(mosquitto, "bridge-persistent", clean=False)
    bridge.subscribe("roshanai/v1/+/telemetry", qos=1)
    bridge.close()  # offline: the broker queues QoS 1 messages for the session

    gateway = mqtt_clients(mosquitto, "gw-1")
    gateway.publish("roshanai/v1/P-1/telemetry", b'{"v": 1, "seq": 1}', qos=1)
    gateway.publish("roshanai/v1/P-1/status", b"online", qos=1, retain=True)
    gateway.close()

    mosquitto.stop(timeout_s=15)  # SIGTERM: mosquitto writes its persistence file
    assert (mosquitto.data_dir / "mosquitto.db").is_file()
    mosquitto.start()

    again = mqtt_clients(mosquitto, "bridge-persistent", clean=False)
    assert again.session_present is True
    queued = again.next_message()
    assert (queued.topic, queued.payload, queued.qos) == (
        "roshanai/v1/P-1/telemetry",
        b'{"v": 1, "seq": 1}',
        1,
    )

    fresh = mqtt_clients(mosquitto, "dashboard")
    fresh.subscribe("roshanai/v1/+/status", qos=1)
    retained = fresh.next_message()
    assert (retained.topic, retained.payload, retained.retain) == (
        "roshanai/v1/P-1/status",
        b"online",
        True,
    )


# -- line protocol against the real parser ---------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(point=points(time_ns=st.integers(-(2**62), 2**62)))
def test_influxd_reads_our_lines_as_we_do(influxd: InfluxD, point: Point) -> None:
    database = f"lp_{uuid.uuid4().hex[:12]}"  # one per example: no field/tag clashes between them
    influxd.create_database(database)
    try:
        with InfluxStore(influxd.url, database, api="v1") as store:
            store.write_lines(point.to_line())
            series = store.query("SELECT * FROM /.*/")
    finally:
        influxd.drop_database(database)
    assert [s["name"] for s in series] == [point.measurement]
    (row,) = rows(series)
    assert row.pop("time") == point.time_ns
    got = {k: v for k, v in row.items() if v is not None}
    assert got.keys() == {*point.tags, *point.fields}
    for key, value in point.tags.items():
        assert got[key] == value
    for key, value in point.fields.items():
        if isinstance(value, float):  # JSON drops ".0": integral floats come back as ints
            assert float(got[key]) == value
        else:
            assert same_value(got[key], value), (key, got[key], value)
    assert parse_line(point.to_line()) == point


# -- simulation results --------------------------------------------------------------------------

FLEET_CSV = """\
plant_id,latitude,longitude,dc_kwp,ac_kw,tilt_deg,azimuth_deg,province
ZNJ-000001,36.67,48.48,5.0,5.0,30,180,Zanjan
KRN-000002,30.28,57.08,5.2,5.0,28,175,Kerman
NOPROV-003,35.70,51.40,4.8,4.5,25,190,
"""


@pytest.fixture(scope="module")
def small_run() -> FleetRun:
    """Three plants over the embedded climatology's typical year (1990)."""
    return run_fleet(parse_fleet(FLEET_CSV, source="test fleet"), timezone="Asia/Tehran")


def _utc_ns(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 10**9


def test_write_run_to_influxd_reads_back_the_summary(
    influxd: InfluxD,
    influx_db: str,
    small_run: FleetRun,
) -> None:
    summary = small_run.summary.set_index("plant_id")
    with InfluxStore(influxd.url, influx_db) as store:
        n = write_run(small_run, store, run_id="run-a")
        assert n == 3 * (1 + 12 + 12) == len(list(run_points(small_run, run_id="x")))

        year = rows(store.query("SELECT * FROM sim_plant_year WHERE run_id = 'run-a'"))
        assert len(year) == 3
        for row in year:
            want = summary.loc[row["plant_id"]]
            assert row["time"] == _utc_ns(date(1990, 1, 1))
            assert row["weather"] == "embedded climatology (estimate)"
            assert row["province"] == (want["province"] or None)
            for field in (
                "ac_energy_kwh",
                "specific_yield_kwh_per_kwp",
                "performance_ratio",
                "capacity_factor_pct",
                "peak_ac_power_w",
                "poa_insolation_kwh_m2",
                "dc_kwp",
                "ac_kw",
            ):
                assert float(row[field]) == float(want[field]), field

        months = rows(
            store.query(
                "SELECT ac_energy_kwh FROM sim_plant_month WHERE run_id = 'run-a' "
                "GROUP BY plant_id, month"
            )
        )
        assert len(months) == 36
        for row in months:
            m = int(row["month"])
            assert row["time"] == _utc_ns(date(1990, m, 1))
            want = summary.loc[row["plant_id"], f"ac_energy_kwh_{GREGORIAN_MONTHS[m - 1]}"]
            assert row["ac_energy_kwh"] == want

        hijri = rows(
            store.query(
                "SELECT ac_energy_kwh FROM sim_plant_hijri_month WHERE run_id = 'run-a' "
                "GROUP BY plant_id, hijri_month"
            )
        )
        assert len(hijri) == 36
        for row in hijri:
            m = int(row["hijri_month"])
            start = jdatetime.date(1369, m, 1).togregorian()  # Nowruz 1369 = 1990-03-21
            assert row["time"] == _utc_ns(start)
            want = summary.loc[row["plant_id"], f"ac_energy_kwh_{HIJRI_MONTHS[m - 1]}"]
            assert row["ac_energy_kwh"] == want
        assert {r["time"] for r in hijri if r["hijri_month"] == "01"} == {
            _utc_ns(date(1990, 3, 21))
        }

        # Province totals by Solar Hijri month, as a program manager would ask.
        (total,) = rows(
            store.query(
                "SELECT sum(ac_energy_kwh) FROM sim_plant_hijri_month "
                "WHERE run_id = 'run-a' AND province = 'Zanjan' AND hijri_month = '04'"
            )
        )
        assert total["sum"] == pytest.approx(summary.loc["ZNJ-000001", "ac_energy_kwh_tir"])

        # A second run writes beside the first instead of over it.
        assert write_run(small_run, store, run_id="run-b") == n
        runs = rows(store.query('SHOW TAG VALUES FROM sim_plant_year WITH KEY = "run_id"'))
        assert sorted(r["value"] for r in runs) == ["run-a", "run-b"]
        (count,) = rows(store.query("SELECT count(ac_energy_kwh) FROM sim_plant_month"))
        assert count["count"] == 72


def test_write_run_from_settings_creates_the_database(
    influxd: InfluxD,
    small_run: FleetRun,
) -> None:
    database = f"sim_{uuid.uuid4().hex[:10]}"
    try:
        n = write_run(small_run, Settings(influx_url=influxd.url, influx_db=database))
        assert n == 75
        with InfluxStore(influxd.url, database) as store:
            (count,) = rows(store.query("SELECT count(ac_energy_kwh) FROM sim_plant_year"))
            assert count["count"] == 3
            (run,) = rows(store.query('SHOW TAG VALUES FROM sim_plant_year WITH KEY = "run_id"'))
            assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", run["value"])
    finally:
        influxd.drop_database(database)


def test_write_run_needs_an_influx_url(small_run: FleetRun) -> None:
    with pytest.raises(ConfigError, match="no InfluxDB URL"):
        write_run(small_run, Settings())


def test_hourly_run_writes_expected_power_hour_by_hour(influxd: InfluxD, influx_db: str) -> None:
    """``sim_expected``: every plant's mean AC power for each hour of the weather, at the
    weather's labels; a year of it sums to the summary's energy (W x 1 h = Wh)."""
    run = run_fleet(
        parse_fleet(FLEET_CSV, source="test fleet"), timezone="Asia/Tehran", hourly=True
    )
    assert run.ac_power_w is not None
    n_plants, n_hours = run.ac_power_w.shape
    summary = run.summary.set_index("plant_id")
    with InfluxStore(influxd.url, influx_db) as store:
        n = write_run(run, store, run_id="hourly")
        assert n == n_plants * (1 + 12 + 12) + n_plants * n_hours
        counts = rows(
            store.query(
                "SELECT count(ac_power_w), sum(ac_power_w) FROM sim_expected "
                "WHERE run_id = 'hourly' GROUP BY plant_id, province"
            )
        )
        assert len(counts) == n_plants
        for row in counts:
            assert row["count"] == n_hours == 8760
            assert row["sum"] / 1000 == pytest.approx(
                summary.loc[row["plant_id"], "ac_energy_kwh"], rel=1e-9
            )
            assert row["province"] == summary.loc[row["plant_id"], "province"]
        i, h = 1, 4000  # one plant-hour, read back exactly
        plant = str(run.summary["plant_id"].iloc[i])
        t = run.labels[h]
        (one,) = rows(
            store.query(
                f"SELECT ac_power_w FROM sim_expected WHERE run_id = 'hourly' AND "
                f"plant_id = '{plant}' AND time = {t.value}"
            )
        )
        assert one["ac_power_w"] == float(run.ac_power_w[i, h])
        assert one["time"] == t.value
    # without hourly output nothing of it is written (the other test's run)
    assert (
        list(
            expected_lines(
                run_fleet(parse_fleet(FLEET_CSV, source="t"), timezone="Asia/Tehran"), run_id="x"
            )
        )
        == []
    )
