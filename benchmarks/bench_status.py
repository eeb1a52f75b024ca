"""Plant status tick with the peers' expectation, at 10,000 and 100,000 plants.

A synthetic fleet around 20 Iranian cities (plants within ±0.15° of each centre, orientations
varied), a 15-minute clear-sky grid over 8 hours of 1 July 2026, one reading per plant at
11:30 Tehran time (a grey sky, 40–60 % of clear sky), then :meth:`StatusTracker.tick` timed:

- **expectation build**: peers (k-d tree) and the clear-sky grid (fleet kernel), the work the
  bridge does in the background at start;
- **observe**: the per-reading cost the ingest thread pays (Python, one reading at a time);
- **local sky index**: :func:`firmware_bridge.peers.local_sky_index` alone (vectorised numpy);
- **tick**: the whole tick (the sky index, each plant's expectation, the status of every plant,
  ``plant_status`` lines of those that changed), first (every status new), steady with the
  sky index recomputed (nothing changed: only the comparison), steady between two sky
  index updates (``sky_index_every_s``, 20 s by default), and the tick where every status is
  due again (``republish_s`` after the first: every line formatted again); and a tick between
  two sky index updates after a twelfth of the plants reported (5 s of a fleet reporting every
  minute);
- the same ticks of the readable reference (:meth:`StatusTracker.tick_reference`, plant by
  plant) on a second tracker fed the same readings, and the ratio reference / array-based.

Plain timing (median of ``--repeat``), no assertion. Run:
``.venv/bin/python benchmarks/bench_status.py [--plants 10000 100000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from firmware_bridge.peers import PeerExpectation, local_sky_index
from firmware_bridge.status import StatusTracker
from firmware_bridge.validate import Checked
from telemetry.record import TelemetryRecord
from telemetry.registry import Fleet, parse_fleet

CITIES = [
    (35.70, 51.40),
    (36.30, 59.60),
    (32.65, 51.67),
    (38.08, 46.29),
    (29.61, 52.53),
    (35.83, 50.99),
    (31.32, 48.67),
    (34.64, 50.88),
    (34.31, 47.07),
    (37.55, 45.08),
    (27.18, 56.27),
    (36.56, 53.06),
    (37.28, 49.58),
    (30.28, 57.08),
    (34.80, 48.51),
    (29.50, 60.86),
    (32.87, 59.22),
    (36.68, 48.48),
    (33.46, 48.35),
    (31.90, 54.37),
]
T0 = int(datetime(2026, 7, 1, 8, 0, tzinfo=UTC).timestamp()) * 10**9


def synthetic_fleet(n: int, seed: int = 1) -> Fleet:
    rng = np.random.default_rng(seed)
    city = rng.integers(0, len(CITIES), n)
    centre = np.array(CITIES)[city]
    df = pd.DataFrame(
        {
            "plant_id": [f"SYN-{i:06d}" for i in range(n)],
            "latitude": centre[:, 0] + rng.uniform(-0.15, 0.15, n),
            "longitude": centre[:, 1] + rng.uniform(-0.15, 0.15, n),
            "dc_kwp": 5.0,
            "ac_kw": 5.0,
            "tilt_deg": rng.uniform(15, 35, n).round(1),
            "azimuth_deg": rng.uniform(150, 210, n).round(1),
        }
    )
    return parse_fleet(df.to_csv(index=False))


def median_s(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(n: int, repeat: int) -> dict[str, float]:
    fleet = synthetic_fleet(n)
    t0 = time.perf_counter()
    exp = PeerExpectation(fleet, start_ns=T0 - 3 * 3600 * 10**9, horizon_h=8).start()
    assert exp.wait(1800), exp.error
    build_s = time.perf_counter() - t0
    assert exp.grid is not None
    rng = np.random.default_rng(2)
    share = rng.uniform(0.4, 0.6, n)
    ids = fleet.plants["plant_id"].tolist()
    readings = [
        Checked(
            TelemetryRecord(
                plant_id=pid,
                ts_ns=T0,
                ac_power_w=float(share[row] * exp.grid.clear_sky_at(row, T0)),
                status="producing",
            ),
            {"plant_id": pid},
        )
        for row, pid in enumerate(ids)
    ]
    out: dict[str, float] = {"build_s": build_s}
    now = T0 + 60 * 10**9
    for name, reference in (("", False), ("ref_", True)):
        tracker = StatusTracker(fleet, expected=exp)
        tick = tracker.tick_reference if reference else tracker.tick
        t0 = time.perf_counter()
        for r in readings:
            tracker.observe(r, T0)
        out[name + "observe_us"] = 1e6 * (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        lines = tick(now)
        out[name + "first_s"] = time.perf_counter() - t0
        assert len(lines) == n

        def tick_with_index(tracker: StatusTracker = tracker, tick=tick) -> None:
            tracker._sky_index_ns = 0  # due again
            assert not tick(now + 10**9)

        out[name + "steady_k_s"] = median_s(tick_with_index, repeat)
        out[name + "steady_s"] = median_s(lambda tick=tick: tick(now + 2 * 10**9), repeat)
        # A twelfth of the fleet reports (5 s of plants reporting every minute), then a tick
        # between two sky index updates: the copy of those plants into the columns.
        later = [
            Checked(msgspec.structs.replace(r.record, ts_ns=T0 + 3 * 10**9), r.tags)
            for r in readings[::12]
        ]
        for r in later:
            tracker.observe(r, now + 3 * 10**9)
        t0 = time.perf_counter()
        tick(now + 4 * 10**9)
        out[name + "readings_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        lines = tick(now + int(tracker.republish_ns))
        out[name + "republish_s"] = time.perf_counter() - t0
        assert len(lines) == n
        if not reference:
            out["k_s"] = median_s(
                lambda tracker=tracker: local_sky_index(
                    tracker.live, exp, now, offline_after_ns=tracker.offline_after_ns
                ),
                repeat,
            )
            out["from_peers"] = float(tracker.live.from_peers.mean())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plants", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f} at start")
    print(
        "plants | expectation build s | observe µs/reading | local sky index s | "
        "tick first s | tick steady s: with sky index / between / after 1/12 reported | "
        "tick all republished s | from peers"
    )
    for n in args.plants:
        r = run(n, args.repeat)
        for label, p in (("array-based", ""), ("reference", "ref_")):
            print(
                f"{n:,} {label} | {r['build_s']:.1f} | {r[p + 'observe_us']:.1f} | "
                f"{r['k_s']:.3f} | {r[p + 'first_s']:.2f} | {r[p + 'steady_k_s']:.3f} / "
                f"{r[p + 'steady_s']:.3f} / {r[p + 'readings_s']:.3f} | "
                f"{r[p + 'republish_s']:.2f} | "
                f"{100 * r['from_peers']:.1f} %",
                flush=True,
            )
        print(
            f"{n:,} reference / array-based: steady with sky index "
            f"{r['ref_steady_k_s'] / r['steady_k_s']:.1f}x, between "
            f"{r['ref_steady_s'] / r['steady_s']:.1f}x, "
            f"first {r['ref_first_s'] / r['first_s']:.1f}x",
            flush=True,
        )
    print(f"load {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
