"""Triage's edges: readings from InfluxDB, findings to InfluxDB and to CSV.

Readings are read with InfluxQL (``SELECT *`` on ``inverter``) through
:class:`telemetry.influx.InfluxStore`, a chunk of :data:`CHUNK_PLANTS` plants and
:data:`CHUNK_DAYS` days per query, each chunk binned into hours at once
(:func:`triage.hourly.bin_hourly`), so 100,000 plants never sit in memory as raw readings.
InfluxDB keeps no arrival time, so the readings read here have no ``stored_at`` (comms loss is
then told by the energy counter alone).
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
    MEASUREMENT_PLANT_FINDING,
    TAG_FINDING,
    TAG_PLANT_ID,
)
from triage.findings import FINDING_COLUMNS
from triage.hourly import HourlyReadings, bin_hourly, hour_labels

__all__ = [
    "CHUNK_DAYS",
    "CHUNK_PLANTS",
    "finding_lines",
    "read_hourly",
    "read_readings",
    "write_findings",
    "write_findings_csv",
]

#: Plants per query.
CHUNK_PLANTS = 100
#: Days per query.
CHUNK_DAYS = 7


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


def finding_lines(findings: pd.DataFrame, fleet: Fleet, until: pd.Timestamp) -> list[str]:
    """Line protocol of ``plant_finding`` (:mod:`telemetry.schema`), one point per finding."""
    province = dict(
        zip(fleet.plants["plant_id"], fleet.plants["province"].fillna("").astype(str), strict=True)
    )
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
        }
        time_ns = int(pd.Timestamp(str(row["start"])).value)
        lines.append(format_point(MEASUREMENT_PLANT_FINDING, tags, fields, time_ns))
    return lines


def write_findings(
    store: InfluxStore, findings: pd.DataFrame, fleet: Fleet, until: pd.Timestamp
) -> int:
    """Write the findings to ``plant_finding``; return the points written."""
    return store.write_batches(finding_lines(findings, fleet, until))


def write_findings_csv(findings: pd.DataFrame, path: str | Path) -> None:
    """The findings as CSV (:data:`triage.findings.FINDING_COLUMNS`; ``start`` ISO 8601 UTC)."""
    frame = findings.loc[:, list(FINDING_COLUMNS)].copy()
    frame["start"] = [_iso(t) for t in frame["start"]]
    frame.to_csv(path, index=False)
