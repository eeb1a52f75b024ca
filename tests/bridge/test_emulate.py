"""Fleet emulator: synthetic fleet, readings, power cuts and batches, bad payloads, CLI.

Most tests use a hand-made typical year (a clear-sky-like bell, fast); one uses the simulator's,
and one runs ``roshanai emulate`` against a real mosquitto and reads back what it published.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from firmware_bridge.decode import Decoder
from firmware_bridge.emulate import (
    BAD_REASONS,
    CATCH_UP_S,
    MAX_BATCH_READINGS,
    MAX_LOOKBACK_S,
    MAX_MESSAGE_BYTES,
    MIN_MESSAGE_BYTES,
    PROVINCE_CODES,
    Emulator,
    TypicalYear,
    emulate_command,
    plan_start_ns,
    synthetic_fleet,
    topic_for,
    typical_year,
)
from firmware_bridge.validate import Checked, Validator
from telemetry.errors import InputError
from telemetry.registry import read_fleet

SEC = 1_000_000_000
HOUR = 3600 * SEC
DAY = 24 * HOUR


def ns(iso: str) -> int:
    return int(datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp()) * SEC


def bell_year(n: int, peak_w: float = 4600.0) -> TypicalYear:
    """A clear-sky-like day every day: sun from 02:00 to 15:30 UTC (05:30–19:00 Tehran)."""
    mid = np.arange(8760) % 24 + 0.5
    day = np.clip(np.sin(np.pi * (mid - 2.0) / 13.5), 0.0, None)
    power = (peak_w * day)[None, :].repeat(n, axis=0).astype(np.float32)
    return TypicalYear(power, np.full((1, 8760), 28.0, np.float32), np.zeros(n, np.int64))


def emulator(n: int = 6, seed: int = 1, **kw) -> Emulator:
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


def ts_ns(text: str) -> int:
    return int(np.datetime64(text.rstrip("Z"), "ms").astype(np.int64)) * 1_000_000


# ---------------------------------------------------------------------------- synthetic fleet


def test_synthetic_fleet_is_plausible_and_deterministic():
    a, b = synthetic_fleet(200, seed=4), synthetic_fleet(200, seed=4)
    assert a.plants.equals(b.plants)
    assert not a.plants.equals(synthetic_fleet(200, seed=5).plants)
    p = a.plants
    assert len(a) == 200
    assert p["plant_id"].is_unique
    assert p["plant_id"].str.fullmatch(r"[A-Z]{3}-\d{6}").all()
    assert set(p["plant_id"].str[:3]) <= set(PROVINCE_CODES.values())
    assert p["province"].nunique() == 31  # round the capitals
    assert p["tilt_deg"].between(20, 35).all()
    assert p["azimuth_deg"].between(160, 200).all()
    assert (p["ac_kw"] == 5.0).all()
    assert p["dc_kwp"].between(5.0, 5.5).all()
    hybrid = p["inverter_type"] == "hybrid"
    assert 0.05 < hybrid.mean() < 0.35
    assert (p.loc[hybrid, "battery_kwh"] > 0).all()
    assert (p.loc[~hybrid, "battery_kwh"] == 0).all()
    assert p["outage_zone"].str.fullmatch(r"[A-Z]{3}-Z[123]").all()
    assert p["latitude"].between(25, 40).all()
    assert p["longitude"].between(44, 64).all()


def test_fleet_ids_number_per_province():
    p = synthetic_fleet(40, seed=0).plants
    twice = p[p["plant_id"].str.endswith("-000002")]
    assert len(twice) == 9  # 40 plants round 31 capitals: 9 provinces get a second plant


# ---------------------------------------------------------------------------- readings


def test_messages_are_deterministic_and_window_independent():
    start = ns("2026-07-01T03:00:00")
    one = list(emulator(seed=7, bad_rate=0.05).messages(start, start + 6 * HOUR))
    again = list(emulator(seed=7, bad_rate=0.05).messages(start, start + 6 * HOUR))
    assert one == again
    assert len(one) > 1000
    other = list(emulator(seed=8, bad_rate=0.05).messages(start, start + 6 * HOUR))
    assert other != one
    # Split anywhere: the same messages (values are functions of seed, plant and time).
    e = emulator(seed=7, bad_rate=0.05)
    cut = start + 2 * HOUR + 17 * SEC
    assert list(e.messages(start, cut)) + list(e.messages(cut, start + 6 * HOUR)) == one


def test_live_messages_in_time_order_one_per_interval():
    e = emulator(n=8, interval_s=30)
    start = ns("2026-01-15T00:00:00")
    msgs = [m for m in e.messages(start, start + 3 * HOUR) if m[2] == "reading"]
    times = [ts_ns(json.loads(p)["ts"]) for _, p, _ in msgs]
    assert times == sorted(times)
    assert start <= times[0]
    assert times[-1] < start + 3 * HOUR
    per_plant = Counter(json.loads(p)["plant_id"] for _, p, _ in msgs)
    assert set(per_plant.values()) == {360}  # no cuts at night in winter


def test_counters_monotonic_seq_increasing_night_zero_and_physics():
    e = emulator(n=10, fault_rate=0.3)
    start = ns("2026-07-01T00:00:00")
    by_plant = readings_of(e.messages(start, start + 2 * DAY))
    assert len(by_plant) == 10
    for pid, rows in by_plant.items():
        energy = [r["energy_total_wh"] for r in rows]
        seq = [r["seq"] for r in rows]
        assert all(b >= a for a, b in itertools.pairwise(energy)), pid
        assert all(b == a + 1 for a, b in itertools.pairwise(seq)), pid
        assert 1_000_000 < energy[0] < 40_000_000  # 0.2–3.5 years of a 5 kW plant
        # A day's counter increase equals its power integrated (minute readings).
        day = [r for r in rows if r["ts"].startswith("2026-07-01")]
        integral_wh = sum(r["ac_power_w"] for r in day) / 60.0
        assert day[-1]["energy_total_wh"] - day[0]["energy_total_wh"] == pytest.approx(
            integral_wh, rel=0.01, abs=30
        )
        assert 10_000 < integral_wh < 45_000  # (the hand-made year is a clear 4.6 kW bell)
        for r in rows:
            hour = int(r["ts"][11:13])
            if 16 <= hour <= 23 or hour < 2:  # Tehran night (19:30–05:30)
                assert r["ac_power_w"] == 0.0
                assert r["status"] in ("standby", "off")
            assert 0.0 <= r["ac_power_w"] <= 5000.0
            assert (r["status"] == "producing") == (r["ac_power_w"] > 0)
            assert (r["status"] == "fault") == (r["alarm_code"] != 0)
            if r["ac_freq_hz"] == 0.0:  # a power cut: no grid
                assert r["ac_voltage_v"] == 0.0
                assert r["status"] in ("off", "fault")
            else:
                assert 225.0 <= r["ac_voltage_v"] <= 235.0
                assert abs(r["ac_freq_hz"] - 50.0) <= 0.05
                assert r["ac_current_a"] == pytest.approx(
                    r["ac_power_w"] / r["ac_voltage_v"], abs=0.01
                )
            assert len(r["dc"]) in (1, 2)
            dc_w = sum(s["w"] for s in r["dc"])
            if r["ac_power_w"] > 0:
                assert dc_w == pytest.approx(r["ac_power_w"] / 0.96 + 12.0, abs=0.3)
                assert all(250 < s["v"] < 450 for s in r["dc"])
            else:
                assert dc_w == 0.0
            assert -100 <= r["rssi_dbm"] <= -50
            assert 0 < r["temp_c"] < 70
    statuses = Counter(r["status"] for rows in by_plant.values() for r in rows)
    assert statuses["producing"]
    assert statuses["standby"]
    assert statuses["fault"]


def test_power_cut_silences_gateway_then_one_batch_covers_it():
    e = emulator(n=31, outage_blocks_per_day=1.0)
    start = ns("2026-07-10T00:00:00")
    msgs = list(e.messages(start, start + DAY))
    plants = e.fleet.plants
    cuts = [c for c in e.outages(start, start + DAY) if c.end_ns < start + DAY]
    assert cuts
    seen_grid_tied = seen_hybrid = 0
    for cut in cuts:
        for _, row in plants[plants["outage_zone"] == cut.zone].iterrows():
            pid = row["plant_id"]
            mine = [
                (i, json.loads(p))
                for i, (t, p, k) in enumerate(msgs)
                if t == topic_for(pid) and k != "bad"
            ]
            live = [ts_ns(d["ts"]) for _, d in mine if "ts" in d]
            during = [t for t in live if cut.start_ns <= t < cut.end_ns]
            batches = [(i, d) for i, d in mine if "readings" in d]
            if row["inverter_type"] == "hybrid":  # on battery: the gateway stays online
                assert len(during) >= 110
                assert not batches
                seen_hybrid += 1
                continue
            seen_grid_tied += 1
            assert during == []  # silent
            ((i, batch),) = [
                (i, d)
                for i, d in batches
                if cut.start_ns <= ts_ns(d["readings"][0]["ts"]) < cut.end_ns
            ]
            stamps = [ts_ns(r["ts"]) for r in batch["readings"]]
            assert len(stamps) == (cut.end_ns - cut.start_ns) // (60 * SEC)
            assert np.all(np.diff(stamps) == 60 * SEC)
            assert stamps[0] - cut.start_ns < 60 * SEC
            assert cut.end_ns - stamps[-1] <= 60 * SEC
            assert {r["status"] for r in batch["readings"]} <= {"off", "fault"}
            assert all(
                r["ac_power_w"] == 0.0 and r["ac_voltage_v"] == 0.0 for r in batch["readings"]
            )
            # The batch goes out just before the first live reading after the cut.
            nxt = json.loads(msgs[i + 1][1])
            assert msgs[i + 1][0] == topic_for(pid)
            assert ts_ns(nxt["ts"]) == stamps[-1] + 60 * SEC >= cut.end_ns
    assert seen_grid_tied >= 3
    assert seen_hybrid >= 1


def test_outage_schedule_by_season():
    e = emulator(n=31, outage_blocks_per_day=1.5)
    tehran = 3 * HOUR + HOUR // 2

    def per_zone_day(first_day: str, days: int) -> list[float]:
        start = ns(first_day)
        cuts = e.outages(start, start + days * DAY)
        for c in cuts:
            assert (c.end_ns - c.start_ns) % (2 * HOUR) == 0
            local_h = ((c.start_ns + tehran) % DAY) / HOUR
            assert local_h == int(local_h)
            assert local_h >= 8
            assert local_h + (c.end_ns - c.start_ns) / HOUR <= 24
        return [
            sum((c.end_ns - c.start_ns) / (2 * HOUR) for c in cuts) / len(e.zones) / days,
            max(((c.start_ns + tehran) % DAY) / HOUR for c in cuts),
        ]

    summer, summer_latest = per_zone_day("2026-07-01T00:00:00", 20)
    winter, winter_latest = per_zone_day("2026-01-05T00:00:00", 20)
    assert 1.3 < summer <= 2.0
    assert summer_latest >= 18
    assert 0.5 < winter < 1.0
    assert winter_latest <= 16


def test_long_buffer_is_split_into_batches_of_at_most_500():
    e = emulator(n=8, interval_s=10, max_message_bytes=1 << 20)  # the count cap alone
    start = ns("2026-07-10T04:00:00")  # cuts are between 04:30 and 20:30 UTC
    batches = [json.loads(p) for _, p, k in e.messages(start, start + 17 * HOUR) if k == "batch"]
    sizes = Counter(len(b["readings"]) for b in batches)
    # A 2-hour cut buffers 720 readings (4 hours if two blocks touch: 1,440).
    assert set(sizes) <= {500, 220, 440}
    assert sizes[500] >= 1
    assert sizes[500] == sizes[220] + 2 * sizes[440]


@pytest.mark.parametrize("limit", [MAX_MESSAGE_BYTES, 4096, MIN_MESSAGE_BYTES])
def test_uploads_are_split_by_size_every_reading_once_in_time_order(limit):
    """Post-cut buffers (10 s readings: 720 per 2-hour cut, ~180 KB) and a 9-hour backfill
    (540 minute readings, ~140 KB): no message over the limit, each a valid canonical batch,
    the same readings in the same order as without a size limit."""
    start = ns("2026-07-10T04:00:00")
    unlimited = emulator(n=8, interval_s=10, start_ns=start, max_message_bytes=1 << 24)
    e = emulator(n=8, interval_s=10, start_ns=start, max_message_bytes=limit)
    decoder, validator = Decoder(), Validator(e.fleet, max_past_days=10_000)

    def flat(msgs) -> list[tuple[str, str, int]]:
        return [
            (t, r["ts"], r["seq"])
            for t, p, k in msgs
            for r in (json.loads(p)["readings"] if k == "batch" else [json.loads(p)])
        ]

    for window in (lambda x: x.backfill(9.0), lambda x: x.messages(start, start + 17 * HOUR)):
        msgs, whole = list(window(e)), list(window(unlimited))
        assert max(len(p) for _, p, _ in whole) > 100_000  # the old 500-reading batches
        assert flat(msgs) == flat(whole)  # every reading once, in order
        assert [m for m in msgs if m[2] == "reading"] == [m for m in whole if m[2] == "reading"]
        batches = [(t, p) for t, p, k in msgs if k == "batch"]
        assert len(batches) > len([m for m in whole if m[2] == "batch"])
        for i, (topic, payload) in enumerate(batches):
            assert len(payload) <= limit
            doc = json.loads(payload)
            assert set(doc) == {"v", "plant_id", "readings"}
            assert 1 <= len(doc["readings"]) <= MAX_BATCH_READINGS
            out = decoder.decode(topic, payload, i, start + DAY)
            assert not out.rejections
            assert len(out.records) == len(doc["readings"])
            assert all(isinstance(validator.check(r, start + DAY), Checked) for r in out.records)
        # Filled greedily: a batch followed by one of the same upload had no room for its next
        # reading (a reading is under 500 bytes).
        sizes = [len(p) for _, p in batches]
        assert sum(s > limit - 500 for s in sizes) >= len(sizes) // 3


def test_backfill_uploads_the_last_hours_as_batches():
    start = ns("2026-07-10T12:00:00")
    e = emulator(n=5, start_ns=start)
    batches = [json.loads(p) for _, p, k in e.backfill(9.0)]
    assert {k for _, _, k in e.backfill(1.0)} == {"batch"}
    by_plant = defaultdict(list)
    for b in batches:
        assert len(b["readings"]) <= MAX_BATCH_READINGS
        by_plant[b["plant_id"]] += [ts_ns(r["ts"]) for r in b["readings"]]
    assert sorted(by_plant) == sorted(e.plant_ids)
    for stamps in by_plant.values():
        assert len(stamps) == 540
        assert np.all(np.diff(stamps) == 60 * SEC)
        assert start - 9 * HOUR <= stamps[0] < start - 9 * HOUR + 60 * SEC
        assert start - 60 * SEC <= stamps[-1] < start
    # The same readings as live messages would carry: counters continue seamlessly.
    live = readings_of(e.messages(start, start + HOUR))
    last = {b["plant_id"]: b["readings"][-1] for b in batches}
    for pid, before in last.items():
        after = [r for r in live[pid] if ts_ns(r["ts"]) >= start]
        if after:  # (none if a cut lasts the whole hour)
            assert before["energy_total_wh"] <= after[0]["energy_total_wh"]
            assert before["seq"] + 1 == after[0]["seq"]


def test_bad_payloads_at_rate_flagged_and_refused_by_the_bridge():
    e = emulator(n=20, bad_rate=0.1)
    start = ns("2026-07-01T04:00:00")
    msgs = list(e.messages(start, start + 6 * HOUR))
    kinds = Counter(k for _, _, k in msgs)
    assert kinds["batch"] > 0
    live = kinds["reading"] + kinds["bad"]
    assert kinds["bad"] / live == pytest.approx(0.1, abs=0.02)
    decoder, validator = Decoder(), Validator(e.fleet, max_past_days=10_000)
    now = start + 6 * HOUR
    reasons = Counter()
    for i, (topic, payload, kind) in enumerate(msgs):
        out = decoder.decode(topic, payload, i, now)
        checked = [validator.check(r, now) for r in out.records]
        refused = [c.reason for c in checked if not isinstance(c, Checked)]
        refused += [r.reason for r in out.rejections]
        if kind == "bad":
            assert len(refused) == 1, payload
            reasons[refused[0]] += 1
        else:
            assert refused == [], payload
            assert out.records, payload
            assert not any(c.counter_reset for c in checked)
    assert set(reasons) == set(BAD_REASONS)


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
    assert 0.9 < took < 5
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


def test_invalid_parameters():
    with pytest.raises(InputError, match="at least 1024 bytes"):
        emulator(max_message_bytes=1000)
    with pytest.raises(InputError):
        emulator(bad_rate=1.5)
    with pytest.raises(InputError):
        emulator(interval_s=0)
    with pytest.raises(InputError):
        synthetic_fleet(0)
    fleet = synthetic_fleet(3)
    with pytest.raises(InputError, match="typical-year"):
        Emulator(fleet, typical_year=bell_year(2))


# ---------------------------------------------------------------------------- the clock

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


@pytest.mark.slow
def test_generation_speed_10000_plants():
    fleet, year = synthetic_fleet(10_000, seed=2), bell_year(10_000)
    t0 = time.perf_counter()
    e = Emulator(fleet, seed=2, typical_year=year)
    prepared = time.perf_counter() - t0
    start = ns("2026-01-15T06:00:00")  # a winter morning, cuts in a few zones
    t0 = time.perf_counter()
    kinds = Counter(k for _, _, k in e.messages(start, start + 60 * SEC))
    took = time.perf_counter() - t0
    print(f"10,000 plants: prepared in {prepared:.1f} s, {kinds} in {took:.3f} s")
    assert kinds["reading"] >= 8000
    assert took < 1.0


# ---------------------------------------------------------------------------- with the simulator


def test_power_follows_the_simulator():
    fleet = read_fleet_subset(6)
    ty = typical_year(fleet)
    e = Emulator(fleet, seed=0, typical_year=ty, outage_blocks_per_day=0.0, fault_rate=0.0)
    # Mid-hour readings equal the hourly mean scaled by the day's cloudiness (≤ 1, mostly > 0.9).
    hour = 24 * 181 + 8  # 1 July 08:00–09:00 UTC (11:30–12:30 Tehran)
    t = ns("2026-07-01T08:30:00")
    got = np.array([r["ac_power_w"] for r in e.readings(np.arange(6), np.full(6, t))])
    ratio = got / ty.ac_power_w[:, hour]
    assert np.all((ratio > 0.3) & (ratio <= 1.0001))
    assert np.median(ratio) > 0.9
    night = e.readings(np.arange(6), np.full(6, ns("2026-07-01T21:00:00")))
    assert all(r["ac_power_w"] == 0.0 and r["status"] == "standby" for r in night)
    assert np.all((e.annual_energy_wh > 6_000_000) & (e.annual_energy_wh < 10_000_000))


def read_fleet_subset(n: int):
    from telemetry.registry import load_sample_fleet

    return load_sample_fleet().subset(0, n)


# ---------------------------------------------------------------------------- CLI


def cli_app() -> typer.Typer:
    app = typer.Typer()
    app.command("emulate")(emulate_command)

    @app.command("other")
    def other() -> None:  # a second command keeps `emulate` a named sub-command
        pass

    return app


def test_cli_help():
    result = CliRunner().invoke(cli_app(), ["emulate", "--help"])
    assert result.exit_code == 0
    for flag in (
        "--mqtt-url",
        "--plants",
        "--fleet",
        "--backfill-hours",
        "--duration",
        "--speed",
        "--seed",
        "--bad-rate",
        "--fleet-out",
        "--client-id",
        "--start",
        "--max-message-kb",
    ):
        assert flag in result.output
    text = " ".join(result.output.replace("│", " ").split())
    assert "ahead of the wall clock" in text
    assert "--max-message-kb (64 KiB)" in text
    assert "[default: 64.0]" in text


def test_cli_start_ahead_of_the_clock_is_a_one_line_error(tmp_path):
    """Refused before the fleet is simulated or the broker dialled (there is none)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSHANAI_")}
    (tmp_path / "empty.toml").touch()
    for args, needle in [
        (
            [
                "--duration",
                "60",
                "--speed",
                "60",
                "--start",
                datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            ],
            "within --duration 60 at --speed 60",
        ),
        (["--speed", "60", "--start", "2099-01-01T00:00:00Z"], "is ahead of the clock"),
    ]:
        t0 = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "roshanai",
                "--config",
                str(tmp_path / "empty.toml"),
                "emulate",
                "--mqtt-url",
                "mqtt://127.0.0.1:9",
                "--plants",
                "2",
                *args,
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2, proc.stdout + proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith("error: --start ")
        assert needle in lines[0]
        latest = re.search(r"the latest allowed start is (\S+Z)$", lines[0])[1]
        assert datetime.fromisoformat(latest) <= datetime.now(UTC)
        assert time.monotonic() - t0 < 30


