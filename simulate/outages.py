"""Power-cut schedules: read from a CSV file, generated as scenarios, mapped onto simulated hours.

A schedule is a list of cuts ``[start, end)`` in UTC, each optionally tagged with the ``zone``
(feeder or zone group) it applies to; plants pick their cuts by the fleet file's
``outage_zone``. The file format (docs/contracts.md, CLI contract)::

    # comments and blank lines are skipped
    start,end,zone
    2025-07-01T12:00+03:30,2025-07-01T14:00+03:30,THR-Z1
    2025-07-01T20:00+03:30,2025-07-01T22:00+03:30,THR-Z1

Times are ISO 8601 *with* a UTC offset (``+03:30``, ``Z``); a naive time, an end not after its
start, or two cuts of one zone that overlap are refused with a one-line message naming the line.

Which cuts a plant gets (:func:`plant_zone_index`):

- a schedule **without** a ``zone`` column applies to every plant;
- otherwise a plant takes the cuts of the zone equal to its ``outage_zone``; a plant with no
  ``outage_zone``, or one that the schedule does not name, has **no** cuts (its outage figures
  are 0 hours and its coverage is empty) — the CLI says how many such plants there are.

Scenario schedules (:func:`scenario_schedule`) follow the rotating 2-hour blocks announced by the
distribution companies, in local time (Asia/Tehran by default), over ``N`` zone groups ``G1`` …
``GN``:

- **summer**: one or two 2-hour blocks a day per group (two on a share ``two_block_share`` of the
  days, so ≈ 4 h/day by default), in the window 08:00–24:00; a group's second block starts 8 h
  after its first, and every day each group's blocks move one slot later, so the cut hours
  rotate through the window;
- **winter**: one 2-hour daytime block a day between 09:00 and 17:00, rotating the same way.

Plants are put in scenario groups by :func:`assign_groups` (their ``outage_zone`` when it names a
group, else a stable hash of the zone — or of the plant id when there is none — so plants of one
zone share their cuts).
"""

from __future__ import annotations

import csv
import io
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from telemetry.errors import InputError
from telemetry.fileio import atomic_path

__all__ = [
    "SCENARIOS",
    "SCENARIO_YEAR",
    "CutFractions",
    "Schedule",
    "ScheduleFileError",
    "assign_groups",
    "cut_fractions",
    "parse_schedule",
    "plant_zone_index",
    "read_schedule",
    "scenario_schedule",
    "scenario_year",
]

_NS_PER_H = 3_600_000_000_000
_LABEL_RE = re.compile(r"^[^\x00-\x1f\x7f\"\\]{1,128}$")  # as the registry's outage_zone

SCENARIO_YEAR = 2025
"""Calendar year of the generated scenarios (``--scenario``) on a typical-year weather: the
calendar the scenarios describe (the 2025 summer cuts, the winter 2024–25 cuts), a common year.
``roshanai simulate`` and the emulator both take it from here."""

#: Scenario name → (default Gregorian months, first slot hour, slots per day, blocks per day).
SCENARIOS: dict[str, tuple[tuple[int, ...], int, int, int]] = {
    "summer": ((6, 7, 8, 9), 8, 8, 2),  # 08:00–24:00, 8 slots of 2 h, up to 2 blocks a day
    "winter": ((12, 1, 2), 9, 4, 1),  # 09:00–17:00, 4 slots of 2 h, 1 block a day
}
BLOCK_HOURS = 2


class ScheduleFileError(InputError):
    """The outage schedule breaks its contract; the message names the line and column."""


