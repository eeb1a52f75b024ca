"""The durable spool and the writer that drains it into a real influxd.

Spool: arrival order, exact deletes, a commit that survives the process being killed right after
``append`` returns, an appending thread racing a draining thread (nothing lost, nothing twice),
the disk bound (and that a drained spool takes data again), state and quarantine bookkeeping.

Writer, against influxd 1.6.7: everything spooled lands with its values and timestamps; influxd
stopped while lines keep arriving, then started: all land once; bad lines among good ones are
quarantined with influxd's reason; a body over ``max-body-size`` is split; wrong credentials and
a missing database keep everything until the setup is fixed; a redelivered line is one point;
a proxy answering 503 does not kill the writer thread. The writer waits exactly as the shared
policy (telemetry.retry) schedules, honours a Retry-After even from the version check, and
refuses a policy that would give up. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware_bridge.spool import QuarantineEntry, Spool, SpoolFull
from firmware_bridge.writer import Writer
from telemetry.influx import InfluxStore
from telemetry.retry import RetryPolicy
from tests.servers import InfluxD, free_port

REPO = Path(__file__).resolve().parents[2]
T0_NS = 1_782_864_000_000_000_000  # 2026-07-01T00:00:00Z
WAIT_S = 20.0


# -- helpers -------------------------------------------------------------------------------------


def inverter_lines(n: int, *, start: int = 0, plants: int = 7) -> list[str]:
    """``n`` canonical-looking lines; line ``i`` is at T0 + i s, so every line is its own point."""
    return [
        f"inverter,plant_id=P-{i % plants:03d} ac_power_w={i}.25,energy_total_wh={1000 + i}i "
        f"{T0_NS + i * 1_000_000_000}"
        for i in range(start, start + n)
    ]


def expected_rows(n: int, *, plants: int = 7) -> list[dict[str, Any]]:
    return [
        {
            "time": T0_NS + i * 1_000_000_000,
            "plant_id": f"P-{i % plants:03d}",
            "ac_power_w": i + 0.25,
            "energy_total_wh": 1000 + i,
        }
        for i in range(n)
    ]


def spooled(lines: list[str]) -> list[tuple[str, int]]:
    now = time.time_ns()
    return [(line, now) for line in lines]


def rows(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """InfluxQL series → one dict per row (tags merged in)."""
    return [
        {**s.get("tags", {}), **dict(zip(s["columns"], values, strict=True))}
        for s in series
        for values in s["values"]
    ]


def count(store: InfluxStore, measurement: str, field: str) -> int:
    found = rows(store.query(f'SELECT count("{field}") FROM "{measurement}"'))
    return int(found[0]["count"]) if found else 0


def wait_until(
    predicate: Callable[[], bool],
    what: str,
    *,
    timeout_s: float = WAIT_S,
    running: RunningWriter | None = None,
) -> None:
    """Poll ``predicate``; fail after ``timeout_s`` or as soon as the writer thread dies."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if running is not None:
            running.check()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.02)


