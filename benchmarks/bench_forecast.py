"""Benchmark: ``simulate.forecast_run.run_forecast`` against ``run_fleet`` doing the same work.

The fleet is ``synthetic_fleet(--plants)`` (plants across Iran), the forecast has one location
per 0.5° weather cell of the fleet (what ``--fetch`` would ask the API for) and ``--hours``
hours (default 72) taken from the climate default's generated year at ``--start``; the ensemble
has ``--members`` members (default 51, ECMWF's), each the control's irradiance scaled by a
seeded factor per location and hour (clipped to the clear-sky-ish limit of the files).

- **forecast**: :func:`run_forecast` — every plant, hour and member through the fleet kernel,
  plus the fleet/province sums per hour and member and the plants' daily energy;
- **reference**: the same kernel work done plainly, ``run_fleet(..., hourly=True)`` once per
  member on the same weather, nothing aggregated.

Both are timed side by side in one process after an untimed warm-up; the figure is plant-hours
per second (plants × hours × members / wall-clock seconds) and the ratio forecast/reference.
The extrapolation to 550,000 plants is linear in plants (it is not measured).

Run: ``python benchmarks/bench_forecast.py [--plants 10000] [--hours 72] [--members 51]``
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from firmware_bridge.emulator.fleet import synthetic_fleet
from simulate.fleet import default_fleet_weather, run_fleet
from simulate.forecast import Forecast, forecast_from_arrays
from simulate.forecast_run import run_forecast
from simulate.weather import COLUMNS
from telemetry.registry import Fleet

console = Console(width=150)
PROGRAM_PLANTS = 550_000


def make_forecast(fleet: Fleet, start: str, hours: int, members: int, seed: int) -> Forecast:
    """A forecast on the fleet's cells: the climate default's hours, perturbed per member."""
    from simulate.fleet import fleet_cells

    weather, _ = default_fleet_weather(fleet)
    centres, _ = fleet_cells(fleet)
    index = pd.DatetimeIndex(weather.data.index)
    t0 = pd.Timestamp(start).replace(year=int(index[0].year))
    k = int(index.searchsorted(t0))
    sl = slice(k, k + hours)
    n_loc = len(centres)
    base = {
        c: np.stack([weather.data[(i, c)].to_numpy(float)[sl] for i in range(n_loc)])
        for c in COLUMNS
    }
    rng = np.random.default_rng(seed)
    scale = np.ones((members, n_loc, hours))
    if members > 1:
        scale[1:] = np.clip(rng.normal(1.0, 0.15, (members - 1, n_loc, hours)), 0.2, 1.3)
    cols = {
        c: (
            np.clip(base[c][None] * scale, 0.0, {"ghi": 1500.0, "dni": 1400.0, "dhi": 900.0}[c])
            if c in ("ghi", "dni", "dhi")
            else np.repeat(base[c][None], members, axis=0)
        )
        for c in COLUMNS
    }
    labels = index[sl] + pd.DateOffset(years=2026 - int(index[0].year))
    return forecast_from_arrays(
        pd.DatetimeIndex(labels),
        cols,
        latitude_deg=centres[:, 0],
        longitude_deg=centres[:, 1],
        source=f"benchmark forecast ({members} member(s), {n_loc} cells)",
    )


def reference(fleet: Fleet, fc: Forecast) -> float:
    """The same kernel work done plainly: run_fleet per member. Returns seconds."""
    p = fleet.plants
    index, _ = fc.plant_locations(p["latitude"].to_numpy(float), p["longitude"].to_numpy(float))
    t0 = time.perf_counter()
    for m in range(fc.n_members):
        run_fleet(fleet, fc.weather(m), hourly=True, weather_index=index)
    return time.perf_counter() - t0


def timed_forecast(fleet: Fleet, fc: Forecast) -> float:
    t0 = time.perf_counter()
    run_forecast(fleet, fc)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plants", type=int, default=10_000)
    ap.add_argument("--hours", type=int, default=72)
    ap.add_argument("--members", type=int, default=51)
    ap.add_argument("--start", default="2026-07-01T00:00Z")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    fleet = synthetic_fleet(args.plants, seed=args.seed)
    table = Table(title=f"simulate forecast, {args.plants:,} plants × {args.hours} h")
    for col in (
        "forecast",
        "members",
        "plant-hours",
        "run_forecast s",
        "run_fleet s",
        "plant-h/s",
        "ratio",
        f"{PROGRAM_PLANTS:,} plants s",
    ):
        table.add_column(col, justify="right")
    warm = make_forecast(fleet.subset(0, 50), args.start, 6, 2, args.seed)
    run_forecast(fleet.subset(0, 50), warm)  # numba cache, imports
    for members in (1, args.members):
        fc = make_forecast(fleet, args.start, args.hours, members, args.seed)
        work = args.plants * len(fc.labels) * members
        t_ref = reference(fleet, fc)
        t_fc = timed_forecast(fleet, fc)
        table.add_row(
            "deterministic" if members == 1 else "ensemble",
            str(members),
            f"{work:,}",
            f"{t_fc:.2f}",
            f"{t_ref:.2f}",
            f"{work / t_fc:,.0f}",
            f"{t_ref / t_fc:.2f}",
            f"{t_fc * PROGRAM_PLANTS / args.plants:,.0f}",
        )
    console.print(table)
    load = os.getloadavg()[0]
    console.print(
        f"{os.cpu_count()} cores, load {load:.2f} at the end; ratio = reference seconds / "
        "run_forecast seconds (> 1: faster); the 550,000-plant column is a linear "
        "extrapolation, not measured"
    )


if __name__ == "__main__":
    main()
