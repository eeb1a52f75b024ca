"""Injected faults with ground truth: what the emulators break, read from a file or drawn at rates.

Each :class:`Fault` is one finding's cause on one plant over ``[start, end)`` (UTC):

- ``offline`` — a dead gateway: nothing arrives; the plant goes on producing, so readings
  resume with the advanced counter when it ends;
- ``comms_loss`` — the gateway's uplink is down: its readings are buffered and arrive after
  the gap (``stored_at`` = ``end``); without an end they never arrive within the run;

What triage should call each (:func:`truth_finding`, the truth's ``finding``) follows issue 17's
definitions — *comms loss*: the energy counter advanced across the gap, or the gateway's batch
arrived later; *plant offline*: the neighbours report, the grid is up, nothing arrives. So a
dead gateway that comes back within the run is ``comms_loss`` (its counter ran on: the plant
produced, the link is the fault), and ``offline`` only while it has not come back by the run's
end; a comms loss whose batch never arrives within the run is ``offline`` (nothing tells it
from a plant that stopped). The fault's ``kind`` stays what was injected.
- ``inverter_fault`` — the inverter trips: AC 0 while the sun is up, ``alarm_code`` set, the
  counter flat;
- ``string_fault`` — a dead string: DC falls by ``severity`` (the dead input's share), taken
  from the plant's last DC input, and AC follows through the inverter (clipping included);
- ``soiling`` — dust: a DC loss growing by ``severity`` per day from ``start`` (at most all of
  it), reset to 0 at ``end`` (a cleaning or rain);
- ``shading`` — a fixed obstacle: a DC loss ``severity`` within the local ``hours`` of every day.

The fault file (CSV, ``#`` comments and blank lines skipped)::

    plant_id,kind,start,end,severity,hours,alarm_code
    THR-000001,string_fault,2025-07-03T10:00+03:30,,0.5,,
    THR-000002,shading,2025-07-01T00:00Z,,0.6,15-18,
    THR-000003,inverter_fault,2025-07-05T09:30+03:30,2025-07-06T12:00+03:30,1,,301

Times are ISO 8601 with a UTC offset; an empty ``end`` lasts to the end of the run. ``hours``
(shading only) is ``H0-H1``, whole local hours, ``H1`` exclusive. :func:`write_faults` writes
the same format (the truth file), with ``lost_kwh_per_day`` when given; :func:`read_faults`
reads it back.

:func:`random_faults` draws faults at :data:`DEFAULT_FAULT_RATES` (or given rates): each plant
gets at most one, so that every finding has one cause; fault times are whole half hours UTC.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from firmware_bridge.emulator import streams as rs
from telemetry.errors import InputError
from telemetry.registry import Fleet

__all__ = [
    "DEFAULT_FAULT_RATES",
    "FAULT_COLUMNS",
    "FAULT_KINDS",
    "TRIP_CODES",
    "Fault",
    "faults_frame",
    "parse_fault_rates",
    "parse_faults",
    "random_faults",
    "read_faults",
    "truth_finding",
    "write_faults",
]

FAULT_KINDS = ("offline", "comms_loss", "inverter_fault", "string_fault", "soiling", "shading")
"""Kinds of injected fault, named as the triage engine's findings."""

FAULT_COLUMNS = ("plant_id", "kind", "start", "end", "severity", "hours", "alarm_code")
"""Columns of the fault file, in order (``hours`` and ``alarm_code`` optional)."""

_TRUTH_COLUMNS = (
    "finding",
    "lost_kwh_per_day",
    "lost_kwh",
    "active_days",
)  # written, ignored on reading

TRIP_CODES = (101, 202, 301, 404)
"""Alarm codes of random inverter trips: grid overvoltage, isolation resistance,
over-temperature, DC arc (as the live emulator's :data:`~firmware_bridge.emulator.energy.
FAULT_CODES`, without the fan failure, which does not stop the inverter)."""

