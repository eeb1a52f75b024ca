"""Triage's edges: readings from InfluxDB, findings and expectations to InfluxDB, and CSV.

Readings are read with InfluxQL (``SELECT *`` on ``inverter``) through
:class:`telemetry.influx.InfluxStore`, a chunk of :data:`CHUNK_PLANTS` plants and
:data:`CHUNK_DAYS` days per query, each chunk binned into hours at once
(:func:`triage.hourly.bin_hourly`), so 100,000 plants never sit in memory as raw readings.
InfluxDB keeps no arrival time, so the readings read here have no ``stored_at`` (comms loss is
then told by the energy counter alone).

Findings go to ``plant_finding`` with the worklist carried on (:mod:`triage.worklist`): the
open ones are read back first (:func:`read_open_findings`, the last point of each plant and
kind), found ones are written ``open=true``, closed ones rewritten ``open=false`` with
``closed_at``. The expectation each plant was judged against goes to ``plant_expected``
(:func:`expected_lines`), generated a chunk of plants at a time.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from telemetry.influx import InfluxStore
from telemetry.lineprotocol import format_point
from telemetry.registry import Fleet
from telemetry.schema import (
    MEASUREMENT_INVERTER,
    MEASUREMENT_PLANT_EXPECTED,
    MEASUREMENT_PLANT_FINDING,
    TAG_FINDING,
    TAG_PLANT_ID,
)
from triage.expected import Expectation
from triage.findings import FINDING_COLUMNS
from triage.hourly import HourlyReadings, bin_hourly, hour_labels
from triage.worklist import OPEN_COLUMNS

__all__ = [
    "CHUNK_DAYS",
    "CHUNK_PLANTS",
    "EXPECTED_CHUNK_PLANTS",
    "closing_lines",
    "expected_lines",
    "finding_lines",
    "read_hourly",
    "read_open_findings",
    "read_readings",
    "write_expected",
    "write_findings",
    "write_findings_csv",
]

#: Plants per query.
CHUNK_PLANTS = 100
#: Days per query.
CHUNK_DAYS = 7
#: Plants whose ``plant_expected`` lines are generated at once (1,000 plants × 3 days of
#: daylight hours ≈ 40,000 lines, a few MB).
EXPECTED_CHUNK_PLANTS = 1000


def _literal(text: str) -> str:
    """An InfluxQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _iso(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def read_readings(
    store: InfluxStore,
    plant_ids: Sequence[str],
    since: pd.Timestamp,
    until: pd.Timestamp,
) -> pd.DataFrame:
    """The ``inverter`` readings of some plants in ``[since, until)``, one query.

    Returns
    -------
    pandas.DataFrame
        ``time`` (UTC), ``plant_id``, the fields stored (``ac_power_w``, ``energy_total_wh``,
        ``dc1_power_w``, …, ``alarm_code``) and ``inverter`` where the series has it.
    """
    where = " OR ".join(f"{TAG_PLANT_ID} = {_literal(p)}" for p in plant_ids)
    q = (
        f'SELECT * FROM "{MEASUREMENT_INVERTER}" WHERE ({where}) '
        f"AND time >= '{_iso(since)}' AND time < '{_iso(until)}'"
    )
    frames = []
    for series in store.query(q, epoch="ns"):
        frame = pd.DataFrame(series.get("values", []), columns=series["columns"])
        for tag, value in (series.get("tags") or {}).items():
            frame[tag] = value
        frames.append(frame)
    if not frames:
        return pd.DataFrame(
            {"time": pd.DatetimeIndex([], tz="UTC"), "plant_id": [], "ac_power_w": []}
        )
    out = pd.concat(frames, ignore_index=True)
    out["time"] = pd.to_datetime(out["time"].astype("int64"), unit="ns", utc=True)
    return out


def _chunks(n: int, size: int) -> Iterator[tuple[int, int]]:
    for a in range(0, n, size):
        yield a, min(n, a + size)


def read_hourly(
    store: InfluxStore,
    fleet: Fleet,
    since: pd.Timestamp,
    until: pd.Timestamp,
    *,
    chunk_plants: int = CHUNK_PLANTS,
    chunk_days: int = CHUNK_DAYS,
    progress: Callable[[int, int], None] | None = None,
) -> HourlyReadings:
    """The fleet's readings of ``[since, until)`` from InfluxDB, binned into hours.

    Parameters
    ----------
    store : telemetry.influx.InfluxStore
    fleet : telemetry.registry.Fleet
    since, until : pandas.Timestamp
        tz-aware.
    chunk_plants, chunk_days : int
        Size of one query.
    progress : callable, optional
        ``progress(queries_done, queries_total)``.

    Returns
    -------
    HourlyReadings
    """
    labels = hour_labels(since, until)
    ids = fleet.plant_ids
    start = labels[0] - pd.Timedelta(hours=1)
    bounds = list(pd.date_range(start, labels[-1], freq=f"{chunk_days}D"))
    if bounds[-1] < labels[-1]:
        bounds.append(labels[-1])
    windows = list(itertools.pairwise(bounds))
    total = len(range(0, len(ids), chunk_plants)) * len(windows)
    done = 0
    parts: list[HourlyReadings] = []
    for a, b in _chunks(len(ids), chunk_plants):
        frames = []
        for lo, hi in windows:
            frames.append(read_readings(store, ids[a:b], lo, hi))
            done += 1
            if progress is not None:
                progress(done, total)
        readings = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
        parts.append(bin_hourly(readings, ids[a:b], labels))
    return _stack(parts, labels)


def _stack(parts: list[HourlyReadings], labels: pd.DatetimeIndex) -> HourlyReadings:
    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts], axis=0)

    n_dc = max((p.dc_power_w.shape[1] for p in parts if p.dc_power_w is not None), default=0)
    dc = None
    if n_dc:
        dc = np.concatenate(
            [
                np.pad(
                    p.dc_power_w,
                    ((0, 0), (0, n_dc - p.dc_power_w.shape[1]), (0, 0)),
                    constant_values=np.nan,
                )
                if p.dc_power_w is not None
                else np.full((len(p.plant_ids), n_dc, len(labels)), np.nan)
                for p in parts
            ],
            axis=0,
        )
    return HourlyReadings(
        tuple(pid for p in parts for pid in p.plant_ids),
        labels,
        cat("ac_power_w"),
        cat("readings"),
        cat("energy_first_wh"),
        cat("energy_last_wh"),
        cat("alarm_code"),
        dc,
        None,
    )


