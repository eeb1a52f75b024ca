"""``roshanai simulate forecast``: the fleet's output under a numerical weather forecast."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from simulate.cli.common import (
    TranspositionOpt,
    check_transposition,
    console,
    err,
    progress,
    warn_unknown_provinces,
    write_summary,
)
from simulate.forecast import MAX_LOCATION_KM
from telemetry.errors import InputError
from telemetry.fileio import atomic_path, outputs
from telemetry.settings import command_settings

if TYPE_CHECKING:
    from simulate.forecast_run import ForecastRun

__all__ = ["forecast_cmd", "plant_daily_table"]

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
    fleet_file: Annotated[
        Path | None,
        typer.Argument(
            metavar="[FLEET.csv]",
            help="Fleet file (docs/contracts.md). Default: the sample fleet shipped with roshanai.",
            show_default=False,
        ),
    ] = None,
    forecast: Annotated[
        Path | None,
        typer.Option(
            "--forecast",
            help="Open-Meteo forecast or ensemble response saved as JSON or CSV, or a CSV "
            "(time,[latitude,longitude,member,]ghi[,dni,dhi,temp_air,wind_speed]).",
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
    max_km: Annotated[
        float,
        typer.Option(
            "--max-km", help="Plants farther from every forecast location are left out [km]."
        ),
    ] = MAX_LOCATION_KM,
    transposition: TranspositionOpt = "haydavies",
    timezone: Annotated[
        str | None,
        typer.Option("--timezone", help="Zone of days (default Asia/Tehran).", show_default=False),
    ] = None,
) -> None:
    """Forecast the fleet's output: every plant, every forecast hour, every ensemble member,
    through the same model chain as `simulate fleet`; fleet and province MW per hour and MWh
    per day, with P90/P50/P10 over an ensemble's members."""
    from simulate.forecast import read_forecast
    from simulate.forecast_run import FLEET_REGION, region_table, run_forecast
    from telemetry.registry import load_sample_fleet, read_fleet

    s = command_settings(ctx, timezone=timezone, out_dir=None if out_dir is None else str(out_dir))
    if forecast is None:
        raise InputError(
            "no forecast: pass --forecast FILE (an Open-Meteo response saved as JSON or CSV)"
        )
    if not max_km > 0:
        raise InputError(f"--max-km must be above 0, not {max_km:g}")
    check_transposition(transposition)
    fleet = load_sample_fleet() if fleet_file is None else read_fleet(fleet_file)
    fc = read_forecast(forecast)
    warn_unknown_provinces(fleet)
    plants_path = summary or Path(s.out_dir) / "forecast_plants.csv"
    regions_path = regions or Path(s.out_dir) / "forecast_regions.csv"
    written = [plants_path, regions_path, *([hourly] if hourly else [])]
    with outputs() as out:
        staged = [out.reserve(p) for p in written]
        writer = None
        on_member = None
        if hourly is not None:
            writer, on_member = _write_hourly_stream(staged[2], fc.members)
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
        write_summary(plant_daily_table(run), staged[0])
        hourly_regions = region_table(run)
        hourly_regions["time"] = [t.isoformat() for t in pd.DatetimeIndex(hourly_regions["time"])]
        with atomic_path(staged[1]) as tmp:
            hourly_regions.to_csv(tmp, index=False, float_format="%.6g")
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
    days = region_table(run, daily=True)
    table = Table(title="forecast AC energy per local day [MWh]", title_justify="left")
    table.add_column("region")
    table.add_column("date")
    if run.ensemble:
        for label in ("P90", "P50", "P10"):
            table.add_column(label, justify="right")
    else:
        table.add_column("MWh", justify="right")
    table.add_column("hours", justify="right")
    shown = days[days["region"] == FLEET_REGION] if len(run.regions) > 8 else days
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
    for w in written:
        console.print(f"wrote {w}")