DEFAULT_FAULT_RATES: dict[str, float] = {
    "offline": 0.02,
    "comms_loss": 0.04,
    "inverter_fault": 0.02,
    "string_fault": 0.03,
    "soiling": 0.05,
    "shading": 0.03,
}
"""Share of plants given each fault over a run (each plant at most one; 19 % in all).

Every figure is an assumption chosen to exercise detection — enough faults of each kind in a
benchmark of 1,000 plants × 14 days (20–50 each) for a recall and a precision, few enough that
most plants are healthy peers. They are far above field rates over two weeks: inverters, the
component behind most failure tickets of PV fleets (Golnas, "PV System Reliability: An
Operator's Perspective", IEEE J. Photovoltaics 3(1), 2013), fail about once in several
inverter-years; comms losses are the most frequent (home internet and mobile links) and offline
gateways the next; soiling is given the largest share because Iran's dust makes it the
commonest slow loss. Severities (see :func:`random_faults`) are assumptions of the same kind.
"""

_PLANT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_HOURS_RE = re.compile(r"^\s*(\d{1,2})\s*-\s*(\d{1,2})\s*$")
_HALF_HOUR = pd.Timedelta(minutes=30)

# Random-stream numbers of fault drawing (distinct from streams.py's).
_S_KIND, _S_AT, _S_LEN, _S_SEV, _S_END, _S_HOURS, _S_CODE = 71, 72, 73, 74, 75, 76, 77


@dataclass(frozen=True)
class Fault:
    """One injected fault on one plant.

    Attributes
    ----------
    plant_id : str
    kind : str
        One of :data:`FAULT_KINDS` (``offline`` = a dead gateway: nothing arrives).
    start : pandas.Timestamp
        When it begins (tz-aware; held in UTC).
    end : pandas.Timestamp or None
        When it ends (exclusive; soiling: the cleaning, which resets it); None: to the end of
        the run.
    severity : float
        ``string_fault``: share of DC lost (the dead input's share, e.g. 0.5 of 2 strings)
        [0–1]; ``inverter_fault``, ``offline``, ``comms_loss``: 1.0; ``soiling``: loss rate
        [fraction/day]; ``shading``: loss within its hours [0–1].
    hours : tuple of int, optional
        ``shading``: local hours ``(start, end)``, end exclusive, it applies on every day. [h]
    alarm_code : int, optional
        ``inverter_fault``: the alarm the inverter reports (default 101).
    """

    plant_id: str
    kind: str
    start: pd.Timestamp
    end: pd.Timestamp | None
    severity: float
    hours: tuple[int, int] | None = None
    alarm_code: int | None = None

    def __post_init__(self) -> None:
        problem = _check(self)
        if problem:
            raise InputError(f"fault {self.kind} of {self.plant_id}: {problem}")

    def active_until(self, run_end: pd.Timestamp) -> pd.Timestamp:
        """End of the fault within a run ending at ``run_end`` (UTC)."""
        return run_end if self.end is None else min(self.end, run_end)


def _utc(value: Any, what: str) -> pd.Timestamp:
    t = pd.Timestamp(value)
    if t.tzinfo is None:
        raise InputError(f"{what} {value!r} needs a UTC offset or Z")
    return t.tz_convert("UTC")