def _provinces(fleet: Fleet) -> dict[str, str]:
    return dict(
        zip(fleet.plants["plant_id"], fleet.plants["province"].fillna("").astype(str), strict=True)
    )


def read_open_findings(
    store: InfluxStore,
    plant_ids: Sequence[str],
    until: pd.Timestamp,
    *,
    chunk_plants: int = CHUNK_PLANTS,
) -> pd.DataFrame:
    """The latest finding of each plant and kind, open or closed, from ``plant_finding``.

    Per plant and kind, the point with the latest time before ``until`` (the latest start) is
    the finding's state; it is open unless its ``open`` field is false (a point written before
    the worklist had the field counts as open). One InfluxQL query per ``chunk_plants``
    plants, ``ORDER BY time DESC LIMIT 1`` per series: ``last(*)`` would give neither the
    point's time (the start the finding keeps) nor, on mixed points, one point's fields.

    Parameters
    ----------
    store : telemetry.influx.InfluxStore
    plant_ids : sequence of str
    until : pandas.Timestamp
        End of the run (tz-aware): findings starting later are not this run's to carry on.
    chunk_plants : int
        Plants per query.

    Returns
    -------
    pandas.DataFrame
        :data:`triage.worklist.OPEN_COLUMNS`: ``plant_id``, ``finding``, ``start`` (UTC),
        ``open``.
    """
    rows: list[tuple[str, str, int, bool]] = []
    ids = list(plant_ids)
    for a, b in _chunks(len(ids), chunk_plants):
        where = " OR ".join(f"{TAG_PLANT_ID} = {_literal(p)}" for p in ids[a:b])
        q = (
            f'SELECT "open", "lost_kwh_per_day" FROM "{MEASUREMENT_PLANT_FINDING}" '
            f"WHERE ({where}) AND time < '{_iso(until)}' "
            f"GROUP BY {TAG_PLANT_ID}, {TAG_FINDING} ORDER BY time DESC LIMIT 1"
        )
        for series in store.query(q, epoch="ns"):
            tags = series.get("tags") or {}
            columns = list(series["columns"])
            for values in series.get("values", []):
                point = dict(zip(columns, values, strict=True))
                rows.append(
                    (
                        str(tags[TAG_PLANT_ID]),
                        str(tags[TAG_FINDING]),
                        int(point["time"]),
                        point.get("open") is not False,
                    )
                )
    frame = pd.DataFrame(rows, columns=list(OPEN_COLUMNS))
    frame["start"] = pd.to_datetime(frame["start"].astype("int64"), unit="ns", utc=True)
    frame["open"] = frame["open"].astype(bool)
    return frame


