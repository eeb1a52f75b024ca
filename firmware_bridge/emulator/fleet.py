"""Synthetic fleets: plausible household plants over Iran's province capitals, and writing them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from telemetry.errors import InputError
from telemetry.registry import Fleet, parse_fleet

__all__ = ["PROVINCE_CODES", "synthetic_fleet", "write_fleet"]

# Province capitals' three-letter codes (the sample fleet's, the others in the same style).
PROVINCE_CODES = {
    "Tehran": "THR",
    "Razavi Khorasan": "KHR",
    "Isfahan": "ISF",
    "Fars": "FRS",
    "East Azerbaijan": "AZS",
    "Khuzestan": "KHZ",
    "Kerman": "KRN",
    "Alborz": "ALB",
    "Qom": "QOM",
    "West Azerbaijan": "AZG",
    "Gilan": "GIL",
    "Sistan and Baluchestan": "SBL",
    "Kermanshah": "KSH",
    "Hamadan": "HMD",
    "Yazd": "YZD",
    "Ardabil": "ARD",
    "Hormozgan": "HRM",
    "Markazi": "MRK",
    "Zanjan": "ZNJ",
    "Kurdistan": "KRD",
    "Qazvin": "QZV",
    "Lorestan": "LRS",
    "Golestan": "GLS",
    "Mazandaran": "MZN",
    "South Khorasan": "KHJ",
    "North Khorasan": "KHS",
    "Ilam": "ILM",
    "Bushehr": "BSH",
    "Chaharmahal and Bakhtiari": "CHB",
    "Kohgiluyeh and Boyer-Ahmad": "KBA",
    "Semnan": "SMN",
}
"""Province name → three-letter code of the synthetic plant ids (``THR-000001``)."""


def synthetic_fleet(n_plants: int, seed: int = 0) -> Fleet:
    """N plausible 5 kW household plants spread over Iran's province capitals, deterministic.

    Plants go round the 31 capitals of the embedded climatology in a seeded order, within
    ±0.3° of the capital; tilt 20–35°, azimuth 160–200°, DC 5.0–5.5 kWp on a 5 kW inverter,
    about one in six hybrid with a 2.4–7.2 kWh battery; three outage zones per province.
    Identifiers are the province code and a number, e.g. ``THR-000001``.

    Parameters
    ----------
    n_plants : int
        Number of plants (≥ 1).
    seed : int
        Same seed, same fleet.

    Returns
    -------
    telemetry.registry.Fleet
    """
    from simulate.climatology import load_climatology

    if n_plants < 1:
        raise InputError(f"the synthetic fleet needs at least one plant, not {n_plants}")
    caps = load_climatology()
    rng = np.random.default_rng([seed, 0x5EED])
    order = rng.permutation(len(caps))
    cap_idx = order[np.arange(n_plants) % len(caps)]
    lat = caps["latitude"].to_numpy()[cap_idx] + rng.uniform(-0.3, 0.3, n_plants)
    lon = caps["longitude"].to_numpy()[cap_idx] + rng.uniform(-0.3, 0.3, n_plants)
    tilt = rng.uniform(20, 35, n_plants)
    azimuth = rng.uniform(160, 200, n_plants)
    dc_kwp = rng.choice([5.0, 5.2, 5.4, 5.5], n_plants)
    hybrid = rng.random(n_plants) < 1 / 6
    battery = np.where(hybrid, rng.choice([2.4, 4.8, 7.2], n_plants), 0.0)
    zone = rng.integers(1, 4, n_plants)
    load_w = rng.choice([400, 500, 600, 700], n_plants)
    racking = np.where(rng.random(n_plants) < 0.1, "close_mount", "open_rack")
    provinces = caps["province"].to_numpy()[cap_idx]
    counters: dict[str, int] = {}
    lines = [
        "plant_id,latitude,longitude,province,dc_kwp,ac_kw,tilt_deg,azimuth_deg,racking,"
        "inverter_type,battery_kwh,outage_zone,essential_load_w"
    ]
    for i in range(n_plants):
        code = PROVINCE_CODES.get(provinces[i], "IRN")
        counters[code] = counters.get(code, 0) + 1
        lines.append(
            f"{code}-{counters[code]:06d},{lat[i]:.4f},{lon[i]:.4f},{provinces[i]},{dc_kwp[i]:g},"
            f"5.0,{tilt[i]:.1f},{azimuth[i]:.1f},{racking[i]},"
            f"{'hybrid' if hybrid[i] else 'grid_tied'},{battery[i]:g},{code}-Z{zone[i]},"
            f"{load_w[i]}"
        )
    fleet = parse_fleet("\n".join(lines) + "\n", source=f"synthetic fleet (seed {seed})")
    return Fleet(fleet.plants, f"<synthetic fleet: {n_plants} plants, seed {seed}>")


def write_fleet(fleet: Fleet, path: str | Path) -> Path:
    """Write a fleet as a fleet file (CSV, contract columns first), atomically.

    Parameters
    ----------
    fleet : telemetry.registry.Fleet
    path : str or pathlib.Path

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from telemetry.fileio import atomic_path
    from telemetry.registry import COLUMNS

    cols = [c.name for c in COLUMNS] + [
        c for c in fleet.plants.columns if c not in {c.name for c in COLUMNS}
    ]
    with atomic_path(path) as tmp:
        fleet.plants[cols].to_csv(tmp, index=False, float_format="%.10g")
    return Path(path)
