"""The worklist carried on from run to run: "since when" stays put, fixed faults leave it.

A triage run sees a window (e.g. the last 3 days). On its own, every run would give a fault
that began before the window the window's first hour as its start, so "since when" would
creep forward hour by hour, and a fault repaired yesterday would stay on the list for as long
as its faulty days are inside the window. :func:`carry_on` joins a run's findings to the
findings still open in ``plant_finding`` (read by :func:`triage.io.read_open_findings`):

- a finding of a plant and kind that is open keeps its first start (its point in InfluxDB is
  the same one, rewritten with the run's figures), even when this run dates it earlier
  (readings backfilled later): the point's time is the finding's identity, and a write
  cannot move a point;
- a finding whose plant looks repaired in the last :data:`RECOVERY_HOURS` of the window
  (:func:`recovered_plants`; only for the kinds a repair ends at once,
  :data:`REPAIRABLE`) is not on the worklist, even though the detectors still see its faulty
  hours in the window;
- an open finding the run does not find again (or finds repaired), of a plant the run judged
  (:func:`judged_plants`: at least one daylight hour with an expectation, not cut), is closed;
- a finding of a plant and kind whose latest point is closed, found again with a start no
  later than that point's, reopens that point (``reopen``: rewritten ``open=true``,
  ``closed_at=""``), for the same reason: a point written before it would not be the latest,
  so the next run and :func:`dashboards.queries.worklist` would both still read it closed;
- the rest are new (their start is after every point of their plant and kind, so the point
  written is the latest).

Everything here takes and returns arrays and frames; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from triage.expected import CLEAR_SKY_FLOOR, Expectation
from triage.findings import FINDING_COLUMNS, STRING_SHARE
from triage.gaps import GRID_CUT
from triage.hourly import HourlyReadings

__all__ = [
    "OPEN_COLUMNS",
    "RECOVERED_RATIO",
    "RECOVERY_HOURS",
    "RECOVERY_MIN_HOURS",
    "REPAIRABLE",
    "Worklist",
    "carry_on",
    "judged_plants",
    "recovered_plants",
]

#: Columns of the latest finding of each plant and kind read back from ``plant_finding``.
OPEN_COLUMNS = ("plant_id", "finding", "start", "open")
#: The last hours of the window that must look fine for a plant to count as repaired. [h]
RECOVERY_HOURS = 24
#: ... with at least this many daylight hours among them (not cut).
RECOVERY_MIN_HOURS = 4
#: ... measured energy at least this share of the expectation over them (above the
#: underperforming threshold of 0.9, so a plant at the edge does not flicker on and off).
RECOVERED_RATIO = 0.95
#: Kinds a repair ends at once (a reset, a new fuse, the router back). Shading, soiling and
#: degradation are left to their detectors (soiling's own reset after a cleaning).
REPAIRABLE = frozenset(
    {"offline", "comms_loss", "inverter_fault", "string_fault", "underperforming"}
)


@dataclass(frozen=True)
class Worklist:
    """A run's findings joined to the worklist of the runs before it.

    Attributes
    ----------
    findings : pandas.DataFrame
        :data:`triage.findings.FINDING_COLUMNS` (``start`` the kept one) plus ``carried``
        (bool: open since an earlier run) and ``reopen`` (bool: rewrites the latest point, one
        an earlier run closed, at its time), in the run's order (most kWh lost first).
    closed : pandas.DataFrame
        ``plant_id``, ``finding``, ``start``: open findings this run closes (their point's time
        is ``start``).
    repaired : int
        Findings of the run left off the list because their plant looks repaired.
    """

    findings: pd.DataFrame
    closed: pd.DataFrame
    repaired: int

    @property
    def carried(self) -> int:
        """Findings open since an earlier run."""
        return int(self.findings["carried"].sum())

    @property
    def new(self) -> int:
        """Findings first seen in this run."""
        return len(self.findings) - self.carried


def judged_plants(
    expectation: Expectation, rating_w: np.ndarray, gaps: np.ndarray | None = None
) -> np.ndarray:
    """(n_plants,) bool: the run had at least one daylight hour (clear-sky output ≥
    :data:`triage.expected.CLEAR_SKY_FLOOR` of the rating) with an expectation for the plant,
    outside a cut.

    Cut hours do not count: when the whole fleet goes silent (the bridge or InfluxDB away,
    which triage takes for an unscheduled cut), nothing was judged and nothing is closed.

    Parameters
    ----------
    expectation : triage.expected.Expectation
    rating_w : numpy.ndarray
        (n_plants,) AC rating. [W]
    gaps : numpy.ndarray, optional
        (n_plants, n_hours) :mod:`triage.gaps` codes.
    """
    day = expectation.clear_sky_w >= CLEAR_SKY_FLOOR * np.asarray(rating_w, float)[:, None]
    day &= np.isfinite(expectation.expected_w)
    if gaps is not None:
        day &= gaps != GRID_CUT
    return np.asarray(day.any(axis=1))


def recovered_plants(
    hourly: HourlyReadings,
    expectation: Expectation,
    gaps: np.ndarray,
    rating_w: np.ndarray,
    *,
    hours: int = RECOVERY_HOURS,
) -> np.ndarray:
    """(n_plants,) bool: the last ``hours`` of the window look like a working plant.

    Over the daylight hours among the last ``hours`` (cut hours left out), at least
    :data:`RECOVERY_MIN_HOURS` of them, the plant reported every hour, raised no alarm,
    produced at least :data:`RECOVERED_RATIO` of the expectation with most of those hours'
    expectation from the peers (the climate default does not know the day's clouds), and no
    DC input was below :data:`triage.findings.STRING_SHARE` of its equal share.

    Parameters
    ----------
    hourly : HourlyReadings
    expectation : triage.expected.Expectation
    gaps : numpy.ndarray
        (n_plants, n_hours) :mod:`triage.gaps` codes.
    rating_w : numpy.ndarray
        (n_plants,) AC rating. [W]
    hours : int
        Length of the recent stretch. [h]
    """
    labels = hourly.labels
    recent = np.asarray(labels > labels[-1] - pd.Timedelta(hours=hours))[None, :]
    floor = CLEAR_SKY_FLOOR * np.asarray(rating_w, float)[:, None]
    judged = recent & (expectation.clear_sky_w >= floor) & (gaps != GRID_CUT)
    judged &= np.isfinite(expectation.expected_w)
    n = judged.sum(axis=1)
    reported = (~judged | hourly.reported).all(axis=1)
    no_alarm = (~judged | (hourly.alarm_code == 0)).all(axis=1)
    from_peers = (judged & expectation.from_peers).sum(axis=1) >= 0.5 * n
    measured = np.where(judged, np.nan_to_num(hourly.ac_power_w, nan=0.0), 0.0).sum(axis=1)
    expected = np.where(judged, np.nan_to_num(expectation.expected_w, nan=0.0), 0.0).sum(axis=1)
    enough = measured >= RECOVERED_RATIO * expected
    ok = (n >= RECOVERY_MIN_HOURS) & reported & no_alarm & from_peers & enough & (expected > 0)
    if hourly.dc_power_w is not None:
        dc = np.where(judged[:, None, :], hourly.dc_power_w, np.nan)  # (n_p, n_in, n_h)
        has = np.isfinite(dc).any(axis=2)  # inputs that reported
        energy = np.nansum(dc, axis=2)
        n_in = has.sum(axis=1)
        share = np.where(n_in > 0, energy.sum(axis=1) / np.maximum(n_in, 1), 0.0)
        weak = has & (energy < STRING_SHARE * share[:, None]) & (n_in[:, None] >= 2)
        ok &= ~weak.any(axis=1)
    return np.asarray(ok)


def carry_on(
    findings: pd.DataFrame,
    previous: pd.DataFrame,
    plant_ids: tuple[str, ...] | list[str],
    judged: np.ndarray,
    recovered: np.ndarray | None = None,
) -> Worklist:
    """Join a run's findings to the open findings of the runs before it.

    Parameters
    ----------
    findings : pandas.DataFrame
        The run's findings (:data:`triage.findings.FINDING_COLUMNS`).
    previous : pandas.DataFrame
        The latest finding of each plant and kind (:data:`OPEN_COLUMNS`, ``start`` UTC),
        :func:`triage.io.read_open_findings`.
    plant_ids : sequence of str
        The run's plants, the order of ``judged`` and ``recovered``.
    judged : numpy.ndarray
        (n_plants,) bool, :func:`judged_plants`.
    recovered : numpy.ndarray, optional
        (n_plants,) bool, :func:`recovered_plants`; None: no plant counts as repaired.

    Returns
    -------
    Worklist
    """
    ids = list(plant_ids)
    position = {pid: k for k, pid in enumerate(ids)}
    frame = findings.loc[:, list(FINDING_COLUMNS)].copy()
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    repaired = 0
    if recovered is not None and len(frame):
        rows = frame["plant_id"].map(position).fillna(-1).astype(int).to_numpy()
        fixed = np.zeros(len(frame), bool)
        fixed[rows >= 0] = np.asarray(recovered, bool)[rows[rows >= 0]]
        fixed &= frame["finding"].isin(REPAIRABLE).to_numpy(bool)
        repaired = int(fixed.sum())
        frame = frame[~fixed]
    frame = frame.drop_duplicates(["plant_id", "finding"], keep="first")
    latest = previous.loc[:, list(OPEN_COLUMNS)].copy()
    latest["start"] = pd.to_datetime(latest["start"], utc=True)
    latest = latest.drop_duplicates(["plant_id", "finding"], keep="last")
    is_open = latest["open"].astype(bool)
    prev = latest.loc[is_open, ["plant_id", "finding", "start"]]
    shut = latest.loc[~is_open, ["plant_id", "finding", "start"]]
    kept = frame.merge(
        prev.rename(columns={"start": "open_start"}), on=["plant_id", "finding"], how="left"
    ).merge(shut.rename(columns={"start": "shut_start"}), on=["plant_id", "finding"], how="left")
    carried = kept["open_start"].notna()
    # Found again no later than the start of the latest point, a closed one: that point is
    # the finding (reopened). A point written earlier would sit behind it, and the latest
    # point, still closed, would hide it from the next run and from the worklist query.
    reopen = ~carried & kept["shut_start"].notna() & (kept["start"] <= kept["shut_start"])
    kept["start"] = kept["open_start"].where(
        carried, kept["shut_start"].where(reopen, kept["start"])
    )
    kept["start"] = pd.to_datetime(kept["start"], utc=True)
    kept["carried"] = carried.to_numpy(bool)
    kept["reopen"] = reopen.to_numpy(bool)
    kept = kept.drop(columns=["open_start", "shut_start"]).reset_index(drop=True)
    found = set(zip(kept["plant_id"], kept["finding"], strict=True))
    pos = prev["plant_id"].map(position)
    in_run = pos.notna().to_numpy(bool)
    was_judged = np.zeros(len(prev), bool)
    was_judged[in_run] = np.asarray(judged, bool)[pos[in_run].astype(int).to_numpy()]
    gone = np.array(
        [(p, f) not in found for p, f in zip(prev["plant_id"], prev["finding"], strict=True)],
        dtype=bool,
    )
    closed = prev[was_judged & gone].reset_index(drop=True)
    return Worklist(kept, closed, repaired)
