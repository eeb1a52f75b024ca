"""Pacing: the start of a run keeps every reading in the past; publishing at speed."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest

from firmware_bridge.emulator import (
    BAD_REASONS,
    CATCH_UP_S,
    MAX_LOOKBACK_S,
    plan_start_ns,
)
from telemetry.errors import InputError
from tests.firmware_bridge.emulator.helpers import (
    DAY,
    HOUR,
    SEC,
    emulator,
    ns,
)

NOW = ns("2026-12-01T09:00:00") + 123_456_789  # (not on a whole second)


def test_picked_start_keeps_every_reading_in_the_past():
    now_s = NOW // 1_000_000 * 1_000_000  # (whole milliseconds, as readings are)
    # With a duration, the simulated clock reaches the wall clock at its end.
    assert plan_start_ns(None, 60, 60, now_ns=NOW) == now_s - 60 * 59 * SEC
    assert plan_start_ns(None, 60, 60, now_ns=NOW) + 60 * 60 * SEC == now_s + 60 * SEC
    assert plan_start_ns(None, 600, 60, 6.0, now_ns=NOW) == now_s - 600 * 59 * SEC
    for speed in (1, 0.5):  # no faster than the clock: now
        assert plan_start_ns(None, 60, speed, now_ns=NOW) == now_s
        assert plan_start_ns(None, None, speed, now_ns=NOW) == now_s
    # Without one: CATCH_UP_S of wall time at --speed before it catches up, at most 30 days.
    assert plan_start_ns(None, None, 60, now_ns=NOW) == now_s - round(CATCH_UP_S * 59) * SEC
    assert plan_start_ns(None, None, 1e6, now_ns=NOW) == now_s - round(MAX_LOOKBACK_S) * SEC
    # A window the bridge would refuse as too old (400 days).
    with pytest.raises(InputError, match=r"reach 694 days back.*older than 400 days"):
        plan_start_ns(None, 600, 1e5, now_ns=NOW)
    with pytest.raises(InputError, match="older than 400 days"):
        plan_start_ns(None, None, 1e6, 24 * 380, now_ns=NOW)


def test_given_start_ahead_of_the_clock_is_refused_naming_the_latest():
    latest = NOW // 1_000_000 * 1_000_000 - 60 * 59 * SEC
    assert plan_start_ns(latest, 60, 60, now_ns=NOW) == latest
    assert plan_start_ns(latest - DAY, 60, 60, now_ns=NOW) == latest - DAY
    with pytest.raises(
        InputError,
        match=r"^--start 2026-12-01T08:01:01Z would run ahead of "
        r"the clock within --duration 60 at --speed 60 .*; the latest allowed "
        r"start is 2026-12-01T08:01:00Z$",
    ):
        plan_start_ns(latest + SEC, 60, 60, now_ns=NOW, what="--start")
    # Without a duration a start in the past catches up (then real time); one ahead is refused.
    assert plan_start_ns(NOW - DAY, None, 3600, now_ns=NOW) == NOW - DAY
    with pytest.raises(
        InputError, match="is ahead of the clock; the latest allowed start is 2026-12-01T09:00:00Z"
    ):
        plan_start_ns(NOW + 60 * SEC, None, 1, now_ns=NOW)
    # Emulator.run checks a given start the same way, before it publishes anything.
    e = emulator(start_ns=time.time_ns() - 60 * SEC)

    class Nothing:
        def publish(self, topic, payload, *, qos=1):
            raise AssertionError("published")

    with pytest.raises(InputError, match="latest allowed start"):
        e.run(Nothing(), 60, speed=60, backfill_hours=1)


def test_run_paces_publishes_and_counts(mosquitto):
    from firmware_bridge.mqtt import MqttLink

    received: list[tuple[float, bytes]] = []
    sub = MqttLink(
        mosquitto.url,
        "emulate-pace-sub",
        clean_start=True,
        subscriptions=["roshanai/v1/+/telemetry"],
        on_message=lambda m: received.append((time.monotonic(), m.payload)),
    ).start()
    start = ns("2026-07-10T06:00:00")
    e = emulator(n=4, start_ns=start, bad_rate=0.05)
    seen = []
    link = MqttLink(mosquitto.url, "emulate-pace", clean_start=True).start()
    try:
        t0 = time.monotonic()
        counts = e.run(
            link,
            1.0,
            speed=7200,
            backfill_hours=1.0,
            progress=lambda s, c: seen.append(c["messages"]),
        )
        took = time.monotonic() - t0
        assert link.wait_published(10)
        deadline = time.monotonic() + 10
        while len(received) < counts["messages"] and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        link.stop()
        sub.stop()
    assert took >= 0.9  # the run lasts its duration (a lower bound: slowness cannot fail it)
    assert counts["messages"] == len(received)
    assert seen[-1] == counts["messages"]
    # Messages: live readings, batches, bad payloads; readings: live and in batches, once.
    assert counts["live_readings"] + counts["bad"] + counts["batches"] == counts["messages"]
    assert counts["readings"] == counts["live_readings"] + counts["batch_readings"]
    # What arrived is what the emulator says the run publishes, and the counts say so.
    expected = [*e._backfill(1.0), *e._messages(start, start + 2 * HOUR, start)]
    assert Counter(p for _, p in received) == Counter(m.payload for m in expected)
    kinds = Counter(m.kind for m in expected)
    assert (counts["live_readings"], counts["batches"], counts["bad"]) == (
        kinds["reading"],
        kinds["batch"],
        kinds["bad"],
    )
    assert counts["batch_readings"] == sum(
        len(json.loads(m.payload)["readings"]) for m in expected if m.kind == "batch"
    )
    assert counts["bad"] == sum(counts[f"bad_{r}"] for r in BAD_REASONS) > 0
    assert counts["batches"] >= 4
    assert counts["batch_readings"] >= 240
    assert counts["sim_start_ns"] == start
    assert counts["sim_end_ns"] == start + 2 * HOUR
    assert counts["bytes"] == sum(len(p) for _, p in received)
    assert counts["max_message_bytes"] == max(len(p) for _, p in received)
    # The first 4 messages are the backfill; live ones follow the simulated clock.
    live_t = [t - t0 for t, _ in received[4:]]
    assert live_t[len(live_t) // 2] > 0.3
