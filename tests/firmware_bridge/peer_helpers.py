"""A fleet where the sun is up now, for end-to-end runs of the peers' expectation at any hour."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

#: Land sites the climate default covers, spread in longitude so that one is in daylight at
#: any hour of the year (latitude, longitude [degree]).
SITES = {
    "Tehran": (35.70, 51.40),
    "Delhi": (28.61, 77.21),
    "Bangkok": (13.75, 100.50),
    "Beijing": (39.90, 116.40),
    "Perth": (-31.95, 115.86),
    "Tokyo": (35.68, 139.69),
    "Sydney": (-33.87, 151.21),
    "Auckland": (-36.85, 174.76),
    "Fiji": (-17.80, 178.00),
    "Los Angeles": (34.05, -118.24),
    "Mexico City": (19.43, -99.13),
    "Lima": (-12.05, -77.04),
    "Sao Paulo": (-23.55, -46.63),
    "Dakar": (14.69, -17.44),
    "Lagos": (6.52, 3.38),
    "Cairo": (30.04, 31.24),
}


def daylight_site(ahead_s: float = 1800.0) -> tuple[str, float, float]:
    """The site whose sun is highest over the next ``ahead_s`` [s] (the lower of now and then)."""
    import pvlib

    now = pd.Timestamp(time.time(), unit="s", tz="UTC")
    times = pd.DatetimeIndex([now, now + pd.Timedelta(seconds=ahead_s)])
    best = ("", -90.0, 0.0, 0.0)
    for name, (lat, lon) in SITES.items():
        el = float(pvlib.solarposition.get_solarposition(times, lat, lon)["elevation"].min())
        if el > best[1]:
            best = (name, el, lat, lon)
    return best[0], best[2], best[3]


def write_local_fleet(path: Path, n: int, lat: float, lon: float, seed: int = 0) -> list[str]:
    """``n`` flat 5 kW plants within about 3 km of (lat, lon); their plant ids."""
    rng = np.random.default_rng(seed)
    ids = [f"LOC-{i:06d}" for i in range(n)]
    rows = ["plant_id,latitude,longitude,dc_kwp,ac_kw,tilt_deg,azimuth_deg"]
    offsets = rng.uniform(-0.02, 0.02, (n, 2))
    for pid, (dlat, dlon) in zip(ids, offsets, strict=True):
        rows.append(f"{pid},{lat + dlat:.5f},{lon + dlon:.5f},5,5,0,180")
    path.write_text("\n".join(rows) + "\n")
    return ids
