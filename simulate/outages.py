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
``GN``. The named calendars are :data:`SCENARIOS`, each with its sources and assumptions:
``summer-2025`` (10 May–5 Sep 2025: a day block 09–17 h and, on most days, an unannounced
early-evening block 17–21 h; no cuts 22–08 h) and ``winter-2024`` (10 Nov 2024–28 Feb 2025: one
block 09–17 h) as they happened, and the generic rotations of before:

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
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from telemetry.errors import InputError
from telemetry.fileio import atomic_path

__all__ = [
    "DEFAULT_EVENING_HOURS",
    "SCENARIOS",
    "SCENARIO_YEAR",
    "CutFractions",
    "CutScenario",
    "CutSource",
    "Schedule",
    "ScheduleFileError",
    "assign_groups",
    "cut_fractions",
    "parse_schedule",
    "plant_zone_index",
    "read_schedule",
    "scenario_parameters",
    "scenario_schedule",
    "scenario_year",
]

_NS_PER_H = 3_600_000_000_000
_LABEL_RE = re.compile(r"^[^\x00-\x1f\x7f\"\\]{1,128}$")  # as the registry's outage_zone

SCENARIO_YEAR = 2025
"""Calendar year of the generated scenarios (``--scenario``) on a typical-year weather: the
calendar the scenarios describe (the 2025 summer cuts, the winter 2024–25 cuts), a common year.
``roshanai simulate`` and the emulator both take it from here."""

BLOCK_HOURS = 2
#: Evening window of a second block asked for on a scenario without one (``--evening-block``).
#: [h local, start inclusive, end exclusive] — a documented assumption, as summer-2025's.
DEFAULT_EVENING_HOURS = (17, 21)


@dataclass(frozen=True)
class CutSource:
    """A published report a scenario default rests on.

    Attributes
    ----------
    key : str
        Short name the scenario's ``basis`` refers to (``mehr-2025-09-23``).
    publisher, title, url : str
        Who published it, its headline (in its language) and address.
    date : str
        Publication date, ISO 8601 (Gregorian; the Solar Hijri date is in ``says``).
    says : str
        What it says that the scenario uses, in English.
    """

    key: str
    publisher: str
    title: str
    url: str
    date: str
    says: str


@dataclass(frozen=True)
class CutScenario:
    """A named calendar of household cuts and the generator's parameters.

    Local times are in the command's time zone (Asia/Tehran). Hours are whole hours, windows
    ``(start, end)`` with the start inclusive and the end exclusive (``end`` may be 24).

    Attributes
    ----------
    name : str
        ``--scenario`` value.
    description : str
        One line for ``--help`` and messages.
    first_day, last_day : str or None
        First and last local day with cuts (ISO dates, both inclusive) as they happened; the
        generator takes them by month and day onto the simulated year (a season across New
        Year covers the year's start and its end). None: whole ``months``.
    months : tuple of int
        Gregorian months (1–12) with cuts (those the days touch, when they are given).
    blocks_per_day : int
        Most blocks a zone group gets a day (1 or 2).
    block_hours : int
        Length of a block. [h]
    day_hours : tuple of int
        Window of the (announced) daytime block. [h local]
    evening_hours : tuple of int or None
        Window of the second block; None: the second block (if any) falls in ``day_hours``,
        half the window after the first (the generic summer scenario). [h local]
    night_hours : tuple of int
        Hours without household cuts (may wrap past midnight, e.g. ``(22, 8)``). [h local]
    two_block_share : float
        Share of days on which a group gets its second block. [0–1]
    evening_announced : bool
        Whether the second block is announced (in the Bargh-e Man app); an unannounced one is
        written with ``announced`` = false in the schedule CSV.
    basis : dict
        Field name → the ``key`` of a source in ``sources``, or ``"assumption"``.
    sources : tuple of CutSource
    assumptions : tuple of str
        What the sources do not say and the scenario assumes.
    """

    name: str
    description: str
    first_day: str | None
    last_day: str | None
    months: tuple[int, ...]
    blocks_per_day: int
    block_hours: int
    day_hours: tuple[int, int]
    evening_hours: tuple[int, int] | None
    night_hours: tuple[int, int]
    two_block_share: float
    evening_announced: bool
    basis: dict[str, str] = field(default_factory=dict)
    sources: tuple[CutSource, ...] = ()
    assumptions: tuple[str, ...] = ()

    def source(self, name: str) -> str:
        """``publisher, date (url)`` of the source a field rests on, or ``assumption``."""
        key = self.basis.get(name, "assumption")
        for s in self.sources:
            if s.key == key:
                return f"{s.publisher}, {s.date} ({s.url})"
        return "assumption (documented in simulate/outages.py)"


