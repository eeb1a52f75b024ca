"""Benchmark: outage coverage for a fleet × a year × several battery sizes.

The fleet (``--plants``, default 10,000 hybrid plants scattered ±0.5° around Tehran, DESIGN
fleet-file columns) runs on one generated typical year of the embedded climatology (the Tehran
cell) through a year of cuts: the summer scenario (June–September) and the winter one
(December–February), 8 zone groups. Per chunk of plants the yield kernel writes the hourly AC
power, then the dispatch kernel runs it once per battery size (``--sizes``, default 0, 5 and
10 kWh), so memory stays at two chunk × 8760 matrices.

Timed separately, after an untimed warm-up that loads (or compiles) the numba caches:

- **yield kernel**: ``simulate.kernel.simulate_arrays`` with hourly output, per chunk;
- **dispatch kernel**: ``simulate.dispatch.dispatch_arrays``, per chunk and battery size;
- **reference**: ``simulate.dispatch.dispatch_reference`` (plain Python), one plant-year at a
  time over ``--reference-plants`` plant-years, also checked against the kernel.

Throughput is in plant-years per second (wall clock, and per CPU-second); the ratio is the
dispatch kernel's against the reference.

Run: ``python benchmarks/bench_outage.py [--plants 10000] [--sizes 0,5,10]
[--reference-plants 10] [--chunk 1024]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numba
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from simulate.climatology import default_weather
from simulate.coverage import calendar_axis
from simulate.dispatch import TRACE_ROWS, BatteryParams, dispatch_arrays, dispatch_reference
from simulate.kernel import DEFAULT_LOSSES_PCT, FleetArrays, simulate_arrays
from simulate.load import plant_loads
from simulate.outages import Schedule, cut_fractions, scenario_year

console = Console(width=None if sys.stdout.isatty() else 150)
LAT, LON = 35.7, 51.4
ZONES = 8


class Clock:
    """Accumulated wall-clock and CPU seconds of the timed sections."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    def __enter__(self) -> Clock:
        self._t, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds += time.perf_counter() - self._t
        self.cpu_seconds += time.process_time() - self._c


def fleet_arrays(n: int, seed: int = 2025) -> tuple[FleetArrays, np.ndarray, np.ndarray]:
    """Kernel arrays of a generated fleet, its essential loads [W] and zone groups."""
    rng = np.random.default_rng(seed)
    dc = rng.choice([3.0, 4.0, 5.0, 5.0, 5.0, 6.0], n)
    arrays = FleetArrays(
        latitude_deg=LAT + rng.uniform(-0.5, 0.5, n),
        longitude_deg=LON + rng.uniform(-0.5, 0.5, n),
        altitude_m=rng.uniform(900, 1500, n),
        dc_kwp=dc,
        ac_kw=dc,
        tilt_deg=rng.uniform(15, 35, n),
        azimuth_deg=rng.uniform(150, 210, n),
        gamma_pdc_per_c=np.full(n, -0.004),
        losses_pct=np.full(n, DEFAULT_LOSSES_PCT),
        racking=np.zeros(n, dtype=np.int8),
        weather_index=np.zeros(n, dtype=np.int64),
    )
    return arrays, rng.choice([300.0, 400.0, 500.0, 600.0, 700.0], n), rng.integers(0, ZONES, n)


