"""``firmware_bridge.writer``: the writer that drains the spool into a real influxd 1.6.7.

Everything spooled lands with its values and timestamps; influxd stopped while lines keep
arriving, then started: all land once; bad lines among good ones are quarantined with influxd's
reason; a body over ``max-body-size`` is split; wrong credentials and a missing database keep
everything until the setup is fixed; a redelivered line is one point; a proxy answering 503 does
not kill the writer thread. The writer waits exactly as the shared policy (telemetry.retry)
schedules, honours a Retry-After even from the version check, and refuses a policy that would
give up. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
import uuid
from collections.abc import Callable

import pytest

from firmware_bridge.spool import Spool
from firmware_bridge.writer import Writer
from telemetry.influx import InfluxStore
from telemetry.retry import RetryPolicy
from tests.firmware_bridge.spool_helpers import (
    T0_NS,
    count,
    expected_rows,
    inverter_lines,
    rows,
    running,
    spooled,
    wait_until,
)
from tests.servers import InfluxD, free_port

# -- writer against influxd ----------------------------------------------------------------------


def test_everything_spooled_lands_with_its_values_and_timestamps(
    influxd: InfluxD, influx_db: str, spool: Spool
) -> None:
    n = 3000
    stored: list[int] = []
    with InfluxStore(influxd.url, influx_db, timeout_s=5) as store:
        writer = Writer(
            spool,
            store,
            batch_lines=500,
            max_backoff_s=1.0,
            on_stored=lambda lines: stored.append(len(lines)),
        )
        spool.append(spooled(inverter_lines(n)))
        with running(writer) as runner:
            runner.drained(spool)
        assert count(store, "inverter", "ac_power_w") == n
        got = rows(store.query("SELECT ac_power_w, energy_total_wh, plant_id FROM inverter"))
    assert sorted(got, key=lambda r: r["time"]) == expected_rows(n)
    assert sum(stored) == n
    assert writer.stats.stored == n
    assert writer.stats.rejected == 0
    assert writer.stats.retries == 0
    assert spool.quarantine_counts() == {}


def test_influxd_stopped_while_lines_arrive_then_started_all_land_once(
    make_influxd: Callable[..., InfluxD], spool: Spool
) -> None:
    server = make_influxd()
    store = InfluxStore(server.url, "roshanai", timeout_s=5)
    store.create_database()
    writer = Writer(spool, store, batch_lines=500, max_backoff_s=1.0)
    with running(writer) as runner:
        spool.append(spooled(inverter_lines(1000)))
        runner.drained(spool)

        server.stop()
        waiting = 0
        for rnd in range(5):  # ~8 s down, lines arriving in rounds
            spool.append(spooled(inverter_lines(400, start=1000 + rnd * 400)))
            waiting += 400
            time.sleep(1.6)
            runner.check()
            assert spool.depth == waiting  # nothing deleted while influxd is down
        assert writer.stats.retries >= 3
        assert "connection refused" in writer.stats.last_error
        assert writer.stats.backoff_s > 0

        server.start()
        runner.drained(spool, timeout_s=30)
    n = 1000 + 5 * 400
    assert writer.stats.stored == n  # each line confirmed exactly once
    assert writer.stats.rejected == 0
    assert spool.quarantine_counts() == {}
    assert count(store, "inverter", "ac_power_w") == n
    got = rows(store.query("SELECT ac_power_w, energy_total_wh, plant_id FROM inverter"))
    assert sorted(got, key=lambda r: r["time"]) == expected_rows(n)
    store.close()


def test_bad_lines_are_quarantined_with_influxds_reason_and_the_rest_stored(
    influxd: InfluxD, influx_db: str, spool: Spool
) -> None:
    bad = {17: "conflict", 250: "conflict", 433: "parse"}
    lines = []
    for i in range(500):
        ts = T0_NS + i
        if bad.get(i) == "conflict":
            lines.append(f'typed,plant_id=P x="s{i}" {ts}')  # x is an integer field already
        elif bad.get(i) == "parse":
            lines.append(f"typed,plant_id=P x= {ts}")
        else:
            lines.append(f"typed,plant_id=P x={i}i {ts}")
    with InfluxStore(influxd.url, influx_db, timeout_s=5) as store:
        store.write_lines(f"typed,plant_id=P x=-1i {T0_NS - 1}")
        writer = Writer(spool, store, batch_lines=5000, max_backoff_s=1.0)
        spool.append(spooled(lines))
        with running(writer) as runner:
            runner.drained(spool)
        got = rows(store.query("SELECT x FROM typed"))
    assert spool.quarantine_counts() == {"rejected_by_store": 3}
    details = {e.payload.decode(): e.detail for e in spool.quarantined()}
    assert set(details) == {lines[i] for i in bad}
    for i, kind in bad.items():
        expected = "field type conflict" if kind == "conflict" else "unable to parse"
        assert expected in details[lines[i]], details[lines[i]]
    assert writer.stats.rejected == 3
    assert writer.stats.stored == 497
    assert writer.stats.retries == 0
    assert sorted((r["time"], r["x"]) for r in got) == [(T0_NS - 1, -1)] + [
        (T0_NS + i, i) for i in range(500) if i not in bad
    ]


def test_body_over_max_body_size_is_split_until_it_fits(
    make_influxd: Callable[..., InfluxD], spool: Spool
) -> None:
    server = make_influxd(http_options={"max-body-size": "4000"})
    n = 1000  # ~90 kB as one body
    lines = inverter_lines(n)
    huge = f'inverter,plant_id=P-000 note="{"x" * 5000}" {T0_NS - 1}'  # alone over the limit
    with InfluxStore(server.url, "roshanai", timeout_s=5) as store:
        store.create_database()
        writer = Writer(spool, store, batch_lines=5000, max_backoff_s=1.0)
        spool.append(spooled([*lines[:600], huge, *lines[600:]]))
        with running(writer) as runner:
            runner.drained(spool)
        assert count(store, "inverter", "ac_power_w") == n
        got = rows(store.query("SELECT ac_power_w, energy_total_wh, plant_id FROM inverter"))
    assert sorted(got, key=lambda r: r["time"]) == expected_rows(n)
    assert writer.stats.stored == n
    assert writer.stats.requests > 2 * n * 90 // 4000  # it really had to split
    assert writer.stats.retries == 0
    [entry] = spool.quarantined()
    assert entry.payload == huge.encode()
    assert entry.reason == "rejected_by_store"
    assert "413" in entry.detail


def test_wrong_credentials_keep_everything_until_a_corrected_store(
    make_influxd: Callable[..., InfluxD], spool: Spool
) -> None:
    server = make_influxd(http_options={"auth-enabled": "true"})
    server.query("CREATE USER admin WITH PASSWORD 's3cret' WITH ALL PRIVILEGES")
    good = InfluxStore(server.url, "roshanai", username="admin", password="s3cret", timeout_s=5)
    good.create_database()
    wrong = InfluxStore(server.url, "roshanai", username="admin", password="nope", timeout_s=5)
    writer = Writer(spool, wrong, batch_lines=200, max_backoff_s=0.3)
    n = 500
    spool.append(spooled(inverter_lines(n)))
    with running(writer) as runner:
        wait_until(
            lambda: writer.stats.retries >= 4, "retries with wrong credentials", running=runner
        )
        assert spool.depth == n  # nothing deleted
        assert spool.quarantine_counts() == {}  # nothing quarantined: the points are fine
        assert writer.stats.stored == 0
        assert writer.stats.rejected == 0
        assert "HTTP 401" in writer.stats.last_error
        retries = writer.stats.retries
        wait_until(lambda: writer.stats.retries > retries, "retries to continue", running=runner)

        writer.store = good  # the operator fixes the credentials
        runner.drained(spool)
    assert count(good, "inverter", "ac_power_w") == n
    assert writer.stats.stored == n
    assert spool.quarantine_counts() == {}
    good.close()
    wrong.close()


def test_missing_database_keeps_everything_until_it_exists(influxd: InfluxD, spool: Spool) -> None:
    name = f"later_{uuid.uuid4().hex[:10]}"
    store = InfluxStore(influxd.url, name, timeout_s=5)
    writer = Writer(spool, store, batch_lines=200, max_backoff_s=0.3)
    spool.append(spooled(inverter_lines(300)))
    try:
        with running(writer) as runner:
            wait_until(
                lambda: writer.stats.retries >= 3, "retries on a missing database", running=runner
            )
            assert spool.depth == 300
            assert spool.quarantine_counts() == {}
            assert "database not found" in writer.stats.last_error
            influxd.create_database(name)
            runner.drained(spool)
        assert count(store, "inverter", "ac_power_w") == 300
    finally:
        store.close()
        with contextlib.suppress(Exception):
            influxd.drop_database(name)


def test_a_redelivered_line_is_one_point(influxd: InfluxD, influx_db: str, spool: Spool) -> None:
    line = f"inverter,plant_id=P-001 ac_power_w=812.5,energy_total_wh=99i {T0_NS}"
    with InfluxStore(influxd.url, influx_db, timeout_s=5) as store:
        writer = Writer(spool, store, batch_lines=100, max_backoff_s=1.0)
        spool.append(spooled([line, line]))  # the same message twice in one group
        with running(writer) as runner:
            runner.drained(spool)
            spool.append(spooled([line]))  # and once more after it was stored
            runner.drained(spool)
        got = rows(store.query("SELECT ac_power_w, energy_total_wh FROM inverter"))
    assert got == [{"time": T0_NS, "ac_power_w": 812.5, "energy_total_wh": 99}]
    assert writer.stats.stored == 3


class _Always503(http.server.BaseHTTPRequestHandler):
    """What a reverse proxy answers while the InfluxDB behind it is down."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b"<html><body>503 Service Temporarily Unavailable</body></html>"
        self.send_response(503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _answer  # noqa: N815 - http.server's names

    def log_message(self, *args: object) -> None:
        pass


def test_writer_survives_a_proxy_answering_503_to_everything(
    influxd: InfluxD, influx_db: str, spool: Spool
) -> None:
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Always503)
    serving = threading.Thread(target=proxy.serve_forever, daemon=True)
    serving.start()
    behind_proxy = InfluxStore(
        f"http://127.0.0.1:{proxy.server_address[1]}", influx_db, timeout_s=5
    )
    writer = Writer(spool, behind_proxy, batch_lines=100, max_backoff_s=0.3)
    spool.append(spooled(inverter_lines(200)))
    try:
        with running(writer) as runner:
            # Even the version check (/ping) gets a 503: still "retry later", not a crash.
            wait_until(
                lambda: writer.stats.retries >= 3, "retries behind the proxy", running=runner
            )
            assert spool.depth == 200
            assert spool.quarantine_counts() == {}
            assert "503" in writer.stats.last_error
            with InfluxStore(influxd.url, influx_db, timeout_s=5) as direct:
                writer.store = direct  # InfluxDB is back
                runner.drained(spool)
                assert count(direct, "inverter", "ac_power_w") == 200
    finally:
        proxy.shutdown()
        proxy.server_close()
        behind_proxy.close()