def finding_lines(findings: pd.DataFrame, fleet: Fleet, until: pd.Timestamp) -> list[str]:
    """Line protocol of ``plant_finding`` (:mod:`telemetry.schema`), one point per finding,
    ``open=true``.

    Parameters
    ----------
    findings : pandas.DataFrame
        :data:`triage.findings.FINDING_COLUMNS` (``start`` the point's time); a true
        ``reopen`` column (:class:`triage.worklist.Worklist`) also writes ``closed_at=""``: the
        finding was found again no later than the time of the point an earlier run closed, is
        written at that time, and a write cannot remove that point's ``closed_at``.
    fleet : telemetry.registry.Fleet
    until : pandas.Timestamp
        End of the run (``triaged_until``).
    """
    province = _provinces(fleet)
    lines = []
    for row in findings.to_dict("records"):
        pid = str(row["plant_id"])
        tags = {TAG_PLANT_ID: pid, TAG_FINDING: str(row["finding"])}
        if province.get(pid):
            tags["province"] = province[pid]
        fields: dict[str, float | int | bool | str] = {
            "lost_kwh_per_day": float(row["lost_kwh_per_day"]),
            "confidence": float(row["confidence"]),
            "evidence": str(row["evidence"]),
            "triaged_until": _iso(until),
            "open": True,
        }
        if row.get("reopen") is True:
            fields["closed_at"] = ""
        time_ns = int(pd.Timestamp(str(row["start"])).value)
        lines.append(format_point(MEASUREMENT_PLANT_FINDING, tags, fields, time_ns))
    return lines


def closing_lines(closed: pd.DataFrame, fleet: Fleet, until: pd.Timestamp) -> list[str]:
    """Line protocol closing findings: ``open=false``, ``closed_at`` = ``until``, at each
    finding's start (the point's other fields stay as the last run that found it wrote them).

    Parameters
    ----------
    closed : pandas.DataFrame
        :data:`triage.worklist.OPEN_COLUMNS`.
    fleet : telemetry.registry.Fleet
    until : pandas.Timestamp
        End of the run that closes them.
    """
    province = _provinces(fleet)
    lines = []
    for row in closed.to_dict("records"):
        pid = str(row["plant_id"])
        tags = {TAG_PLANT_ID: pid, TAG_FINDING: str(row["finding"])}
        if province.get(pid):
            tags["province"] = province[pid]
        fields: dict[str, float | int | bool | str] = {"open": False, "closed_at": _iso(until)}
        time_ns = int(pd.Timestamp(row["start"]).value)
        lines.append(format_point(MEASUREMENT_PLANT_FINDING, tags, fields, time_ns))
    return lines


