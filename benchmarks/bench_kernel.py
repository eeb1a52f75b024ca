"""Benchmark: the fleet kernel and the ``roshanai simulate fleet`` command against pvlib ModelChain.

All three run on the same weather (pvlib's bundled TMY3 ``723170TYA.CSV``, a full year) and the
same generated fleet (plants scattered around the weather station, DESIGN fleet-file columns):

- **reference**: ``simulate.reference.modelchain_reference`` (plain pvlib ModelChain), one plant
  at a time, over ``--reference-plants`` plants;
- **kernel**: ``simulate.kernel.simulate_arrays`` over ``--plants`` plants in one call (summary
  reductions only, as the CLI's summary), after a small untimed warm-up call that loads (or
  compiles) the numba cache;
- **CLI**: the whole command ``roshanai simulate fleet FLEET.csv --weather FILE --summary OUT``
  in a subprocess (start-up, imports, fleet and weather reading, kernel, summary, chart), run
  once untimed first to warm the numba cache.

Throughput is in plant-hours per second; the ratios are against the reference. With
``--memory-plants N`` the kernel also runs N plants alone while tracemalloc and the process RSS
are watched, to show that the per-plant aggregates stay well under 2 GB.

Run: ``python benchmarks/bench_kernel.py [--plants 10000] [--reference-plants 5]
[--memory-plants 100000] [--transposition haydavies|perez] [--no-cli]``
"""

from __future__ import annotations

import argparse
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
import pvlib
from rich.console import Console
from rich.table import Table

from simulate.kernel import DEFAULT_LOSSES_PCT, FleetArrays, KernelResult, simulate_arrays
from simulate.reference import modelchain_reference
from simulate.weather import Weather, read_weather

WEATHER_FILE = pathlib.Path(pvlib.__file__).parent / "data" / "723170TYA.CSV"
ROSHANAI = pathlib.Path(sys.executable).with_name("roshanai")
GIB = 1024**3
console = Console(width=None if sys.stdout.isatty() else 150)


@dataclass(frozen=True)
class Timing:
    """One timed run: wall-clock and CPU seconds (all threads or the child process). [s]"""

    name: str
    plants: int
    hours: int
    seconds: float
    cpu_seconds: float

    @property
    def plant_hours_per_s(self) -> float:
        return self.plants * self.hours / self.seconds

    @property
    def plant_hours_per_cpu_s(self) -> float:
        return self.plants * self.hours / self.cpu_seconds


def generated_fleet(
    n_plants: int, latitude_deg: float, longitude_deg: float, seed: int = 2024
) -> pd.DataFrame:
    """A fleet in the DESIGN fleet-file columns, scattered ±1° around the weather station so
    that the weather fits the plants. Optional columns are left at their contract defaults."""
    rng = np.random.default_rng(seed)
    dc_kwp = rng.choice([3.0, 4.0, 5.0, 5.0, 5.0, 6.0, 8.0, 10.0], n_plants)
    return pd.DataFrame(
        {
            "plant_id": [f"BENCH-{i:06d}" for i in range(n_plants)],
            "latitude": np.round(latitude_deg + rng.uniform(-1, 1, n_plants), 5),
            "longitude": np.round(longitude_deg + rng.uniform(-1, 1, n_plants), 5),
            "dc_kwp": dc_kwp,
            "ac_kw": np.round(dc_kwp / rng.uniform(0.9, 1.4, n_plants), 3),
            "tilt_deg": np.round(rng.uniform(0, 60, n_plants), 1),
            "azimuth_deg": np.round(rng.uniform(90, 270, n_plants), 1),
            "altitude_m": np.round(rng.uniform(100, 400, n_plants)),
            "province": rng.choice(["Guilford", "Forsyth", "Alamance", "Randolph"], n_plants),
        }
    )


def fleet_arrays(fleet: pd.DataFrame) -> FleetArrays:
    """Kernel arrays of a generated fleet, with the fleet-file defaults the CLI applies."""
    n = len(fleet)
    return FleetArrays(
        latitude_deg=fleet["latitude"].to_numpy(float),
        longitude_deg=fleet["longitude"].to_numpy(float),
        altitude_m=fleet["altitude_m"].to_numpy(float),
        dc_kwp=fleet["dc_kwp"].to_numpy(float),
        ac_kw=fleet["ac_kw"].to_numpy(float),
        tilt_deg=fleet["tilt_deg"].to_numpy(float),
        azimuth_deg=fleet["azimuth_deg"].to_numpy(float),
        gamma_pdc_per_c=np.full(n, -0.004),
        losses_pct=np.full(n, DEFAULT_LOSSES_PCT),
        racking=np.zeros(n, dtype=np.int8),
        weather_index=np.zeros(n, dtype=np.int64),
    )