_AFP_2025_05_07 = CutSource(
    "afp-2025-05-07",
    "AFP, via BSS (Bangladesh Sangbad Sangstha)",
    "Iran will seek to limit electricity outages in the residential sector to two hours per day",
    "https://b.bssnews.net/international/270781",
    "2025-05-07",
    "Reza Kafili (Tavanir) told Mehr: from Saturday (10 May 2025, 20 Ordibehesht 1404) "
    "residential outages will not exceed two hours unless an incident occurs; farms are cut "
    "between 11:00 and 16:00.",
)
_IRANINTL_2025_08_06 = CutSource(
    "iranintl-2025-08-06",
    "Iran International",
    "(report on the August 2025 heat closures and blackouts)",
    "https://beta.iranintl.com/en/202508061890",
    "2025-08-06",
    "Blackouts are often split into two two-hour intervals; only one is listed in the "
    "Bargh-e Man app, the second, often in the early evening, comes without warning; rolling "
    "blackouts since May; the energy ministry says planned household outages should not exceed "
    "two hours a day and be outside night-time hours.",
)
_TABNAK_2025_08_25 = CutSource(
    "tabnak-2025-08-25",
    "Tabnak (citing Fars)",
    "برق این مناطق تهران ۴ ساعته قطع می‌شود",
    "https://www.tabnak.ir/fa/news/1324571",
    "2025-08-25",
    "Energy minister Abbas Aliabadi: the pattern of cuts is 2 hours, no cuts at night, planned "
    "cuts in daytime hours; residents of Shahr-e Rey: cut twice a day, 4 hours in all, for "
    "months.",
)
_MEHR_2025_09_23 = CutSource(
    "mehr-2025-09-23",
    "Mehr News Agency",
    "توقف خاموشی‌ها در تمام کشور از امروز همزمان با شروع مدارس",
    "https://www.mehrnews.com/news/6599038",
    "2025-09-23",
    "1 Mehr 1404: Tavanir's CEO Mostafa Rajabi Mashhadi: household restrictions eased from "
    "the start of Shahrivar (23 Aug 2025) and there were no household cuts from mid-Shahrivar "
    "(about 6 Sep 2025) on; later household cuts were incidents.",
)
_ENTEKHAB_2024_11_09 = CutSource(
    "entekhab-2024-11-09",
    "Entekhab (citing Fars, from Tavanir); also Hirna (hirna.ir/news/14344), 20 Aban 1403",
    "احتمال آغاز خاموشی محدود در برخی استان‌ها از فردا / فعلاً ۲ ساعت در روز؛ "
    "بین ساعات ۹ صبح تا ۵ بعدازظهر",
    "https://hirna.ir/news/14344",
    "2024-11-09",
    "19 Aban 1403: per Tavanir, cuts in all urban and rural areas, for now 2 hours a day "
    "between 09:00 and 17:00, probably from tomorrow (20 Aban 1403, 10 Nov 2024); Tehran in "
    "24 zones; cause: mazut no longer burnt at three plants, fuel shortage.",
)
_IRANINTL_2024_11 = CutSource(
    "iranintl-2024-11",
    "Iran International",
    "Iran plans nationwide blackouts as winter energy crisis deepens",
    "https://beta.iranintl.com/en/202411070768",
    "2024-11-09",
    "Tehran media (Saturday): a nationwide blackout schedule, cuts planned from 9 a.m. to "
    "5 p.m. starting Sunday (10 Nov 2024), due to fuel shortages. (Date: the Saturday the "
    "article names; its address carries 2024-11-07.)",
)
_NCRI_2024_12_05 = CutSource(
    "ncri-2024-12-05",
    "NCRI (opposition; reports the ministry's announcement)",
    "Iran News: Planned Power Outages Begin Amid Massive Gas Reserves and Mounting Public Anger",
    "https://www.ncr-iran.org/en/news/economy/"
    "iran-news-planned-power-outages-begin-amid-massive-gas-reserves-and-mounting-public-anger/",
    "2024-12-05",
    "The Ministry of Energy announced scheduled outages from Monday 11 November 2024 (cold "
    "weather, household gas use, fuel limits for plants): two hours between 9 a.m. and 5 p.m., "
    "Tehran in 24 districts, schedules in the Bargh-e Man app.",
)

