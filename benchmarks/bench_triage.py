"""Benchmark: triage's detection, false alarms and expectation error on an emulated fleet, and
its speed (issue 17's measurements).

The run: ``synthetic_fleet(--plants)`` over ``--days`` from ``--start``, readings from the
offline emulator (``firmware_bridge.emulator.offline.emulated_readings``: a sampled year of the
climate default, so grey days; the real cut calendars of the season, ``cuts=True``) with faults
drawn at the default rates (``random_faults``), everything seeded by ``--seed``.

**Detection** is measured as a technician would meet it: triage runs every morning on the
readings that have reached the database by then (``stored_at`` before the window's end, so a
comms loss's backfill only counts once it arrived), over ``[start, start + d days)`` for
d = 1 … ``--days``, with the run's schedule. A fault is *found* when a finding names its plant
(each plant has at most one fault) in a window ending after the fault's start; *as its kind*
when the finding's name is the truth's ``finding`` (the fault's kind, except that a dead
gateway that came back, or a comms loss, is ``comms_loss`` and one lasting to the end
``offline``: issue 17's definitions, ``faults.truth_finding``), *at all* with any name (an
``inverter_fault`` found as ``offline`` or ``underperforming`` is a detection with the wrong
label). Days to detect: from the fault's start to the end of the first window that finds it. A fault
*costs ≥ 10 %* when its true ``lost_kwh_per_day`` is at least 10 % of the plant's mean daily
energy in the same run without faults. The lost-kWh error compares the finding's energy
(``lost_kwh_per_day`` × its days from ``start`` to the end) with the truth's ``lost_kwh``, on
the last window. False alarms: fault-free plants with any finding on the last window (and on
any window). Cuts: findings on fault-free plants that start in a cut hour of their plant, and
cut plant-hours that triage classed ``offline`` or ``comms_loss``; once with the schedule and
once with
``schedule=None`` (an unscheduled blackout: the cuts are in the readings, triage is not told).

**Expectation error** on the fault-free plants, hours they reported outside cuts: nMAE of
hourly power and of daily energy for the peers' expectation (``triage.expected``) and for the
month × hour typical-year mean ``firmware_bridge.status.ExpectedPower`` computes
(``triage.expected.month_hour_expectation``), same data.

**Speed** (``--speed-plants``, skippable with ``--speed-plants ''``): triage of a fleet of N
plants over ``--days``, plant-days per second, wall clock, binning included; the generation is
made in chunks and timed apart. What does not fit in memory here is said, not guessed.

**Your own run.** ``--fleet FLEET.csv`` (the fleet contract; default ``synthetic_fleet``),
``--faults FAULTS.csv`` (the emulator's faults file, ``roshanai emulate --faults``; default
random faults at ``--fault-rates`` or the default rates) and ``--cuts`` (``real``, ``generic``,
``none``, a scenario's name, or a schedule CSV ``start,end[,zone]`` on the fleet's
``outage_zone``, also given to triage) measure detection on a fleet, faults and cuts this
project never saw.

Run: ``python benchmarks/bench_triage.py [--plants 1000] [--days 14]
[--start 2025-07-01T00:00Z] [--seed 1] [--speed-plants 10000,100000] [--fleet F.csv]
[--faults X.csv] [--fault-rates offline=0.02,...] [--cuts real|generic|none|NAME|S.csv]``
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from firmware_bridge.emulator.faults import (
    FAULT_KINDS,
    Fault,
    parse_fault_rates,
    random_faults,
    read_faults,
)
from firmware_bridge.emulator.fleet import synthetic_fleet
from firmware_bridge.emulator.offline import EmulatedTelemetry, emulated_readings
from simulate.outages import Schedule
from telemetry.errors import RoshanaiError
from telemetry.helptext import count
from telemetry.registry import Fleet, read_fleet
from triage import expected as ex
from triage.gaps import COMMS_LOSS, OFFLINE, cut_mask
from triage.hourly import HourlyReadings, bin_hourly, hour_labels
from triage.run import TriageResult, triage_fleet

console = Console(width=None if sys.stdout.isatty() else 160)
DAY = pd.Timedelta(days=1)
GIB = 1024**3
#: A fault "costs" at least this share of the plant's fault-free daily energy (issue 17).
MATERIAL_SHARE = 0.10
#: ... and should be found within this many days of its start.
GOAL_DAYS = 2.0


def rss_gib() -> float:
    """Peak resident set size of this process so far. [GiB]"""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB


@dataclass
class Run:
    fleet: Fleet
    start: pd.Timestamp
    end: pd.Timestamp
    tele: EmulatedTelemetry
    free_kwh_per_day: np.ndarray  # (n_plants,) mean daily energy without faults [kWh]
    generate_s: float


def cuts_option(text: str) -> bool | str | Schedule:
    """``--cuts``: ``real`` (the calendars as they happened), ``generic``, ``none``, a
    scenario's name, or a schedule CSV file."""
    from simulate.outages import SCENARIOS, read_schedule

    if text in ("real", "generic", "none") or text in SCENARIOS:
        return {"real": True, "none": False}.get(text, text)
    return read_schedule(text)


