"""The emulator's calendar: the template year, its local clock, and its power cuts.

The emulator's world is a template year of 365 days that repeats: any real date maps onto it by
its UTC day of year (29 February repeats 28 February) and UTC time of day, in half-hour segments
(48 a UTC day). The template year is :data:`CUT_YEAR`, the year ``roshanai simulate outage
--scenario`` uses by default, and its local clock is a real time zone (``Asia/Tehran`` by
default, from the settings): local hours and months of every segment come from
:func:`simulate.coverage.calendar_axis`, and the UTC offset of each day from :mod:`zoneinfo`.

Power cuts are :func:`simulate.outages.scenario_year` — the rotating 2-hour blocks of the summer
and winter scenarios of :data:`CUT_YEAR` — over ``zones`` zone groups ``G1`` … ``GN``, and a plant
takes the cuts of its group by :func:`simulate.outages.assign_groups`, as in ``roshanai simulate
outage --scenario summer --zones N --seed S``. Cut times are rounded to whole half hours UTC
(exact for Asia/Tehran, +03:30).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from simulate.outages import SCENARIO_YEAR, Schedule
from telemetry.errors import InputError

__all__ = ["CUT_YEAR", "CutCalendar", "Outage", "cut_calendar", "template_day"]

CUT_YEAR = SCENARIO_YEAR
"""The template year whose cut calendar and local clock repeat every year: simulate's scenario
year (:data:`simulate.outages.SCENARIO_YEAR`, a common year)."""

DAYS = 365
SEGS = 48  # half-hour segments of a UTC day
SEC_NS = 1_000_000_000
HALF_NS = 1800 * SEC_NS
DAY_NS = 86_400 * SEC_NS


@dataclass(frozen=True)
class Outage:
    """One contiguous power cut of a zone group, [start_ns, end_ns) UTC [ns since the epoch]."""

    zone: str
    start_ns: int
    end_ns: int


@dataclass(frozen=True)
class CutCalendar:
    """Cuts and local clock of the template year.

    Attributes
    ----------
    zones : tuple of str
        Zone groups ``G1`` … ``GN`` (rows of ``bits``).
    bits : numpy.ndarray
        (n_zones, 365) uint64: bit ``j`` set when UTC half-hour segment ``j`` of the template
        day is cut.
    schedule : simulate.outages.Schedule
        The cuts of :data:`CUT_YEAR` the bits come from (empty without cuts).
    timezone : str
        The local clock. [IANA name]
    utc_offset_segs : numpy.ndarray
        (365,) int: the local clock's UTC offset at noon of each template day. [half hours]
    local_month0, local_hour : numpy.ndarray
        (365, 48) int: local month (0 = January) and hour (0–23) of each segment's midpoint.
    """

    zones: tuple[str, ...]
    bits: np.ndarray
    schedule: Schedule
    timezone: str
    utc_offset_segs: np.ndarray
    local_month0: np.ndarray
    local_hour: np.ndarray

    def zone_index(self, outage_zone: Sequence[str], plant_id: Sequence[str]) -> np.ndarray:
        """Row of :attr:`bits` of each plant (:func:`simulate.outages.assign_groups`)."""
        from simulate.outages import assign_groups

        row = {z: i for i, z in enumerate(self.zones)}
        groups = assign_groups(list(outage_zone), list(plant_id), self.zones)
        return np.array([row[g] for g in groups], dtype=np.int64)

    def is_cut(self, zone: np.ndarray, t_ns: np.ndarray) -> np.ndarray:
        """Whether zone rows ``zone`` are cut at times ``t_ns`` (same shape). [ns, UTC]"""
        t = np.asarray(t_ns, dtype=np.int64)
        tday, pos = template_day(t)
        j = np.minimum(pos.astype(np.int64), SEGS - 1).astype(np.uint64)
        return ((self.bits[np.asarray(zone), tday] >> j) & np.uint64(1)).astype(bool)

    def day_bits(self, zone: int, day: int) -> int:
        """Cut segments (bits) of zone row ``zone`` on UTC day ``day`` (days since the epoch)."""
        return int(self.bits[zone, int(template_day(np.array([day * DAY_NS]))[0][0])])

    def cut_start_ns(self, zone: int, t_ns: int) -> int:
        """Start of the cut of zone row ``zone`` that covers ``t_ns`` (which must be cut),
        across UTC midnights. [ns since the epoch, UTC]"""
        day = t_ns // DAY_NS
        j = min(int((t_ns - day * DAY_NS) // HALF_NS), SEGS - 1)
        for _ in range(DAYS):
            bits = self.day_bits(zone, day)
            while j > 0 and bits >> (j - 1) & 1:
                j -= 1
            if j > 0 or not self.day_bits(zone, day - 1) >> (SEGS - 1) & 1:
                break
            day, j = day - 1, SEGS - 1  # cut since the day before
        return day * DAY_NS + j * HALF_NS

    def outages(self, start_ns: int, end_ns: int) -> list[Outage]:
        """Cuts of every zone overlapping [start_ns, end_ns), in start order (a cut across UTC
        midnight is one outage). [ns since the epoch, UTC]"""
        runs: dict[int, list[list[int]]] = {}
        day0, day1 = start_ns // DAY_NS, (end_ns - 1) // DAY_NS
        for d in range(day0 - 1, day1 + 2):  # a day either side: whole cuts across midnight
            for z in range(len(self.zones)):
                b, j = self.day_bits(z, d), 0
                while j < SEGS:
                    if b >> j & 1:
                        k = j
                        while k < SEGS and b >> k & 1:
                            k += 1
                        a, e = d * DAY_NS + j * HALF_NS, d * DAY_NS + k * HALF_NS
                        mine = runs.setdefault(z, [])
                        if mine and mine[-1][1] == a:
                            mine[-1][1] = e
                        else:
                            mine.append([a, e])
                        j = k
                    j += 1
        out = [
            Outage(self.zones[z], a, e)
            for z, spans in runs.items()
            for a, e in spans
            if a < end_ns and e > start_ns
        ]
        return sorted(out, key=lambda o: (o.start_ns, o.zone))


def template_day(t_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Template day (0–364) and half-hour position (0 ≤ pos < 48) of UTC times [ns]."""
    _, doy, leap, pos = utc_calendar(t_ns)
    return doy - (leap & (doy >= 59)), pos  # 29 February repeats 28 February