class RunningWriter:
    """``Writer.run`` in a thread; remembers an exception that ended it."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="test-writer", daemon=True)

    def _run(self) -> None:
        try:
            self.writer.run(self.stop, idle_wait_s=0.02)
        except BaseException as exc:
            self.error = exc

    def check(self) -> None:
        if self.error is not None:
            raise AssertionError(f"the writer thread died: {self.error!r}") from self.error
        if not self.thread.is_alive() and not self.stop.is_set():
            raise AssertionError("the writer thread ended on its own")

    def drained(self, spool: Spool, *, timeout_s: float = WAIT_S) -> None:
        wait_until(
            lambda: spool.depth == 0,
            f"the spool to drain (depth {spool.depth})",
            timeout_s=timeout_s,
            running=self,
        )


@contextlib.contextmanager
def running(writer: Writer) -> Iterator[RunningWriter]:
    runner = RunningWriter(writer)
    runner.thread.start()
    try:
        yield runner
        runner.check()
    finally:
        runner.stop.set()
        runner.thread.join(timeout=WAIT_S)
    assert not runner.thread.is_alive(), "the writer did not stop"


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    s = Spool(tmp_path / "state" / "spool.sqlite3")
    yield s
    s.close()


# -- spool ---------------------------------------------------------------------------------------


def test_peek_returns_the_oldest_lines_in_arrival_order(spool: Spool) -> None:
    lines = inverter_lines(25)
    spool.append(spooled(lines[:10]))
    spool.append(spooled(lines[10:11]))
    spool.append(spooled(lines[11:]))
    spool.append([])  # nothing to store: a no-op
    assert spool.depth == 25
    first = spool.peek(7)
    assert [line for _, line in first] == lines[:7]
    everything = spool.peek(1000)
    assert [line for _, line in everything] == lines
    ids = [i for i, _ in everything]
    assert ids == sorted(ids)
    assert len(set(ids)) == 25
    assert spool.peek(7) == first  # peeking takes nothing away
    assert spool.oldest_received_ns() is not None


def test_delete_removes_exactly_the_given_ids(spool: Spool) -> None:
    lines = inverter_lines(10)
    spool.append(spooled(lines))
    ids = [i for i, _ in spool.peek(100)]
    assert spool.delete([ids[1], ids[4], ids[6]]) == 3  # scattered
    assert [line for _, line in spool.peek(100)] == [lines[i] for i in (0, 2, 3, 5, 7, 8, 9)]
    assert spool.delete(i for i in ids[7:10]) == 3  # a contiguous run, from a generator
    assert [line for _, line in spool.peek(100)] == [lines[i] for i in (0, 2, 3, 5)]
    # A repeated id must not pass for a contiguous run: ids[3] lies between and stays.
    assert spool.delete([ids[2], ids[2], ids[4]]) == 1
    assert [line for _, line in spool.peek(100)] == [lines[i] for i in (0, 3, 5)]
    assert spool.delete([ids[1], ids[4]]) == 0  # already gone
    assert spool.delete([]) == 0
    assert spool.depth == 3


def test_reject_moves_lines_to_the_quarantine(spool: Spool) -> None:
    lines = inverter_lines(5)
    spool.append(spooled(lines))
    items = spool.peek(5)
    spool.reject([items[1], items[3]], "rejected_by_store", "field type conflict")
    assert [line for _, line in spool.peek(10)] == [lines[0], lines[2], lines[4]]
    assert spool.depth == 3
    assert spool.quarantine_counts() == {"rejected_by_store": 2}
    entries = spool.quarantined()
    assert sorted(e.payload for e in entries) == sorted([lines[1].encode(), lines[3].encode()])
    assert {e.detail for e in entries} == {"field type conflict"}


def test_quarantine_entries_and_counts(spool: Spool) -> None:
    entries = [
        QuarantineEntry(1, "roshanai/v1/P-1/telemetry", b"{not json", "bad_json", "line 1", "P-1"),
        QuarantineEntry(2, "roshanai/v1/P-2/telemetry", b"\xff\xfe", "bad_json", "not UTF-8"),
        QuarantineEntry(3, "roshanai/v1/X/telemetry", b"{}", "unknown_plant", "X", "X"),
    ]
    spool.append(spooled(inverter_lines(2)), entries[:2])
    spool.append([], entries[2:])  # quarantine only
    assert spool.depth == 2
    assert spool.quarantine_counts() == {"bad_json": 2, "unknown_plant": 1}
    assert spool.quarantined() == entries[::-1]  # newest first, fields as given
    assert spool.quarantined(limit=1) == [entries[2]]


def test_state_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    spool = Spool(path)
    assert spool.get_state("counters") is None
    assert spool.get_state("counters", {}) == {}
    value = {"P-1": {"energy_total_wh": 123456, "resets": [1, 2]}, "ratio": 0.5, "name": "زنجان"}
    spool.set_state("counters", value)
    assert spool.get_state("counters") == value
    spool.append(spooled(inverter_lines(1)), state={"counters": {"P-2": 1}, "seen": [1, None]})
    assert spool.get_state("counters") == {"P-2": 1}  # replaced
    spool.append([], state={"only": True})  # state alone is a commit too
    spool.close()
    reopened = Spool(path)
    assert reopened.get_state("counters") == {"P-2": 1}
    assert reopened.get_state("seen") == [1, None]
    assert reopened.get_state("only") is True
    assert reopened.depth == 1
    reopened.close()


def test_spool_full_stores_nothing_and_clears_once_drained(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", max_bytes=400_000)
    line_no = 0
    with pytest.raises(SpoolFull, match="holds more than 400,000 bytes"):  # noqa: PT012
        for _ in range(1000):  # bounded: ~80 kB per group reaches the bound in a few
            spool.append(spooled(inverter_lines(1000, start=line_no)))
            line_no += 1000
    assert 0 < line_no < 100_000
    depth = spool.depth
    before = spool.peek(depth + 10)
    with pytest.raises(SpoolFull):
        spool.append(
            spooled(inverter_lines(10, start=line_no)),
            [QuarantineEntry(1, "t", b"x", "bad_json", "d")],
            state={"k": 1},
        )
    assert spool.depth == depth
    assert spool.peek(depth + 10) == before  # nothing of the refused call was stored
    assert spool.quarantine_counts() == {}
    assert spool.get_state("k") is None

    # The writer drains the spool: the ingest must be able to append again (SQLite files do
    # not shrink, so the bound has to count pages in use, not the file's size).
    while batch := spool.peek(5000):
        spool.delete(i for i, _ in batch)
    assert spool.depth == 0
    assert spool.used_bytes() < 400_000 < spool.size_bytes()  # the file kept its size
    spool.append(spooled(inverter_lines(10, start=line_no)))
    assert spool.depth == 10
    spool.close()


_CHILD_SELF_KILL = """
import os, signal, sys
from firmware_bridge.spool import QuarantineEntry, Spool
spool = Spool(sys.argv[1])
for group in range(20):
    spool.append([(f"m,g={group} f={i}i {group * 100 + i}", i) for i in range(100)])