def generate(
    n: int,
    days: int,
    start: pd.Timestamp,
    seed: int,
    weather: int,
    *,
    fleet: Fleet | None = None,
    faults: list[Fault] | None = None,
    rates: dict[str, float] | None = None,
    cuts: bool | str | Schedule = True,
) -> Run:
    """The run: ``fleet`` (default ``synthetic_fleet(n)``) with ``faults`` (default random at
    ``rates``) under ``cuts``, and the same run without faults."""
    fleet = synthetic_fleet(n, seed=seed) if fleet is None else fleet
    end = start + days * DAY
    t = time.perf_counter()
    if faults is None:
        faults = random_faults(fleet, start, end, seed=seed, rates=rates)
    tele = emulated_readings(fleet, start, end, faults=faults, cuts=cuts, seed=seed, sample=weather)
    generate_s = time.perf_counter() - t
    # The same run without faults: each plant's own fault-free energy (the 10 % yardstick).
    free = emulated_readings(
        fleet, start, end, faults=(), cuts=cuts, seed=seed, sample=weather
    ).readings
    labels = hour_labels(start, end)
    h = bin_hourly(free, fleet.plant_ids, labels)
    free_kwh_per_day = np.nansum(h.ac_power_w, axis=1) / 1000.0 / days
    return Run(fleet, start, end, tele, free_kwh_per_day, generate_s)


def visible(readings: pd.DataFrame, until: pd.Timestamp) -> pd.DataFrame:
    """The readings in the database at ``until``: read before it and stored before it."""
    return readings[(readings["time"] < until) & (readings["stored_at"] < until)]


def daily_triage(
    run: Run, schedule: Schedule | None
) -> tuple[list[tuple[pd.Timestamp, pd.DataFrame]], TriageResult, float]:
    """Triage every morning on what has arrived; the findings of each window, the last
    window's result and its seconds."""
    labels = hour_labels(run.start, run.end)
    cs = ex.clear_sky_power(run.fleet, labels)
    ci = ex.climate_sky_index(run.fleet, labels)
    windows = []
    last: TriageResult | None = None
    seconds = 0.0
    days = round((run.end - run.start) / DAY)
    for d in range(1, days + 1):
        until = run.start + d * DAY
        n_h = len(hour_labels(run.start, until))
        t = time.perf_counter()
        res = triage_fleet(
            visible(run.tele.readings, until),
            run.fleet,
            run.start,
            until,
            schedule=schedule,
            clear_sky_w=cs[:, :n_h],
            climate_index=ci[:, :n_h],
        )
        seconds = time.perf_counter() - t
        windows.append((until, res.findings))
        last = res
    assert last is not None
    return windows, last, seconds