def utc_calendar(t_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """UTC year, day of year (0 …), leap-year flag and half-hour position of times [ns]."""
    t = np.asarray(t_ns, dtype=np.int64)
    days = t // DAY_NS
    year = days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    start = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    doy = days - start
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    return year, doy, leap, (t - days * DAY_NS) / HALF_NS


def cut_calendar(
    *,
    seed: int,
    zones: int = 4,
    blocks_per_day: float = 1.9,
    timezone: str = "Asia/Tehran",
) -> CutCalendar:
    """The template year's cuts (simulate's scenarios) and local clock.

    Parameters
    ----------
    seed : int
        Seed of the scenarios (the emulator's).
    zones : int
        Zone groups of the scenarios (1–1000).
    blocks_per_day : float
        Mean 2-hour cuts per group and summer day: 0 (no cuts), or 1 to 2 — the summer scenario
        with ``two_block_share = blocks_per_day - 1`` (winter: one block a day).
    timezone : str
        Local clock of the cuts, faults and household loads. [IANA name]

    Raises
    ------
    telemetry.errors.InputError
        An unknown time zone, or parameters out of range.
    """
    from simulate.coverage import calendar_axis
    from simulate.outages import cut_fractions, scenario_year

    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"timezone {timezone!r} is not an IANA time zone") from None
    if not (blocks_per_day == 0.0 or 1.0 <= blocks_per_day <= 2.0):
        raise InputError(
            f"outage blocks per day must be 0 (no cuts) or between 1 and 2, not {blocks_per_day}"
        )
    if not 1 <= int(zones) <= 1000:
        raise InputError(f"outage zone groups must be between 1 and 1000, not {zones}")
    names = tuple(f"G{g + 1}" for g in range(int(zones)))
    labels = pd.date_range(
        f"{CUT_YEAR}-01-01 00:30", periods=DAYS * SEGS, freq="30min", tz="UTC"
    )  # half-hour segments, labelled at their end
    axis = calendar_axis(labels, 0.5, timezone)
    noon = [datetime(CUT_YEAR, 1, 1, 12) + timedelta(days=d) for d in range(DAYS)]
    offsets = np.array(
        [round((tz.utcoffset(t) or timedelta()) / timedelta(minutes=30)) for t in noon],
        dtype=np.int64,
    )
    bits = np.zeros((len(names), DAYS), dtype=np.uint64)
    if blocks_per_day:
        schedule = scenario_year(
            CUT_YEAR,
            zones=len(names),
            seed=seed,
            timezone=timezone,
            two_block_share=blocks_per_day - 1.0,
        )
        cuts = cut_fractions(schedule, labels, 0.5, timezone)
        row = {z: i for i, z in enumerate(cuts.zones)}
        weights = np.uint64(1) << np.arange(SEGS, dtype=np.uint64)
        for i, z in enumerate(names):
            if z in row:
                cut = cuts.fraction[row[z]].reshape(DAYS, SEGS) >= 0.5  # to whole half hours
                bits[i] = (cut.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
    else:
        empty = np.zeros(0, dtype=np.int64)
        schedule = Schedule(empty, empty, np.zeros(0, dtype=object), True, "no cuts")
    return CutCalendar(
        names,
        bits,
        schedule,
        timezone,
        offsets,
        axis.month0.reshape(DAYS, SEGS),
        axis.hour.reshape(DAYS, SEGS),
    )
