"""A fleet unlike ``synthetic_fleet``, to measure triage on what it was not developed on.

990 plants: dense clusters in five cities (Tehran 300, Mashhad 250, Kerman 150, Rasht 150,
Zahedan 100, within 8–15 km of the centre, on 2–6 feeders each with names of their own) and
40 lone plants in towns far from any other; 3–10 kWp, a quarter clipping hard (AC 0.6–0.75 of
DC) and some 5 kWp on 3.6 kW inverters; tilt 5–40°; 55 % facing 150–210°, 15 % east, 15 % west,
15 % south-west; 15 % hybrid with a 4–12 kWh battery and a 300–1,000 W essential load; a tenth
with their altitude given; one lone plant in five without an ``outage_zone``. Seeded: the same
file every time. ``--no-zones`` leaves every ``outage_zone`` empty (the column is optional).

Run: ``python benchmarks/make_mixed_fleet.py mixed_fleet.csv [--no-zones]``, then
``python benchmarks/bench_triage.py --fleet mixed_fleet.csv --speed-plants ''``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np
import pandas as pd

#: code, latitude, longitude [degree], plants, radius [km], province, feeders, altitude [m]
CITIES: list[tuple[str, float, float, int, float, str, list[str], int]] = [
    ("THR", 35.69, 51.39, 300, 15, "Tehran", [f"THR-feeder-{i}" for i in range(1, 7)], 1190),
    (
        "MHD",
        36.30,
        59.60,
        250,
        12,
        "Razavi Khorasan",
        [f"MHD-feeder-{i}" for i in (10, 11, 12, 13)],
        995,
    ),
    ("KRM", 30.28, 57.08, 150, 10, "Kerman", ["KRM-north", "KRM-south"], 1755),
    ("RST", 37.28, 49.58, 150, 10, "Gilan", ["RST-caspian-A", "RST-caspian-B"], -7),
    ("ZHD", 29.50, 60.86, 100, 8, "Sistan and Baluchestan", ["ZHD-grid-1"], 1370),
]
#: lone plants: town, latitude, longitude [degree]
LONE: list[tuple[str, float, float]] = [
    ("Chabahar", 25.29, 60.64), ("BandarAbbas", 27.18, 56.27), ("Tabas", 33.60, 56.92),
    ("Ardabil", 38.25, 48.30), ("Yasuj", 30.67, 51.59), ("Birjand", 32.87, 59.22),
    ("Ilam", 33.64, 46.42), ("Zabol", 31.03, 61.50), ("Iranshahr", 27.20, 60.68),
    ("Khoy", 38.55, 44.95), ("Bushehr", 28.97, 50.84), ("Semnan", 35.57, 53.39),
    ("Shahrekord", 32.33, 50.86), ("Bojnurd", 37.47, 57.33), ("Sanandaj", 35.31, 47.00),
    ("Gorgan", 36.84, 54.43), ("Qom", 34.64, 50.88), ("Yazd", 31.90, 54.37),
    ("Ahvaz", 31.32, 48.67), ("Hamadan", 34.80, 48.51), ("Urmia", 37.55, 45.07),
    ("Khorramabad", 33.49, 48.36), ("Arak", 34.09, 49.69), ("Zanjan", 36.68, 48.50),
    ("Kashan", 33.98, 51.44), ("Jask", 25.64, 57.77), ("Bam", 29.10, 58.36),
    ("Sirjan", 29.45, 55.68), ("Lar", 27.68, 54.34), ("Shiraz", 29.59, 52.58),
    ("Isfahan", 32.65, 51.67), ("Qazvin", 36.27, 50.00), ("Sabzevar", 36.21, 57.68),
    ("Neyshabur", 36.21, 58.80), ("Kashmar", 35.24, 58.46), ("Ferdows", 34.02, 58.17),
    ("Nehbandan", 31.54, 60.04), ("Khash", 28.22, 61.21), ("Saravan", 27.37, 62.33),
    ("Minab", 27.15, 57.08),
]  # fmt: skip


def mixed_fleet(seed: int = 2025) -> pd.DataFrame:
    """The fleet's rows (the fleet file's columns; see the module docstring)."""
    rng = np.random.default_rng(seed)

    def azimuth() -> float:
        u = rng.random()
        if u < 0.55:
            return float(rng.uniform(150, 210))
        if u < 0.70:
            return 90.0
        if u < 0.85:
            return 270.0
        return float(rng.uniform(215, 240))

    def plant(pid: str, lat: float, lon: float, prov: str, zone: str, alt: Any) -> dict:
        dc = round(float(rng.uniform(3, 10)), 2)
        u = rng.random()
        if u < 0.25:
            ac = round(dc * float(rng.uniform(0.6, 0.75)), 2)  # clipping hard
        elif u < 0.35 and dc > 4.5:
            dc, ac = 5.0, 3.6
        else:
            ac = round(min(10.0, dc * float(rng.uniform(0.95, 1.1))), 2)
        hybrid = rng.random() < 0.15
        return {
            "plant_id": pid,
            "latitude": round(lat, 5),
            "longitude": round(lon, 5),
            "altitude_m": alt,
            "province": prov,
            "dc_kwp": dc,
            "ac_kw": ac,
            "tilt_deg": int(rng.integers(5, 41)),
            "azimuth_deg": round(azimuth(), 1),
            "racking": str(rng.choice(["open_rack", "close_mount"])),
            "gamma_pdc_per_c": -0.004,
            "losses_pct": round(float(rng.uniform(10, 18)), 2),
            "inverter_type": "hybrid" if hybrid else "grid_tied",
            "battery_kwh": round(float(rng.uniform(4, 12)), 1) if hybrid else 0.0,
            "outage_zone": zone,
            "essential_load_w": int(rng.integers(3, 11)) * 100 if hybrid else "",
        }

    rows = []
    for code, lat, lon, n, radius_km, prov, zones, alt in CITIES:
        for i in range(n):
            r = radius_km * np.sqrt(rng.random())
            th = rng.uniform(0, 2 * np.pi)
            la = lat + r * np.cos(th) / 111.0
            lo = lon + r * np.sin(th) / (111.0 * np.cos(np.radians(lat)))
            given = alt if rng.random() < 0.1 else ""
            rows.append(plant(f"{code}-{i + 1:04d}", la, lo, prov, zones[i % len(zones)], given))
    for k, (name, lat, lon) in enumerate(LONE):
        zone = "" if k % 5 == 0 else f"ISO-{name}"
        rows.append(plant(f"ISO-{name}", lat, lon, "", zone, "" if k % 3 else 1500))
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="fleet CSV to write")
    parser.add_argument("--no-zones", action="store_true", help="leave outage_zone empty")
    args = parser.parse_args(argv)
    fleet = mixed_fleet()
    if args.no_zones:
        fleet["outage_zone"] = ""
    fleet.to_csv(args.out, index=False)
    print(f"wrote {len(fleet)} plants to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
