"""``roshanai simulate climate``: the climate default against its sources, capital by capital
(the table is :mod:`simulate.climate_validation`, the sources :mod:`simulate.climate_sources`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from simulate.cli.common import console, progress
from telemetry.errors import InputError
from telemetry.fileio import outputs

__all__ = ["climate_cmd"]


def climate_cmd(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the table as the README carries it.")
    ] = False,
    csv: Annotated[
        Path | None,
        typer.Option("--csv", help="Also write every column to this CSV (GHI, yields, sources)."),
    ] = None,
    list_sources: Annotated[
        bool,
        typer.Option("--sources", help="List the cited sources (id, citation, period, date)."),
    ] = False,
) -> None:
    """Compare the climate default with each of its sources for the 31 province capitals.

    Per capital: annual GHI [kWh/m²/yr] from MERRA-2, from station sunshine normals
    (Ångström–Prescott), the previous table and the default; and the specific yield
    [kWh/kWp/yr] of a 5 kWp plant tilted 30° south on each, beside the program's own figure.
    """
    from simulate.climate_validation import markdown as as_markdown
    from simulate.climate_validation import source_lines, validation_table

    if list_sources:
        for line in source_lines():
            console.print(line, markup=False)
        return
    if csv is not None and csv.is_dir():
        raise InputError(f"--csv {csv} is a directory; give a file name")
    with progress() as bar:
        task = bar.add_task("capitals", total=31)
        table = validation_table(progress=lambda done, total: bar.update(task, completed=done))
    if csv is not None:
        with outputs() as out:
            table.to_csv(out.reserve(csv), index=False)
        console.print(f"wrote {csv}")
    if markdown:
        console.print(as_markdown(table), end="", markup=False, soft_wrap=True)
        return
    t = Table(title="climate default vs its sources [kWh/m²/yr; yield kWh/kWp/yr, 30° south]")
    for name in ("capital", "MERRA-2", "station", "default", "Δ", "yield", "program", "verdict"):
        t.add_column(name, justify="left" if name in ("capital", "verdict") else "right")

    def num(x: object) -> str:
        v = float(x)  # type: ignore[arg-type]
        return "–" if not np.isfinite(v) else f"{v:,.0f}"

    for _, r in table.iterrows():
        t.add_row(
            str(r["city"]),
            num(r["merra2_ghi_kwh_m2"]),
            num(r["station_ghi_kwh_m2"]),
            num(r["default_ghi_kwh_m2"]),
            f"{float(r['default_vs_sources_pct']):+.1f} %",
            num(r["default_yield"]),
            num(r["program_yield"]),
            str(r["verdict"]),
        )
    console.print(t)
    console.print(
        "Δ: default ÷ the independent sources' mean − 1. Sources: `roshanai simulate climate "
        "--sources`; the rule: simulate/climate_sources.py.",
        markup=False,
    )
