"""The foundation against real servers: mosquitto, influxd 1.6.7 and VictoriaMetrics.

A canonical telemetry message goes broker → subscriber → InfluxStore → influxd and comes back
equal through InfluxQL; the broker keeps a persistent session's messages over a restart; write
errors arrive classified; ``auto`` picks the 1.x HTTP path for influxd and the influxdb-client
path for VictoriaMetrics; a fleet run's figures come back from influxd equal to its summary.
Every wait is bounded.
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
from telemetry.errors import ConfigError, ServiceError
from telemetry.influx import (
    InfluxStore,
    PayloadTooLarge,
    QueryError,
    WriteRejected,
    WriteRetryable,
    parse_retry_after,
    version_tuple,
)
from telemetry.lineprotocol import Point, format_point, parse_line
from telemetry.record import DcString, TelemetryRecord, parse_ts
from telemetry.registry import parse_fleet
from telemetry.schema import INVERTER_FIELDS, MEASUREMENT_INVERTER, TAG_PLANT_ID
from tests.servers import InfluxD, Mosquitto, VictoriaMetrics, free_port
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


# -- InfluxStore: detection and classified errors ------------------------------------------------


def test_auto_detects_the_v1_http_path_on_influxd_16(influxd: InfluxD, influx_db: str) -> None:
    with InfluxStore(influxd.url, influx_db) as store:
        assert store.ping().startswith("1.6.")
        assert version_tuple(store.version) == (1, 6)
        assert store.api == "v1"
        assert store.create_database() is True  # idempotent on 1.x
        store.write_lines("m f=1 1\nm f=2 2\n")
        assert rows(store.query("SELECT f FROM m")) == [{"time": 1, "f": 1}, {"time": 2, "f": 2}]
        assert rows(store.query("SELECT f FROM m", epoch="s")) == [
            {"time": 0, "f": 1},
            {"time": 0, "f": 2},
        ]


def test_write_to_a_stopped_influxd_is_retryable(make_influxd: Callable[..., InfluxD]) -> None:
    server = make_influxd()
    store = InfluxStore(server.url, "roshanai", timeout_s=5)
    store.create_database()
    store.write_lines("m f=1 1")
    server.stop()
    with pytest.raises(WriteRetryable) as info:
        store.write_lines("m f=2 2")
    assert info.value.status is None
    assert info.value.retry_after_s is None
    assert str(info.value) == f"cannot reach InfluxDB at {server.url}: connection refused"
    assert info.value.exit_code == 3
    with pytest.raises(ServiceError, match=r"cannot reach InfluxDB at .*: connection refused"):
        store.query("SELECT * FROM m")
    # Detection itself fails the same way on a store that never saw the server.
    with pytest.raises(WriteRetryable, match="connection refused"):
        InfluxStore(server.url, "roshanai").write_lines("m f=3 3")
    server.start()  # the data survived, the store reconnects
    assert rows(store.query("SELECT f FROM m")) == [{"time": 1, "f": 1}]


def test_bad_line_is_rejected_with_the_servers_reason(influxd: InfluxD, influx_db: str) -> None:
    with InfluxStore(influxd.url, influx_db) as store:
        with pytest.raises(WriteRejected) as info:
            store.write_lines("inverter,plant_id=X ac_power_w= 1")
        assert info.value.status == 400
        assert info.value.bad_points
        assert "unable to parse" in info.value.reason
        assert "missing field value" in info.value.reason
        assert "HTTP 400" in str(info.value)

        store.write_lines("inverter,plant_id=X ac_power_w=1 1")
        with pytest.raises(WriteRejected, match="field type conflict"):
            store.write_lines('inverter,plant_id=X ac_power_w="high" 2')

    with pytest.raises(WriteRejected) as info:
        InfluxStore(influxd.url, f"missing_{uuid.uuid4().hex[:8]}").write_lines("m f=1")
    assert info.value.status == 404
    assert not info.value.bad_points  # the target is wrong, not the points
    assert "database not found" in info.value.reason


def test_credentials_on_an_influxd_with_auth(make_influxd: Callable[..., InfluxD]) -> None:
    server = make_influxd(http_options={"auth-enabled": "true"})
    server.query("CREATE USER admin WITH PASSWORD 's3cr=t' WITH ALL PRIVILEGES")
    with InfluxStore(server.url, "roshanai", username="admin", password="s3cr=t") as store:
        assert store.create_database() is True
        store.write_lines("m f=1 1")
    with pytest.raises(WriteRejected) as info:
        InfluxStore(server.url, "roshanai").write_lines("m f=2 2")
    assert info.value.status == 401
    assert not info.value.bad_points
    with pytest.raises(QueryError, match="HTTP 401"):
        InfluxStore(server.url, "roshanai").query("SELECT * FROM m")
    in_url = server.url.replace("http://", "http://admin:s3cr%3Dt@")
    with InfluxStore(in_url, "roshanai") as store:
        assert store.url == server.url
        assert rows(store.query("SELECT f FROM m")) == [{"time": 1, "f": 1}]


def test_too_large_body_is_classified_and_split(make_influxd: Callable[..., InfluxD]) -> None:
    server = make_influxd(http_options={"max-body-size": "600"})
    lines = [f"m,plant_id=P-{i:03d} ac_power_w={i}.5 {i}" for i in range(60)]
    with InfluxStore(server.url, "roshanai") as store:
        store.create_database()
        with pytest.raises(PayloadTooLarge) as info:
            store.write_lines(lines)
        assert info.value.status == 413
        assert store.write_batches(lines, batch_lines=5000) == 60
        assert rows(store.query("SELECT count(ac_power_w) FROM m"))[0]["count"] == 60
        with pytest.raises(PayloadTooLarge):  # a single line over the limit cannot be split
            store.write_batches(['m s="' + "x" * 700 + '" 1'])


def test_v2_path_against_a_server_without_it_is_rejected(influxd: InfluxD, influx_db: str) -> None:
    with (
        InfluxStore(influxd.url, influx_db, api="v2") as store,
        pytest.raises(WriteRejected) as info,
    ):
        store.write_lines("m f=1 1")
    assert info.value.status == 404


def test_unreachable_v2_write_is_retryable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with (
        InfluxStore(url, "b", api="v2", token="t") as store,
        pytest.raises(WriteRetryable, match="connection refused"),
    ):
        store.write_lines("m f=1 1")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 28, tzinfo=UTC).timestamp()
    assert parse_retry_after(value, now=now) == seconds


@pytest.mark.parametrize(
    ("version", "parsed"),
    [
        ("1.6.7~rc0", (1, 6)),
        ("1.8.10", (1, 8)),
        ("v2.7.4", (2, 7)),
        ("3.0.1", (3, 0)),
        ("unknown", None),
        ("", None),
        (None, None),
    ],
)
def test_version_tuple(version: str | None, parsed: tuple[int, int] | None) -> None:
    assert version_tuple(version) == parsed


# -- influxdb-client path against VictoriaMetrics ------------------------------------------------


def test_influxdb_client_path_against_victoria_metrics(victoria_metrics: VictoriaMetrics) -> None:
    plant = f"VM-{uuid.uuid4().hex[:8]}"
    t0 = 1_782_896_400_000_000_000
    lines = [
        format_point(
            "inverter",
            {"plant_id": plant, "province": "Zanjan"},
            {"ac_power_w": 3200.5 + i, "energy_total_wh": 1234567.0 + i},
            t0 + i * 60_000_000_000,
        )
        for i in range(3)
    ]
    with InfluxStore(victoria_metrics.url, "roshanai", org="roshanai") as store:
        assert store.ping() == "unknown"  # no X-Influxdb-Version on its /ping
        assert store.api == "v2"  # …but it has /api/v2/write
        assert store.create_database() is False
        store.write_lines(lines)
    series = victoria_metrics.export(f'{{plant_id="{plant}"}}', min_series=2)
    by_name = {s["metric"]["__name__"]: s for s in series}
    assert set(by_name) == {"inverter_ac_power_w", "inverter_energy_total_wh"}
    power = by_name["inverter_ac_power_w"]
    assert power["metric"]["province"] == "Zanjan"
    assert power["values"] == [3200.5, 3201.5, 3202.5]
    assert power["timestamps"] == [(t0 + i * 60_000_000_000) // 1_000_000 for i in range(3)]


def test_explicit_v2_with_a_token_against_victoria_metrics(
    victoria_metrics: VictoriaMetrics,
) -> None:
    plant = f"VM-{uuid.uuid4().hex[:8]}"
    with InfluxStore(victoria_metrics.url, "roshanai", token="secret", org="o", api="v2") as store:
        assert store.write_batches([f"inverter,plant_id={plant} ac_power_w=1.25 {10**18}"]) == 1
    (series,) = victoria_metrics.export(f'{{plant_id="{plant}"}}', min_series=1)
    assert series["values"] == [1.25]
    assert series["timestamps"] == [10**12]  # ms


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


def test_query_errors_are_one_line(influxd: InfluxD, influx_db: str) -> None:
    with InfluxStore(influxd.url, influx_db) as store:
        with pytest.raises(QueryError, match="error parsing query"):
            store.query("SELEC * FROM m")
        with pytest.raises(QueryError, match="database not found"):
            store.query("SELECT * FROM m", database="no_such_db")


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


def test_a_database_that_does_not_exist_is_bad_input(influxd: InfluxD) -> None:
    from telemetry.errors import InputError
    from telemetry.influx import DatabaseNotFound

    with (
        InfluxStore(influxd.url, "no_such_db") as store,
        pytest.raises(DatabaseNotFound, match="no database 'no_such_db'") as info,
    ):
        store.query("SELECT * FROM inverter")
    assert info.value.exit_code == InputError.exit_code == 2
