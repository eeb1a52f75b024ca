"""``firmware_bridge.spool``: the durable spool.

Arrival order, exact deletes, a commit that survives the process being killed right after
``append`` returns, an appending thread racing a draining thread (nothing lost, nothing twice),
the disk bound (and that a drained spool takes data again), state and quarantine bookkeeping.
Every wait is bounded.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from firmware_bridge.spool import QuarantineEntry, Spool, SpoolFull
from tests.firmware_bridge.spool_helpers import (
    REPO,
    inverter_lines,
    spooled,
)

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