def run_kernel(weather: Weather, fleet: FleetArrays, transposition: str) -> KernelResult:
    """simulate_arrays over the whole weather file, days and hours binned in UTC."""
    labels = pd.DatetimeIndex(weather.data.index)
    mid = (labels - pd.Timedelta(hours=weather.step_hours / 2)).tz_localize(None)
    times = mid.to_numpy("datetime64[ns]")
    days = times.astype("datetime64[D]")
    day_index = (days - days[0]).astype(np.int64)
    hour_index = (times.astype("datetime64[h]") - days).astype(np.int64)
    w = weather.data
    return simulate_arrays(
        times,
        w["ghi"].to_numpy(float),
        w["dni"].to_numpy(float),
        w["dhi"].to_numpy(float),
        w["temp_air"].to_numpy(float),
        w["wind_speed"].to_numpy(float),
        fleet,
        day_index=day_index,
        hour_index=hour_index,
        n_days=int(day_index[-1]) + 1,
        transposition=transposition,
        step_hours=weather.step_hours,
    )


def bench_reference(
    weather: Weather, fleet: pd.DataFrame, transposition: str
) -> tuple[Timing, np.ndarray]:
    plants = [{str(k): v for k, v in row.items()} for row in fleet.to_dict("records")]
    energy_wh = np.empty(len(plants))
    start, cpu_start = time.perf_counter(), time.process_time()
    for i, plant in enumerate(plants):
        energy_wh[i] = modelchain_reference(plant, weather.data, transposition).sum()
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    return (
        Timing("pvlib ModelChain (reference)", len(plants), len(weather), seconds, cpu_s),
        energy_wh,
    )


def bench_kernel(
    weather: Weather, fleet: pd.DataFrame, transposition: str
) -> tuple[Timing, KernelResult, float]:
    arrays = fleet_arrays(fleet)
    start = time.perf_counter()
    run_kernel(weather, fleet_arrays(fleet.iloc[:2]), transposition)  # warm-up: numba cache
    warm_s = time.perf_counter() - start
    start, cpu_start = time.perf_counter(), time.process_time()
    result = run_kernel(weather, arrays, transposition)
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    return (
        Timing(
            f"numba kernel ({numba.get_num_threads()} threads)",
            len(fleet),
            len(weather),
            seconds,
            cpu_s,
        ),
        result,
        warm_s,
    )


def bench_cli(
    fleet: pd.DataFrame, weather_file: pathlib.Path, transposition: str, hours: int
) -> tuple[Timing | None, float, str]:
    """(timing, peak child RSS [bytes], message); timing None when the command failed."""
    with tempfile.TemporaryDirectory(prefix="bench-kernel-") as tmp:
        fleet_csv = pathlib.Path(tmp) / "fleet.csv"
        fleet.to_csv(fleet_csv, index=False)
        command = [
            str(ROSHANAI),
            "simulate",
            "fleet",
            str(fleet_csv),
            "--weather",
            str(weather_file),
            "--summary",
            str(pathlib.Path(tmp) / "summary.csv"),
            "--transposition",
            transposition,
        ]
        env = {**os.environ, "ROSHANAI_OUT_DIR": tmp}
        warm = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if warm.returncode != 0:
            tail = (warm.stderr or warm.stdout).strip().splitlines()[-3:]
            return None, 0.0, f"exit {warm.returncode}: " + " | ".join(tail)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        peak_rss = after.ru_maxrss * 1024.0  # KiB on Linux
        if done.returncode != 0:
            return None, peak_rss, f"exit {done.returncode}: {done.stderr.strip()[-300:]}"
        summary = pd.read_csv(pathlib.Path(tmp) / "summary.csv")
        if len(summary) != len(fleet):
            return None, peak_rss, f"summary has {len(summary)} rows for {len(fleet)} plants"
        shown = " ".join(
            [
                "roshanai",
                *command[1:3],
                "FLEET.csv",
                *command[4:6],
                "--summary",
                "OUT.csv",
                *command[8:],
            ]
        )
        return (
            Timing("roshanai simulate fleet (whole CLI)", len(fleet), hours, seconds, cpu_s),
            peak_rss,
            shown,
        )


def _rss_bytes(field: str) -> float:
    """VmRSS / VmHWM of this process from /proc (Linux). [bytes]"""
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1]) * 1024
    return float("nan")


