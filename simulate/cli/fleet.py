"""``roshanai simulate fleet`` and ``roshanai simulate site``: a year of yield."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from simulate.cli.common import (
    FleetArg,
    InfluxDbOpt,
    InfluxUrlOpt,
    TranspositionOpt,
    WeatherOpt,
    check_influx,
    check_transposition,
    console,
    err,
    load_weather,
    print_estimate_note,
    progress,
    site_fleet,
    warn_far_weather,
    warn_shifted_weather,
    warn_unknown_provinces,
    write_summary,
)
from simulate.cli.money import (
    DEFAULT_DEGRADATION_PCT,
    DegradationOpt,
    FlatTariffOpt,
    TariffTableOpt,
    add_contract_columns,
    contract_paths,
    contract_rates,
    degradation,
    lifetime_by_region,
    print_contract,
    write_contract,
)
from telemetry.errors import InputError
from telemetry.fileio import atomic_path, outputs
from telemetry.settings import command_settings

__all__ = ["fleet_cmd", "site_cmd"]


SpreadYearsOpt = Annotated[
    int | None,
    typer.Option(
        "--spread-years",
        help=(
            "Sampled years behind P90/P50/P10 of annual energy [years] on the generated "
            "weather (default 20 up to 2,000 plants, else 0; 0: none). Not with --weather."
        ),
        show_default=False,
    ),
]


#: Above this many plants the sampled years are not run unless asked for: they cost about
#: 20 × the kernel's time (5,000 plants: 92 s against 19 s without, measured 2026-12-01).
SPREAD_DEFAULT_MAX_PLANTS = 2000


def _spread_years(value: int | None, weather: Path | None, n_plants: int = 1) -> int:
    """The number of sampled years to run, checked: 0 with a weather file."""
    from simulate.spread import DEFAULT_SPREAD_YEARS

    if weather is not None:
        if value:
            raise InputError(
                "--spread-years needs the generated weather: a weather file is one year "
                "(drop --weather, or --spread-years)"
            )
        return 0
    if value is None:
        if n_plants > SPREAD_DEFAULT_MAX_PLANTS:
            err.print(
                f"note: {n_plants:,} plants: P90/P50/P10 not computed (pass --spread-years 20; "
                "it takes about 5 times as long)"
            )
            return 0
        return DEFAULT_SPREAD_YEARS
    if value != 0 and not 2 <= value <= 1000:
        raise InputError(f"--spread-years must be 0 or 2–1000, not {value}")
    return value


def _spread_line(p90: float, p50: float, p10: float, n: int, unit: str = "kWh") -> str:
    return (
        f"P90 / P50 / P10 of annual energy over {n} sampled years: "
        f"[bold]{p90:,.0f}[/] / {p50:,.0f} / {p10:,.0f} {unit} (P90: exceeded in 9 years of 10; "
        "day-to-day weather only, see simulate.spread)"
    )


def fleet_cmd(
    ctx: typer.Context,
    fleet_file: FleetArg = None,
    weather: WeatherOpt = None,
    hourly: Annotated[
        Path | None,
        typer.Option(
            "--hourly",
            help="Write hourly AC power (time UTC, plant_id, ac_power_w) to this Parquet file.",
        ),
    ] = None,
    summary: Annotated[
        Path | None,
        typer.Option(
            "--summary", help="Per-plant summary CSV. Default: `<out-dir>/fleet_summary.csv`."
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
    transposition: TranspositionOpt = "haydavies",
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone", help="Zone of days and months (default Asia/Tehran).", show_default=False
        ),
    ] = None,
    influx_url: InfluxUrlOpt = None,
    influx_db: InfluxDbOpt = None,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            help="Run plant chunks on this Dask scheduler, e.g. tcp://scheduler:8786.",
            show_default=False,
        ),
    ] = None,
    plot: Annotated[bool, typer.Option(help="Draw the monthly energy chart (PNG).")] = True,
    tariff: FlatTariffOpt = None,
    tariff_table: TariffTableOpt = None,
    degradation_pct: DegradationOpt = DEFAULT_DEGRADATION_PCT,
    spread_years: SpreadYearsOpt = None,
) -> None:
    """Simulate a fleet for a year: per-plant kWh, specific yield, PR, monthly kWh, P90/P50/P10
    of annual energy on generated weather, and the purchase contract's 20 years of energy and
    income (all the energy sold)."""
    from simulate.fleet import run_fleet
    from telemetry.registry import load_sample_fleet, read_fleet
    from telemetry.tariffs import project

    started = time.perf_counter()
    s = command_settings(
        ctx,
        influx_url=influx_url,
        influx_db=influx_db,
        timezone=timezone,
        out_dir=None if out_dir is None else str(out_dir),
    )
    check_transposition(transposition)
    fleet = load_sample_fleet() if fleet_file is None else read_fleet(fleet_file)
    rates = contract_rates(fleet, tariff, tariff_table)
    degradation_per_year = degradation(degradation_pct)
    n_spread = _spread_years(spread_years, weather, len(fleet))
    warn_unknown_provinces(fleet)
    wx = load_weather(weather)
    summary_path = summary or Path(s.out_dir) / "fleet_summary.csv"
    png = summary_path.with_name(summary_path.stem + "_monthly.png")
    written: list[Path | str] = [
        summary_path,
        *([hourly] if hourly else []),
        *([png] if plot else []),
        *contract_paths(summary_path),
    ]
    # Every output and the database are checked before the work, and the files are written
    # all or none: an error leaves nothing half-done behind.
    with outputs() as out:
        staged = [out.reserve(path) for path in written]
        check_influx(s)
        with progress() as bar:
            task = bar.add_task("simulating plants", total=len(fleet))
            cells = None

            def advance(done: int) -> None:
                bar.update(task, completed=done)

            def advance_weather(done: int, total: int) -> None:
                nonlocal cells
                if cells is None:
                    cells = bar.add_task("generating weather cells", total=total)
                bar.update(cells, completed=done)

            if dask:
                from simulate.distributed import run_fleet_dask

                run = run_fleet_dask(
                    fleet,
                    wx,
                    dask,
                    transposition=transposition,
                    hourly=hourly is not None,
                    timezone=s.timezone,
                    progress=advance,
                    weather_progress=advance_weather,
                )
            else:
                run = run_fleet(
                    fleet,
                    wx,
                    transposition=transposition,
                    hourly=hourly is not None,
                    timezone=s.timezone,
                    progress=advance,
                    weather_progress=advance_weather,
                )
            spread = None
            if n_spread:
                from simulate.spread import yield_spread

                sampled = bar.add_task(f"{n_spread} sampled years, by weather cell", total=None)
                spread = yield_spread(
                    fleet,
                    n_spread,
                    transposition=transposition,
                    timezone=s.timezone,
                    progress=lambda done, total: bar.update(sampled, completed=done, total=total),
                )
                for col, values in spread.plants().items():
                    if col != "plant_id":
                        run.summary[col] = values.to_numpy()
        warn_far_weather(fleet, wx)
        warn_shifted_weather(fleet, wx)
        # A grid-tied program plant sells all it makes: the year's energy is contract year 1.
        energy_kwh = run.summary["ac_energy_kwh"].to_numpy(float)
        contract = project(energy_kwh, rates, degradation_per_year)
        year = contract_year(run)
        add_contract_columns(run.summary, fleet, contract, year)
        files = iter(staged)
        write_summary(run.summary, next(files))
        if hourly is not None:
            _write_hourly(run, next(files))
        if plot:
            from simulate.plots import plot_fleet_monthly

            plot_fleet_monthly(run, next(files))
        write_contract(contract, fleet, year, next(files), next(files))
        if s.influx_url:
            from simulate.results import write_run

            n = write_run(run, s)
            written.append(f"{s.influx_url} database {s.influx_db} ({n} points)")
    _print_fleet(run, fleet.source, time.perf_counter() - started)
    if spread is not None:
        f = spread.fleet_kwh()
        console.print(_spread_line(f["p90"], f["p50"], f["p10"], spread.n_years))
    print_contract(lifetime_by_region(contract, fleet), degradation_per_year, tariff)
    for w in written:
        console.print(f"wrote {w}")


def _write_hourly(run, path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    assert run.ac_power_w is not None
    n_plants, n_time = run.ac_power_w.shape
    ids = pa.array(run.summary["plant_id"].to_numpy().astype(str))
    times = pa.array(run.labels.to_numpy(dtype="datetime64[ns]"), pa.timestamp("ns", tz="UTC"))
    schema = pa.schema(
        [
            ("time", times.type),
            ("plant_id", pa.dictionary(pa.int32(), pa.string())),
            ("ac_power_w", pa.float64()),
        ]
    )
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        step = max(1, 2_000_000 // max(n_time, 1))
        for a in range(0, n_plants, step):
            b = min(n_plants, a + step)
            idx = np.repeat(np.arange(a, b, dtype=np.int32), n_time)
            table = pa.table(
                {
                    "time": pa.chunked_array([times] * (b - a)),
                    "plant_id": pa.DictionaryArray.from_arrays(pa.array(idx), ids),
                    "ac_power_w": pa.array(run.ac_power_w[a:b].reshape(-1)),
                },
                schema=schema,
            )
            writer.write_table(table)
    return path


def _print_fleet(run, source: str, seconds: float) -> None:
    s = run.summary
    table = Table(title=f"Yearly yield — {source}, weather: {run.weather_source}")
    table.add_column("province")
    table.add_column("plants", justify="right")
    table.add_column("kWp", justify="right")
    table.add_column("MWh/year", justify="right")
    table.add_column("kWh/kWp", justify="right")
    table.add_column("PR", justify="right")
    by = s.groupby(s["province"].replace("", "(none)"), sort=True)
    for prov, g in by:
        table.add_row(
            str(prov),
            str(len(g)),
            f"{g.dc_kwp.sum():,.1f}",
            f"{g.ac_energy_kwh.sum() / 1000:,.2f}",
            f"{g.ac_energy_kwh.sum() / g.dc_kwp.sum():,.0f}",
            f"{g.performance_ratio.mean():.3f}",
        )
    total = s.ac_energy_kwh.sum()
    table.add_section()
    table.add_row(
        "fleet",
        str(len(s)),
        f"{s.dc_kwp.sum():,.1f}",
        f"{total / 1000:,.2f}",
        f"{total / s.dc_kwp.sum():,.0f}",
        f"{s.performance_ratio.mean():.3f}",
    )
    console.print(table)
    console.print(
        f"fleet yearly energy: [bold]{total:,.0f} kWh[/] from {len(s)} plants ({seconds:.1f} s)"
    )
    if run.estimate:
        print_estimate_note(run.weather_source)


def contract_year(run) -> int:
    """Year of a contract start left empty: the simulated year; a typical year's 1990 is no
    year, so scenarios' :data:`simulate.cli.common.SCENARIO_YEAR` stands in for it."""
    from simulate.cli.common import SCENARIO_YEAR
    from simulate.weather import TYPICAL_YEAR

    years, counts = np.unique(run.labels.year.to_numpy(), return_counts=True)
    year = int(years[np.argmax(counts)]) if len(years) else SCENARIO_YEAR
    return SCENARIO_YEAR if run.estimate or year == TYPICAL_YEAR else year