SCENARIOS: dict[str, CutScenario] = {
    s.name: s
    for s in (
        CutScenario(
            name="summer-2025",
            description="summer 2025 as it happened: 10 May–5 Sep, a 2-hour day block "
            "(09–17 h) and, most days, an unannounced 2-hour early-evening block (17–21 h)",
            first_day="2025-05-10",
            last_day="2025-09-05",
            months=(5, 6, 7, 8, 9),
            blocks_per_day=2,
            block_hours=2,
            day_hours=(9, 17),
            evening_hours=(17, 21),
            night_hours=(22, 8),
            two_block_share=0.9,
            evening_announced=False,
            basis={
                "first_day": "afp-2025-05-07",
                "last_day": "mehr-2025-09-23",
                "blocks_per_day": "iranintl-2025-08-06",
                "block_hours": "afp-2025-05-07",
                "evening_announced": "iranintl-2025-08-06",
                "night_hours": "tabnak-2025-08-25",
            },
            sources=(_AFP_2025_05_07, _IRANINTL_2025_08_06, _TABNAK_2025_08_25, _MEHR_2025_09_23),
            assumptions=(
                "day_hours 09–17: the sources say 'daytime hours', not the window; taken as the "
                "winter's announced 09:00–17:00",
                "evening_hours 17–21: the sources say 'early evening', not the hours",
                "night_hours 22–08: the sources say 'no cuts at night', not the hours",
                "two_block_share 0.9: the sources say 'often' / 'mostly' two blocks",
                "cuts at full strength to the last day: the easing from 1 Shahrivar "
                "(23 Aug 2025) is not modelled",
                "Tehran's own rotation began on 5 May 2025 and spring cuts began in Farvardin; "
                "the scenario starts at the national two-hour schedule",
            ),
        ),
        CutScenario(
            name="winter-2024",
            description="winter 2024–25 as it happened: 10 Nov–28 Feb (gas shortage), one "
            "announced 2-hour block a day between 09 and 17 h",
            first_day="2024-11-10",
            last_day="2025-02-28",
            months=(11, 12, 1, 2),
            blocks_per_day=1,
            block_hours=2,
            day_hours=(9, 17),
            evening_hours=None,
            night_hours=(17, 9),
            two_block_share=0.0,
            evening_announced=True,
            basis={
                "first_day": "entekhab-2024-11-09",
                "blocks_per_day": "entekhab-2024-11-09",
                "block_hours": "entekhab-2024-11-09",
                "day_hours": "entekhab-2024-11-09",
                "night_hours": "entekhab-2024-11-09",
            },
            sources=(_ENTEKHAB_2024_11_09, _IRANINTL_2024_11, _NCRI_2024_12_05),
            assumptions=(
                "last_day 2025-02-28: no source found for the end of the winter household "
                "schedule (cuts are reported in mid-February 2025)",
                "first_day 2024-11-10 (20 Aban 1403, Fars and Iran International); NCRI "
                "reports the ministry's start as Monday 11 November",
            ),
        ),
        CutScenario(
            name="summer",
            description="generic summer (the earlier default): Jun–Sep, 1–2 two-hour "
            "blocks a day, 8 h apart, between 08 and 24 h",
            first_day=None,
            last_day=None,
            months=(6, 7, 8, 9),
            blocks_per_day=2,
            block_hours=2,
            day_hours=(8, 24),
            evening_hours=None,
            night_hours=(0, 8),
            two_block_share=0.9,
            evening_announced=True,
            assumptions=("a generic rotation, not a calendar as it happened",),
        ),
        CutScenario(
            name="winter",
            description="generic winter (the earlier default): Dec–Feb, one two-hour "
            "block a day between 09 and 17 h",
            first_day=None,
            last_day=None,
            months=(12, 1, 2),
            blocks_per_day=1,
            block_hours=2,
            day_hours=(9, 17),
            evening_hours=None,
            night_hours=(17, 9),
            two_block_share=0.0,
            evening_announced=True,
            assumptions=("a generic rotation, not a calendar as it happened",),
        ),
    )
}
"""The named cut calendars of ``--scenario``: ``summer-2025`` and ``winter-2024`` as they
happened (with their sources), ``summer`` and ``winter`` the generic rotations of before."""


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
    announced : numpy.ndarray of bool, optional
        Whether each cut was announced beforehand (the schedule CSV's optional ``announced``
        column; a scenario's unannounced evening block); None when nothing says (all are taken
        as announced).
    """

    start_ns: np.ndarray
    end_ns: np.ndarray
    zone: np.ndarray
    zoned: bool
    source: str
    announced: np.ndarray | None = None

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

    @property
    def unannounced_hours(self) -> float:
        """Cut duration of the cuts not announced, summed over cuts (and zones). [h]"""
        if self.announced is None:
            return 0.0
        return float((self.end_ns - self.start_ns)[~self.announced].sum() / _NS_PER_H)

    def to_frame(self, timezone: str = "Asia/Tehran") -> pd.DataFrame:
        """The cuts as ``start``, ``end`` (ISO 8601 in ``timezone``, with offset), ``zone``
        and, when some cut was not announced, ``announced`` (``true``/``false``)."""

        def iso(ns: np.ndarray) -> list[str]:
            t = pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize("UTC")
            return [x.isoformat(timespec="minutes") for x in t.tz_convert(timezone)]

        frame = pd.DataFrame({"start": iso(self.start_ns), "end": iso(self.end_ns)})
        if self.zoned:
            frame["zone"] = self.zone
        if self.announced is not None and not self.announced.all():
            frame["announced"] = np.where(self.announced, "true", "false")
        return frame

    def on_plant_zones(
        self,
        outage_zone: Sequence[str],
        plant_id: Sequence[str],
        *,
        groups: Sequence[str] | None = None,
        source: str | None = None,
    ) -> tuple[Schedule, np.ndarray]:
        """This scenario's group cuts restated on the plants' own ``outage_zone`` names.

        A generated scenario cuts zone groups (``G1`` …); each plant joins a group by
        :func:`assign_groups`. The result has, for every distinct plant label, its group's cuts
        under that label, sorted by zone then start, so that the file :meth:`write_csv` writes
        can be given back as ``--schedule`` (or to ``roshanai triage``) and cut the same plants
        at the same hours. A plant without ``outage_zone`` is labelled with its group's name.

        Parameters
        ----------
        outage_zone, plant_id : sequence of str
            The fleet's columns (empty or missing ``outage_zone`` allowed).
        groups : sequence of str, optional
            The scenario's groups, as plants were put in them (default: this schedule's
            zones; give them all when some group has no cut here).
        source : str, optional
            The new schedule's description (default: this one's, "on the plants' outage
            zones").

        Returns
        -------
        (Schedule, numpy.ndarray)
            The relabelled schedule and each plant's label (object).
        """
        group_of = assign_groups(outage_zone, plant_id, self.zones if groups is None else groups)
        zones = [
            "" if z is None or (isinstance(z, float) and np.isnan(z)) else str(z)
            for z in outage_zone
        ]
        labels = np.array(
            [oz or str(g) for oz, g in zip(zones, group_of, strict=True)], dtype=object
        )
        label_group = dict(zip(labels.tolist(), group_of.tolist(), strict=True))
        said = np.ones(len(self), dtype=bool) if self.announced is None else self.announced
        starts, ends, names, flags = [], [], [], []
        for label in sorted(label_group):
            mine = self.zone == label_group[label]
            starts.append(self.start_ns[mine])
            ends.append(self.end_ns[mine])
            names.append(np.full(int(mine.sum()), label, dtype=object))
            flags.append(said[mine])
        empty = np.zeros(0, dtype=np.int64)
        cat_s = np.concatenate(starts) if starts else empty
        cat_z = np.concatenate(names) if names else np.zeros(0, dtype=object)
        order = np.lexsort((cat_s, cat_z)) if len(cat_s) else empty
        all_said = np.concatenate(flags)[order] if flags else np.zeros(0, dtype=bool)
        relabelled = Schedule(
            cat_s[order],
            (np.concatenate(ends) if ends else empty)[order],
            cat_z[order],
            True,
            source or f"{self.source} on the plants' outage zones",
            None if all_said.all() else all_said,
        )
        return relabelled, labels

    def write_csv(self, path: str | Path, timezone: str = "Asia/Tehran") -> Path:
        """Write the schedule in the file format :func:`read_schedule` reads (atomically)."""
        with atomic_path(path) as tmp:
            self.to_frame(timezone).to_csv(tmp, index=False)
        return Path(path)


# --------------------------------------------------------------------------- reading


def read_schedule(path: str | Path, *, allow_empty: bool = False) -> Schedule:
    """Read and check an outage schedule CSV file.

    Parameters
    ----------
    path : str or pathlib.Path
        UTF-8 CSV (a byte-order mark is accepted) with a header line naming ``start``, ``end``
        and optionally ``zone`` and ``announced`` (``true``/``false``, also ``1``/``0``,
        ``yes``/``no``; empty is true); other columns are ignored.
    allow_empty : bool
        Take a header without rows as "no cuts" (triage of a period without cuts, the file
        ``roshanai emulate --offline --cuts none`` writes) instead of refusing it (a
        simulation given an empty schedule is more likely a mistake).

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
    return parse_schedule(text, source=p.name, allow_empty=allow_empty)