def _check(f: Fault) -> str:
    """Why a fault is impossible ('' when fine); normalises its times to UTC."""
    if not isinstance(f.plant_id, str) or not _PLANT_ID_RE.fullmatch(f.plant_id):
        return f"plant_id {f.plant_id!r} is not letters, digits, - and _ (at most 64)"
    if f.kind not in FAULT_KINDS:
        return f"kind must be one of {', '.join(FAULT_KINDS)}"
    try:
        object.__setattr__(f, "start", _utc(f.start, "start"))
        if f.end is not None:
            object.__setattr__(f, "end", _utc(f.end, "end"))
    except (InputError, ValueError, TypeError) as exc:
        return str(exc)
    if f.end is not None and f.end <= f.start:
        return f"end {f.end.isoformat()} is not after start {f.start.isoformat()}"
    try:
        sev = float(f.severity)
    except (TypeError, ValueError):
        return f"severity {f.severity!r} is not a number"
    object.__setattr__(f, "severity", sev)
    if f.kind in ("offline", "comms_loss", "inverter_fault") and sev != 1.0:
        return f"severity must be 1 for {f.kind}, not {sev:g}"
    if f.kind in ("string_fault", "shading") and not 0.0 < sev <= 1.0:
        return f"severity (the share of DC lost) must be in (0, 1], not {sev:g}"
    if f.kind == "soiling" and not 0.0 < sev <= 1.0:
        return f"severity (the loss rate [fraction/day]) must be in (0, 1], not {sev:g}"
    if f.kind == "shading":
        if f.hours is None:
            return "shading needs hours H0-H1 (local)"
        h0, h1 = (int(h) for h in f.hours)
        if not 0 <= h0 < h1 <= 24:
            return f"hours {h0}-{h1} must be whole local hours 0–24, start before end"
        object.__setattr__(f, "hours", (h0, h1))
    elif f.hours is not None:
        return "hours apply to shading only"
    if f.kind == "inverter_fault":
        if f.alarm_code is not None and not 0 < int(f.alarm_code) < 2**31:
            return f"alarm_code must be a positive integer, not {f.alarm_code}"
    elif f.alarm_code is not None:
        return "alarm_code applies to inverter_fault only"
    return ""


def truth_finding(fault: Fault, run_end: pd.Timestamp | None = None) -> str:
    """The finding issue 17's definitions give an injected fault (see the module docstring).

    Parameters
    ----------
    fault : Fault
    run_end : pandas.Timestamp, optional
        End of the run (UTC); a fault ending at or after it lasts to the end.

    Returns
    -------
    str
        A gateway fault that ends within the run (readings resume with the counter showing the
        plant produced, or the batch arrives) is ``comms_loss``; one lasting to the run's end
        is ``offline``; every other kind is its own name.
    """
    if fault.kind in ("offline", "comms_loss"):
        ends = fault.end is not None and (run_end is None or fault.end < run_end)
        return "comms_loss" if ends else "offline"
    return fault.kind


# ---------------------------------------------------------------------------- the file


def _iso(t: pd.Timestamp | None) -> str:
    return "" if t is None else t.strftime("%Y-%m-%dT%H:%M:%SZ")


def faults_frame(
    faults: Iterable[Fault], lost_kwh_per_day: Mapping[Fault, float] | None = None
) -> pd.DataFrame:
    """Faults as a table: :data:`FAULT_COLUMNS` (times ISO 8601 UTC text, ``hours`` ``H0-H1``,
    empty where not set) and ``lost_kwh_per_day`` [kWh/day] when given."""
    rows = []
    for f in faults:
        row: dict[str, Any] = {
            "plant_id": f.plant_id,
            "kind": f.kind,
            "start": _iso(f.start),
            "end": _iso(f.end),
            "severity": f"{f.severity:.6g}",
            "hours": "" if f.hours is None else f"{f.hours[0]}-{f.hours[1]}",
            "alarm_code": "" if f.alarm_code is None else str(int(f.alarm_code)),
        }
        if lost_kwh_per_day is not None:
            lost = lost_kwh_per_day.get(f)
            row["lost_kwh_per_day"] = "" if lost is None else f"{lost:.4f}"
        rows.append(row)
    cols = list(FAULT_COLUMNS) + (["lost_kwh_per_day"] if lost_kwh_per_day is not None else [])
    return pd.DataFrame(rows, columns=cols)