def write_findings(
    store: InfluxStore,
    findings: pd.DataFrame,
    fleet: Fleet,
    until: pd.Timestamp,
    closed: pd.DataFrame | None = None,
) -> int:
    """Write the findings (``open=true``) and close ``closed``; return the points written."""
    lines = finding_lines(findings, fleet, until)
    if closed is not None and len(closed):
        lines += closing_lines(closed, fleet, until)
    return store.write_batches(lines) if lines else 0


def _prefix(tags: dict[str, str]) -> str:
    """``plant_expected,<tags>`` escaped as :func:`telemetry.lineprotocol.format_point` does."""
    line = format_point(MEASUREMENT_PLANT_EXPECTED, tags, {"x": 1})
    return line[: -len(" x=1i")]


def expected_lines(
    hourly: HourlyReadings,
    expectation: Expectation,
    fleet: Fleet,
    *,
    chunk_plants: int = EXPECTED_CHUNK_PLANTS,
) -> Iterator[str]:
    """Line protocol of ``plant_expected`` (:mod:`telemetry.schema`), generated a chunk of
    ``chunk_plants`` plants at a time.

    One point per plant and daylight hour (clear-sky output > 0), at the **start** of the hour
    (the labels are hours' ends); ``ac_power_w`` only where the plant sent readings,
    ``expected_ac_power_w`` and ``sky_index`` only where known.

    Parameters
    ----------
    hourly : HourlyReadings
        The run's readings (their hourly mean is ``ac_power_w``).
    expectation : triage.expected.Expectation
        Arrays (n_plants, n_hours) on ``hourly.labels``, the plants in ``hourly.plant_ids``.
    fleet : telemetry.registry.Fleet
        For the ``province`` tag.
    chunk_plants : int

    Yields
    ------
    str
    """
    province = _provinces(fleet)
    starts_ns = (hourly.labels - pd.Timedelta(hours=1)).as_unit("ns").asi8
    ids = hourly.plant_ids
    for a, b in _chunks(len(ids), chunk_plants):
        clear = expectation.clear_sky_w[a:b]
        day = np.isfinite(clear) & (clear > 0)
        for k, pid in enumerate(ids[a:b]):
            cols = np.flatnonzero(day[k])
            if not len(cols):
                continue
            tags = {TAG_PLANT_ID: pid}
            if province.get(pid):
                tags["province"] = province[pid]
            head = _prefix(tags)
            i = a + k
            e_w = expectation.expected_w[i, cols]
            c_w = clear[k, cols]
            sky = expectation.sky_index[i, cols]
            n_peers = expectation.peers_reporting[i, cols]
            peers = expectation.from_peers[i, cols]
            p_w = hourly.ac_power_w[i, cols]
            got = hourly.readings[i, cols] > 0
            out = []
            for j in range(len(cols)):
                parts = []
                if np.isfinite(e_w[j]):
                    parts.append(f"expected_ac_power_w={float(e_w[j])!r}")
                parts.append(f"clear_sky_ac_power_w={float(c_w[j])!r}")
                if np.isfinite(sky[j]):
                    parts.append(f"sky_index={float(sky[j])!r}")
                parts.append(f"peers_reporting={int(n_peers[j])}i")
                parts.append(f"from_peers={'true' if peers[j] else 'false'}")
                if got[j] and np.isfinite(p_w[j]):
                    parts.append(f"ac_power_w={float(p_w[j])!r}")
                out.append(f"{head} {','.join(parts)} {int(starts_ns[cols[j]])}")
            yield from out


def write_expected(
    store: InfluxStore, hourly: HourlyReadings, expectation: Expectation, fleet: Fleet
) -> int:
    """Write ``plant_expected`` (:func:`expected_lines`, streamed); return the points written."""
    return store.write_batches(expected_lines(hourly, expectation, fleet))


def write_findings_csv(findings: pd.DataFrame, path: str | Path) -> None:
    """The findings as CSV (:data:`triage.findings.FINDING_COLUMNS`; ``start`` ISO 8601 UTC)."""
    frame = findings.loc[:, list(FINDING_COLUMNS)].copy()
    frame["start"] = [_iso(t) for t in frame["start"]]
    frame.to_csv(path, index=False)
