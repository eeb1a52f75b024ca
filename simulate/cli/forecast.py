"""``roshanai simulate forecast``: the fleet's output under a numerical weather forecast."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from simulate.cli.common import (
    FleetArg,
    InfluxDbOpt,
    InfluxUrlOpt,
    TranspositionOpt,
    check_influx,
    check_transposition,
    console,
    err,
    parse_time,
    progress,
    warn_unknown_provinces,
    write_summary,
)
from simulate.forecast import MAX_LOCATION_KM
from simulate.forecast_baseline import (
    BASELINES,
    baseline_forecast,
    hour_labels_from,
    recent_sky_index,
)
from telemetry.errors import InputError
from telemetry.fileio import atomic_path, outputs
from telemetry.settings import command_settings

if TYPE_CHECKING:
    from simulate.forecast import Forecast
    from simulate.forecast_run import ForecastRun
    from telemetry.registry import Fleet

__all__ = ["forecast_cmd", "forecast_skill_cmd", "plant_daily_table"]

#: ``write(member_index, plant_ids, labels, ac_power_w)``: one member's hours to the file.
MemberWriter = Callable[[int, tuple[str, ...], pd.DatetimeIndex, np.ndarray], None]


def plant_daily_table(run: ForecastRun) -> pd.DataFrame:
    """Per plant and local day: ``ac_energy_kwh`` (deterministic or control run) and, for an
    ensemble, its mean and P90/P50/P10 over the members (P90: exceeded with 90 % probability)."""
    from simulate.forecast_run import QUANTILES

    kwh = run.plant_daily_kwh  # (members, plants, days)
    n_p, n_d = kwh.shape[1], kwh.shape[2]
    out = pd.DataFrame(
        {
            "plant_id": np.repeat(np.array(run.plant_ids, dtype=object), n_d),
            "date": np.tile(np.asarray(run.days.date), n_p),
            "ac_energy_kwh": kwh[0].reshape(-1),
        }
    )
    if run.ensemble:
        out["ac_energy_mean_kwh"] = kwh.mean(axis=0).reshape(-1)
        for label, pct in QUANTILES.items():
            out[f"ac_energy_{label}_kwh"] = np.percentile(kwh, pct, axis=0).reshape(-1)
    return out


def _write_hourly_stream(path: Path, members: tuple[str, ...]) -> tuple[Any, MemberWriter]:
    """A Parquet writer of ``time``, ``plant_id``, (``member``,) ``ac_power_w``, fed one
    member at a time (the shape of ``simulate fleet --hourly``, plus ``member`` for an
    ensemble)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = [
        ("time", pa.timestamp("ns", tz="UTC")),
        ("plant_id", pa.dictionary(pa.int32(), pa.string())),
    ]
    if len(members) > 1:
        fields.append(("member", pa.dictionary(pa.int32(), pa.string())))
    fields.append(("ac_power_w", pa.float64()))
    schema = pa.schema(fields)
    writer = pq.ParquetWriter(path, schema)
    member_names = pa.array(list(members))

    def write(m: int, ids: tuple[str, ...], labels: pd.DatetimeIndex, power: np.ndarray) -> None:
        n_p, n_t = power.shape
        times = pa.array(labels.to_numpy(dtype="datetime64[ns]"), pa.timestamp("ns", tz="UTC"))
        cols = {
            "time": pa.chunked_array([times] * n_p),
            "plant_id": pa.DictionaryArray.from_arrays(
                pa.array(np.repeat(np.arange(n_p, dtype=np.int32), n_t)), pa.array(list(ids))
            ),
        }
        if len(members) > 1:
            cols["member"] = pa.DictionaryArray.from_arrays(
                pa.array(np.full(n_p * n_t, m, dtype=np.int32)), member_names
            )
        cols["ac_power_w"] = pa.array(power.reshape(-1).astype(np.float64))
        writer.write_table(pa.table(cols, schema=schema))

    return writer, write


