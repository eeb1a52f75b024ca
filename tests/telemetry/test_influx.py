"""telemetry.influx against real servers: influxd 1.6.7, VictoriaMetrics, and a closed port.

Detection of the write path; failures typed by what happened on the wire: no answer is
``ServiceUnreachable`` for ping, query and write alike (never ``WriteRetryable``), a 503 is
``ServiceUnavailable`` to a ping or a query and ``WriteRetryable`` to a write, with its
``Retry-After``; rejected points, bad credentials, a body over the limit (split by
``write_batches``), a database that does not exist; one-shot writes retried by the shared
policy until influxd is back. Every wait is bounded.
"""

from __future__ import annotations

import http.server
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from telemetry.errors import InputError, ServiceError
from telemetry.influx import (
    DatabaseNotFound,
    InfluxStore,
    PayloadTooLarge,
    QueryError,
    RetentionPolicyNotFound,
    ServiceUnavailable,
    ServiceUnreachable,
    TransientServiceError,
    WriteError,
    WriteRejected,
    WriteRetryable,
    parse_retry_after,
    version_tuple,
)
from telemetry.lineprotocol import format_point
from telemetry.retry import Action, RetryPolicy, classify
from tests.servers import InfluxD, VictoriaMetrics, free_port


def rows(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """InfluxQL series → one dict per row (tags merged in)."""
    return [
        {**s.get("tags", {}), **dict(zip(s["columns"], values, strict=True))}
        for s in series
        for values in s["values"]
    ]


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


def test_a_stopped_influxd_is_unreachable_for_ping_query_and_write(
    make_influxd: Callable[..., InfluxD],
) -> None:
    server = make_influxd()
    store = InfluxStore(server.url, "roshanai", timeout_s=5)
    store.create_database()
    store.write_lines("m f=1 1")
    server.stop()
    refused = f"cannot reach InfluxDB at {server.url}: connection refused"
    for request in (
        lambda: store.write_lines("m f=2 2"),
        lambda: store.query("SELECT * FROM m"),
        store.ping,
        # detection itself fails the same way on a store that never saw the server
        lambda: InfluxStore(server.url, "roshanai").write_lines("m f=3 3"),
    ):
        with pytest.raises(ServiceUnreachable) as info:
            request()
        assert str(info.value) == refused
        assert not isinstance(info.value, WriteRetryable)  # no server answered
        assert isinstance(info.value, TransientServiceError)
        assert info.value.retry_after_s is None
        assert info.value.exit_code == 3
    server.start()  # the data survived, the store reconnects
    assert rows(store.query("SELECT f FROM m")) == [{"time": 1, "f": 1}]


def test_a_closed_port_is_unreachable_not_a_retryable_write() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing ever listened there
    with InfluxStore(url, "roshanai", api="v1", timeout_s=2) as store:
        for request in (store.ping, lambda: store.query("SHOW DATABASES", database="")):
            with pytest.raises(ServiceUnreachable, match="connection refused") as info:
                request()
            assert not isinstance(info.value, WriteRetryable)
            assert classify(info.value) is Action.RETRY
        with pytest.raises(ServiceUnreachable, match="connection refused"):
            store.write_lines("m f=1 1")
        waits: list[float] = []
        policy = RetryPolicy(max_attempts=3, first_wait_s=0.01)
        with pytest.raises(ServiceUnreachable):
            policy.call(lambda: store.write_lines("m f=1 1"), sleep=waits.append)
        assert waits == policy.schedule() == [0.01, 0.02]  # retried, then raised


def test_one_shot_writes_retry_until_influxd_is_back(make_influxd: Callable[..., InfluxD]) -> None:
    server = make_influxd()
    with InfluxStore(server.url, "roshanai", timeout_s=5) as store:
        store.create_database()
        server.stop()
        starter = threading.Timer(1.0, server.start)
        starter.start()
        try:
            policy = RetryPolicy(max_attempts=60, first_wait_s=0.1, max_wait_s=0.5)
            lines = [f"m,plant_id=P-{i % 3} f={i} {i}" for i in range(100)]
            assert store.write_batches(lines, batch_lines=30, policy=policy) == 100
        finally:
            starter.join()
        assert rows(store.query("SELECT count(f) FROM m"))[0]["count"] == 100


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


def test_writes_into_a_named_retention_policy(influxd: InfluxD, influx_db: str) -> None:
    """``retention_policy=`` lands the points in that policy only (the rollups' path)."""
    with InfluxStore(influxd.url, influx_db) as store:
        store.create_database()
        store.query(
            f'CREATE RETENTION POLICY "rp_test" ON "{influx_db}" DURATION 30d REPLICATION 1'
        )
        now_ns = int(datetime.now(UTC).timestamp()) * 1_000_000_000
        lines = [f"m f={i} {now_ns - i}" for i in range(7)]
        assert store.write_batches(lines, batch_lines=3, retention_policy="rp_test") == 7
        in_rp = store.query(f'SELECT count(f) FROM "{influx_db}"."rp_test"."m"')
        assert rows(in_rp)[0]["count"] == 7
        assert store.query('SELECT count(f) FROM "m"') == []  # none in the default policy
        with pytest.raises(WriteRejected, match="retention policy not found"):
            store.write_lines("m f=1 1", retention_policy="no_such_rp")


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


def test_unreachable_v2_write_is_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with (
        InfluxStore(url, "b", api="v2", token="t") as store,
        pytest.raises(ServiceUnreachable, match="connection refused") as info,
    ):
        store.write_lines("m f=1 1")
    assert not isinstance(info.value, WriteRetryable)


# -- a server that answers 503 (a reverse proxy in front of a stopped InfluxDB) --------------------


class _Busy(http.server.BaseHTTPRequestHandler):
    """Answers everything with 503 and ``Retry-After: 7``."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b'{"error":"shutting down"}'
        self.send_response(503)
        self.send_header("Retry-After", "7")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer  # noqa: N815 - http.server's names

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def busy_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Busy)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        serving.join(timeout=10)


def test_503_is_unavailable_for_ping_and_query_and_retryable_for_a_write(busy_url: str) -> None:
    with InfluxStore(busy_url, "roshanai", api="v1", timeout_s=5) as store:
        for request in (store.ping, lambda: store.query("SELECT * FROM m")):
            with pytest.raises(ServiceUnavailable, match=r"HTTP 503\): shutting down") as info:
                request()
            assert not isinstance(info.value, WriteError)
            assert (info.value.status, info.value.retry_after_s) == (503, 7.0)
            assert info.value.exit_code == 3
        with pytest.raises(WriteRetryable, match="cannot take the write now") as write:
            store.write_lines("m f=1 1")
        assert (write.value.status, write.value.retry_after_s) == (503, 7.0)
        # The one policy honours the server's Retry-After over its own shorter schedule.
        waits: list[float] = []
        with pytest.raises(WriteRetryable):
            RetryPolicy(max_attempts=3, first_wait_s=0.5).call(
                lambda: store.write_lines("m f=1 1"), sleep=waits.append
            )
        assert waits == [7.0, 7.0]


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


def test_query_errors_are_one_line(influxd: InfluxD, influx_db: str) -> None:
    with InfluxStore(influxd.url, influx_db) as store:
        with pytest.raises(QueryError, match="error parsing query"):
            store.query("SELEC * FROM m")
        with pytest.raises(QueryError, match="database not found"):
            store.query("SELECT * FROM m", database="no_such_db")


def test_a_database_that_does_not_exist_is_bad_input(influxd: InfluxD) -> None:
    with (
        InfluxStore(influxd.url, "no_such_db") as store,
        pytest.raises(DatabaseNotFound, match="no database 'no_such_db'") as info,
    ):
        store.query("SELECT * FROM inverter")
    assert info.value.exit_code == InputError.exit_code == 2
    assert not isinstance(info.value, TransientServiceError)


def test_a_retention_policy_that_does_not_exist_says_to_set_up_the_rollups(
    influxd: InfluxD,
) -> None:
    influxd.query("CREATE DATABASE rp_missing")
    with (
        InfluxStore(influxd.url, "rp_missing") as store,
        pytest.raises(
            RetentionPolicyNotFound, match=r"no retention policy 'rollup_1d'.*rollups"
        ) as info,
    ):
        store.query('SELECT sum("energy_wh") FROM "rollup_1d"."inverter_1d"')
    assert info.value.exit_code == 2
    assert isinstance(info.value, QueryError)


@pytest.fixture
def self_signed_https(tmp_path) -> Iterator[tuple[str, list[int]]]:
    """An HTTPS server whose certificate no client trusts (self-signed, made by openssl), and
    the count of TCP connections it accepted."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    accepted = [0]

    class Counting(http.server.ThreadingHTTPServer):
        def get_request(self):  # type: ignore[no-untyped-def]
            accepted[0] += 1
            return super().get_request()

    server = Counting(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", accepted
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_certificate_that_does_not_verify_is_said_at_once_not_retried(
    self_signed_https: tuple[str, list[int]],
) -> None:
    """A TLS failure is the same on every attempt: a plain ServiceError (exit 3) naming the
    reason, never a transient one, so a one-shot write tries once."""
    url, accepted = self_signed_https
    store = InfluxStore(url, "roshanai", api="v1")
    for call in (
        store.ping,
        lambda: store.query("SHOW DATABASES"),
        lambda: store.write_lines("m f=1 1"),
    ):
        with pytest.raises(ServiceError) as info:
            call()
        assert not isinstance(info.value, TransientServiceError)
        assert (
            str(info.value) == f"cannot connect to InfluxDB at {url}: TLS: self-signed certificate"
        )
        assert info.value.exit_code == 3
        assert classify(info.value) is Action.FAIL
    before = accepted[0]
    with pytest.raises(ServiceError):
        store.write_batches(["m f=1 1"], policy=RetryPolicy(max_attempts=3, first_wait_s=0.0))
    assert accepted[0] - before == 1  # one attempt, no retries