spool.append([("m,g=last f=1i 1", 1)],
             [QuarantineEntry(7, "roshanai/v1/P/telemetry", b"{", "bad_json", "eof")],
             state={"counters": {"P": 42}})
os.kill(os.getpid(), signal.SIGKILL)  # right after append returned: no close, no checkpoint
"""

_CHILD_STREAM = """
import sys
from firmware_bridge.spool import Spool
spool = Spool(sys.argv[1])
n = 0
while True:
    spool.append([(f"m f={i}i {i}", i) for i in range(n, n + 50)])
    n += 50
    print(n, flush=True)
"""


def _child(script: str, path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_append_survives_sigkill_right_after_it_returns(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    proc = _child(_CHILD_SELF_KILL, path)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL, err
    spool = Spool(path)
    assert spool.depth == 20 * 100 + 1
    lines = [line for _, line in spool.peek(10_000)]
    assert lines == [f"m,g={g} f={i}i {g * 100 + i}" for g in range(20) for i in range(100)] + [
        "m,g=last f=1i 1"
    ]
    assert spool.quarantined() == [
        QuarantineEntry(7, "roshanai/v1/P/telemetry", b"{", "bad_json", "eof")
    ]
    assert spool.get_state("counters") == {"P": 42}
    spool.close()


def test_sigkill_in_the_middle_of_a_stream_keeps_every_acknowledged_group(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    proc = _child(_CHILD_STREAM, path)
    assert proc.stdout is not None
    reported: queue.Queue[str] = queue.Queue()

    def read_reports() -> None:
        for report in proc.stdout or ():
            reported.put(report)

    reader = threading.Thread(target=read_reports, daemon=True)
    reader.start()
    acknowledged = 0
    try:
        deadline = time.monotonic() + 60
        while acknowledged < 3000:  # each report: the append before it has returned
            assert time.monotonic() < deadline, "the child appended too slowly"
            try:
                acknowledged = int(reported.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                err = proc.stderr.read() if proc.stderr else ""
                pytest.fail(f"the child stopped reporting: {err}")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    reader.join(timeout=10)
    spool = Spool(path)
    stored = spool.depth
    assert stored >= acknowledged
    assert stored % 50 == 0  # whole groups only
    lines = [line for _, line in spool.peek(stored + 100)]
    assert lines == [f"m f={i}i {i}" for i in range(stored)]
    spool.close()


def test_concurrent_append_and_drain_lose_nothing_and_duplicate_nothing(spool: Spool) -> None:
    groups, per_group = 500, 100  # 50,000 lines
    appended: list[str] = []
    drained: list[str] = []
    drained_ids: list[int] = []
    errors: list[BaseException] = []
    appender_done = threading.Event()
    min_depth = [0]

    def append() -> None:
        try:
            for g in range(groups):
                lines = [f"m,g={g} f={i}i {g * per_group + i}" for i in range(per_group)]
                spool.append(spooled(lines))
                appended.extend(lines)
        except BaseException as exc:
            errors.append(exc)
        finally:
            appender_done.set()

    def drain() -> None:
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                done = appender_done.is_set()  # read before peeking: then an empty peek is final
                batch = spool.peek(777)
                if not batch:
                    if done:
                        return
                    time.sleep(0.001)
                    continue
                drained_ids.extend(i for i, _ in batch)
                drained.extend(line for _, line in batch)
                assert spool.delete(i for i, _ in batch) == len(batch)
                min_depth[0] = min(min_depth[0], spool.depth)
            raise AssertionError("draining did not finish in 120 s")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=append), threading.Thread(target=drain)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=150)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    assert len(appended) == groups * per_group
    assert drained == appended  # same lines, same order: nothing lost, nothing twice
    assert drained_ids == sorted(set(drained_ids))
    assert spool.depth == 0
    assert spool.peek(10) == []
    assert min_depth[0] >= 0, f"depth went negative ({min_depth[0]})"


def test_depth_never_goes_below_zero_while_lines_are_drained_as_they_arrive(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", synchronous="NORMAL")  # many small commits, fast
    appender_done = threading.Event()
    depths: list[int] = []

    def append() -> None:
        try:
            for i in range(3000):
                spool.append([(f"m f={i}i {i}", i)])
        finally:
            appender_done.set()

    appender = threading.Thread(target=append)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # hand the GIL over between COMMIT and the count, if there is one
    try:
        appender.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = appender_done.is_set()
            batch = spool.peek(100)
            if not batch and done:
                break
            spool.delete(i for i, _ in batch)
            depths.append(spool.depth)
        appender.join(timeout=60)
    finally:
        sys.setswitchinterval(interval)
    assert not appender.is_alive()
    assert spool.depth == 0
    assert spool.peek(1) == []
    assert min(depths) >= 0, f"depth read {min(depths)} ({sum(d < 0 for d in depths)} times)"
    spool.close()


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