def memory_check(weather: Weather, n_plants: int, transposition: str) -> None:
    """Kernel-only run of ``n_plants``: traced allocations and RSS against the 2 GB budget."""
    fleet = fleet_arrays(
        generated_fleet(
            n_plants, weather.latitude_deg or 36.1, weather.longitude_deg or -79.95, seed=7
        )
    )
    rss_before = _rss_bytes("VmRSS")
    tracemalloc.start()
    start = time.perf_counter()
    result = run_kernel(weather, fleet, transposition)
    seconds = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after, rss_peak = _rss_bytes("VmRSS"), _rss_bytes("VmHWM")
    aggregates = sum(
        a.nbytes
        for a in (
            result.ac_energy_wh,
            result.daily_ac_energy_wh,
            result.ac_energy_by_hour_wh,
            result.peak_ac_power_w,
            result.poa_insolation_wh_m2,
        )
    )
    table = Table(
        title=f"Memory: kernel only, {n_plants:,} plants × {len(weather):,} h "
        f"(summary reductions, no hourly matrix)"
    )
    table.add_column("measure")
    table.add_column("GiB", justify="right")
    table.add_row(
        "result aggregates (annual, daily, hour-of-day, peak, POA)", f"{aggregates / GIB:.3f}"
    )
    table.add_row("tracemalloc peak during simulate_arrays", f"{traced_peak / GIB:.3f}")
    table.add_row("process RSS before → after", f"{rss_before / GIB:.3f} → {rss_after / GIB:.3f}")
    table.add_row("process peak RSS (VmHWM, whole benchmark so far)", f"{rss_peak / GIB:.3f}")
    table.add_row(
        "hourly matrix if it were asked for (not allocated)",
        f"{n_plants * len(weather) * 8 / GIB:.3f}",
    )
    console.print(table)
    verdict = (
        "well under"
        if max(traced_peak, rss_peak) < 1 * GIB
        else "under"
        if max(traced_peak, rss_peak) < 2 * GIB
        else "OVER"
    )
    console.print(
        f"{n_plants:,} plants in {seconds:.1f} s "
        f"({n_plants * len(weather) / seconds / 1e6:.1f} M plant-hours/s); "
        f"memory {verdict} the 2 GB budget"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plants", type=int, default=10_000, help="kernel and CLI fleet size")
    parser.add_argument(
        "--reference-plants", type=int, default=5, help="plants run through pvlib ModelChain"
    )
    parser.add_argument(
        "--memory-plants",
        type=int,
        default=0,
        help="also run a kernel-only memory check with this many plants",
    )
    parser.add_argument("--transposition", choices=("haydavies", "perez"), default="haydavies")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI subprocess runs")
    args = parser.parse_args(argv)

    weather = read_weather(WEATHER_FILE)
    lat, lon = weather.latitude_deg or 36.1, weather.longitude_deg or -79.95
    fleet = generated_fleet(args.plants, lat, lon)
    console.print(
        f"weather {weather.source}, {len(weather)} h; fleet {args.plants:,} plants "
        f"around {lat:.2f}, {lon:.2f}; transposition {args.transposition}; "
        f"{os.cpu_count()} CPUs, numba {numba.get_num_threads()} threads, "
        f"load average {os.getloadavg()[0]:.2f}"
    )

    ref, ref_energy_wh = bench_reference(
        weather, fleet.iloc[: args.reference_plants], args.transposition
    )
    kernel, result, warm_s = bench_kernel(weather, fleet, args.transposition)
    console.print(
        f"kernel warm-up call (2 plants, numba cache load or compile), untimed: {warm_s:.2f} s"
    )
    diff_pct = np.abs(result.ac_energy_wh[: args.reference_plants] / ref_energy_wh - 1) * 100
    console.print(
        f"kernel vs ModelChain annual energy, {args.reference_plants} plants: "
        f"largest difference {diff_pct.max():.1e} %"
    )

    timings = [ref, kernel]
    cli_note = "skipped (--no-cli)"
    peak_rss = 0.0
    if not args.no_cli:
        cli, peak_rss, cli_note = bench_cli(fleet, WEATHER_FILE, args.transposition, len(weather))
        if cli is not None:
            timings.append(cli)

    table = Table(title="Fleet simulation throughput (same weather, same plants)")
    for name, justify in (
        ("run", "left"),
        ("plants", "right"),
        ("hours", "right"),
        ("seconds", "right"),
        ("plant-hours/s", "right"),
        ("× reference", "right"),
        ("CPU s", "right"),
        ("plant-hours/CPU-s", "right"),
        ("× ref. (CPU)", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for t in timings:
        table.add_row(
            t.name,
            f"{t.plants:,}",
            f"{t.hours:,}",
            f"{t.seconds:.2f}",
            f"{t.plant_hours_per_s:,.0f}",
            f"{t.plant_hours_per_s / ref.plant_hours_per_s:,.1f}",
            f"{t.cpu_seconds:.2f}",
            f"{t.plant_hours_per_cpu_s:,.0f}",
            f"{t.plant_hours_per_cpu_s / ref.plant_hours_per_cpu_s:,.1f}",
        )
    console.print(table)
    console.print(
        "(wall-clock columns are the figures asked for; the CPU columns show the "
        "work done, less sensitive to other load on a shared machine)"
    )
    console.print(
        f"ratio kernel/reference: {kernel.plant_hours_per_s / ref.plant_hours_per_s:,.1f}×"
    )
    if len(timings) == 3:
        console.print(
            f"ratio CLI/reference: {timings[2].plant_hours_per_s / ref.plant_hours_per_s:,.1f}×"
        )
        console.print(f"CLI: {cli_note}")
        console.print(f"CLI peak RSS (RUSAGE_CHILDREN): {peak_rss / GIB:.3f} GiB")
    else:
        console.print(f"[yellow]CLI not timed: {cli_note}[/yellow]")

    # Other work on the machine slows every row; the ratios hold only if the load stayed steady.
    console.print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    if args.memory_plants:
        memory_check(weather, args.memory_plants, args.transposition)
    return 0


if __name__ == "__main__":
    sys.exit(main())
