"""Triage runs against InfluxDB, once or continuously (``roshanai triage --every``).

:func:`triage_once` is one run: read the fleet's readings of ``[since, until)``, triage them
(:func:`triage.run.triage_fleet`), carry the worklist on (:mod:`triage.worklist`) and write
``plant_finding`` and ``plant_expected``. :func:`watch` repeats it: each run covers
``[end − window, end)``; without a given first end, ``end`` is the wall clock floored to the
hour at each run, else the ends are ``until, until + every, …`` (the ones in the past run at
once, the ones in the future wait for the clock: a replay or backfill). A run that fails
(InfluxDB away, a bad reading) is reported in one line and the next one tries again.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from simulate.outages import Schedule
from telemetry.errors import InputError, RoshanaiError
from telemetry.influx import InfluxStore
from telemetry.registry import Fleet
from telemetry.signals import sigterm_interrupts
from triage.run import TriageResult, triage_fleet
from triage.worklist import Worklist, carry_on, judged_plants, recovered_plants

__all__ = [
    "SETTLE",
    "RunReport",
    "parse_duration",
    "run_ends",
    "summary_line",
    "triage_once",
    "watch",
]

#: Wall-clock runs start this long after their hour (the last readings arrive).
SETTLE = pd.Timedelta(minutes=5)
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str, option: str) -> pd.Timedelta:
    """``--every``/``--window``: a whole number of hours, written ``90m``, ``1h``, ``3d``, ``1w``.

    Raises
    ------
    InputError
        Not a duration, zero, or not whole hours (runs and windows are on the hourly grid).
    """
    match = _DURATION.match(text)
    if not match:
        raise InputError(f"{option}: {text!r} is not a duration like 1h, 6h or 3d")
    seconds = int(match[1]) * _UNIT_S[match[2]]
    if seconds <= 0 or seconds % 3600:
        raise InputError(f"{option}: {text!r} must be a whole number of hours (1h or more)")
    return pd.Timedelta(seconds=seconds)


@dataclass(frozen=True)
class RunReport:
    """What one run did.

    Attributes
    ----------
    since, until : pandas.Timestamp
        The period (UTC).
    result : TriageResult
    worklist : Worklist
        The findings as written (kept starts), the closed ones.
    finding_points, expected_points : int
        Points written to ``plant_finding`` (open and closed) and ``plant_expected``.
    seconds : float
        Wall time of the run. [s]
    """

    since: pd.Timestamp
    until: pd.Timestamp
    result: TriageResult
    worklist: Worklist
    finding_points: int
    expected_points: int
    seconds: float

    @property
    def points(self) -> int:
        """All points written."""
        return self.finding_points + self.expected_points


def triage_once(
    store: InfluxStore,
    fleet: Fleet,
    since: pd.Timestamp,
    until: pd.Timestamp,
    *,
    schedule: Schedule | None = None,
    csv_path: str | Path | None = None,
    read_progress: Callable[[int, int], None] | None = None,
    step: Callable[[str], None] | None = None,
) -> RunReport:
    """One triage run of ``[since, until)`` against InfluxDB, its results written back.

    Parameters
    ----------
    store : telemetry.influx.InfluxStore
    fleet : telemetry.registry.Fleet
    since, until : pandas.Timestamp
        tz-aware.
    schedule : simulate.outages.Schedule, optional
    csv_path : path, optional
        Where the findings CSV goes (written before InfluxDB is).
    read_progress, step : callable, optional
        Progress of the reading (``done, total``) and of the triage steps (their names).

    Returns
    -------
    RunReport
    """
    from triage.io import (
        read_hourly,
        read_open_findings,
        write_expected,
        write_findings,
        write_findings_csv,
    )

    t_start = time.perf_counter()
    store.ping()
    hourly = read_hourly(store, fleet, since, until, progress=read_progress)
    if not hourly.readings.any():  # a wrong window, database or fleet: nothing to judge
        raise InputError(
            f"no readings of the fleet's {len(fleet):,} plants in {since:%Y-%m-%d %H:%M}–"
            f"{until:%Y-%m-%d %H:%M} UTC in database {store.database!r}: nothing to judge "
            "(check --since/--until, --influx-db and the fleet's plant_id)"
        )
    result = triage_fleet(hourly, fleet, since, until, schedule=schedule, progress=step)
    rating_w = 1000.0 * fleet.plants["ac_kw"].to_numpy(float)
    latest = read_open_findings(store, fleet.plant_ids, until)
    worklist = carry_on(
        result.findings,
        latest,
        result.hourly.plant_ids,
        judged_plants(result.expectation, rating_w, result.gaps),
        recovered_plants(result.hourly, result.expectation, result.gaps, rating_w),
    )
    if csv_path is not None:
        write_findings_csv(worklist.findings, csv_path)
    n_findings = write_findings(store, worklist.findings, fleet, until, worklist.closed)
    n_expected = write_expected(store, result.hourly, result.expectation, fleet)
    return RunReport(
        since,
        until,
        result,
        worklist,
        n_findings,
        n_expected,
        time.perf_counter() - t_start,
    )


def _floor_hour(ts: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(ts).tz_convert("UTC").floor("h")


def run_ends(
    every: pd.Timedelta,
    *,
    first: pd.Timestamp | None = None,
    now: Callable[[], pd.Timestamp],
) -> Iterator[pd.Timestamp]:
    """The ends of successive runs (UTC): ``first, first + every, …``, or without ``first``
    the wall clock floored to the hour, taken when each run is due.

    Parameters
    ----------
    every : pandas.Timedelta
    first : pandas.Timestamp, optional
        The first end (``--until``).
    now : callable
        The clock, tz-aware.
    """
    if first is not None:
        end = pd.Timestamp(first).tz_convert("UTC")
        while True:
            yield end
            end = end + every
    while True:
        yield _floor_hour(now())


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def _sleep_until(when: pd.Timestamp) -> None:
    while True:
        left = (when - _now()).total_seconds()
        if left <= 0:
            return
        time.sleep(min(left, 60.0))


def _one_line(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, RoshanaiError) else f"{type(exc).__name__}: {exc}"
    lines = text.strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def watch(
    run: Callable[[pd.Timestamp, pd.Timestamp], RunReport],
    *,
    every: pd.Timedelta,
    window: pd.Timedelta,
    first_end: pd.Timestamp | None = None,
    runs: int | None = None,
    report: Callable[[int, RunReport], None],
    failed: Callable[[int, pd.Timestamp, pd.Timestamp, str], None],
    stopped: Callable[[int, int], None],
    now: Callable[[], pd.Timestamp] | None = None,
    sleep_until: Callable[[pd.Timestamp], None] | None = None,
) -> int:
    """Run ``run(since, until)`` repeatedly, each over ``[end − window, end)``.

    Parameters
    ----------
    run : callable
        One run (:func:`triage_once` with its settings bound).
    every, window : pandas.Timedelta
    first_end : pandas.Timestamp, optional
        The first run's end (``--until``); then the ends are ``first_end + k·every``, each
        waited for if it lies in the future. Without it, each run ends at the wall clock
        floored to the hour: the first run at once, the next ones :data:`SETTLE` after the
        hour ``every`` after the previous end (at once if that is past).
    runs : int, optional
        Stop after this many runs (else: until interrupted).
    report, failed, stopped : callable
        ``report(k, run_report)`` after run ``k`` (from 1); ``failed(k, since, until, line)``
        when run ``k`` raised (``line``: the reason in one line); ``stopped(done, failures)``
        when Ctrl-C or SIGTERM ended the loop.
    now, sleep_until : callable, optional
        The clock and the wait (tz-aware times); default the wall clock.

    Returns
    -------
    int
        Exit code: 0 if the last run succeeded (or none ran), 1 if it failed.
    """
    now = now or _now
    sleep_until = sleep_until or _sleep_until
    ends = run_ends(every, first=first_end, now=now)
    done = failures = 0
    last_failed = False
    due = now()
    with sigterm_interrupts():  # SIGTERM stops as Ctrl-C does
        try:
            while runs is None or done < runs:
                if first_end is None:
                    sleep_until(due)
                end = next(ends)
                if first_end is None:
                    # The next run a few minutes after its hour, when that hour's readings
                    # are in (the first one ran at once).
                    due = end + every + SETTLE
                else:
                    sleep_until(end)
                since = end - window
                done += 1
                try:
                    rep = run(since, end)
                except KeyboardInterrupt:
                    raise
                except Exception as exc:  # any failure: one line, and the next run tries again
                    failures += 1
                    last_failed = True
                    failed(done, since, end, _one_line(exc))
                    continue
                last_failed = False
                report(done, rep)
        except KeyboardInterrupt:
            stopped(done, failures)
            return 0
    return 1 if last_failed else 0


def summary_line(k: int, rep: RunReport, n_plants: int) -> str:
    """One line of a continuous run's report."""
    wl = rep.worklist
    lost = float(np.asarray(wl.findings.groupby("plant_id")["lost_kwh_per_day"].max()).sum())
    return (
        f"run {k} {rep.since:%Y-%m-%d %H:%M}–{rep.until:%Y-%m-%d %H:%M} UTC: "
        f"{len(wl.findings)} findings on {wl.findings['plant_id'].nunique()} of {n_plants} "
        f"plants ({wl.new} new, {wl.carried} carried on, {len(wl.closed)} closed), "
        f"~{lost:.0f} kWh/day lost; {rep.points:,} points in {rep.seconds:.1f} s"
    )
