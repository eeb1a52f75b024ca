"""Payloads: canonical readings the bridge accepts, batches split by size, bad payloads."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from firmware_bridge.decode import Decoder
from firmware_bridge.emulator import (
    BAD_REASONS,
    MAX_BATCH_READINGS,
    MAX_MESSAGE_BYTES,
    MIN_MESSAGE_BYTES,
)
from firmware_bridge.validate import Checked, Validator
from tests.firmware_bridge.emulator.helpers import (
    DAY,
    HOUR,
    emulator,
    ns,
)


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
