"""``roshanai triage``: the technician's worklist from the fleet's own readings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from simulate.cli.common import progress
from telemetry.errors import InputError
from telemetry.settings import command_settings

__all__ = ["parse_time", "triage_command", "worklist_table"]

console = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)

#: Naive ``--since``/``--until`` are read in this zone (the technicians' clock).
LOCAL_ZONE = "Asia/Tehran"


def parse_time(value: str, option: str) -> pd.Timestamp:
    """``--since``/``--until``: ISO 8601 date or time; without an offset, Iran's local time.

    Raises
    ------
    InputError
        Not a date or time.
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise InputError(
            f"{option}: {value!r} is not an ISO 8601 date or time (e.g. 2026-07-01 or "
            "2026-07-01T06:00+03:30)"
        ) from None
    if ts is pd.NaT or pd.isna(ts):
        raise InputError(f"{option}: {value!r} is not a date or time")
    if ts.tzinfo is None:
        ts = ts.tz_localize(LOCAL_ZONE)
    return ts.tz_convert("UTC")


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
        str,
        typer.Option(
            "--since",
            help="Start, ISO 8601 (without an offset: Iran's local time).",
            show_default=False,
        ),
    ],
    until: Annotated[
        str,
        typer.Option("--until", help="End (excluded), as --since.", show_default=False),
    ],
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
) -> None:
    """Which plants need a visit, why, since when and what it costs: a ranked worklist from
    the fleet's readings, each plant judged against its neighbours (the fleet is its own
    irradiance sensor). Writes the findings CSV and the `plant_finding` measurement."""
    from simulate.outages import read_schedule
    from telemetry.fileio import outputs
    from telemetry.influx import InfluxStore
    from telemetry.registry import read_fleet
    from triage.io import read_hourly, write_findings, write_findings_csv
    from triage.run import triage_fleet

    s = command_settings(
        ctx,
        influx_url=influx_url,
        influx_db=influx_db,
        fleet=None if fleet_file is None else str(fleet_file),
    )
    t0, t1 = parse_time(since, "--since"), parse_time(until, "--until")
    if t0 >= t1:
        raise InputError(f"--since ({since}) must be before --until ({until})")
    if limit < 0:
        raise InputError("--limit must be 0 or more")
    if not s.fleet:
        raise InputError("no fleet file: pass --fleet or set ROSHANAI_FLEET")
    fleet = read_fleet(s.fleet)
    cuts = read_schedule(schedule) if schedule is not None else None
    if not s.influx_url:
        raise InputError("no InfluxDB URL: pass --influx-url or set ROSHANAI_INFLUX_URL")
    csv_path = out or Path(s.out_dir) / "triage_findings.csv"
    with outputs() as staged, InfluxStore.from_settings(s, timeout_s=60) as store:
        tmp = staged.reserve(csv_path)
        store.ping()
        with progress() as bar:
            reading = bar.add_task("reading InfluxDB", total=None)
            hourly = read_hourly(
                store,
                fleet,
                t0,
                t1,
                progress=lambda done, total: bar.update(reading, completed=done, total=total),
            )
            steps = bar.add_task("triage", total=5)

            def step(name: str) -> None:
                bar.update(steps, description=name, advance=1)

            result = triage_fleet(hourly, fleet, t0, t1, schedule=cuts, progress=step)
        findings = result.findings
        write_findings_csv(findings, tmp)
        n_points = write_findings(store, findings, fleet, t1) if len(findings) else 0
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
        f"cuts kept {result.cut_kwh_total:.0f} kWh from the grid (the program's figure, "
        "not counted as faults)"
    )
    console.print(f"wrote {csv_path}")
    console.print(f"wrote {s.influx_url} database {s.influx_db} ({n_points} points)")