def write_faults(
    faults: Iterable[Fault],
    path: str | Path,
    *,
    lost_kwh_per_day: Mapping[Fault, float] | None = None,
) -> Path:
    """Write faults as a fault file (the truth file), atomically.

    Parameters
    ----------
    faults : iterable of Fault
    path : str or pathlib.Path
    lost_kwh_per_day : mapping of Fault to float, optional
        The true mean daily energy each fault cost while active, written as the column
        ``lost_kwh_per_day`` (empty for faults it lacks). [kWh/day]

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from telemetry.fileio import atomic_path

    frame = faults_frame(faults, lost_kwh_per_day)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return Path(path)


def read_faults(path: str | Path) -> list[Fault]:
    """Read and check a fault file (see the module's docstring).

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    list of Fault
        In file order.

    Raises
    ------
    telemetry.errors.InputError
        An unreadable or malformed file: one line naming the line and the column.
    """
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read the fault file {p}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{p.name}: not UTF-8 text") from None
    return parse_faults(text, source=p.name)


def _parse_time(value: str) -> pd.Timestamp | str:
    """A time with offset, or why not."""
    text = value.strip()
    try:
        dt = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
    except ValueError:
        return f"{value!r} is not an ISO 8601 time"
    if dt.tzinfo is None:
        return f"{value!r} needs a UTC offset (+03:30) or Z"
    return pd.Timestamp(dt).tz_convert("UTC")


def parse_faults(text: str, source: str = "faults") -> list[Fault]:
    """Check fault-file text (see :func:`read_faults`); ``source`` names it in messages."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        parsed = [(reader.line_num, [c.strip() for c in row]) for row in reader]
    except csv.Error as exc:
        raise InputError(f"{source} line {reader.line_num}: not valid CSV ({exc})") from None
    rows = [(n, r) for n, r in parsed if r and any(r) and not r[0].startswith("#")]
    if not rows:
        raise InputError(f"{source}: empty file (expected a header {','.join(FAULT_COLUMNS)})")
    head_line, header = rows[0]
    missing = [c for c in FAULT_COLUMNS[:5] if c not in header]
    if missing:
        raise InputError(
            f"{source} line {head_line}: missing column(s) {', '.join(missing)} "
            f"(expected {','.join(FAULT_COLUMNS[:5])}[,hours][,alarm_code])"
        )
    unknown = [c for c in header if c not in FAULT_COLUMNS and c not in _TRUTH_COLUMNS]
    if unknown:
        raise InputError(f"{source} line {head_line}: unknown column {unknown[0]!r}")
    if len(set(header)) != len(header):
        raise InputError(f"{source} line {head_line}: a column name appears twice")
    col = {c: header.index(c) for c in header}
    out: list[Fault] = []
    lines: list[int] = []
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise InputError(
                f"{source} line {line}: {len(row)} fields, the header has {len(header)}"
            )

        def bad(column: str, why: str, line: int = line) -> InputError:
            return InputError(f"{source} line {line}, column {column}: {why}")

        cell = {c: row[i] for c, i in col.items()}
        pid, kind = cell["plant_id"], cell["kind"]
        if not _PLANT_ID_RE.fullmatch(pid):
            raise bad("plant_id", f"{pid!r} is not letters, digits, - and _ (at most 64)")
        if kind not in FAULT_KINDS:
            raise bad("kind", f"{kind!r} is not one of {', '.join(FAULT_KINDS)}")
        start = _parse_time(cell["start"])
        if isinstance(start, str):
            raise bad("start", start)
        end: pd.Timestamp | None = None
        if cell["end"]:
            parsed_end = _parse_time(cell["end"])
            if isinstance(parsed_end, str):
                raise bad("end", parsed_end)
            end = parsed_end
            if end <= start:
                raise bad("end", f"{cell['end']} is not after start {cell['start']}")
        try:
            severity = float(cell["severity"])
        except ValueError:
            raise bad("severity", f"{cell['severity']!r} is not a number") from None
        if not math.isfinite(severity):
            raise bad("severity", f"{cell['severity']!r} is not a finite number")
        hours: tuple[int, int] | None = None
        if cell.get("hours"):
            m = _HOURS_RE.fullmatch(cell["hours"])
            if m is None:
                raise bad("hours", f"{cell['hours']!r} is not H0-H1 (whole local hours)")
            hours = (int(m.group(1)), int(m.group(2)))
        code: int | None = None
        if cell.get("alarm_code"):
            try:
                code = int(cell["alarm_code"])
            except ValueError:
                raise bad("alarm_code", f"{cell['alarm_code']!r} is not an integer") from None
        try:
            fault = Fault(pid, kind, start, end, severity, hours, code)
        except InputError as exc:
            why = str(exc).split(": ", 1)[-1]
            column = next((c for c in ("hours", "alarm_code") if c in why), "severity")
            raise bad(column, why) from None
        for other, at in zip(out, lines, strict=True):
            if (
                other.plant_id == pid
                and other.kind == kind
                and (fault.end is None or other.start < fault.end)
                and (other.end is None or fault.start < other.end)
            ):
                raise bad("start", f"overlaps the {kind} of {pid} on line {at}")
        out.append(fault)
        lines.append(line)
    return out


def parse_fault_rates(text: str) -> dict[str, float]:
    """``offline=0.02,string_fault=0.03`` → rates; kinds left out are 0.

    Raises
    ------
    telemetry.errors.InputError
        An unknown kind, a rate outside [0, 1], or rates summing above 1.
    """
    rates = dict.fromkeys(FAULT_KINDS, 0.0)
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        kind, eq, value = part.partition("=")
        kind = kind.strip()
        if not eq:
            raise InputError(f"--fault-rates: {part!r} is not KIND=RATE")
        if kind not in FAULT_KINDS:
            raise InputError(f"--fault-rates: {kind!r} is not one of {', '.join(FAULT_KINDS)}")
        try:
            rate = float(value)
        except ValueError:
            raise InputError(f"--fault-rates: {value.strip()!r} is not a number") from None
        rates[kind] = rate
    _check_rates(rates, "--fault-rates")
    return rates


def _check_rates(rates: Mapping[str, float], what: str = "fault rates") -> None:
    for kind, rate in rates.items():
        if kind not in FAULT_KINDS:
            raise InputError(f"{what}: {kind!r} is not one of {', '.join(FAULT_KINDS)}")
        if not 0.0 <= float(rate) <= 1.0:
            raise InputError(f"{what}: the rate of {kind} must lie in [0, 1], not {rate}")
    total = sum(float(r) for r in rates.values())
    if total > 1.0 + 1e-12:
        raise InputError(f"{what}: the rates sum to {total:g}, more than 1 (one fault a plant)")


# ---------------------------------------------------------------------------- random faults


def _floor_half_hour(t: pd.Timestamp) -> pd.Timestamp:
    return t.floor("30min")


def random_faults(
    fleet: Fleet,
    start: Any,
    end: Any,
    rates: Mapping[str, float] | None = None,
    seed: int = 0,
    timezone: str = "Asia/Tehran",
) -> list[Fault]:
    """Faults drawn at ``rates`` over the run ``[start, end)``, deterministic for a seed.

    Each plant gets at most one fault, of kind k with probability ``rates[k]`` (a pure function
    of the seed and the plant id, so a plant's fault does not depend on the rest of the fleet).
    Times are whole half hours UTC (the live emulator's grid). What each kind draws (every range
    an assumption chosen to exercise detection):

    - ``offline``: starts in the first 80 % of the run, lasts 12 h – 4 days;
    - ``comms_loss``: starts in the first 90 %, lasts 2–24 h, then backfills;
    - ``inverter_fault``: starts between 08:00 and 15:00 local, lasts 2 h – 3 days, alarm one
      of :data:`TRIP_CODES`;
    - ``string_fault``: starts in the first 70 %, to the end of the run; severity 0.5 (one of
      two strings);
    - ``soiling``: from the run's start at 0.3–1.5 %/day, cleaned (reset) in the second half on
      half of the plants;
    - ``shading``: the whole run, 40–80 % loss over 2–3 morning (07–10 h) or afternoon
      (15–18 h) local hours.

    An end beyond the run's end becomes None (to the end of the run).

    Parameters
    ----------
    fleet : telemetry.registry.Fleet
    start, end : pandas.Timestamp or str
        The run, tz-aware (or ISO 8601 with offset).
    rates : mapping of str to float, optional
        Share of plants given each kind [0–1]; default :data:`DEFAULT_FAULT_RATES`. Kinds left
        out get none; the rates may sum to at most 1.
    seed : int
    timezone : str
        Local clock of the daytime and shading hours. [IANA name]

    Returns
    -------
    list of Fault
        In fleet order.
    """
    t0, t1 = _utc(start, "start"), _utc(end, "end")
    if t1 <= t0:
        raise InputError(f"the run's end {t1} is not after its start {t0}")
    rates = DEFAULT_FAULT_RATES if rates is None else dict(rates)
    _check_rates(rates)
    kinds = [k for k in FAULT_KINDS if rates.get(k, 0.0) > 0.0]
    edges = np.cumsum([float(rates[k]) for k in kinds])
    ids = fleet.plants["plant_id"].astype(str).tolist()
    key = np.array([rs.key_of(i) for i in ids], dtype=np.uint64)

    def u(stream: int) -> np.ndarray:
        return rs.uniform(seed, key, stream)

    pick = np.searchsorted(edges, u(_S_KIND), side="right")  # len(kinds): no fault
    at, length, sev, ends = u(_S_AT), u(_S_LEN), u(_S_SEV), u(_S_END)
    hrs, code = u(_S_HOURS), u(_S_CODE)
    span = t1 - t0
    out: list[Fault] = []
    for i in np.flatnonzero(pick < len(kinds)).tolist():
        kind = kinds[int(pick[i])]
        fault_end: pd.Timestamp | None
        hours: tuple[int, int] | None = None
        alarm: int | None = None
        severity = 1.0
        if kind == "offline":
            a = _floor_half_hour(t0 + span * 0.8 * at[i])
            fault_end = a + pd.Timedelta(hours=12 + 84 * length[i])
        elif kind == "comms_loss":
            a = _floor_half_hour(t0 + span * 0.9 * at[i])
            fault_end = a + pd.Timedelta(hours=2 + 22 * length[i])
        elif kind == "inverter_fault":
            a = _daytime(t0, t1, at[i], timezone)
            fault_end = a + pd.Timedelta(hours=2 + 70 * length[i])
            alarm = TRIP_CODES[int(code[i] * len(TRIP_CODES))]
        elif kind == "string_fault":
            a, fault_end, severity = _floor_half_hour(t0 + span * 0.7 * at[i]), None, 0.5
        elif kind == "soiling":
            a, severity = _floor_half_hour(t0), 0.003 + 0.012 * sev[i]
            fault_end = (
                _floor_half_hour(t0 + span * (0.5 + 0.45 * length[i])) if ends[i] < 0.5 else None
            )
        else:  # shading
            a, fault_end, severity = _floor_half_hour(t0), None, 0.4 + 0.4 * sev[i]
            width = 2 + int(length[i] * 2)
            h0 = 7 + int(hrs[i] * 2) if hrs[i] < 0.5 else 15 + int((hrs[i] - 0.5) * 2)
            hours = (h0, min(h0 + width, 24))
        a = max(a, _floor_half_hour(t0))
        if fault_end is not None:
            fault_end = max(_floor_half_hour(fault_end), a + _HALF_HOUR)
            if fault_end >= t1:
                fault_end = None
        if a >= t1:
            continue
        out.append(Fault(ids[i], kind, a, fault_end, round(severity, 6), hours, alarm))
    return out


def _daytime(t0: pd.Timestamp, t1: pd.Timestamp, x: float, timezone: str) -> pd.Timestamp:
    """A time between 08:00 and 15:00 local on a day of the run's first 80 % (``x`` in [0, 1))."""
    local0 = t0.tz_convert(timezone).normalize()
    n_days = max(1, int(np.ceil((t1 - t0) / pd.Timedelta(days=1) * 0.8)))
    slot = int(x * n_days * 14)  # 14 half hours from 08:00 to 15:00
    day, half = divmod(slot, 14)
    t = (local0 + pd.Timedelta(days=day)).tz_localize(None) + pd.Timedelta(hours=8 + half / 2)
    utc = t.tz_localize(timezone, nonexistent="shift_forward", ambiguous=False).tz_convert("UTC")
    return max(_floor_half_hour(utc), _floor_half_hour(t0))


def by_plant(faults: Sequence[Fault]) -> dict[str, list[Fault]]:
    """Faults grouped by plant id (file order kept)."""
    out: dict[str, list[Fault]] = {}
    for f in faults:
        out.setdefault(f.plant_id, []).append(f)
    return out