def test_cli_given_fleet_first_n_plants_env_url(mosquitto, tmp_path, monkeypatch):
    monkeypatch.setenv("ROSHANAI_MQTT_URL", mosquitto.url)
    given, out = tmp_path / "given.csv", tmp_path / "fleet.csv"
    read_fleet_subset(4).plants.to_csv(given, index=False)
    result = CliRunner().invoke(
        cli_app(),
        [
            "emulate",
            "--fleet",
            str(given),
            "--plants",
            "2",
            "--fleet-out",
            str(out),
            "--duration",
            "0.5",
            "--speed",
            "7200",
            "--start",
            "2026-07-01T08:00:00+03:30",
        ],
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert read_fleet(out).plant_ids == read_fleet(given).plant_ids[:2]
    assert "from 2 plants" in result.output
    assert mosquitto.url in result.output
    assert "simulated 2026-07-01 04:30 to 2026-07-01 05:30 UTC" in result.output
    bad = CliRunner().invoke(cli_app(), ["emulate", "--fleet", str(given), "--plants", "9"])
    assert "only 4 plants" in str(bad.exception)


def test_cli_end_to_end_against_mosquitto(mosquitto, tmp_path):
    from firmware_bridge.mqtt import MqttLink

    received: list[tuple[str, bytes]] = []
    lock = threading.Lock()

    def on_message(m):
        with lock:
            received.append((m.topic, m.payload))

    sub = MqttLink(
        mosquitto.url,
        "emulate-test-sub",
        clean_start=True,
        subscriptions=["roshanai/v1/+/telemetry"],
        on_message=on_message,
    ).start()
    fleet_out = tmp_path / "fleet.csv"
    try:
        result = CliRunner().invoke(
            cli_app(),
            [
                "emulate",
                "--mqtt-url",
                mosquitto.url,
                "--plants",
                "6",
                "--seed",
                "1",
                "--start",
                "2026-07-01T00:00:00Z",
                "--speed",
                "43200",
                "--duration",
                "2",
                "--interval",
                "300",
                "--backfill-hours",
                "3",
                "--fleet-out",
                str(fleet_out),
            ],
        )
        assert result.exit_code == 0, result.output + repr(result.exception)
        published = int(
            re.search(r"published ([\d,]+) messages", result.output)[1].replace(",", "")
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(received) < published:
            time.sleep(0.05)
    finally:
        sub.stop()
    assert len(received) == published > 1500
    fleet = read_fleet(fleet_out)
    assert len(fleet) == 6
    # What the command published is what an emulator of that fleet and seed says.
    start = ns("2026-07-01T00:00:00")
    e = Emulator(fleet, seed=1, interval_s=300, start_ns=start)
    expected = [(t, p) for t, p, _ in e.backfill(3.0)]
    expected += [(t, p) for t, p, _ in e.messages(start, start + DAY)]
    assert Counter(received) == Counter(expected)
    by_plant = readings_of(
        (t, p, "batch" if b'"readings"' in p else "reading") for t, p in received
    )
    assert sorted(by_plant) == sorted(fleet.plant_ids)
    for rows in by_plant.values():
        energy = [r["energy_total_wh"] for r in rows]
        assert energy == sorted(energy)
        assert all(r["ac_power_w"] == 0.0 for r in rows if "T20:" <= r["ts"][10:14] <= "T23:")
    # Batches after cuts carry the cut's readings, 5 minutes apart, inside the cut.
    cuts = e.outages(start, start + DAY)
    batches = [json.loads(p) for _, p in received if b'"readings"' in p]
    after_cut = [b for b in batches if ts_ns(b["readings"][0]["ts"]) >= start]
    assert len(batches) - len(after_cut) == 6
    assert after_cut
    for batch in after_cut:
        stamps = [ts_ns(r["ts"]) for r in batch["readings"]]
        assert np.all(np.diff(stamps) == 300 * SEC)
        zone = fleet.plants.set_index("plant_id").loc[batch["plant_id"], "outage_zone"]
        assert any(
            c.zone == zone and c.start_ns <= stamps[0] and stamps[-1] < c.end_ns for c in cuts
        )