def match(run: Run, windows: list[tuple[pd.Timestamp, pd.DataFrame]]) -> pd.DataFrame:
    """One row per injected fault: what was found, as what, when, and the energy said lost."""
    truth = run.tele.truth.reset_index(drop=True)
    row_of = {pid: i for i, pid in enumerate(run.fleet.plant_ids)}
    out = truth.copy()
    out["share"] = [
        t / max(run.free_kwh_per_day[row_of[p]], 1e-9)
        for p, t in zip(truth.plant_id, truth.lost_kwh_per_day, strict=True)
    ]
    first_any: list[float] = []
    first_kind: list[float] = []
    for f in cast(Any, truth).itertuples():
        got_any = got_kind = np.nan
        for until, found in windows:
            if until <= f.start:
                continue
            mine = found[found.plant_id == f.plant_id]
            if len(mine) and np.isnan(got_any):
                got_any = (until - f.start) / DAY
            if (mine.finding == f.finding).any() and np.isnan(got_kind):
                got_kind = (until - f.start) / DAY
        first_any.append(got_any)
        first_kind.append(got_kind)
    out["days_any"] = first_any
    # A gradual fault (soiling at ``severity`` per day) costs 10 % only from the day its loss
    # reaches it: days to detect counted from then too (never before its start).
    gradual = (truth.kind == "soiling").to_numpy()
    costs_from = np.where(gradual, MATERIAL_SHARE / np.maximum(truth.severity, 1e-9), 0.0)
    out["days_any_costly"] = np.asarray(first_any) - np.minimum(costs_from, np.asarray(first_any))
    out["days_kind"] = first_kind
    final_until, final = windows[-1]
    names, lost = [], []
    for f in cast(Any, truth).itertuples():
        mine = final[final.plant_id == f.plant_id]
        names.append(",".join(sorted(set(mine.finding))))
        right = mine[mine.finding == f.finding]
        if len(right):
            r = right.iloc[0]
            span = max(1.0, (final_until - r.start) / DAY)
            lost.append(float(r.lost_kwh_per_day) * span)
        else:
            lost.append(np.nan)
    out["found_as"] = names
    out["found_lost_kwh"] = lost
    out["observable"] = (run.end - cast(Any, truth).start) / DAY >= GOAL_DAYS
    return out


def pct(a: float, b: float) -> str:
    return f"{100 * a / b:.1f} %" if b else "–"


def detection_table(m: pd.DataFrame, title: str) -> Table:
    table = Table(title=title)
    for c in (
        "fault",
        "faults",
        "cost ≥ 10 %",
        "found as kind",
        "found at all",
        f"≤ {GOAL_DAYS:g} d, ≥ 10 % (kind / any)",
        "median days (any)",
        "lost-kWh error (median |rel|, signed)",
        "found as",
    ):
        table.add_column(c, justify="left" if c in ("fault", "found as") else "right")
    for kind in [*FAULT_KINDS, "all"]:
        g = m if kind == "all" else m[m.kind == kind]
        if g.empty:
            continue
        mat = g[(g.share >= MATERIAL_SHARE) & g.observable]
        kind_ok = (mat.days_kind <= GOAL_DAYS).sum()
        any_ok = (mat.days_any <= GOAL_DAYS).sum()
        err = (g.found_lost_kwh - g.lost_kwh) / g.lost_kwh
        err = err[np.isfinite(err) & (g.lost_kwh > 0.05)]
        err_text = (
            f"{100 * err.abs().median():.0f} %, {100 * err.median():+.0f} % (n {len(err)})"
            if len(err)
            else "–"
        )
        as_counts = pd.Series(
            [x for s in g.found_as for x in (s.split(",") if s else ["—"])]
        ).value_counts()
        table.add_row(
            kind,
            f"{len(g)}",
            f"{len(mat)}",
            f"{g.days_kind.notna().sum()} ({pct(g.days_kind.notna().sum(), len(g))})",
            f"{g.days_any.notna().sum()} ({pct(g.days_any.notna().sum(), len(g))})",
            f"{kind_ok} / {any_ok} of {len(mat)} ({pct(kind_ok, len(mat))} / "
            f"{pct(any_ok, len(mat))})",
            f"{g.days_any.median():.1f}" if g.days_any.notna().any() else "–",
            err_text,
            ", ".join(f"{k} {v}" for k, v in as_counts.items()) if kind != "all" else "",
        )
    return table


