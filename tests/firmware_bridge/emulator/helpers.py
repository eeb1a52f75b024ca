"""Shared helpers of the emulator tests: a hand-made typical year (fast), times, readings."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime

import numpy as np

from firmware_bridge.emulator import Emulator, TypicalYear, synthetic_fleet, topic_for

SEC = 1_000_000_000
HOUR = 3600 * SEC
DAY = 24 * HOUR


def ns(iso: str) -> int:
    """A naive ISO time read as UTC. [ns]"""
    return int(datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp()) * SEC


def ts_ns(text: str) -> int:
    """A reading's ``ts`` (``...Z``, milliseconds). [ns]"""
    return int(np.datetime64(text.rstrip("Z"), "ms").astype(np.int64)) * 1_000_000


def bell_year(n: int, peak_w: float = 4600.0) -> TypicalYear:
    """A clear-sky-like day every day: sun from 02:00 to 15:30 UTC (05:30–19:00 Tehran)."""
    mid = np.arange(8760) % 24 + 0.5
    day = np.clip(np.sin(np.pi * (mid - 2.0) / 13.5), 0.0, None)
    power = (peak_w * day)[None, :].repeat(n, axis=0).astype(np.float32)
    return TypicalYear(power, np.full((1, 8760), 28.0, np.float32), np.zeros(n, np.int64))


def emulator(n: int = 6, seed: int = 1, **kw) -> Emulator:
    """An emulator of ``n`` synthetic plants on the bell year."""
    fleet = synthetic_fleet(n, seed=seed)
    return Emulator(fleet, seed=seed, typical_year=bell_year(n), **kw)


def readings_of(messages) -> dict[str, list[dict]]:
    """plant_id -> readings (live and from batches) in ts order."""
    by_plant: dict[str, list[dict]] = defaultdict(list)
    for topic, payload, kind in messages:
        if kind == "bad":
            continue
        doc = json.loads(payload)
        assert topic == topic_for(doc["plant_id"])
        by_plant[doc["plant_id"]] += doc["readings"] if kind == "batch" else [doc]
    for rows in by_plant.values():
        rows.sort(key=lambda r: r["ts"])
    return by_plant


def read_fleet_subset(n: int):
    """The first ``n`` plants of the sample fleet."""
    from telemetry.registry import load_sample_fleet

    return load_sample_fleet().subset(0, n)
