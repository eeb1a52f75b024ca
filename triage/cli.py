"""``roshanai triage``: the technician's worklist from the fleet's own readings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from simulate.cli.common import parse_time, progress
from telemetry.errors import InputError
from telemetry.helptext import count
from telemetry.settings import command_settings

__all__ = ["parse_time", "triage_command", "worklist_table"]

console = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def worklist_table(findings: pd.DataFrame, limit: int = 50) -> Table:
    """The ranked worklist (most kWh lost first) as a table that fits 80 columns: the
    evidence folds onto more lines."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1))
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("plant", no_wrap=True, max_width=14)
    table.add_column("finding", no_wrap=True)
    table.add_column("since UTC", no_wrap=True)
    table.add_column("kWh/d", justify="right", no_wrap=True)
    table.add_column("conf", justify="right", no_wrap=True)
    table.add_column("evidence", overflow="fold", min_width=16, ratio=1)
    for k, row in enumerate(findings.head(limit).to_dict("records"), start=1):
        table.add_row(
            str(k),
            str(row["plant_id"]),
            str(row["finding"]),
            f"{pd.Timestamp(str(row['start'])):%m-%d %H:%M}",
            f"{float(row['lost_kwh_per_day']):.1f}",
            f"{float(row['confidence']):.2f}",
            str(row["evidence"]),
        )
    return table


