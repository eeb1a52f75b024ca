"""What the ``roshanai simulate`` commands share about money: the tariff options, each plant's
contract (category, start, rates), and the 20-year projection's files.

The rules are :mod:`telemetry.tariffs` (the table, its sources, the projection); this module
only turns options into those and writes the tables. Every input is checked before any work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from telemetry.errors import InputError
from telemetry.factors import DEGRADATION_PER_YEAR
from telemetry.registry import Fleet
from telemetry.tariffs import (
    FLEET_REGION,
    Projection,
    TariffTable,
    contract_starts,
    plant_categories,
    read_tariff_table,
)

__all__ = [
    "DegradationOpt",
    "FlatTariffOpt",
    "TariffTableOpt",
    "add_contract_columns",
    "contract_paths",
    "contract_rates",
    "degradation",
    "lifetime_by_region",
    "print_contract",
    "write_contract",
]

TariffTableOpt = Annotated[
    Path | None,
    typer.Option(
        "--tariff-table",
        help="Tariff CSV: category,first_year,last_year,toman_per_kwh(,source,date); "
        "its categories replace the built-in ones (telemetry/tariffs.py).",
        show_default=False,
    ),
]
FlatTariffOpt = Annotated[
    float | None,
    typer.Option(
        "--tariff",
        help="One purchase tariff for every plant and contract year [toman/kWh] (default: "
        "the tariff table by tariff_category; household 2500).",
        show_default=False,
    ),
]
DegradationOpt = Annotated[
    float,
    typer.Option(
        "--degradation-pct",
        help="Module output lost per year, for the 20-year projection [%/year] "
        "(Jordan & Kurtz 2013 median).",
    ),
]
DEFAULT_DEGRADATION_PCT = DEGRADATION_PER_YEAR * 100.0


def degradation(pct: float) -> float:
    """``--degradation-pct`` as a fraction per year (InputError outside [0, 20] %/year)."""
    if not 0.0 <= pct <= 20.0:
        raise InputError(f"--degradation-pct must lie in [0, 20] %/year, not {pct:g}")
    return pct / 100.0


def contract_rates(fleet: Fleet, tariff: float | None, table_path: Path | None) -> np.ndarray:
    """Each plant's rate per contract year, shape (n_plants, 20) [toman/kWh]: ``--tariff``
    flat, else the built-in table with ``--tariff-table``'s categories replacing its own.

    Raises
    ------
    InputError
        A negative ``--tariff``, a malformed table, or a plant whose category is in neither.
    """
    table = TariffTable()
    if table_path is not None:
        table = table.merged(read_tariff_table(table_path))
    if tariff is not None:
        if not tariff >= 0:
            raise InputError("--tariff must not be negative")
        table = TariffTable.flat(tariff, table.categories)
    return table.plant_rates(plant_categories(fleet.plants), fleet.plant_ids)


def contract_paths(summary: Path) -> list[Path]:
    """``<stem>_contract.csv`` (plant × contract year) and ``<stem>_contract_regions.csv``."""
    return [
        summary.with_name(f"{summary.stem}_contract.csv"),
        summary.with_name(f"{summary.stem}_contract_regions.csv"),
    ]


def add_contract_columns(
    summary: pd.DataFrame, fleet: Fleet, projection: Projection, year: int
) -> None:
    """Add ``tariff_category``, ``contract_start`` (as applied) and the projection's per-plant
    totals to a summary (in place)."""
    summary["tariff_category"] = plant_categories(fleet.plants)
    summary["contract_start"] = contract_starts(fleet.plants, year).astype(str)
    for name, values in projection.totals().items():
        summary[name] = values


def write_contract(
    projection: Projection, fleet: Fleet, year: int, plants_path: Path, regions_path: Path
) -> None:
    """Write the per-plant and per-region tables of the projection (staged paths)."""
    from simulate.cli.common import write_summary

    p = fleet.plants
    provinces = p["province"].astype(str).tolist()
    table = projection.plant_table(
        fleet.plant_ids, provinces, plant_categories(p), contract_starts(p, year)
    )
    write_summary(table, plants_path)
    write_summary(projection.region_table(provinces), regions_path)


def lifetime_by_region(projection: Projection, fleet: Fleet) -> dict[str, tuple[float, float]]:
    """Region (province, ``(none)``, ``(fleet)``) → (first-year, 20-year) income. [toman]"""
    table = projection.region_table(fleet.plants["province"].astype(str).tolist())
    out = {}
    for region, g in table.groupby("region", sort=False):
        g = g.sort_values("contract_year")
        out[str(region)] = (float(g.income_toman.iloc[0]), float(g.income_toman.sum()))
    assert FLEET_REGION in out
    return out


def print_contract(
    lifetime: dict[str, tuple[float, float]], degradation_per_year: float, tariff: float | None
) -> None:
    """Print the first-year and 20-year income by region, and the fleet's in rial."""
    from rich.table import Table

    from simulate.cli.common import console

    table = Table(title="Purchase contract — income [million toman]")
    table.add_column("province")
    table.add_column("year 1", justify="right")
    table.add_column("20 years", justify="right")
    for region, (first, whole) in lifetime.items():
        if region != FLEET_REGION:
            table.add_row(region, f"{first / 1e6:,.1f}", f"{whole / 1e6:,.0f}")
    table.add_section()
    first, whole = lifetime[FLEET_REGION]
    table.add_row("fleet", f"{first / 1e6:,.1f}", f"{whole / 1e6:,.0f}")
    console.print(table)
    how = "by tariff_category" if tariff is None else f"flat {tariff:,.0f} toman/kWh"
    console.print(
        f"contract: {whole * 10 / 1e9:,.2f} billion rial over 20 years; tariff {how} "
        f"(telemetry/tariffs.py), {degradation_per_year * 100:g} %/year degradation"
    )
