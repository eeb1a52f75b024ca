"""``roshanai simulate size-battery``: the smallest battery reaching a coverage target at a site
(the search is :mod:`simulate.sizing`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.table import Table

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
    console,
    cut_schedule,
    load_weather,
    outage_options,
    print_estimate_note,
    site_fleet,
    warn_far_weather,
    warn_shifted_weather,
    write_summary,
)
from simulate.sizing import DEFAULT_COST_TOMAN_PER_KWH, battery_curve, smallest_battery
from telemetry.errors import InputError
from telemetry.fileio import outputs
from telemetry.settings import command_settings

__all__ = ["size_battery_cmd"]


def _sizes(text: str | None) -> np.ndarray | None:
    if text is None:
        return None
    try:
        sizes = np.array(sorted({float(x) for x in text.split(",") if x.strip()}))
    except ValueError:
        raise InputError(f"--sizes must be numbers like 0,2.4,4.8, not {text!r}") from None
    if sizes.size == 0 or (sizes < 0).any() or not np.isfinite(sizes).all():
        raise InputError(f"--sizes must be non-negative numbers, not {text!r}")
    return sizes


def size_battery_cmd(
    ctx: typer.Context,
    lat: Annotated[float, typer.Option("--lat", help="Latitude [degree, north positive].")],
    lon: Annotated[float, typer.Option("--lon", help="Longitude [degree, east positive].")],
    kwp: Annotated[float, typer.Option("--kwp", help="DC rating [kWp].")] = 5.0,
    ac_kw: Annotated[
        float | None,
        typer.Option(
            "--ac-kw", help="Hybrid inverter AC rating [kW] (default: = kWp).", show_default=False
        ),
    ] = None,
    tilt: Annotated[float, typer.Option("--tilt", help="Tilt from horizontal [degree].")] = 30.0,
    azimuth: Annotated[
        float, typer.Option("--azimuth", help="Azimuth, 180 = south [degree].")
    ] = 180.0,
    weather: WeatherOpt = None,
    schedule: ScheduleOpt = None,
    zone: Annotated[
        str | None,
        typer.Option("--zone", help="The site's zone in a zoned schedule.", show_default=False),
    ] = None,
    scenario: ScenarioOpt = None,
    zones: ZonesOpt = 4,
    seed: SeedOpt = 0,
    months: MonthsOpt = None,
    year: YearOpt = None,
    target_coverage: Annotated[
        float, typer.Option("--target-coverage", help="Share of cut hours to serve fully [%].")
    ] = 90.0,
    load_w: Annotated[
        float,
        typer.Option(
            "--load-w", help="Essential load on a summer afternoon [W]; scales the profile."
        ),
    ] = 500.0,
    load_profile: LoadKindOpt = "essential",
    load: LoadFileOpt = None,
    sizes: Annotated[
        str | None,
        typer.Option(
            "--sizes",
            help="Candidate sizes [kWh], e.g. 0,2.4,4.8,7.2 (default: a grid up to "
            "--max-kwh, refined by bisection).",
            show_default=False,
        ),
    ] = None,
    max_kwh: Annotated[float, typer.Option("--max-kwh", help="Largest size tried [kWh].")] = 20.0,
    step_kwh: Annotated[float, typer.Option("--step-kwh", help="Grid step [kWh].")] = 1.0,
    cost_per_kwh: Annotated[
        float,
        typer.Option(
            "--cost-per-kwh",
            help="Battery price (toman per kWh of capacity) (default: an "
            "assumption, ≈ US$200/kWh).",
        ),
    ] = DEFAULT_COST_TOMAN_PER_KWH,
    dod: DodOpt = 90.0,
    round_trip: RoundTripOpt = 90.0,
    battery_power_kw: PowerOpt = None,
    reserve_pct: ReserveOpt = 100.0,
    timezone: TimezoneOpt = None,
    summary: Annotated[
        Path | None,
        typer.Option("--summary", help="Write the cost curve CSV here.", show_default=False),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Cost-curve PNG (default `<out-dir>/battery_sizing.png`).",
            show_default=False,
        ),
    ] = None,
    no_plot: Annotated[bool, typer.Option("--no-plot", help="Draw no chart.")] = False,
    influx_url: InfluxUrlOpt = None,
    influx_db: InfluxDbOpt = None,
) -> None:
    """Smallest battery with which a hybrid plant at a site serves the target share of cuts.

    Prints and plots the cost curve: coverage and price for each battery size tried.
    """
    from simulate.coverage import calendar_axis, schedule_year, simulation_labels
    from simulate.fleet import run_fleet
    from simulate.load import plant_loads, read_load_file
    from simulate.outages import cut_fractions, plant_zone_index

    s = command_settings(ctx, influx_url=influx_url, influx_db=influx_db, timezone=timezone)
    options = outage_options(load_profile, dod, round_trip, battery_power_kw, reserve_pct)
    target = _pct_target(target_coverage)
    candidates = _sizes(sizes)
    if not (max_kwh > 0 and 0 < step_kwh <= max_kwh):
        raise InputError("--max-kwh and --step-kwh must be positive, the step at most the max")
    if cost_per_kwh < 0 or load_w < 0:
        raise InputError("--cost-per-kwh and --load-w must not be negative")
    ac = kwp if ac_kw is None else ac_kw
    row = {
        "plant_id": "site",
        "latitude": lat,
        "longitude": lon,
        "dc_kwp": kwp,
        "ac_kw": ac,
        "tilt_deg": tilt,
        "azimuth_deg": azimuth,
        "inverter_type": "hybrid",
        "essential_load_w": load_w,
    }
    fleet = site_fleet(row)
    wx = load_weather(weather)
    sched, year = cut_schedule(schedule, scenario, zones, seed, months, year, wx, s.timezone)
    overrides = None if load is None else read_load_file(load, ["site"])
    if scenario is not None:
        zone = zone or sched.zones[0]
    elif sched.zoned and zone is None:
        raise InputError(
            f"the schedule has zones ({', '.join(sched.zones[:5])}"
            f"{', …' if len(sched.zones) > 5 else ''}); pick the site's with --zone"
        )
    written: list[Path | str] = [
        *([summary] if summary is not None else []),
        *([plot or Path(s.out_dir) / "battery_sizing.png"] if not no_plot else []),
    ]
    # Outputs and the database checked before the work; files written all or none.
    with outputs() as out:
        files = iter([out.reserve(path) for path in written])
        check_influx(s)
        loads = plant_loads(
            ["site"], np.array([load_w]), kind=options.load_kind, overrides=overrides
        )
        weather_obj, widx = wx, None
        if weather_obj is None:
            from simulate.fleet import default_fleet_weather

            weather_obj, widx = default_fleet_weather(fleet)
        run = run_fleet(fleet, weather_obj, hourly=True, timezone=s.timezone, weather_index=widx)
        warn_far_weather(fleet, wx)
        warn_shifted_weather(fleet, wx)
        labels, cal_year = simulation_labels(
            weather_obj, year if year is not None else schedule_year(sched)
        )
        cuts = cut_fractions(sched, labels, weather_obj.step_hours, s.timezone)
        zone_row = int(plant_zone_index(cuts, [zone or ""])[0])
        if zone_row < 0:
            raise InputError(
                f"zone {zone!r} is not in the schedule (zones: {', '.join(cuts.zones[:5])})"
            )
        if cuts.hours[zone_row] <= 0:
            raise InputError(f"the schedule has no cuts in the simulated year {cal_year}")
        axis = calendar_axis(labels, weather_obj.step_hours, s.timezone, options.peak_window)
        assert run.ac_power_w is not None
        pv_w = run.ac_power_w[0]

        def curve(values: np.ndarray) -> pd.DataFrame:
            return battery_curve(
                pv_w,
                values,
                cuts=cuts,
                zone_row=zone_row,
                loads=loads,
                axis=axis,
                options=options,
                ac_w=ac * 1000.0,
                step_hours=weather_obj.step_hours,
            )

        table, smallest = smallest_battery(curve, candidates, max_kwh, step_kwh, target * 100)
        table["cost_toman"] = table["battery_kwh"] * cost_per_kwh
        _print_sizing(
            table,
            smallest,
            target * 100,
            lat,
            lon,
            kwp,
            load_w,
            sched.source,
            zone,
            cost_per_kwh,
            run,
        )
        if summary is not None:
            write_summary(table, next(files))
        if not no_plot:
            from simulate.outage_plots import plot_battery_sizing

            title = (
                f"Site {lat:.3f}°, {lon:.3f}° — {kwp:g} kWp, {load_w:g} W essential load; "
                f"{sched.source}"
            )
            plot_battery_sizing(table, target * 100, smallest, title, next(files))
        if s.influx_url:
            from simulate.outage_results import write_sizing
            from simulate.results import CLIMATOLOGY_WEATHER

            n = write_sizing(
                table,
                s,
                weather=CLIMATOLOGY_WEATHER if run.estimate else run.weather_source,
                site=f"{lat:.4f},{lon:.4f}",
                year=cal_year,
                target_pct=target * 100,
                smallest_kwh=smallest,
            )
            written.append(f"{s.influx_url} database {s.influx_db} ({n} points)")
    for w in written:
        console.print(f"wrote {w}")


def _pct_target(value: float) -> float:
    if not 0 < value <= 100:
        raise InputError(f"--target-coverage must lie in (0, 100], not {value:g}")
    return value / 100.0


def _print_sizing(
    table: pd.DataFrame,
    smallest: float | None,
    target_pct: float,
    lat: float,
    lon: float,
    kwp: float,
    load_w: float,
    source: str,
    zone: str | None,
    cost_per_kwh: float,
    run,
) -> None:
    where = f", zone {zone}" if zone else ""
    console.print(
        f"[bold]Battery for a hybrid plant at {lat:.4f}°, {lon:.4f}°[/] — {kwp:g} kWp, "
        f"essential load {load_w:g} W; cuts: {source}{where}"
    )
    console.print(f"weather: {run.weather_source}")
    t = Table(title=f"Cost curve (target {target_pct:g} % of cut hours fully served)")
    for name in ("battery kWh", "coverage", "served h", "cut h", "unserved kWh", "cost M toman"):
        t.add_column(name, justify="right")
    for x in table.to_dict("records"):
        kwh, coverage = float(x["battery_kwh"]), float(x["coverage_pct"])
        mark = "[bold]" if smallest is not None and abs(kwh - smallest) < 1e-9 else ""
        cov = "–" if not np.isfinite(coverage) else f"{coverage:.1f} %"
        t.add_row(
            f"{mark}{kwh:g}",
            cov,
            f"{float(x['outage_hours_served']):,.1f}",
            f"{float(x['outage_hours']):,.1f}",
            f"{float(x['unserved_kwh']):,.1f}",
            f"{float(x['cost_toman']) / 1e6:,.1f}",
        )
    console.print(t)
    if smallest is None:
        best = table["coverage_pct"].max()
        console.print(
            f"[yellow]not reached:[/] at most {best:.1f} % with up to "
            f"{table['battery_kwh'].max():g} kWh (the inverter's power, the PV or a "
            f"larger --max-kwh may be the limit)"
        )
    else:
        console.print(
            f"smallest battery reaching {target_pct:g} %: [bold]{smallest:g} kWh[/] "
            f"(≈ {smallest * cost_per_kwh / 1e6:,.1f} million toman at "
            f"{cost_per_kwh:,.0f} toman/kWh)"
        )
    if run.estimate:
        print_estimate_note(run.weather_source)
