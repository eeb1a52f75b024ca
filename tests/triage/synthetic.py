"""Synthetic fleet readings for the triage tests (until the emulator's offline generator lands).

Three cities, a dozen plants each within ~8 km of the centre, plus one plant alone (no peers);
the weather is a sampled year of the climate default (``default_fleet_weather(sample=0)``) run
through the fleet kernel, each plant's hourly power then given its own calibration offset
(±3 %) and hourly noise (σ 4 %: local clouds and measurement), so peers are not copies of each
other. Readings come every ``step_s`` seconds, each the hour's mean power; the lifetime counter
integrates them. Faults are applied by hand in the tests.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from telemetry.registry import Fleet

#: City centres on 0.5° cell centres: a city's plants share one generated weather cell.
CITIES = {"THR": (35.50, 51.50), "ISF": (32.50, 51.50), "SHZ": (29.50, 52.50)}
LONE = ("ZAH-000", 29.50, 61.00)
#: The period: 14 days of a sampled year (the kernel's year 1990).
SINCE = pd.Timestamp("1990-03-02T00:00Z")
UNTIL = pd.Timestamp("1990-03-16T00:00Z")


def make_fleet(per_city: int = 12, lone: bool = True) -> Fleet:
    rng = np.random.default_rng(7)
    rows = []
    for code, (lat, lon) in CITIES.items():
        for i in range(per_city):
            rows.append(
                {
                    "plant_id": f"{code}-{i:03d}",
                    "latitude": round(lat + rng.uniform(-0.07, 0.07), 4),
                    "longitude": round(lon + rng.uniform(-0.07, 0.07), 4),
                    "dc_kwp": 5.5,
                    "ac_kw": 5.0,
                    "tilt_deg": round(rng.uniform(20, 35), 1),
                    "azimuth_deg": round(rng.uniform(160, 200), 1),
                    "outage_zone": f"{code}-Z{i % 2 + 1}",
                    "province": code,
                }
            )
    if lone:
        pid, lat, lon = LONE
        rows.append(
            {
                "plant_id": pid,
                "latitude": lat,
                "longitude": lon,
                "dc_kwp": 5.5,
                "ac_kw": 5.0,
                "tilt_deg": 30,
                "azimuth_deg": 180,
                "outage_zone": "ZAH-Z1",
                "province": "ZAH",
            }
        )
    return Fleet.from_records(rows, source="synthetic")


@functools.cache
def _true_power(per_city: int, lone: bool) -> tuple[pd.DatetimeIndex, np.ndarray]:
    from simulate.fleet import default_fleet_weather, run_fleet

    fleet = make_fleet(per_city, lone)
    wx, index = default_fleet_weather(fleet, sample=0)
    run = run_fleet(fleet, wx, hourly=True, weather_index=index)
    assert run.ac_power_w is not None
    sel = (run.labels > SINCE) & (run.labels <= UNTIL)
    power = run.ac_power_w[:, sel]
    rng = np.random.default_rng(11)
    calibration = rng.uniform(0.97, 1.03, size=(power.shape[0], 1))
    noise = np.clip(rng.normal(1.0, 0.04, size=power.shape), 0.8, 1.2)
    return run.labels[sel], power * calibration * noise


def hourly_power(per_city: int = 12, lone: bool = True) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """UTC end-of-hour labels and (n_plants, n_hours) true AC power [W] (a copy)."""
    labels, power = _true_power(per_city, lone)
    return labels, power.copy()


def readings_from_power(
    fleet: Fleet, labels: pd.DatetimeIndex, power_w: np.ndarray, step_s: int = 900
) -> pd.DataFrame:
    """Readings every ``step_s`` in each hour (the hour's mean power), the counter integrating
    them; ``dc1_power_w``/``dc2_power_w`` share the DC power equally (96 % inverter)."""
    per_hour = 3600 // step_s
    n_p = power_w.shape[0]
    offsets_ns = np.arange(per_hour, dtype=np.int64) * step_s * 1_000_000_000
    begins_ns = (labels - pd.Timedelta(hours=1)).as_unit("ns").asi8
    times = pd.DatetimeIndex((begins_ns[:, None] + offsets_ns[None, :]).reshape(-1), tz="UTC")
    p = np.repeat(power_w, per_hour, axis=1)  # (n_p, n_h*per_hour)
    energy = 1e6 + np.cumsum(p * step_s / 3600.0, axis=1) - p * step_s / 3600.0
    ids = np.repeat(np.asarray(fleet.plant_ids, dtype=object), len(times))
    frame = pd.DataFrame(
        {
            "time": pd.DatetimeIndex(np.tile(times.asi8, n_p), tz="UTC"),
            "plant_id": ids,
            "ac_power_w": p.reshape(-1),
            "energy_total_wh": energy.reshape(-1),
            "dc1_power_w": (p / 0.96 / 2).reshape(-1),
            "dc2_power_w": (p / 0.96 / 2).reshape(-1),
            "alarm_code": np.zeros(p.size, dtype=np.int64),
        }
    )
    return frame
