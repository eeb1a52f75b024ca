"""``roshanai simulate outage``: coverage of power cuts by a fleet, and its grid contribution.

Inputs are all checked (schedule, load file, options) before anything runs, so a bad input ends
as one line and exit code 2 with nothing written.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from simulate.cli.common import (
    DodOpt,
    InfluxDbOpt,
    InfluxUrlOpt,
    LoadFileOpt,
    LoadKindOpt,
    MonthsOpt,
    PowerOpt,
    ReserveOpt,
    RoundTripOpt,
    ScenarioOpt,
    ScheduleOpt,
    SeedOpt,
    TimezoneOpt,
    WeatherOpt,
    YearOpt,
    ZonesOpt,
    check_influx,
    check_transposition,
    console,
    cut_schedule,
    err,
    fitted_table,
    load_weather,
    outage_options,
    print_estimate_note,
    progress,
    warn_far_weather,
    warn_shifted_weather,
    warn_unknown_provinces,
    write_summary,
)
from simulate.cli.money import (
    DEFAULT_DEGRADATION_PCT,
    DegradationOpt,
    TariffTableOpt,
    add_contract_columns,
    contract_paths,
    contract_rates,
    degradation,
    lifetime_by_region,
    print_contract,
    write_contract,
)
from telemetry.fileio import outputs
from telemetry.settings import command_settings

__all__ = ["outage_cmd"]


def outage_cmd(
    ctx: typer.Context,
    fleet_file: Annotated[
        Path | None,
        typer.Argument(
            metavar="[FLEET.csv]",
            help="Fleet file (default: the sample fleet).",
            show_default=False,
        ),
    ] = None,
    schedule: ScheduleOpt = None,
    scenario: ScenarioOpt = None,
    zones: ZonesOpt = 4,
    seed: SeedOpt = 0,
    months: MonthsOpt = None,
    blocks_per_day: Annotated[
        int | None,
        typer.Option(
            "--blocks-per-day",
            help="Scenario: most 2-hour blocks a day per zone group, 1 or 2 (default: "
            "the scenario's).",
            show_default=False,
        ),
    ] = None,
    cut_hours: Annotated[
        str | None,
        typer.Option(
            "--cut-hours",
            help="Scenario: local hours of the daytime block, e.g. 9-17 [h, end "
            "exclusive] (default: the scenario's; none at night).",
            show_default=False,
        ),
    ] = None,
    evening_block: Annotated[
        bool | None,
        typer.Option(
            "--evening-block/--no-evening-block",
            help="Scenario: a second block in the early evening (17-21 h unless "
            "--evening-hours), or none (default: the scenario's; summer-2025 has one).",
            show_default=False,
        ),
    ] = None,
    evening_hours: Annotated[
        str | None,
        typer.Option(
            "--evening-hours",
            help="Scenario: local hours of the evening block, e.g. 17-21 [h, end exclusive].",
            show_default=False,
        ),
    ] = None,
    year: YearOpt = None,
    weather: WeatherOpt = None,
    summary: Annotated[
        Path | None,
        typer.Option(
            "--summary",
            help="Per-plant CSV; beside it `<stem>_regions.csv`, `<stem>_heatmap.csv` "
            "and `<stem>_coverage.png`. Default: `<out-dir>/outage_summary.csv`.",
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir",
            help="Report folder (env ROSHANAI_OUT_DIR; default roshanai-out).",
            show_default=False,
        ),
    ] = None,
    load: LoadFileOpt = None,
    load_profile: LoadKindOpt = "essential",
    battery_kwh: Annotated[
        float | None,
        typer.Option(
            "--battery-kwh",
            help="What-if: this battery on every hybrid plant [kWh] (default: "
            "the fleet file's battery_kwh).",
            show_default=False,
        ),
    ] = None,
    dod: DodOpt = 90.0,
    round_trip: RoundTripOpt = 90.0,
    battery_power_kw: PowerOpt = None,
    reserve_pct: ReserveOpt = 100.0,
    self_consumption: Annotated[
        bool,
        typer.Option(
            "--self-consumption",
            help="Serve the full-home load from PV while the grid is up (default: all PV is sold).",
        ),
    ] = False,
    peak: Annotated[
        str | None,
        typer.Option(
            "--peak",
            help="Evening-peak hours, e.g. 19-23 (default: Tavanir's TOU peak, 19–23 "
            "Farvardin–Shahrivar, 17–21 Mehr–Esfand).",
            show_default=False,
        ),
    ] = None,
    tariff: Annotated[
        float | None,
        typer.Option(
            "--tariff",
            help="One purchase tariff for every plant and contract year [toman/kWh] "
            "(default: the tariff table by tariff_category; household 2500).",
            show_default=False,
        ),
    ] = None,
    tariff_table: TariffTableOpt = None,
    degradation_pct: DegradationOpt = DEFAULT_DEGRADATION_PCT,
    timezone: TimezoneOpt = None,
    transposition: Annotated[
        str, typer.Option("--transposition", help="haydavies or perez.")
    ] = "haydavies",
    write_schedule: Annotated[
        Path | None,
        typer.Option(
            "--write-schedule",
            help="Also write the (generated) schedule as CSV, on the fleet's outage_zone "
            "names (give it back as --schedule, or to roshanai triage).",
            show_default=False,
        ),
    ] = None,
    plot: Annotated[bool, typer.Option(help="Draw the coverage heat map (PNG).")] = True,
    influx_url: InfluxUrlOpt = None,
    influx_db: InfluxDbOpt = None,
) -> None:
    """Cut hours covered and energy given to the grid, per plant, province and month.

    Plants take the cuts of their outage_zone from --schedule (or a generated --scenario);
    grid-tied plants cover none and deliver nothing while the grid is down (anti-islanding:
    export_lost_to_cuts_kwh), hybrid ones serve the household's load from PV and battery.
    """
    from simulate.coverage import run_outages
    from simulate.load import read_load_file
    from simulate.outages import assign_groups
    from telemetry.registry import load_sample_fleet, read_fleet

    started = time.perf_counter()
    s = command_settings(
        ctx,
        influx_url=influx_url,
        influx_db=influx_db,
        timezone=timezone,
        out_dir=None if out_dir is None else str(out_dir),
    )
    check_transposition(transposition)
    options = outage_options(
        load_profile,
        dod,
        round_trip,
        battery_power_kw,
        reserve_pct,
        battery_kwh,
        self_consumption,
        peak,
        tariff,
    )
    options = replace(options, degradation_per_year=degradation(degradation_pct))
    fleet = load_sample_fleet() if fleet_file is None else read_fleet(fleet_file)
    rates = contract_rates(fleet, tariff, tariff_table)
    warn_unknown_provinces(fleet)
    wx = load_weather(weather)
    sched, year = cut_schedule(
        schedule,
        scenario,
        zones,
        seed,
        months,
        year,
        wx,
        s.timezone,
        blocks_per_day=blocks_per_day,
        cut_hours=cut_hours,
        evening_block=evening_block,
        evening_hours=evening_hours,
    )
    p = fleet.plants
    overrides = None if load is None else read_load_file(load, p["plant_id"].tolist())
    plant_zones = None
    if scenario is not None:
        plant_zones = assign_groups(p["outage_zone"].tolist(), p["plant_id"].tolist(), sched.zones)
    summary_path = summary or Path(s.out_dir) / "outage_summary.csv"
    stem = summary_path.stem
    written: list[Path | str] = [
        summary_path,
        summary_path.with_name(f"{stem}_regions.csv"),
        summary_path.with_name(f"{stem}_heatmap.csv"),
        *([summary_path.with_name(f"{stem}_coverage.png")] if plot else []),
        *([write_schedule] if write_schedule is not None else []),
        *contract_paths(summary_path),
    ]
    # Every output and the database are checked before the work; files are written all or
    # none.
    with outputs() as out:
        files = iter([out.reserve(path) for path in written])
        check_influx(s)
        with progress() as bar:
            task = bar.add_task("simulating plants", total=len(fleet))
            cells = None

            def advance_weather(done: int, total: int) -> None:
                nonlocal cells
                if cells is None:
                    cells = bar.add_task("generating weather cells", total=total)
                bar.update(cells, completed=done)

            run = run_outages(
                fleet,
                wx,
                sched,
                options=options,
                timezone=s.timezone,
                plant_zones=plant_zones,
                load_overrides=overrides,
                year=year,
                transposition=transposition,
                progress=lambda done: bar.update(task, completed=done),
                weather_progress=advance_weather,
                tariff_rates=rates,
            )
        warn_far_weather(fleet, wx)
        warn_shifted_weather(fleet, wx)
        _warnings(run, p)
        assert run.contract is not None
        add_contract_columns(run.summary, fleet, run.contract, run.year)
        for table in (run.summary, run.regions, run.heatmap):
            write_summary(table, next(files))
        if plot:
            from simulate.outage_plots import plot_coverage

            plot_coverage(run, next(files))
        if write_schedule is not None:  # on the fleet's own zones: it can be given back
            on_zones = sched
            if scenario is not None:
                on_zones, _ = sched.on_plant_zones(
                    p["outage_zone"].tolist(), p["plant_id"].tolist()
                )
            on_zones.write_csv(next(files), s.timezone)
        write_contract(run.contract, fleet, run.year, next(files), next(files))
        if s.influx_url:
            from simulate.outage_results import write_outage_run

            n = write_outage_run(run, s)
            written.append(f"{s.influx_url} database {s.influx_db} ({n} points)")
    _print_outage(
        run, options, time.perf_counter() - started, lifetime_by_region(run.contract, fleet)
    )
    _print_cuts(run, sched)
    for w in written:
        console.print(f"wrote {w}")


def _warnings(run, plants: pd.DataFrame) -> None:
    if run.plants_without_cuts:
        err.print(
            f"[yellow]warning:[/] {run.plants_without_cuts} plant(s) have no cuts (no "
            f"outage_zone, or a zone the schedule does not name); their coverage is empty."
        )
    if run.cuts.cuts_outside:
        err.print(
            f"[yellow]warning:[/] {run.cuts.cuts_outside} cut(s) lie wholly or partly "
            f"outside the simulated year {run.year}; those parts are left out."
        )
    ignored = int(((plants["inverter_type"] == "grid_tied") & (plants["battery_kwh"] > 0)).sum())
    if ignored:
        err.print(
            f"[yellow]note:[/] {ignored} grid-tied plant(s) list a battery; it is ignored "
            f"(a grid-tied inverter cannot island)."
        )


def _print_cuts(run, sched) -> None:
    """The energy the cuts kept from the grid, and the unannounced share of the cuts."""
    from simulate.grid import FLEET_REGION

    r = run.regions
    fleet = r[(r["calendar"] == "year") & (r["region"] == FLEET_REGION)].iloc[0]
    console.print(
        f"lost to cuts: {fleet.export_lost_to_cuts_kwh / 1000:,.2f} MWh of PV the grid did "
        f"not get (export_lost_to_cuts_kwh);\n"
        f"  {fleet.grid_tied_lost_to_cuts_kwh / 1000:,.2f} MWh of it on grid-tied plants "
        f"(anti-islanding)"
    )
    if sched.announced is not None and len(sched.zones):
        n = len(sched.zones)
        console.print(
            f"schedule: {sched.hours / n:,.0f} h of cuts per zone group, "
            f"{sched.unannounced_hours / n:,.0f} h unannounced (announced = false)"
        )


def _print_outage(run, options, seconds: float, lifetime: dict[str, tuple[float, float]]) -> None:
    from simulate.grid import FLEET_REGION

    r = run.regions[run.regions["calendar"] == "year"]

    def row(x) -> list[str]:
        cov = "–" if np.isnan(x.coverage_pct) else f"{x.coverage_pct:.1f} %"
        return [
            str(x.region),
            str(int(x.plants)),
            f"{x.outage_hours:,.0f}",
            f"{x.outage_hours_served:,.0f}",
            cov,
            f"{x.unserved_kwh:,.0f}",
            f"{x.exported_kwh / 1000:,.2f}",
            f"{x.exported_peak_kwh / 1000:,.2f}",
            f"{x.peak_mw * 1000:,.1f}",
            f"{x.income_toman / 1e6:,.1f}",
        ]

    rows = [row(x) for x in r[r.region != FLEET_REGION].itertuples()]
    fleet = r[r.region == FLEET_REGION].iloc[0]
    table = fitted_table(
        f"Power cuts {run.year} — {run.schedule_source}; weather: {run.yield_run.weather_source}",
        [
            "province",
            "plants",
            "cut\nh",
            "served\nh",
            "cover",
            "unserved\nkWh",
            "export\nMWh",
            "at peak\nMWh",
            "max\nkW",
            "income\nM toman",
        ],
        rows,
        [row(fleet)],
    )
    console.print(table)
    f = options.factors
    covered = (
        "no plant has cuts"
        if not fleet.outage_hours > 0
        else f"{fleet.coverage_pct:.1f} % of {fleet.outage_hours:,.0f} plant-hours of cuts "
        f"fully served"
    )
    console.print(
        f"fleet: {covered}; {fleet.exported_kwh / 1000:,.1f} MWh exported "
        f"(peak {fleet.peak_mw:,.3f} MW); {fleet.co2_avoided_t:,.1f} t CO2 and "
        f"{fleet.gas_avoided_m3:,.0f} m³ gas avoided ({seconds:.1f} s)"
    )
    print_contract(lifetime, options.degradation_per_year, f.tariff_toman_per_kwh)
    console.print(
        f"factors per exported kWh: {f.co2_kg_per_kwh:.3f} kg CO2 (gas margin; "
        f"{f.co2_grid_kg_per_kwh:.3f} at the grid average: {fleet.co2_avoided_grid_t:,.1f} t), "
        f"{f.gas_m3_per_kwh:.3f} m³ gas (sources: telemetry/factors.py)"
    )
    if run.yield_run.estimate:
        print_estimate_note(run.yield_run.weather_source)