def cut_checks(run: Run, res: TriageResult) -> tuple[int, int, int]:
    """(findings on fault-free plants starting in a cut hour of their plant, cut plant-hours
    classed offline or comms loss, cut plant-hours) on the emulator's own schedule."""
    labels = res.hourly.labels
    cut = cut_mask(run.tele.schedule, run.fleet.plants["outage_zone"].to_numpy(), labels)
    row_of = {pid: i for i, pid in enumerate(run.fleet.plant_ids)}
    col = pd.Index(labels - pd.Timedelta(hours=1))
    in_cut = 0
    faulty = set(run.tele.truth.plant_id)
    for f in cast(Any, res.findings[~res.findings.plant_id.isin(faulty)]).itertuples():
        j = col.get_indexer(pd.Index([f.start]))[0]
        if j >= 0 and cut[row_of[f.plant_id], j]:
            in_cut += 1
    as_fault = int((cut & ((res.gaps == OFFLINE) | (res.gaps == COMMS_LOSS))).sum())
    return in_cut, as_fault, int(cut.sum())


def expectation_error(run: Run, res: TriageResult) -> dict[str, float]:
    labels = res.hourly.labels
    faulty = set(run.tele.truth.plant_id)
    ok = np.array([p not in faulty for p in run.fleet.plant_ids])
    cut = cut_mask(run.tele.schedule, run.fleet.plants["outage_zone"].to_numpy(), labels)
    measured = res.hourly.ac_power_w[ok]
    mask = res.hourly.reported[ok] & ~cut[ok] & np.isfinite(measured)
    peers = res.expectation.expected_w[ok]
    mh = ex.month_hour_expectation(run.fleet, labels)[ok]

    def daily(x: np.ndarray) -> np.ndarray:
        y = np.where(mask, np.nan_to_num(x, nan=0.0), 0.0)
        return y.reshape(y.shape[0], -1, 24).sum(axis=2)

    return {
        "peers_hourly": ex.nmae(measured, peers, mask),
        "peers_daily": ex.nmae(daily(measured), daily(peers)),
        "mh_hourly": ex.nmae(measured, mh, mask),
        "mh_daily": ex.nmae(daily(measured), daily(mh)),
        "from_peers": float(
            res.expectation.from_peers[ok][
                mask & (res.expectation.clear_sky_w[ok] >= 0.1 * res.expectation.clear_sky_w.max())
            ].mean()
        ),
        "plants": float(ok.sum()),
    }