@dataclass(frozen=True)
class Schedule:
    """Power cuts, one element per cut.

    Attributes
    ----------
    start_ns, end_ns : numpy.ndarray of int64
        Cut start (inclusive) and end (exclusive), nanoseconds since the epoch, UTC.
    zone : numpy.ndarray of str
        Zone of each cut; all ``""`` when the schedule is not zoned.
    zoned : bool
        Whether cuts carry zones (a ``zone`` column); an unzoned schedule applies to all plants.
    source : str
        File name or scenario description, for messages.
    """

    start_ns: np.ndarray
    end_ns: np.ndarray
    zone: np.ndarray
    zoned: bool
    source: str

    def __len__(self) -> int:
        return int(self.start_ns.shape[0])

    @property
    def zones(self) -> tuple[str, ...]:
        """The distinct zones, sorted (``("",)`` for an unzoned schedule with cuts)."""
        return tuple(sorted(set(self.zone.tolist())))

    @property
    def hours(self) -> float:
        """Total cut duration summed over cuts (and zones). [h]"""
        return float((self.end_ns - self.start_ns).sum() / _NS_PER_H)

    def to_frame(self, timezone: str = "Asia/Tehran") -> pd.DataFrame:
        """The cuts as ``start``, ``end`` (ISO 8601 in ``timezone``, with offset) and ``zone``."""

        def iso(ns: np.ndarray) -> list[str]:
            t = pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize("UTC")
            return [x.isoformat(timespec="minutes") for x in t.tz_convert(timezone)]

        frame = pd.DataFrame({"start": iso(self.start_ns), "end": iso(self.end_ns)})
        if self.zoned:
            frame["zone"] = self.zone
        return frame

    def write_csv(self, path: str | Path, timezone: str = "Asia/Tehran") -> Path:
        """Write the schedule in the file format :func:`read_schedule` reads (atomically)."""
        with atomic_path(path) as tmp:
            self.to_frame(timezone).to_csv(tmp, index=False)
        return Path(path)


# --------------------------------------------------------------------------- reading


def read_schedule(path: str | Path) -> Schedule:
    """Read and check an outage schedule CSV file.

    Parameters
    ----------
    path : str or pathlib.Path
        UTF-8 CSV (a byte-order mark is accepted) with a header line naming ``start``, ``end``
        and optionally ``zone``; other columns are ignored.

    Returns
    -------
    Schedule

    Raises
    ------
    ScheduleFileError
        Missing or unreadable file, or a row breaking the contract (the message names the line).
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ScheduleFileError(f"schedule file not found: {p}") from None
    except IsADirectoryError:
        raise ScheduleFileError(f"schedule file is a directory, not a CSV file: {p}") from None
    except OSError as exc:
        raise ScheduleFileError(f"cannot read schedule file {p}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScheduleFileError(f"{p.name} line {line}: not UTF-8 text") from None
    return parse_schedule(text, source=p.name)


def _parse_time(value: str) -> datetime | str:
    """An aware datetime, or the reason the text is not one."""
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return f"{value!r} is not an ISO 8601 time (e.g. 2025-07-01T14:00+03:30)"
    if t.tzinfo is None or t.utcoffset() is None:
        return f"{value!r} has no UTC offset (write e.g. {value}+03:30)"
    return t


def parse_schedule(text: str, source: str = "schedule") -> Schedule:
    """Check schedule CSV text (see :func:`read_schedule`)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        parsed = [(reader.line_num, [c.strip() for c in row]) for row in reader]
    except csv.Error as exc:
        raise ScheduleFileError(f"{source} line {reader.line_num}: not valid CSV ({exc})") from None
    rows = [(n, r) for n, r in parsed if r and any(r) and not r[0].startswith("#")]
    if not rows:
        raise ScheduleFileError(f"{source}: empty file (expected a header line start,end[,zone])")
    header_line, header = rows[0]
    missing = [c for c in ("start", "end") if c not in header]
    if missing:
        raise ScheduleFileError(
            f"{source} line {header_line}: missing column(s) "
            f"{', '.join(missing)} (expected start,end[,zone])"
        )
    if len(set(header)) != len(header):
        raise ScheduleFileError(f"{source} line {header_line}: a column name appears twice")
    if len(rows) == 1:
        raise ScheduleFileError(f"{source}: no cuts (the file has a header but no rows)")
    i_start, i_end = header.index("start"), header.index("end")
    zoned = "zone" in header
    i_zone = header.index("zone") if zoned else -1

    problems: list[str] = []
    lines, starts, ends, zones = [], [], [], []
    for line, row in rows[1:]:
        if len(row) != len(header):
            problems.append(
                f"{source} line {line}: {len(row)} fields, the header has {len(header)}"
            )
            continue
        start, end = _parse_time(row[i_start]), _parse_time(row[i_end])
        zone = row[i_zone] if zoned else ""
        if isinstance(start, str):
            problems.append(f"{source} line {line}, column start: {start}")
        if isinstance(end, str):
            problems.append(f"{source} line {line}, column end: {end}")
        if zoned and not _LABEL_RE.fullmatch(zone):
            why = (
                "is empty (leave the zone column out for cuts that apply to every plant)"
                if zone == ""
                else "has control characters, quotes or backslashes, or is too long"
            )
            problems.append(f"{source} line {line}, column zone: {zone!r} {why}")
        if isinstance(start, str) or isinstance(end, str):
            continue
        if end <= start:
            problems.append(
                f"{source} line {line}: end {row[i_end]} is not after start {row[i_start]}"
            )
            continue
        lines.append(line)
        starts.append(_epoch_ns(start))
        ends.append(_epoch_ns(end))
        zones.append(zone)
    if not problems:
        problems.extend(
            _overlaps(
                source,
                np.array(lines),
                np.array(starts, dtype=np.int64),
                np.array(ends, dtype=np.int64),
                np.array(zones, dtype=object),
            )
        )
    if problems:
        more = len(problems) - 1
        raise ScheduleFileError(
            problems[0] + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")
        )
    order = np.lexsort((np.array(starts), np.array(zones, dtype=object)))
    return Schedule(
        np.array(starts, dtype=np.int64)[order],
        np.array(ends, dtype=np.int64)[order],
        np.array(zones, dtype=object)[order],
        zoned,
        source,
    )


