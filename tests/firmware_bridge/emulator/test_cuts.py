"""Power cuts: simulate's scenario schedule on the local clock (Asia/Tehran), template year."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from firmware_bridge.emulator import CUT_YEAR
from simulate.outages import assign_groups, scenario_year
from telemetry.errors import InputError
from tests.firmware_bridge.emulator.helpers import DAY, HOUR, SEC, emulator, ns, ts_ns

TEHRAN = ZoneInfo("Asia/Tehran")


def local(t_ns: int, tz: ZoneInfo = TEHRAN) -> datetime:
    return datetime.fromtimestamp(t_ns / SEC, UTC).astimezone(tz)


@pytest.mark.parametrize("first_day", ["2025-07-01", "2025-01-10", "2025-04-15"])
def test_cut_windows_are_simulates_scenario_for_the_same_zone_and_day(first_day):
    """The emulator's cuts are ``scenario_year(CUT_YEAR, zones=4, seed)``: the summer and
    winter scenarios of ``roshanai simulate outage --scenario ... --seed S``."""
    assert CUT_YEAR == 2025
    e = emulator(n=31, seed=5)
    start = ns(f"{first_day}T00:00:00")
    end = start + 10 * DAY
    schedule = scenario_year(2025, zones=4, seed=5, two_block_share=0.9)
    want = sorted(
        (int(s), int(t), z)
        for s, t, z in zip(schedule.start_ns, schedule.end_ns, schedule.zone, strict=True)
        if s < end and t > start
    )
    got = sorted((o.start_ns, o.end_ns, o.zone) for o in e.outages(start, end))
    assert got == want
    if first_day.startswith("2025-04"):
        assert got == []  # spring: no cuts
    else:
        assert len(got) >= 10 * 4
    # Plants join zone groups as simulate's outage command puts them.
    plants = e.fleet.plants
    groups = assign_groups(plants["outage_zone"].tolist(), plants["plant_id"].tolist(), e.zones)
    assert e.plant_cut_zones.tolist() == groups.tolist()


def test_the_template_year_repeats_by_day_of_year():
    e = emulator(n=4, seed=5)
    cuts_2025 = e.outages(ns("2025-07-01T00:00:00"), ns("2025-07-04T00:00:00"))
    cuts_2026 = e.outages(ns("2026-07-01T00:00:00"), ns("2026-07-04T00:00:00"))
    year_ns = 365 * DAY
    assert [(o.start_ns + year_ns, o.end_ns + year_ns, o.zone) for o in cuts_2025] == [
        (o.start_ns, o.end_ns, o.zone) for o in cuts_2026
    ]
    # A leap year: 29 February repeats 28 February, and 1 March is 1 March.
    feb28 = e.outages(ns("2028-02-28T00:00:00"), ns("2028-02-29T00:00:00"))
    feb29 = e.outages(ns("2028-02-29T00:00:00"), ns("2028-03-01T00:00:00"))
    assert [(o.start_ns + DAY, o.zone) for o in feb28] == [(o.start_ns, o.zone) for o in feb29]


def test_cuts_follow_the_asia_tehran_clock():
    """Summer blocks start on even local hours 08:00–22:00, winter 09:00–15:00 (Asia/Tehran,
    +03:30: half past the hour in UTC)."""
    e = emulator(n=8, seed=2)
    assert (e.calendar.utc_offset_segs == 7).all()
    for first, hours in (("2025-07-01", set(range(8, 23, 2))), ("2025-01-05", {9, 11, 13, 15})):
        cuts = e.outages(ns(f"{first}T00:00:00"), ns(f"{first}T00:00:00") + 20 * DAY)
        assert cuts
        for c in cuts:
            assert c.end_ns - c.start_ns == 2 * HOUR
            start = local(c.start_ns)
            assert start.minute == 0
            assert start.hour in hours
            assert datetime.fromtimestamp(c.start_ns / SEC, UTC).minute == 30


def test_another_time_zone_moves_the_cuts():
    """The settings' ``timezone`` is the clock the blocks are announced in: Asia/Dubai
    (+04:00) starts them on the whole UTC hour, half an hour before Tehran's."""
    dubai = ZoneInfo("Asia/Dubai")
    e = emulator(n=8, seed=2, timezone="Asia/Dubai")
    cuts = e.outages(ns("2025-07-01T00:00:00"), ns("2025-07-11T00:00:00"))
    schedule = scenario_year(2025, zones=4, seed=2, timezone="Asia/Dubai")
    assert {c.start_ns for c in cuts} <= set(schedule.start_ns.tolist())
    for c in cuts:
        assert local(c.start_ns, dubai).hour in set(range(8, 23, 2))
        assert datetime.fromtimestamp(c.start_ns / SEC, UTC).minute == 0


def test_a_cut_across_utc_midnight_is_one_cut_and_one_upload():
    """On UTC−1 the 22:00–24:00 block is 23:00–01:00 UTC: one outage, and the gateway's
    buffer from both UTC days goes up in one upload when power returns."""
    e = emulator(n=31, seed=3, timezone="Etc/GMT+1")
    start = ns("2025-07-01T00:00:00")
    cuts = e.outages(start, start + 10 * DAY)
    late = [c for c in cuts if datetime.fromtimestamp(c.start_ns / SEC, UTC).hour == 23]
    assert late
    cut = late[0]
    assert cut.end_ns - cut.start_ns == 2 * HOUR
    grid_tied = [
        i for i in range(e.n_plants) if e.plant_cut_zones[i] == cut.zone and not e.hybrid[i]
    ]
    assert grid_tied
    p = grid_tied[0]
    pid = e.plant_ids[p]
    msgs = list(e.messages(cut.start_ns - HOUR, cut.end_ns + HOUR))
    mine = [json.loads(m) for t, m, k in msgs if k != "bad" and f"/{pid}/" in t]
    live = [ts_ns(d["ts"]) for d in mine if "ts" in d]
    assert not [t for t in live if cut.start_ns <= t < cut.end_ns]
    uploads = [d["readings"] for d in mine if "readings" in d]
    stamps = [ts_ns(r["ts"]) for batch in uploads for r in batch]
    assert len(stamps) == 120  # minute readings of the whole cut
    assert cut.start_ns <= stamps[0] < cut.start_ns + 60 * SEC
    assert cut.end_ns - 60 * SEC <= stamps[-1] < cut.end_ns


def test_no_cuts_and_bad_cut_settings():
    e = emulator(n=8, outage_blocks_per_day=0.0)
    assert e.outages(ns("2025-07-01T00:00:00"), ns("2025-08-01T00:00:00")) == []
    assert not e.calendar.bits.any()
    with pytest.raises(InputError, match="not an IANA time zone"):
        emulator(timezone="Mars/Olympus_Mons")
    with pytest.raises(InputError, match="0 \\(no cuts\\) or between 1 and 2"):
        emulator(outage_blocks_per_day=0.5)
    with pytest.raises(InputError, match="zone groups"):
        emulator(outage_zones=0)
    one = emulator(n=8, outage_blocks_per_day=1.0)
    summer = one.outages(ns("2025-07-01T00:00:00"), ns("2025-07-31T00:00:00"))
    assert len(summer) == 30 * 4  # one block a day per group
    assert np.isin([c.zone for c in summer], one.zones).all()
