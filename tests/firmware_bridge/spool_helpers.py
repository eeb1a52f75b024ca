"""Helpers of the spool and writer tests (``test_spool.py``, ``test_writer.py``): line
protocol of emulated readings, reading InfluxDB back, bounded waits, a writer on its own thread.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from firmware_bridge.spool import Spool
from firmware_bridge.writer import Writer
from telemetry.influx import InfluxStore

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