def _parse_time(value: str) -> datetime | str:
    """An aware datetime, or the reason the text is not one."""
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return f"{value!r} is not an ISO 8601 time (e.g. 2025-07-01T14:00+03:30)"
    if t.tzinfo is None or t.utcoffset() is None:
        return f"{value!r} has no UTC offset (write e.g. {value}+03:30)"
    return t


def parse_schedule(text: str, source: str = "schedule", *, allow_empty: bool = False) -> Schedule:
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
    if len(rows) == 1 and not allow_empty:
        raise ScheduleFileError(f"{source}: no cuts (the file has a header but no rows)")
    i_start, i_end = header.index("start"), header.index("end")
    zoned = "zone" in header
    i_zone = header.index("zone") if zoned else -1
    i_announced = header.index("announced") if "announced" in header else -1

    problems: list[str] = []
    lines, starts, ends, zones, announced = [], [], [], [], []
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
        said = True
        if i_announced >= 0:
            flag = _ANNOUNCED.get(row[i_announced].lower())
            if flag is None:
                problems.append(
                    f"{source} line {line}, column announced: {row[i_announced]!r} is not "
                    f"true or false"
                )
            else:
                said = flag
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
        announced.append(said)
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
        np.array(announced, dtype=bool)[order] if i_announced >= 0 else None,
    )