# -- the writer follows telemetry.retry, the one write policy ------------------------------------


def test_writer_waits_as_the_shared_policy_schedules(spool: Spool) -> None:
    policy = RetryPolicy(max_attempts=None, first_wait_s=0.02, factor=2.0, max_wait_s=0.16)
    store = InfluxStore(f"http://127.0.0.1:{free_port()}", "roshanai", api="v1", timeout_s=2)
    writer = Writer(spool, store, batch_lines=100, policy=policy)
    spool.append(spooled(inverter_lines(50)))
    seen: dict[int, float] = {}  # retries so far -> the wait the writer chose after them

    def sample() -> bool:
        with writer.stats.lock:  # both counters change together under the lock
            if writer.stats.retries:
                seen[writer.stats.retries] = writer.stats.backoff_s
        return len(seen) >= 8

    with running(writer) as runner:
        wait_until(sample, "eight retries", running=runner)
        last_error = writer.stats.last_error
    assert last_error == f"cannot reach InfluxDB at {store.url}: connection refused"
    for failures, wait in seen.items():  # no jitter: exactly the policy's schedule
        assert wait == policy.backoff_s(failures), (failures, wait)
    assert max(seen.values()) == 0.16
    assert spool.depth == 50
    assert spool.quarantine_counts() == {}
    store.close()