def detection(args: argparse.Namespace) -> None:
    start = pd.Timestamp(args.start)
    weather = args.seed if args.weather is None else args.weather
    fleet = None if args.fleet is None else read_fleet(args.fleet)
    run = generate(
        args.plants,
        args.days,
        start,
        args.seed,
        weather,
        fleet=fleet,
        faults=None if args.faults is None else read_faults(args.faults),
        rates=None if args.fault_rates is None else parse_fault_rates(args.fault_rates),
        cuts=cuts_option(args.cuts),
    )
    sched = run.tele.schedule
    console.print(
        f"{len(run.fleet):,} plants"
        + (f" of {args.fleet}" if args.fleet else "")
        + (f", faults of {args.faults}" if args.faults else "")
        + f" × {args.days} days from {start:%Y-%m-%d %H:%M} UTC, seed "
        f"{args.seed}: {len(run.tele.readings):,} readings, {len(run.tele.truth)} faults, "
        f"{count(len(sched), 'cut')} ({sched.source}); weather {run.tele.weather_source}; "
        f"generated in {run.generate_s:.1f} s"
    )
    windows, last, seconds = daily_triage(run, sched)
    m = match(run, windows)
    console.print(
        detection_table(m, f"Detection, triage every morning with the schedule (seed {args.seed})")
    )
    mat = m[(m.share >= MATERIAL_SHARE) & m.observable]
    console.print(
        f"goal ≥ 90 % of faults costing ≥ 10 % found within {GOAL_DAYS:g} days: "
        f"{pct((mat.days_any <= GOAL_DAYS).sum(), len(mat))} found at all, "
        f"{pct((mat.days_kind <= GOAL_DAYS).sum(), len(mat))} as their kind "
        f"({len(mat)} faults; faults starting < {GOAL_DAYS:g} days before the end left out); "
        f"{pct((mat.days_any_costly <= GOAL_DAYS).sum(), len(mat))} found at all within "
        f"{GOAL_DAYS:g} days of the day the fault's loss reached 10 % (soiling grows "
        "gradually; every other kind costs from its start)"
    )
    faulty = set(run.tele.truth.plant_id)
    n_free = len(run.fleet) - len(faulty)
    final = windows[-1][1]
    fa = final[~final.plant_id.isin(faulty)]
    ever = {p for _, f in windows for p in f.plant_id if p not in faulty}
    console.print(
        f"false alarms among the {n_free} fault-free plants: {fa.plant_id.nunique()} "
        f"({pct(fa.plant_id.nunique(), n_free)}) on the last window"
        + (f" ({', '.join(f'{k} {v}' for k, v in fa.finding.value_counts().items())})")
        + f"; {len(ever)} ({pct(len(ever), n_free)}) in any of the {len(windows)} daily runs"
    )
    in_cut, as_fault, n_cut = cut_checks(run, last)
    console.print(
        f"cuts, scheduled: {in_cut} findings on fault-free plants start in a cut hour; "
        f"{as_fault} of {n_cut:,} cut plant-hours classed offline/comms loss; last window "
        f"triaged in {seconds:.1f} s"
    )
    # Unscheduled: the same readings, triage not told of the cuts.
    blind = triage_fleet(run.tele.readings, run.fleet, run.start, run.end, schedule=None)
    in_cut, as_fault, _ = cut_checks(run, blind)
    fb = blind.findings[~blind.findings.plant_id.isin(faulty)]
    console.print(
        f"cuts, unscheduled (schedule=None, last window): {in_cut} findings on fault-free plants "
        "start in a cut hour;"
        f" {as_fault} of {n_cut:,} cut plant-hours classed offline/comms loss; false alarms "
        f"{fb.plant_id.nunique()} ({pct(fb.plant_id.nunique(), n_free)})"
        + (f" ({', '.join(f'{k} {v}' for k, v in fb.finding.value_counts().items())})")
    )
    e = expectation_error(run, last)
    table = Table(
        title=f"Expectation error on the {e['plants']:.0f} fault-free plants, reported hours "
        "outside cuts"
    )
    for c in ("expectation", "nMAE hourly power", "nMAE daily energy"):
        table.add_column(c, justify="left" if c == "expectation" else "right")
    table.add_row(
        f"peers (triage.expected; {100 * e['from_peers']:.0f} % of daylight hours from ≥ 5 peers)",
        f"{100 * e['peers_hourly']:.1f} %",
        f"{100 * e['peers_daily']:.1f} %",
    )
    table.add_row(
        "month × hour typical-year mean (ExpectedPower)",
        f"{100 * e['mh_hourly']:.1f} %",
        f"{100 * e['mh_daily']:.1f} %",
    )
    console.print(table)
    console.print(
        f"ratio month × hour / peers: hourly {e['mh_hourly'] / e['peers_hourly']:.1f}×, "
        f"daily {e['mh_daily'] / e['peers_daily']:.1f}×"
    )
    if args.misses:
        miss = m[(m.share >= MATERIAL_SHARE) & m.observable & ~(m.days_any <= GOAL_DAYS)]
        cols = ["plant_id", "kind", "start", "end", "severity", "hours", "share", "days_any"]
        cols.append("days_any_costly")
        console.print(miss[[*cols, "found_as"]].to_string())
        console.print(fa.to_string())
        # every fault-free plant flagged in some daily run: its first such finding
        first: dict[str, str] = {}
        for until, found in windows:
            for f in cast(Any, found[~found.plant_id.isin(faulty)]).itertuples():
                first.setdefault(
                    f.plant_id,
                    f"window to {until:%m-%d}: {f.finding} from {f.start:%m-%d %H:%M}, "
                    f"{f.lost_kwh_per_day} kWh/day, {f.evidence}",
                )
        for pid, text in sorted(first.items()):
            console.print(f"  {pid}: {text}")