_ANNOUNCED = {
    "true": True,
    "1": True,
    "yes": True,
    "": True,
    "false": False,
    "0": False,
    "no": False,
}


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


def scenario_parameters(
    kind: str,
    *,
    months: Sequence[int] | None = None,
    blocks_per_day: int | None = None,
    day_hours: tuple[int, int] | None = None,
    evening_block: bool | None = None,
    evening_hours: tuple[int, int] | None = None,
    two_block_share: float | None = None,
) -> CutScenario:
    """A named scenario with the generator's parameters changed, checked.

    Parameters
    ----------
    kind : str
        A name in :data:`SCENARIOS`.
    months : sequence of int, optional
        Gregorian months (1–12) with cuts, whole months (replaces the scenario's days).
    blocks_per_day : int, optional
        Most blocks a day per group: 1 or 2.
    day_hours : tuple of int, optional
        Window of the daytime block ``(start, end)``, end exclusive. [h local]
    evening_block : bool, optional
        True: the second block falls in the evening window (the scenario's, or
        :data:`DEFAULT_EVENING_HOURS`); False: no second block.
    evening_hours : tuple of int, optional
        Window of the evening block (implies ``evening_block``). [h local]
    two_block_share : float, optional
        Share of days with the second block. [0–1]

    Returns
    -------
    CutScenario

    Raises
    ------
    telemetry.errors.InputError
        An unknown name, or parameters that break a rule: windows within 0–24 h, at least a
        block long, not overlapping each other nor the scenario's night (no household cuts at
        night).
    """
    if kind not in SCENARIOS:
        raise InputError(f"scenario must be one of {', '.join(SCENARIOS)}, not {kind!r}")
    s = SCENARIOS[kind]
    changes: dict[str, object] = {}
    if months is not None:
        months = tuple(int(m) for m in months)
        if not months or any(not 1 <= m <= 12 for m in months):
            raise InputError(f"months must be numbers 1–12, not {list(months)}")
        changes.update(months=months, first_day=None, last_day=None)
    if day_hours is not None:
        changes["day_hours"] = tuple(day_hours)
    if evening_hours is not None:
        if evening_block is False:
            raise InputError("an evening window and no evening block contradict each other")
        evening_block = True
        changes["evening_hours"] = tuple(evening_hours)
    if evening_block is True:
        changes.setdefault("evening_hours", s.evening_hours or DEFAULT_EVENING_HOURS)
        changes["blocks_per_day"] = 2
        if s.two_block_share == 0.0 and two_block_share is None:
            changes["two_block_share"] = 1.0
    elif evening_block is False:
        changes.update(evening_hours=None, blocks_per_day=1)
    if blocks_per_day is not None:
        if int(blocks_per_day) not in (1, 2):
            raise InputError(f"blocks per day must be 1 or 2, not {blocks_per_day}")
        changes["blocks_per_day"] = int(blocks_per_day)
        if blocks_per_day == 2 and s.two_block_share == 0.0 and two_block_share is None:
            changes["two_block_share"] = 1.0
    if two_block_share is not None:
        if not 0.0 <= two_block_share <= 1.0:
            raise InputError(f"two_block_share must lie in [0, 1], not {two_block_share}")
        changes["two_block_share"] = float(two_block_share)
    out = replace(s, **changes) if changes else s  # type: ignore[arg-type]
    _check_windows(out)
    return out