def _epoch_ns(t: datetime) -> int:
    delta = t - datetime.fromisoformat("1970-01-01T00:00+00:00")
    return (delta // timedelta(microseconds=1)) * 1000


def _overlaps(
    source: str, lines: np.ndarray, starts: np.ndarray, ends: np.ndarray, zones: np.ndarray
) -> list[str]:
    """Messages for cuts overlapping an earlier-starting cut of the same zone."""
    order = np.lexsort((starts, zones))
    z, s, e, n = zones[order], starts[order], ends[order], lines[order]
    same = z[1:] == z[:-1]
    # The running maximum of ends within a zone catches a long cut covering several later ones.
    out = []
    run_end, run_line = e[0] if len(e) else 0, n[0] if len(n) else 0
    for k in range(1, len(s)):
        if not same[k - 1]:
            run_end, run_line = e[k], n[k]
            continue
        if s[k] < run_end:
            a, b = sorted((int(run_line), int(n[k])))
            where = f" in zone {z[k]!r}" if z[k] else ""
            out.append(f"{source} line {b}: the cut overlaps the cut on line {a}{where}")
        if e[k] > run_end:
            run_end, run_line = e[k], n[k]
    return out


# --------------------------------------------------------------------------- scenarios


def scenario_schedule(
    kind: str,
    *,
    year: int,
    zones: int = 4,
    seed: int = 0,
    months: Sequence[int] | None = None,
    timezone: str = "Asia/Tehran",
    two_block_share: float = 0.9,
) -> Schedule:
    """A rotating 2-hour-block schedule over ``zones`` groups ``G1`` … ``GN``.

    Parameters
    ----------
    kind : {'summer', 'winter'}
        Summer: 1–2 blocks a day per group between 08:00 and 24:00; winter: one daytime block
        between 09:00 and 17:00 (see the module docstring).
    year : int
        Gregorian year of the cut dates (local dates in ``timezone``).
    zones : int, default 4
        Number of zone groups (1–1000).
    seed : int, default 0
        Seed of the random parts: the rotation's starting slot and, in summer, the days a group
        gets only one block.
    months : sequence of int, optional
        Gregorian months (1–12) with cuts. Default: June–September (summer), December–February
        (winter).
    timezone : str, default 'Asia/Tehran'
        Zone of the local clock the blocks are announced in. [IANA name]
    two_block_share : float, default 0.9
        Summer only: the share of days on which a group gets its second block (0–1); the mean
        cut time is ``2 × (1 + two_block_share)`` h a day.

    Returns
    -------
    Schedule
    """
    if kind not in SCENARIOS:
        raise InputError(f"scenario must be one of {', '.join(SCENARIOS)}, not {kind!r}")
    if not 1 <= int(zones) <= 1000:
        raise InputError(f"zones must be between 1 and 1000, not {zones}")
    if not 0.0 <= two_block_share <= 1.0:
        raise InputError(f"two_block_share must lie in [0, 1], not {two_block_share}")
    default_months, first_hour, n_slots, n_blocks = SCENARIOS[kind]
    months = tuple(default_months if months is None else months)
    if not months or any(not 1 <= int(m) <= 12 for m in months):
        raise InputError(f"months must be numbers 1–12, not {list(months)}")
    if not 1900 <= int(year) <= 2200:
        raise InputError(f"year {year} is out of range")
    rng = np.random.default_rng(seed)
    days = pd.date_range(f"{int(year)}-01-01", f"{int(year)}-12-31", freq="D")
    days = days[np.isin(days.month, months)]
    n_days, n_groups = len(days), int(zones)
    phase = int(rng.integers(n_slots))
    group = np.arange(n_groups)
    # Group g's first slot on day d: spread evenly over the slots, moving one slot a day.
    first = (
        phase + (group[None, :] * n_slots) // n_groups + np.arange(n_days)[:, None]
    ) % n_slots  # (n_days, n_groups)
    slots = [first]
    keep = [np.ones((n_days, n_groups), dtype=bool)]
    if n_blocks == 2:
        slots.append((first + n_slots // 2) % n_slots)  # 8 h after (or before) the first
        keep.append(rng.random((n_days, n_groups)) < two_block_share)
    day_ns = days.to_numpy("datetime64[ns]").astype(np.int64)
    start_local, zone = [], []
    for slot, k in zip(slots, keep, strict=True):
        d, g = np.nonzero(k)
        start_local.append(day_ns[d] + (first_hour + BLOCK_HOURS * slot[d, g]) * _NS_PER_H)
        zone.append(g)
    local = np.concatenate(start_local)
    groups = np.concatenate(zone)
    start = (
        pd.DatetimeIndex(local.astype("datetime64[ns]"))
        .tz_localize(timezone, ambiguous=False, nonexistent="shift_forward")
        .tz_convert("UTC")
        .tz_localize(None)
        .to_numpy("datetime64[ns]")
        .astype(np.int64)
    )
    names = np.array([f"G{g + 1}" for g in range(n_groups)], dtype=object)
    order = np.lexsort((start, groups))
    month_text = ",".join(str(int(m)) for m in months)
    return Schedule(
        start[order],
        start[order] + BLOCK_HOURS * _NS_PER_H,
        names[groups[order]],
        True,
        f"{kind} scenario {year} (months {month_text}, {n_groups} zone groups, seed {seed})",
    )


def scenario_year(
    year: int,
    *,
    zones: int = 4,
    seed: int = 0,
    timezone: str = "Asia/Tehran",
    two_block_share: float = 0.9,
) -> Schedule:
    """A whole year of scenario cuts: the summer and the winter scenario in one schedule.

    Each season is :func:`scenario_schedule` with the same arguments and its default months
    (June–September, December–February); spring and autumn have no cuts.

    Parameters
    ----------
    year : int
        Gregorian year of the cut dates (local dates in ``timezone``).
    zones : int, default 4
        Number of zone groups ``G1`` … ``GN``.
    seed : int, default 0
        Seed of both seasons (as ``--scenario summer --seed S`` and ``--scenario winter --seed S``).
    timezone : str, default 'Asia/Tehran'
        Zone of the local clock the blocks are announced in. [IANA name]
    two_block_share : float, default 0.9
        Summer's share of days with a second block. [0–1]

    Returns
    -------
    Schedule
        Cuts sorted by zone, then start (as :func:`scenario_schedule`).
    """
    parts = [
        scenario_schedule(
            kind,
            year=year,
            zones=zones,
            seed=seed,
            timezone=timezone,
            two_block_share=two_block_share,
        )
        for kind in ("summer", "winter")
    ]
    start = np.concatenate([p.start_ns for p in parts])
    end = np.concatenate([p.end_ns for p in parts])
    zone = np.concatenate([p.zone for p in parts])
    order = np.lexsort((start, zone))
    return Schedule(
        start[order],
        end[order],
        zone[order],
        True,
        f"summer and winter scenarios {year} ({int(zones)} zone groups, seed {seed})",
    )


def assign_groups(
    outage_zone: Sequence[str], plant_id: Sequence[str], groups: Sequence[str]
) -> np.ndarray:
    """Scenario group of each plant.

    A plant whose ``outage_zone`` is one of ``groups`` gets that group; any other plant gets
    ``groups[crc32(outage_zone or plant_id) % len(groups)]``, stable across runs and machines,
    so the plants of one zone share their cuts.
    """
    names = list(groups)
    known = set(names)
    out = np.empty(len(plant_id), dtype=object)
    for i, (zone, pid) in enumerate(zip(outage_zone, plant_id, strict=True)):
        zone = "" if zone is None or (isinstance(zone, float) and np.isnan(zone)) else str(zone)
        if zone in known:
            out[i] = zone
        else:
            out[i] = names[zlib.crc32((zone or str(pid)).encode()) % len(names)]
    return out


# --------------------------------------------------------------------------- hours


@dataclass(frozen=True)
class CutFractions:
    """A schedule on the simulation's time axis.

    Attributes
    ----------
    zones : tuple of str
        Row names of ``fraction`` (``("",)`` for an unzoned schedule).
    fraction : numpy.ndarray
        (n_zones, n_time) share of each interval during which the grid is down. [0–1]
    start_hour : numpy.ndarray
        (n_zones, n_time) int8: local hour (0–23) at which the cut covering the interval began;
        -1 where there is no cut.
    cuts_outside : int
        Cuts lying wholly or partly outside the simulated period or in a gap of it (29 February
        of a typical year moved into a leap year); their outside part is left out.
    """

    zones: tuple[str, ...]
    fraction: np.ndarray
    start_hour: np.ndarray
    cuts_outside: int

    @property
    def hours(self) -> np.ndarray:
        """Cut hours of each zone within the period. [h]"""
        return self.fraction.sum(axis=1)


def cut_fractions(
    schedule: Schedule,
    labels: pd.DatetimeIndex,
    step_hours: float = 1.0,
    timezone: str = "Asia/Tehran",
) -> CutFractions:
    """Map cuts onto intervals labelled at their end: a cut covering part of an interval counts
    that part.

    Parameters
    ----------
    schedule : Schedule
    labels : pandas.DatetimeIndex
        tz-aware end-of-interval labels, regular, increasing.
    step_hours : float
        Interval length. [h]
    timezone : str
        Zone of the cut-start hours. [IANA name]

    Returns
    -------
    CutFractions
    """
    ends = labels.tz_convert("UTC").tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64)
    step_ns = round(step_hours * _NS_PER_H)
    begins = ends - step_ns
    zones = schedule.zones or ("",)
    z_of = {z: i for i, z in enumerate(zones)}
    fraction = np.zeros((len(zones), len(ends)))
    start_hour = np.full((len(zones), len(ends)), -1, dtype=np.int8)
    if len(schedule) == 0 or len(ends) == 0:
        return CutFractions(zones, fraction, start_hour, len(schedule))
    s, e = schedule.start_ns, schedule.end_ns
    zi = np.array([z_of[z] for z in schedule.zone], dtype=np.int64)
    first = np.searchsorted(ends, s, side="right")  # first interval ending after the start
    stop = np.searchsorted(begins, e, side="left")  # intervals beginning before the end
    count = np.maximum(stop - first, 0)
    cut = np.repeat(np.arange(len(s)), count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    t = np.repeat(first, count) + offset
    overlap = np.minimum(e[cut], ends[t]) - np.maximum(s[cut], begins[t])
    np.add.at(fraction, (zi[cut], t), overlap / step_ns)
    # Wholly or partly outside the period, or on a day the period lacks (29 February of a
    # typical year moved into a leap year).
    covered = np.bincount(cut, weights=overlap.astype(float), minlength=len(s))
    outside = int((covered < (e - s) - 1e3).sum())
    np.minimum(fraction, 1.0, out=fraction)  # cuts of a zone never overlap: only rounding
    hour = (
        pd.DatetimeIndex(s.astype("datetime64[ns]"))
        .tz_localize("UTC")
        .tz_convert(timezone)
        .hour.to_numpy()
        .astype(np.int8)
    )
    start_hour[zi[cut], t] = hour[cut]
    return CutFractions(zones, fraction, start_hour, outside)


def plant_zone_index(
    cuts: CutFractions | Schedule, outage_zone: Sequence[str] | np.ndarray
) -> np.ndarray:
    """Row of ``cuts.fraction`` for each plant, or -1 for a plant without cuts.

    An unzoned schedule applies to all plants; otherwise a plant takes the zone equal to its
    ``outage_zone`` and has no cuts when that is empty or not in the schedule.
    """
    zones = cuts.zones if isinstance(cuts, CutFractions) else (cuts.zones or ("",))
    if zones == ("",):
        return np.zeros(len(outage_zone), dtype=np.int64)
    z_of = {z: i for i, z in enumerate(zones)}
    return np.array(
        [z_of.get("" if z is None else str(z), -1) for z in outage_zone], dtype=np.int64
    )