def site_cmd(
    ctx: typer.Context,
    lat: Annotated[float, typer.Option("--lat", help="Latitude [degree, north positive].")],
    lon: Annotated[float, typer.Option("--lon", help="Longitude [degree, east positive].")],
    kwp: Annotated[float, typer.Option("--kwp", help="DC rating [kWp].")] = 5.0,
    ac_kw: Annotated[
        float | None,
        typer.Option(
            "--ac-kw", help="Inverter AC rating [kW] (default: = kWp).", show_default=False
        ),
    ] = None,
    tilt: Annotated[float, typer.Option("--tilt", help="Tilt from horizontal [degree].")] = 30.0,
    azimuth: Annotated[
        float, typer.Option("--azimuth", help="Azimuth, 180 = south [degree].")
    ] = 180.0,
    altitude: Annotated[
        float | None,
        typer.Option("--altitude", help="Altitude [m] (default: pvlib's map).", show_default=False),
    ] = None,
    racking: Annotated[
        str, typer.Option("--racking", help="open_rack or close_mount.")
    ] = "open_rack",
    losses_pct: Annotated[
        float | None,
        typer.Option(
            "--losses-pct", help="Total DC losses [%] (default 14.08).", show_default=False
        ),
    ] = None,
    weather: WeatherOpt = None,
    transposition: TranspositionOpt = "haydavies",
    summary: Annotated[
        Path | None, typer.Option("--summary", help="Also write the summary CSV here.")
    ] = None,
    spread_years: SpreadYearsOpt = None,
) -> None:
    """Expected yield of one new household site, with its monthly profile and, on generated
    weather, P90/P50/P10 of its annual energy."""
    from simulate.fleet import GREGORIAN_MONTHS, HIJRI_MONTHS, run_fleet

    s = command_settings(ctx)
    check_transposition(transposition)
    row = {
        "plant_id": "site",
        "latitude": lat,
        "longitude": lon,
        "dc_kwp": kwp,
        "ac_kw": kwp if ac_kw is None else ac_kw,
        "tilt_deg": tilt,
        "azimuth_deg": azimuth,
        "altitude_m": "" if altitude is None else altitude,
        "racking": racking,
        "losses_pct": "" if losses_pct is None else losses_pct,
    }
    n_spread = _spread_years(spread_years, weather)
    fleet = site_fleet(row)
    wx = load_weather(weather)
    run = run_fleet(fleet, wx, transposition=transposition, timezone=s.timezone)
    spread = None
    if n_spread:
        from simulate.spread import yield_spread

        spread = yield_spread(fleet, n_spread, transposition=transposition, timezone=s.timezone)
        for col, values in spread.plants().items():
            if col != "plant_id":
                run.summary[col] = values.to_numpy()
    warn_far_weather(fleet, wx)
    warn_shifted_weather(fleet, wx)
    r = run.summary.iloc[0]
    console.print(
        f"[bold]Site {lat:.4f}°, {lon:.4f}°[/] — {kwp:g} kWp / {row['ac_kw']:g} kW, "
        f"tilt {tilt:g}°, azimuth {azimuth:g}°, altitude "
        f"{fleet.plants.altitude_m.iloc[0]:.0f} m"
    )
    console.print(f"weather: {run.weather_source}")
    console.print(f"yearly energy      [bold]{r.ac_energy_kwh:,.0f} kWh[/]")
    console.print(f"specific yield     {r.specific_yield_kwh_per_kwp:,.0f} kWh/kWp")
    console.print(f"performance ratio  {r.performance_ratio:.3f}")
    console.print(f"capacity factor    {r.capacity_factor_pct:.1f} % (AC)")
    console.print(f"peak AC power      {r.peak_ac_power_w:,.0f} W")
    if spread is not None:
        f = spread.fleet_kwh()
        console.print(_spread_line(f["p90"], f["p50"], f["p10"], spread.n_years))
    t = Table(title="Monthly energy [kWh]")
    for name in ("Gregorian", "kWh", "Solar Hijri", "kWh "):
        t.add_column(name, justify="right" if "kWh" in name else "left")
    for g, h in zip(GREGORIAN_MONTHS, HIJRI_MONTHS, strict=True):
        t.add_row(
            g.capitalize(),
            f"{r[f'ac_energy_kwh_{g}']:,.0f}",
            h.capitalize(),
            f"{r[f'ac_energy_kwh_{h}']:,.0f}",
        )
    console.print(t)
    if run.estimate:
        print_estimate_note(run.weather_source)
    if summary is not None:
        console.print(f"wrote {write_summary(run.summary, summary)}")