def triage_command(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Start, ISO 8601 (without an offset: Iran's local time).",
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="End (excluded), as --since. With --every: the first run's end.",
            show_default=False,
        ),
    ] = None,
    fleet_file: Annotated[
        Path | None,
        typer.Option(
            "--fleet",
            help="Fleet file (docs/contracts.md; env ROSHANAI_FLEET).",
            show_default=False,
        ),
    ] = None,
    influx_url: Annotated[
        str | None,
        typer.Option(
            "--influx-url", help="InfluxDB URL (env ROSHANAI_INFLUX_URL).", show_default=False
        ),
    ] = None,
    influx_db: Annotated[
        str | None,
        typer.Option(
            "--influx-db",
            help="Database or bucket (env ROSHANAI_INFLUX_DB; default roshanai).",
            show_default=False,
        ),
    ] = None,
    schedule: Annotated[
        Path | None,
        typer.Option(
            "--schedule",
            help="Cut schedule CSV (start,end[,zone]): cut hours are never faults.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Findings CSV. Default: `<out-dir>/triage_findings.csv`.",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows of the worklist shown.")] = 50,
    every: Annotated[
        str | None,
        typer.Option(
            "--every",
            help="Keep running: one run per period (e.g. 1h), each over the last --window "
            "before the hour (or --until, --until + every, …).",
            show_default=False,
        ),
    ] = None,
    window: Annotated[
        str | None,
        typer.Option(
            "--window",
            help="With --every: the period each run covers (default 3d).",
            show_default=False,
        ),
    ] = None,
    runs: Annotated[
        int | None,
        typer.Option("--runs", help="With --every: stop after this many runs.", show_default=False),
    ] = None,
) -> int:
    """Which plants need a visit, why, since when and what it costs: a ranked worklist from
    the fleet's readings, each plant judged against its neighbours (the fleet is its own
    irradiance sensor). Writes the findings CSV, the `plant_finding` measurement (the
    worklist carried on from earlier runs: a finding keeps its first start, a repaired one
    is closed) and `plant_expected` (the expectation, hourly). With --every it runs on."""
    from simulate.outages import read_schedule
    from telemetry.registry import read_fleet
    from triage.watch import parse_duration

    s = command_settings(
        ctx,
        influx_url=influx_url,
        influx_db=influx_db,
        fleet=None if fleet_file is None else str(fleet_file),
    )
    if limit < 0:
        raise InputError("--limit must be 0 or more")
    if every is None:
        if window is not None or runs is not None:
            raise InputError("--window and --runs go with --every")
        if since is None or until is None:
            raise InputError("--since and --until are needed (or --every for runs that go on)")
        t0, t1 = parse_time(since, "--since"), parse_time(until, "--until")
        if t0 >= t1:
            raise InputError(f"--since ({since}) must be before --until ({until})")
    else:
        period, span = parse_duration(every, "--every"), parse_duration(window or "3d", "--window")
        if since is not None:
            raise InputError("--since does not go with --every: each run covers --window")
        if runs is not None and runs < 1:
            raise InputError("--runs must be 1 or more")
        first = None if until is None else parse_time(until, "--until")
    if not s.fleet:
        raise InputError("no fleet file: pass --fleet or set ROSHANAI_FLEET")
    fleet = read_fleet(s.fleet)
    cuts = read_schedule(schedule, allow_empty=True) if schedule is not None else None
    if not s.influx_url:
        raise InputError("no InfluxDB URL: pass --influx-url or set ROSHANAI_INFLUX_URL")
    csv_path = out or Path(s.out_dir) / "triage_findings.csv"
    if every is None:
        _schedule_notes(cuts, fleet, t0, t1)
        _one_shot(s, fleet, t0, t1, cuts, csv_path, limit)
        return 0
    return _continuous(s, fleet, cuts, csv_path, period, span, first, runs)


def _schedule_notes(cuts: Any, fleet: Any, t0: pd.Timestamp, t1: pd.Timestamp) -> None:
    """One line each when the schedule cannot cut anything in the window: none of its cuts
    overlaps it, or none of its zones is a plant's ``outage_zone``."""
    if cuts is None or not len(cuts):
        return
    inside = (cuts.start_ns < t1.value) & (cuts.end_ns > t0.value)
    if not inside.any():
        err.print(
            f"note: none of the schedule's {count(len(cuts), 'cut')} falls in "
            f"{t0:%Y-%m-%d %H:%M}–{t1:%Y-%m-%d %H:%M} UTC (check its dates)",
            markup=False,
        )
    zones = set(fleet.plants["outage_zone"].fillna("").astype(str))
    if cuts.zoned and not zones & set(cuts.zones):
        err.print(
            "note: no zone of the schedule is a plant's outage_zone (its cuts cut no plant; "
            "cuts are then inferred from silent zones and neighbourhoods)",
            markup=False,
        )


def _one_shot(
    s: Any,
    fleet: Any,
    t0: pd.Timestamp,
    t1: pd.Timestamp,
    cuts: Any,
    csv_path: Path,
    limit: int,
) -> None:
    from telemetry.fileio import outputs
    from telemetry.influx import InfluxStore
    from triage.watch import triage_once

    with outputs() as staged, InfluxStore.from_settings(s, timeout_s=60) as store:
        tmp = staged.reserve(csv_path)
        store.ping()
        with progress() as bar:
            reading = bar.add_task("reading InfluxDB", total=None)
            steps = bar.add_task("triage", total=5)

            def step(name: str) -> None:
                bar.update(steps, description=name, advance=1)

            rep = triage_once(
                store,
                fleet,
                t0,
                t1,
                schedule=cuts,
                csv_path=tmp,
                read_progress=lambda done, total: bar.update(reading, completed=done, total=total),
                step=step,
            )
    wl = rep.worklist
    findings = wl.findings
    if findings.empty:
        console.print(
            f"no findings on {len(fleet)} plants, {t0:%Y-%m-%d %H:%M}–{t1:%Y-%m-%d %H:%M} UTC"
        )
    else:
        console.print(worklist_table(findings, limit))
        plants = findings["plant_id"].nunique()
        lost = findings.groupby("plant_id")["lost_kwh_per_day"].max().sum()
        console.print(
            f"{len(findings)} findings on {plants} of {len(fleet)} plants; about "
            f"{lost:.0f} kWh/day lost"
        )
    console.print(
        f"worklist: {wl.new} new, {wl.carried} open since an earlier run, {len(wl.closed)} "
        f"closed, {wl.repaired} fine again in the last day"
    )
    console.print(
        f"cuts kept {rep.result.cut_kwh_total:.0f} kWh from the grid (the program's figure, "
        "not counted as faults)"
    )
    console.print(f"wrote {csv_path}")
    console.print(
        f"wrote {s.influx_url} database {s.influx_db} ({rep.finding_points} plant_finding, "
        f"{rep.expected_points} plant_expected points) in {rep.seconds:.1f} s"
    )


def _continuous(
    s: Any,
    fleet: Any,
    cuts: Any,
    csv_path: Path,
    every: pd.Timedelta,
    window: pd.Timedelta,
    first: pd.Timestamp | None,
    runs: int | None,
) -> int:
    from telemetry.fileio import outputs
    from telemetry.influx import InfluxStore
    from telemetry.registry import read_fleet
    from triage.watch import RunReport, summary_line, triage_once, watch

    # The fleet file is read again when it changes (plants added to a running service); a
    # file that breaks its contract fails that run, in one line, as anything else.
    state = {"fleet": fleet, "mtime_ns": _mtime_ns(s.fleet)}

    def current_fleet() -> Any:
        mtime_ns = _mtime_ns(s.fleet)
        if mtime_ns != state["mtime_ns"]:
            state["fleet"] = read_fleet(s.fleet)
            state["mtime_ns"] = mtime_ns
        return state["fleet"]

    def run(t0: pd.Timestamp, t1: pd.Timestamp) -> RunReport:
        plants = current_fleet()
        with outputs() as staged, InfluxStore.from_settings(s, timeout_s=60) as store:
            return triage_once(
                store, plants, t0, t1, schedule=cuts, csv_path=staged.reserve(csv_path)
            )

    def report(k: int, rep: RunReport) -> None:
        console.print(summary_line(k, rep, len(rep.result.hourly.plant_ids)), soft_wrap=True)

    def failed(k: int, t0: pd.Timestamp, t1: pd.Timestamp, line: str) -> None:
        err.print(
            f"run {k} {t0:%Y-%m-%d %H:%M}–{t1:%Y-%m-%d %H:%M} UTC failed: {line} "
            "(the next run tries again)",
            markup=False,
        )

    def stopped(done: int, failures: int) -> None:
        err.print(f"stopped after {count(done, 'run')} ({failures} failed)", markup=False)

    first_text = "the hour" if first is None else f"{first:%Y-%m-%d %H:%M} UTC"
    console.print(
        f"triage every {_span(every)} over the last {_span(window)}, first run ending at "
        f"{first_text}; results to {csv_path} and {s.influx_url} database {s.influx_db}",
        soft_wrap=True,
    )
    return watch(
        run,
        every=every,
        window=window,
        first_end=first,
        runs=runs,
        report=report,
        failed=failed,
        stopped=stopped,
    )


def _mtime_ns(path: str) -> int:
    try:
        return Path(path).stat().st_mtime_ns
    except OSError:
        return -1


def _span(delta: pd.Timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"