def _hours_of(window: tuple[int, int]) -> set[int]:
    a, b = window
    return set(range(a, b)) if a < b else set(range(a, 24)) | set(range(0, b))


def _check_windows(s: CutScenario) -> None:
    windows = [("daytime", s.day_hours)]
    if s.blocks_per_day == 2 and s.evening_hours is not None:
        windows.append(("evening", s.evening_hours))
    night = _hours_of(s.night_hours)
    used: set[int] = set()
    for name, (a, b) in windows:
        if not (0 <= a < b <= 24):
            raise InputError(f"the {name} window {a}-{b} must be hours 0–24, start before end")
        # Both blocks of a scenario without an evening window share the daytime window.
        shared = name == "daytime" and s.blocks_per_day == 2 and s.evening_hours is None
        need = s.block_hours * (2 if shared else 1)
        if b - a < need:
            raise InputError(
                f"the {name} window {a}-{b} is shorter than the {need} h its blocks need"
            )
        hours = _hours_of((a, b))
        if hours & night:
            n0, n1 = s.night_hours
            raise InputError(
                f"the {name} window {a}-{b} reaches into the night {n0:02d}–{n1:02d} h, which "
                f"has no household cuts in scenario {s.name}"
            )
        if hours & used:
            raise InputError(f"the {name} window {a}-{b} overlaps the daytime window")
        used |= hours