class _BusyWithRetryAfter(_Always503):
    """A proxy in front of a stopped InfluxDB that says when to come back."""

    def send_response(self, code: int, message: str | None = None) -> None:
        super().send_response(code, message)
        self.send_header("Retry-After", "0.7")


def test_writer_honours_retry_after_also_from_the_version_check(
    influxd: InfluxD, influx_db: str, spool: Spool
) -> None:
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _BusyWithRetryAfter)
    serving = threading.Thread(target=proxy.serve_forever, daemon=True)
    serving.start()
    behind_proxy = InfluxStore(f"http://127.0.0.1:{proxy.server_address[1]}", influx_db)
    policy = RetryPolicy(max_attempts=None, first_wait_s=0.01, max_wait_s=5.0)
    writer = Writer(spool, behind_proxy, batch_lines=100, policy=policy)
    spool.append(spooled(inverter_lines(20)))
    try:
        with running(writer) as runner:
            # /ping answers 503 before any write: the server's Retry-After still counts.
            wait_until(lambda: writer.stats.retries >= 2, "two retries", running=runner)
            with writer.stats.lock:
                assert writer.stats.backoff_s == 0.7
                assert "HTTP 503" in writer.stats.last_error
                assert "/ping" in writer.stats.last_error
            with InfluxStore(influxd.url, influx_db, timeout_s=5) as direct:
                writer.store = direct
                runner.drained(spool)
                assert count(direct, "inverter", "ac_power_w") == 20
        assert writer.stats.backoff_s == 0.0  # reset by the success
    finally:
        proxy.shutdown()
        proxy.server_close()
        behind_proxy.close()


def test_writer_refuses_a_policy_that_would_give_up(spool: Spool) -> None:
    store = InfluxStore(f"http://127.0.0.1:{free_port()}", "roshanai")
    with pytest.raises(ValueError, match="no last attempt"):
        Writer(spool, store, policy=RetryPolicy(max_attempts=3))
    assert Writer(spool, store, max_backoff_s=0.3).policy == RetryPolicy(
        max_attempts=None, first_wait_s=0.5, max_wait_s=0.3, min_wait_s=0.1, jitter=0.1
    )