def forecast_cmd(
    ctx: typer.Context,
    fleet_file: FleetArg = None,
    forecast: Annotated[
        Path | None,
        typer.Option(
            "--forecast",
            help="Open-Meteo forecast or ensemble response saved as JSON or CSV, or a CSV "
            "(time,[latitude,longitude,member,]ghi[,dni,dhi,temp_air,wind_speed]).",
            show_default=False,
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="No forecast file: climate (clear sky × the climate's monthly sky index) or "
            "persistence (the sky the fleet saw the 24 h before, from plant_expected; needs "
            "--influx-url).",
            show_default=False,
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="With --baseline: first hour, ISO 8601 (without offset: Iran's local time; "
            "default the next hour).",
            show_default=False,
        ),
    ] = None,
    hours: Annotated[int, typer.Option("--hours", help="With --baseline: forecast hours.")] = 48,
    fetch: Annotated[
        bool,
        typer.Option(
            "--fetch",
            help="Ask Open-Meteo for the fleet's 0.5° cells (needs the network); the answer "
            "is saved as `<out-dir>/forecast_fetched.json` for --forecast later.",
        ),
    ] = False,
    ensemble: Annotated[
        bool, typer.Option("--ensemble", help="With --fetch: the ensemble API, every member.")
    ] = False,
    days: Annotated[
        int, typer.Option("--days", help="With --fetch: forecast days, today the first.")
    ] = 2,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="With --fetch: Open-Meteo's models= (ensemble default ecmwf_ifs025_ensemble).",
            show_default=False,
        ),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url",
            help="With --fetch: the endpoint (default Open-Meteo's forecast or ensemble API).",
            show_default=False,
        ),
    ] = None,
    hourly: Annotated[
        Path | None,
        typer.Option(
            "--hourly",
            help="Write hourly AC power (time UTC, plant_id, [member,] ac_power_w) to this "
            "Parquet file.",
            show_default=False,
        ),
    ] = None,
    summary: Annotated[
        Path | None,
        typer.Option(
            "--summary",
            help="Per plant and local day kWh (P90/P50/P10 for an ensemble). Default: "
            "`<out-dir>/forecast_plants.csv`.",
            show_default=False,
        ),
    ] = None,
    regions: Annotated[
        Path | None,
        typer.Option(
            "--regions",
            help="Fleet and provinces per hour [MW]. Default: `<out-dir>/forecast_regions.csv`.",
            show_default=False,
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
    schedule: Annotated[
        Path | None,
        typer.Option(
            "--schedule",
            help="Cut schedule CSV (start,end[,zone][,announced]): each household's cuts in "
            "the horizon, carried or not by PV and battery.",
            show_default=False,
        ),
    ] = None,
    cuts_out: Annotated[
        Path | None,
        typer.Option(
            "--cuts",
            help="Per household and cut, with --schedule. Default: `<out-dir>/forecast_cuts.csv`.",
            show_default=False,
        ),
    ] = None,
    initial_soc_pct: Annotated[
        float,
        typer.Option(
            "--initial-soc",
            help="Batteries' charge at the forecast's start, % of the usable range (a "
            "backup reserve is kept full).",
        ),
    ] = 100.0,
    max_km: Annotated[
        float,
        typer.Option(
            "--max-km", help="Plants farther from every forecast location are left out [km]."
        ),
    ] = MAX_LOCATION_KM,
    influx_url: InfluxUrlOpt = None,
    influx_db: InfluxDbOpt = None,
    transposition: TranspositionOpt = "haydavies",
    timezone: Annotated[
        str | None,
        typer.Option("--timezone", help="Zone of days (default Asia/Tehran).", show_default=False),
    ] = None,
) -> None:
    """Forecast the fleet's output: every plant, every forecast hour, every ensemble member,
    through the same model chain as `simulate fleet`; fleet and province MW per hour and MWh
    per day, with P90/P50/P10 over an ensemble's members."""
    from simulate.coverage import OutageOptions
    from simulate.forecast import read_forecast
    from simulate.forecast_cuts import household_cuts
    from simulate.forecast_run import FLEET_REGION, region_table, run_forecast
    from simulate.outages import read_schedule
    from telemetry.registry import Fleet, load_sample_fleet, read_fleet

    s = command_settings(
        ctx,
        timezone=timezone,
        out_dir=None if out_dir is None else str(out_dir),
        influx_url=influx_url,
        influx_db=influx_db,
    )
    sources = [
        n for n, v in (("--forecast", forecast), ("--fetch", fetch), ("--baseline", baseline)) if v
    ]
    if not sources:
        raise InputError(
            "no forecast: pass --forecast FILE (an Open-Meteo response saved as JSON or CSV), "
            "--fetch or --baseline climate|persistence"
        )
    if len(sources) > 1:
        raise InputError(f"{' and '.join(sources)} exclude each other")
    if baseline is not None and baseline not in BASELINES:
        raise InputError(f"--baseline must be one of {', '.join(BASELINES)}, not {baseline!r}")
    if baseline is None and start is not None:
        raise InputError("--start goes with --baseline (a forecast file has its own hours)")
    if baseline == "persistence" and not s.influx_url:
        raise InputError(
            "--baseline persistence reads plant_expected: pass --influx-url (or use climate)"
        )
    # The first hour begins at --start (floored to the hour), by default the next whole hour.
    t0 = pd.Timestamp.now(tz="UTC").ceil("h") if start is None else parse_time(start, "--start")
    baseline_labels = hour_labels_from(t0, hours) if baseline else None
    if not fetch and (ensemble or model or api_url):
        raise InputError("--ensemble, --model and --api-url go with --fetch")
    if not max_km > 0:
        raise InputError(f"--max-km must be above 0, not {max_km:g}")
    check_transposition(transposition)
    if not 0.0 <= initial_soc_pct <= 100.0:
        raise InputError(f"--initial-soc must lie in [0, 100], not {initial_soc_pct:g}")
    if cuts_out is not None and schedule is None:
        raise InputError("--cuts needs --schedule (the cuts to check)")
    fleet = load_sample_fleet() if fleet_file is None else read_fleet(fleet_file)
    cut_schedule = read_schedule(schedule) if schedule is not None else None
    warn_unknown_provinces(fleet)
    plants_path = summary or Path(s.out_dir) / "forecast_plants.csv"
    regions_path = regions or Path(s.out_dir) / "forecast_regions.csv"
    cuts_path = cuts_out or Path(s.out_dir) / "forecast_cuts.csv"
    fetched_path = Path(s.out_dir) / "forecast_fetched.json"
    targets = {"plants": plants_path, "regions": regions_path}
    if cut_schedule is not None:
        targets["cuts"] = cuts_path
    if hourly:
        targets["hourly"] = hourly
    if fetch:
        targets["fetched"] = fetched_path
    written = list(targets.values())
    per_member_cuts: list[pd.DataFrame] = []
    kept: dict[str, np.ndarray] = {}  # plants' control and members' mean power, for InfluxDB
    issued = pd.Timestamp.now(tz="UTC")
    with outputs() as out:
        staged = {name: out.reserve(path) for name, path in targets.items()}
        check_influx(s)
        if fetch:
            fc = _fetch(fleet, staged["fetched"], days, ensemble, model, api_url)
        elif baseline_labels is not None:
            recent = None
            if baseline == "persistence":
                from telemetry.influx import InfluxStore

                first = baseline_labels[0] - pd.Timedelta(hours=1)
                with InfluxStore.from_settings(s) as store:
                    recent = recent_sky_index(store, fleet, first - pd.Timedelta(hours=24), first)
                if np.isnan(recent).all():
                    err.print(
                        "note: no plant_expected in the 24 h before the start (run roshanai "
                        "triage): the persistence baseline is the climate one"
                    )
            fc = baseline_forecast(fleet, baseline_labels, plant_sky_index=recent)
        else:
            assert forecast is not None
            fc = read_forecast(forecast)
        writer = None
        write_hours: MemberWriter | None = None
        if hourly is not None:
            writer, write_hours = _write_hourly_stream(staged["hourly"], fc.members)
        by_id = fleet.plants.set_index("plant_id", drop=False)
        options = OutageOptions(initial_soc_frac=initial_soc_pct / 100.0)

        def on_member(
            m: int, ids: tuple[str, ...], labels: pd.DatetimeIndex, power: np.ndarray
        ) -> None:
            if write_hours is not None:
                write_hours(m, ids, labels, power)
            if s.influx_url:
                if m == 0:
                    kept["control"] = power.copy()
                    kept["sum"] = power.astype(float).copy()
                else:
                    kept["sum"] += power
            if cut_schedule is not None:
                sub = Fleet(by_id.loc[list(ids)].reset_index(drop=True), fleet.source)
                per_member_cuts.append(
                    household_cuts(
                        sub, power, labels, cut_schedule, options=options, timezone=s.timezone
                    )
                )

        try:
            with progress() as bar:
                task = bar.add_task("simulating members", total=fc.n_members)
                run = run_forecast(
                    fleet,
                    fc,
                    timezone=s.timezone,
                    transposition=transposition,
                    max_km=max_km,
                    on_member=on_member,
                    progress=lambda done, total: bar.update(task, completed=done),
                )
        finally:
            if writer is not None:
                writer.close()
        write_summary(plant_daily_table(run), staged["plants"])
        ratios: dict[str, tuple[float, float, float]] | None = None
        if s.influx_url and not run.ensemble:
            from simulate.forecast_skill import error_ratios
            from telemetry.influx import InfluxStore

            with InfluxStore.from_settings(s) as store:
                ratios, n_scored = error_ratios(store, method=baseline or "nwp")
            if ratios:
                err.print(
                    f"note: P90/P50/P10 from the errors of the last {n_scored} scored "
                    f"{baseline or 'nwp'} forecast(s) (sim_forecast_skill)"
                )
        hourly_regions = region_table(run, error_ratios=ratios)
        hourly_regions["time"] = [t.isoformat() for t in pd.DatetimeIndex(hourly_regions["time"])]
        with atomic_path(staged["regions"]) as tmp:
            hourly_regions.to_csv(tmp, index=False, float_format="%.6g")
        household = None
        if cut_schedule is not None:
            household = _cut_table(per_member_cuts)
            write_summary(household, staged["cuts"])
        n_points = 0
        if s.influx_url:
            from simulate.forecast_store import forecast_lines
            from simulate.results import new_run_id
            from telemetry.influx import InfluxStore

            run_id = new_run_id()
            province = dict(
                zip(
                    fleet.plants["plant_id"].astype(str),
                    fleet.plants["province"].fillna("").astype(str),
                    strict=True,
                )
            )
            lines = forecast_lines(
                run,
                run_id,
                issued,
                plant_ac_power_w=kept["control"],
                plant_mean_ac_power_w=kept["sum"] / fc.n_members,
                provinces=province,
                method=baseline or "nwp",
                error_ratios=ratios,
            )
            with InfluxStore.from_settings(s) as store:
                n_points = store.write_batches(lines)
    for note in fc.notes:
        err.print(f"note: {note}")
    if run.skipped:
        err.print(
            f"warning: {len(run.skipped)} plant(s) farther than {max_km:g} km from every forecast "
            f"location left out (e.g. {run.skipped[0]})"
        )
    first = fc.labels[0] - pd.Timedelta(hours=1)
    console.print(
        f"{fc.source}: {len(fc.labels)} hours from {first:%Y-%m-%d %H:%M} UTC, "
        f"{fc.n_members} member(s); {len(run.plant_ids):,} plants"
    )
    day_table = region_table(run, daily=True)
    table = Table(title="forecast AC energy per local day [MWh]", title_justify="left")
    table.add_column("region")
    table.add_column("date")
    if run.ensemble:
        for label in ("P90", "P50", "P10"):
            table.add_column(label, justify="right")
    else:
        table.add_column("MWh", justify="right")
    table.add_column("hours", justify="right")
    shown = day_table[day_table["region"] == FLEET_REGION] if len(run.regions) > 8 else day_table
    for row in shown.to_dict("records"):
        cells = [str(row["region"]), str(row["date"])]
        if run.ensemble:
            cells += [f"{row[f'ac_energy_{q}_mwh']:.2f}" for q in ("p90", "p50", "p10")]
        else:
            cells.append(f"{row['ac_energy_mwh']:.2f}")
        cells.append(str(row["hours"]) + ("" if row["hours"] == 24 else " (part)"))
        table.add_row(*cells)
    console.print(table)
    fleet_hours = run.region_ac_power_w[0, -1] / 1e6
    k = int(np.argmax(fleet_hours))
    local = (run.labels[k] - pd.Timedelta(minutes=30)).tz_convert(s.timezone)
    console.print(
        f"fleet peak {fleet_hours[k]:.3f} MW in the hour around {local:%Y-%m-%d %H:%M} "
        f"{s.timezone}" + (" (control run)" if run.ensemble else "")
    )
    if household is not None:
        _print_cuts(household, run.ensemble)
    for w in written:
        console.print(f"wrote {w}")
    if s.influx_url:
        console.print(
            f"wrote {s.influx_url} database {s.influx_db} ({n_points:,} points of sim_forecast, "
            f"run_id {run_id})"
        )


def _fetch(
    fleet: Fleet, path: Path, days: int, ensemble: bool, model: str | None, url: str | None
) -> Forecast:
    """Fetch the fleet's cells from Open-Meteo, save the answer at ``path``, read it back."""
    from simulate.fleet import fleet_cells
    from simulate.forecast import forecast_from_open_meteo
    from simulate.forecast_fetch import fetch_open_meteo

    centres, _ = fleet_cells(fleet)
    with progress() as bar:
        bar.add_task(f"fetching {len(centres)} cell(s) from Open-Meteo", total=None)
        doc = fetch_open_meteo(
            centres[:, 0].tolist(),
            centres[:, 1].tolist(),
            days=days,
            ensemble=ensemble,
            model=model,
            url=url,
        )
    path.write_text(json.dumps(doc), encoding="utf-8")
    return forecast_from_open_meteo(doc, f"{url or 'Open-Meteo'} (fetched)")


def _cut_table(per_member: list[pd.DataFrame]) -> pd.DataFrame:
    """The control (or deterministic) run's cut rows; for an ensemble also
    ``covered_probability``, the share of members under which the cut is covered."""
    first = per_member[0].copy()
    if len(per_member) > 1 and len(first):
        key = ["plant_id", "cut_start"]
        covered = pd.concat([f[[*key, "covered"]] for f in per_member]).groupby(key)["covered"]
        first = first.merge(
            covered.mean().rename("covered_probability").reset_index(), on=key, how="left"
        )
    return first


def _print_cuts(household: pd.DataFrame, ensemble: bool) -> None:
    """The households whose cuts will not be carried, most hours uncovered first."""
    if household.empty:
        console.print("no cut of the schedule falls on a plant of the forecast in its horizon")
        return
    hybrid = household["inverter_type"] == "hybrid"
    short = household[hybrid & ~household["covered"]]
    lost = household["export_lost_kwh"].sum()
    console.print(
        f"{len(household)} cut(s) on {household['plant_id'].nunique()} plant(s): "
        f"{int(hybrid.sum())} on hybrid plants, {len(short)} not carried by PV and battery; "
        f"{lost:.1f} kWh of export lost to the cuts"
    )
    if short.empty:
        return
    table = Table(title="households whose cuts will not be covered", title_justify="left")
    for name in ("plant", "cut (UTC)", "h uncovered", "kWh short", "SoC at start"):
        table.add_column(name, justify="left" if name in ("plant", "cut (UTC)") else "right")
    if ensemble:
        table.add_column("P(covered)", justify="right")
    for row in short.head(20).to_dict("records"):
        cells = [
            str(row["plant_id"]),
            f"{pd.Timestamp(row['cut_start']):%m-%d %H:%M}",
            f"{row['hours_uncovered']:.1f}",
            f"{row['short_kwh']:.2f}",
            "–" if pd.isna(row["soc_start_pct"]) else f"{row['soc_start_pct']:.0f} %",
        ]
        if ensemble:
            cells.append(f"{row['covered_probability']:.0%}")
        table.add_row(*cells)
    console.print(table)


def forecast_skill_cmd(
    ctx: typer.Context,
    since: Annotated[
        str,
        typer.Option(
            "--since",
            help="First hour scored, ISO 8601 (without offset: Iran's local time).",
            show_default=False,
        ),
    ],
    until: Annotated[
        str, typer.Option("--until", help="End (excluded), as --since.", show_default=False)
    ],
    influx_url: Annotated[
        str | None,
        typer.Option(
            "--influx-url",
            help="InfluxDB with sim_forecast and the plants' readings (env ROSHANAI_INFLUX_URL).",
            show_default=False,
        ),
    ] = None,
    influx_db: InfluxDbOpt = None,
) -> None:
    """Score the forecasts in InfluxDB against what the plants then produced: hourly nMAE per
    run, for the fleet and each province, and the skill against the climate and persistence
    baselines. Writes `sim_forecast_skill`."""
    from simulate.forecast_skill import read_forecasts, read_measured, skill_lines, skill_table
    from telemetry.influx import InfluxStore

    s = command_settings(ctx, influx_url=influx_url, influx_db=influx_db)
    if not s.influx_url:
        raise InputError("no InfluxDB URL: pass --influx-url or set ROSHANAI_INFLUX_URL")
    t0, t1 = parse_time(since, "--since"), parse_time(until, "--until")
    if t0 >= t1:
        raise InputError(f"--since ({since}) must be before --until ({until})")
    with InfluxStore.from_settings(s, timeout_s=60) as store:
        store.ping()
        forecasts = read_forecasts(store, t0, t1)
        if forecasts.empty:
            console.print(f"no sim_forecast in {t0:%Y-%m-%d %H:%M}–{t1:%Y-%m-%d %H:%M} UTC")
            return
        measured = read_measured(store, sorted(forecasts["plant_id"].unique()), t0, t1)
        table = skill_table(forecasts, measured)
        n_points = store.write_batches(skill_lines(table, t0, t1)) if len(table) else 0
    if table.empty:
        console.print("no plant reported in the forecasts' hours: nothing to score")
        return
    out = Table(
        title="forecast skill (hourly; per plant in sim_forecast_skill)", title_justify="left"
    )
    for name in ("run", "method", "region", "plant-h", "nMAE", "skill vs climate", "vs persist."):
        out.add_column(name, justify="left" if name in ("run", "method", "region") else "right")

    def fmt(v: float, pct: bool = False) -> str:
        return "–" if not np.isfinite(v) else (f"{v:.1f} %" if pct else f"{v:+.2f}")

    regions = table[table["plant_id"] == ""]
    shown = regions if len(regions) <= 40 else regions[regions["region"] == "(fleet)"]
    for row in shown.to_dict("records"):
        out.add_row(
            str(row["run_id"]),
            str(row["method"]),
            str(row["region"]),
            f"{int(row['plant_hours']):,}",
            fmt(row["nmae_pct"], True),
            fmt(row["skill_vs_climate"]),
            fmt(row["skill_vs_persistence"]),
        )
    console.print(out)
    console.print(
        f"wrote {s.influx_url} database {s.influx_db} ({n_points} points of sim_forecast_skill)"
    )