def _cut_days(s: CutScenario, year: int) -> pd.DatetimeIndex:
    """Local days of ``year`` with cuts: the scenario's days by month and day, or its months."""
    days = pd.date_range(f"{int(year)}-01-01", f"{int(year)}-12-31", freq="D")
    if s.first_day is None or s.last_day is None:
        return days[np.isin(days.month, s.months)]
    first = pd.Timestamp(s.first_day)
    last = pd.Timestamp(s.last_day)
    md = days.month * 100 + days.day
    a, b = first.month * 100 + first.day, last.month * 100 + last.day
    keep = (md >= a) & (md <= b) if a <= b else (md >= a) | (md <= b)
    return days[keep]


def scenario_schedule(
    kind: str,
    *,
    year: int,
    zones: int = 4,
    seed: int = 0,
    months: Sequence[int] | None = None,
    timezone: str = "Asia/Tehran",
    two_block_share: float | None = None,
    blocks_per_day: int | None = None,
    day_hours: tuple[int, int] | None = None,
    evening_block: bool | None = None,
    evening_hours: tuple[int, int] | None = None,
) -> Schedule:
    """A rotating 2-hour-block schedule over ``zones`` groups ``G1`` … ``GN``.

    Each group's daytime block moves one slot later every day through the daytime window (the
    groups spread evenly over the slots); a second block, on a share ``two_block_share`` of the
    days, falls in the evening window and rotates the same way, or, for a scenario without
    one (generic ``summer``), half the daytime window after the first.

    Parameters
    ----------
    kind : str
        A name in :data:`SCENARIOS` (``summer-2025``, ``winter-2024``, ``summer``, ``winter``).
    year : int
        Gregorian year of the cut dates (local dates in ``timezone``); a scenario's days are
        taken by month and day onto it.
    zones : int, default 4
        Number of zone groups (1–1000).
    seed : int, default 0
        Seed of the random parts: the rotation's starting slots and the days a group gets only
        one block.
    months : sequence of int, optional
        Gregorian months (1–12) with cuts, whole months. Default: the scenario's days or months.
    timezone : str, default 'Asia/Tehran'
        Zone of the local clock the blocks are announced in. [IANA name]
    two_block_share : float, optional
        Share of days on which a group gets its second block (0–1; default the scenario's); the
        mean cut time is ``block_hours × (1 + two_block_share)`` a day. [0–1]
    blocks_per_day, day_hours, evening_block, evening_hours
        The generator's parameters (:func:`scenario_parameters`); default the scenario's.

    Returns
    -------
    Schedule
        Cuts sorted by zone, then start; ``announced`` is false on an unannounced evening block.
    """
    if not 1 <= int(zones) <= 1000:
        raise InputError(f"zones must be between 1 and 1000, not {zones}")
    s = scenario_parameters(
        kind,
        months=months,
        blocks_per_day=blocks_per_day,
        day_hours=day_hours,
        evening_block=evening_block,
        evening_hours=evening_hours,
        two_block_share=two_block_share,
    )
    if not 1900 <= int(year) <= 2200:
        raise InputError(f"year {year} is out of range")
    rng = np.random.default_rng(seed)
    days = _cut_days(s, year)
    n_days, n_groups = len(days), int(zones)
    h = s.block_hours
    first_hour, n_slots = s.day_hours[0], (s.day_hours[1] - s.day_hours[0]) // h
    phase = int(rng.integers(n_slots))
    group = np.arange(n_groups)

    def rotation(n: int, start: int) -> np.ndarray:
        # Group g's slot on day d: spread evenly over the slots, moving one slot a day.
        return (
            start + (group[None, :] * n) // n_groups + np.arange(n_days)[:, None]
        ) % n  # (n_days, n_groups)

    first = rotation(n_slots, phase)
    starts_h = [first_hour + h * first]
    keep = [np.ones((n_days, n_groups), dtype=bool)]
    said = [True]
    if s.blocks_per_day == 2:
        if s.evening_hours is None:
            starts_h.append(first_hour + h * ((first + n_slots // 2) % n_slots))
        else:
            e0, e1 = s.evening_hours
            n_evening = (e1 - e0) // h
            starts_h.append(e0 + h * rotation(n_evening, int(rng.integers(n_evening))))
        keep.append(rng.random((n_days, n_groups)) < s.two_block_share)
        said.append(s.evening_announced)
    day_ns = days.to_numpy("datetime64[ns]").astype(np.int64)
    start_local, zone, announced = [], [], []
    for hours, k, a in zip(starts_h, keep, said, strict=True):
        d, g = np.nonzero(k)
        start_local.append(day_ns[d] + hours[d, g].astype(np.int64) * _NS_PER_H)
        zone.append(g)
        announced.append(np.full(len(d), a, dtype=bool))
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
    said_all = np.concatenate(announced)[order]
    if s.first_day is not None:
        when = f"{s.first_day[5:]} to {s.last_day[5:] if s.last_day else ''}"
    else:
        when = "months " + ",".join(str(int(m)) for m in s.months)
    return Schedule(
        start[order],
        start[order] + h * _NS_PER_H,
        names[groups[order]],
        True,
        f"{kind} scenario {year} ({when}, {n_groups} zone groups, seed {seed})",
        None if said_all.all() else said_all,
    )


def scenario_year(
    year: int,
    *,
    zones: int = 4,
    seed: int = 0,
    timezone: str = "Asia/Tehran",
    two_block_share: float = 0.9,
    kinds: tuple[str, str] = ("summer", "winter"),
) -> Schedule:
    """A whole year of scenario cuts: a summer and a winter scenario in one schedule.

    Each season is :func:`scenario_schedule` with the same arguments and its default days or
    months (generic ``summer`` and ``winter``: June–September, December–February); the rest
    of the year has no cuts.

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
        The summer's share of days with a second block. [0–1]
    kinds : tuple of str, default ('summer', 'winter')
        The summer and the winter scenario (``("summer-2025", "winter-2024")`` for the
        calendars as they happened).

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
            two_block_share=two_block_share if SCENARIOS[kind].blocks_per_day == 2 else None,
        )
        for kind in kinds
    ]
    start = np.concatenate([p.start_ns for p in parts])
    end = np.concatenate([p.end_ns for p in parts])
    zone = np.concatenate([p.zone for p in parts])
    said = np.concatenate(
        [np.ones(len(p), dtype=bool) if p.announced is None else p.announced for p in parts]
    )
    order = np.lexsort((start, zone))
    return Schedule(
        start[order],
        end[order],
        zone[order],
        True,
        f"{' and '.join(kinds)} scenarios {year} ({int(zones)} zone groups, seed {seed})",
        None if said.all() else said[order],
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