def speed(n: int, days: int, start: pd.Timestamp, seed: int, chunk: int) -> tuple[float, float]:
    """(triage plant-days/s, generation seconds) for ``n`` plants; readings generated and binned
    per chunk of plants (the binning timed as part of triage)."""
    fleet = synthetic_fleet(n, seed=seed)
    end = start + days * DAY
    labels = hour_labels(start, end)
    gen_s = bin_s = 0.0
    parts: list[HourlyReadings] = []
    starts, ends, zones = [], [], []
    for a in range(0, n, chunk):
        sub = fleet.subset(a, min(n, a + chunk))
        t = time.perf_counter()
        faults = random_faults(sub, start, end, seed=seed)
        tele = emulated_readings(sub, start, end, faults=faults, cuts=True, seed=seed)
        gen_s += time.perf_counter() - t
        t = time.perf_counter()
        parts.append(bin_hourly(tele.readings, sub.plant_ids, labels))
        bin_s += time.perf_counter() - t
        starts.append(tele.schedule.start_ns)
        ends.append(tele.schedule.end_ns)
        zones.append(tele.schedule.zone)
        del tele
    cuts = pd.DataFrame(
        {"s": np.concatenate(starts), "e": np.concatenate(ends), "z": np.concatenate(zones)}
    ).drop_duplicates()
    sched = Schedule(
        cuts.s.to_numpy(np.int64), cuts.e.to_numpy(np.int64), cuts.z.to_numpy(object), True, "run"
    )

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts], axis=0)

    hourly = HourlyReadings(
        tuple(fleet.plant_ids),
        labels,
        cat("ac_power_w"),
        cat("readings"),
        cat("energy_first_wh"),
        cat("energy_last_wh"),
        cat("alarm_code"),
        cat("dc_power_w"),
        cat("late_s"),
    )
    parts.clear()
    steps: dict[str, float] = {}
    mark: list[Any] = [time.perf_counter(), ""]

    def progress(name: str) -> None:
        now = time.perf_counter()
        if mark[1]:
            steps[str(mark[1])] = now - float(mark[0])
        mark[0], mark[1] = now, name

    t = time.perf_counter()
    res = triage_fleet(hourly, fleet, start, end, schedule=sched, progress=progress)
    tri_s = time.perf_counter() - t
    steps[str(mark[1])] = time.perf_counter() - float(mark[0])
    total = tri_s + bin_s
    rate = n * days / total
    console.print(
        f"{n:,} plants × {days} days: generation {gen_s:.0f} s (apart); triage {total:.1f} s = "
        f"binning {bin_s:.1f} s + "
        + " + ".join(f"{k} {v:.1f} s" for k, v in steps.items())
        + f"; {rate:,.0f} plant-days/s; {len(res.findings):,} findings; peak RSS "
        f"{rss_gib():.1f} GiB; load {os.getloadavg()[0]:.2f}"
    )
    return rate, gen_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plants", type=int, default=1000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--start", default="2025-07-01T00:00Z")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--weather",
        type=int,
        default=None,
        help="sampled year of the climate default (default: the seed's, so seeds differ in sky)",
    )
    parser.add_argument(
        "--speed-plants", default="10000,100000", help="fleet sizes timed ('' to skip)"
    )
    parser.add_argument("--chunk", type=int, default=5000, help="plants generated at once")
    parser.add_argument("--no-detection", action="store_true", help="speed only")
    parser.add_argument("--misses", action="store_true", help="list missed faults, false alarms")
    parser.add_argument("--fleet", help="fleet file (default: synthetic_fleet(--plants))")
    parser.add_argument("--faults", help="faults file, as roshanai emulate --faults")
    parser.add_argument("--fault-rates", help="random faults at these rates, e.g. offline=0.02")
    parser.add_argument(
        "--cuts",
        default="real",
        help="real, generic, none, a scenario's name, or a schedule CSV (default real)",
    )
    args = parser.parse_args(argv)
    console.print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
        f"{pd.Timestamp.now('UTC'):%Y-%m-%d %H:%M} UTC"
    )
    if not args.no_detection:
        try:
            detection(args)
        except RoshanaiError as exc:  # a bad fleet, faults or schedule file: one line
            console.print(f"error: {exc}", markup=False, highlight=False)
            return 2
    sizes = [int(x) for x in args.speed_plants.split(",") if x.strip()]
    rates = [speed(n, args.days, pd.Timestamp(args.start), args.seed, args.chunk) for n in sizes]
    if rates:
        rate = rates[-1][0]
        console.print(
            f"550,000 plants × {args.days} days at {rate:,.0f} plant-days/s (the "
            f"{sizes[-1]:,}-plant rate, two cores): {550_000 * args.days / rate / 60:.0f} min "
            "of triage (linear in plants: every step is per plant or per plant and peer)"
        )
    console.print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