def year_of_cuts(year: int) -> Schedule:
    """Summer and winter scenarios of one year, as one schedule (``simulate.outages``)."""
    return scenario_year(year, zones=ZONES, seed=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plants", type=int, default=10_000)
    parser.add_argument("--sizes", default="0,5,10", help="battery sizes [kWh]")
    parser.add_argument(
        "--reference-plants",
        type=int,
        default=10,
        help="plant-years run through the plain-Python reference",
    )
    parser.add_argument("--chunk", type=int, default=1024, help="plants per kernel call")
    args = parser.parse_args(argv)
    sizes = [float(x) for x in args.sizes.split(",")]

    frame = default_weather(LAT, LON)
    labels = pd.DatetimeIndex(frame.index) + pd.DateOffset(years=2025 - 1990)
    n_time = len(labels)
    mid = (
        (pd.DatetimeIndex(frame.index) - pd.Timedelta(minutes=30))
        .tz_convert("UTC")
        .tz_localize(None)
        .to_numpy("datetime64[ns]")
    )
    weather = [frame[c].to_numpy(float) for c in ("ghi", "dni", "dhi", "temp_air", "wind_speed")]
    local = (labels - pd.Timedelta(minutes=30)).tz_convert("Asia/Tehran")
    day_index = (
        np.unique(local.normalize().tz_localize(None).to_numpy(), return_inverse=True)[1]
        .reshape(-1)
        .astype(np.int64)
    )
    axis = calendar_axis(labels, 1.0, "Asia/Tehran")
    schedule = year_of_cuts(2025)
    cuts = cut_fractions(schedule, labels, 1.0, "Asia/Tehran")
    group = {z: i for i, z in enumerate(cuts.zones)}
    fleet, load_w, zone = fleet_arrays(args.plants)
    zone = np.array([group[f"G{z + 1}"] for z in zone], dtype=np.int64)
    loads = plant_loads([f"P{i}" for i in range(args.plants)], load_w)
    console.print(
        f"{args.plants:,} hybrid plants around Tehran × {n_time:,} h (embedded "
        f"climatology), {schedule.source}: {cuts.hours.mean():,.0f} cut hours a "
        f"plant; batteries {sizes} kWh; {os.cpu_count()} CPUs, numba "
        f"{numba.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}"
    )

    def yield_chunk(a: int, b: int, out: np.ndarray) -> None:
        part = FleetArrays(**{k: v[a:b] for k, v in vars(fleet).items()})
        simulate_arrays(  # type: ignore[misc]
            mid,
            *weather,  # type: ignore[arg-type]
            part,  # type: ignore[arg-type]
            day_index=day_index,
            hour_index=axis.hour,
            n_days=int(day_index.max()) + 1,
            out=out,
            chunk_plants=b - a,
        )

    export = np.zeros((args.chunk, n_time))  # the fleet's hourly export, as the CLI keeps

    def dispatch_chunk(a: int, b: int, pv: np.ndarray, size: float, trace: bool = False):
        n = b - a
        return dispatch_arrays(
            pv,
            BatteryParams(
                hybrid=True,
                capacity_kwh=size,
                power_w=fleet.ac_kw[a:b] * 1000,
                ac_w=fleet.ac_kw[a:b] * 1000,
            ),
            zone_index=zone[a:b],
            cut_fraction=cuts.fraction,
            cut_start_hour=cuts.start_hour,
            load_tables_w=loads.tables_w,
            cut_load_index=loads.cut_index[a:b],
            cut_load_scale=loads.cut_scale[a:b],
            month_index=axis.month0,
            hijri_month_index=axis.hijri_month0,
            hour_index=axis.hour,
            peak=axis.peak,
            export_out=export[:n],
            chunk_plants=n,
            trace=trace,
        )

    warm = time.perf_counter()
    buf = np.zeros((2, n_time))
    yield_chunk(0, 2, buf)
    dispatch_chunk(0, 2, buf, sizes[-1])
    console.print(
        f"warm-up (numba cache load or compile), untimed: {time.perf_counter() - warm:.2f} s"
    )

    yield_clock, dispatch_clock = Clock(), Clock()
    served = {s: 0.0 for s in sizes}
    outage = 0.0
    ref_pv = None
    for a in range(0, args.plants, args.chunk):
        b = min(args.plants, a + args.chunk)
        pv = np.zeros((b - a, n_time))
        with yield_clock:
            yield_chunk(a, b, pv)
        for size in sizes:
            with dispatch_clock:
                r = dispatch_chunk(a, b, pv, size)
            served[size] += r.outage_hours_served.sum()
            if size == sizes[0]:
                outage += r.outage_hours.sum()
        if ref_pv is None:
            ref_pv = pv[: args.reference_plants].copy()
    n_dispatch = args.plants * len(sizes)

    # Reference: plain Python, one plant-year at a time, compared with the kernel.
    assert ref_pv is not None
    ref_clock = Clock()
    worst = 0.0
    for i in range(min(args.reference_plants, len(ref_pv))):
        size = sizes[i % len(sizes)]
        load = loads.tables_w[0][axis.month0, axis.hour] * loads.cut_scale[i]
        with ref_clock:
            ref = dispatch_reference(
                ref_pv[i],
                cuts.fraction[zone[i]],
                load,
                hybrid=True,
                capacity_kwh=size,
                power_w=fleet.ac_kw[i] * 1000,
                ac_w=fleet.ac_kw[i] * 1000,
                peak=axis.peak,
            )
        got = dispatch_chunk(i, i + 1, ref_pv[i : i + 1], size, trace=True).trace[0]
        for k, name in enumerate(TRACE_ROWS):
            worst = max(worst, float(np.abs(got[k] - ref[name]).max()))
    n_ref = min(args.reference_plants, len(ref_pv))

    table = Table(title=f"Outage coverage throughput ({n_time:,} h a plant-year)")
    for name in (
        "run",
        "plant-years",
        "seconds",
        "plant-years/s",
        "× reference",
        "CPU s",
        "plant-years/CPU-s",
    ):
        table.add_column(name, justify="left" if name == "run" else "right")
    ref_rate = n_ref / ref_clock.seconds
    rows = [
        ("dispatch reference (plain Python)", n_ref, ref_clock),
        (
            f"dispatch kernel ({numba.get_num_threads()} threads, {len(sizes)} sizes)",
            n_dispatch,
            dispatch_clock,
        ),
        (f"yield kernel, hourly ({numba.get_num_threads()} threads)", args.plants, yield_clock),
    ]
    for k, (name, n, clock) in enumerate(rows):
        ratio = f"{n / clock.seconds / ref_rate:,.0f}" if k < 2 else "–"  # same work only
        table.add_row(
            name,
            f"{n:,}",
            f"{clock.seconds:.2f}",
            f"{n / clock.seconds:,.0f}",
            ratio,
            f"{clock.cpu_seconds:.2f}",
            f"{n / clock.cpu_seconds:,.0f}",
        )
    console.print(table)
    total = yield_clock.seconds + dispatch_clock.seconds
    console.print(
        f"coverage of {args.plants:,} plants × a year × {len(sizes)} battery sizes: "
        f"{total:.2f} s (yield {yield_clock.seconds:.2f} s + dispatch "
        f"{dispatch_clock.seconds:.2f} s)"
    )
    dispatch_rate = n_dispatch / dispatch_clock.seconds
    yield_rate = args.plants / yield_clock.seconds
    console.print(
        f"ratio dispatch kernel / reference: {dispatch_rate / ref_rate:,.0f}×; "
        f"dispatch kernel / yield kernel (plant-years/s): "
        f"{dispatch_rate / yield_rate:.1f}×"
    )
    console.print(
        f"kernel vs reference on {n_ref} plant-years: largest hourly difference "
        f"{worst:.1e} (Wh or h)"
    )
    for size in sizes:
        console.print(
            f"  battery {size:g} kWh: {100 * served[size] / max(outage, 1e-12):.1f} % "
            f"of the fleet's cut hours fully served"
        )
    console.print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
