"""A fleet with one hand-made fault per kind, triaged once for the module's tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from simulate.outages import Schedule, parse_schedule
from telemetry.registry import Fleet
from tests.triage import synthetic as syn
from triage.run import TriageResult, triage_fleet

#: plant → the finding it must get (faults start 2 days before the end unless said).
FAULTS = {
    "THR-001": "underperforming",  # 25 % low from 2 days before the end
    "ISF-003": "shading",  # 14–16 h local at 40 %, every day
    "SHZ-004": "soiling",  # 1.2 %/day decline, whole period
    "ISF-005": "inverter_fault",  # 0 W from 2 days before the end
    "SHZ-006": "string_fault",  # DC input 2 dead from 2 days before the end
    "THR-007": "offline",  # silent for the last 30 h
    "THR-008": "comms_loss",  # 6 h silent, the counter running on
}
CUT_TEXT = (
    "start,end,zone\n"
    "1990-03-12T09:00+03:30,1990-03-12T13:00+03:30,THR-Z1\n"
    "1990-03-13T10:00+03:30,1990-03-13T12:00+03:30,ISF-Z2\n"
)


@dataclass
class Scenario:
    fleet: Fleet
    readings: pd.DataFrame
    schedule: Schedule
    result: TriageResult
    clean: TriageResult


def faulty_readings(fleet: Fleet, schedule: Schedule) -> pd.DataFrame:
    labels, P = syn.hourly_power()
    ids = fleet.plant_ids
    local = (labels - pd.Timedelta(minutes=30)).tz_convert("Asia/Tehran")
    last2 = labels > syn.UNTIL - pd.Timedelta(days=2)
    P[ids.index("THR-001"), last2] *= 0.75
    P[ids.index("ISF-003"), np.isin(local.hour, [14, 15])] *= 0.4
    P[ids.index("SHZ-004")] *= 1 - 0.012 * np.arange(len(labels)) / 24
    r = syn.readings_from_power(fleet, labels, P)
    late = r.time > syn.UNTIL - pd.Timedelta(days=2)
    m = (r.plant_id == "ISF-005") & late
    r.loc[m, ["ac_power_w", "dc1_power_w", "dc2_power_w"]] = 0.0
    m = (r.plant_id == "SHZ-006") & late
    r.loc[m, "dc2_power_w"] = 0.0
    r.loc[m, "ac_power_w"] *= 0.5
    r = r[~((r.plant_id == "THR-007") & (r.time > syn.UNTIL - pd.Timedelta(hours=30)))]
    gap = (r.time > pd.Timestamp("1990-03-10T05:00Z")) & (
        r.time < pd.Timestamp("1990-03-10T11:00Z")
    )
    r = r[~((r.plant_id == "THR-008") & gap)]
    return drop_cut_readings(r, fleet, schedule)


def drop_cut_readings(r: pd.DataFrame, fleet: Fleet, schedule: Schedule) -> pd.DataFrame:
    """A cut silences its zone's gateways (no power at home)."""
    zone = r.plant_id.map(fleet.plants.set_index("plant_id")["outage_zone"])
    t = r.time.astype("int64")
    for s, e, z in zip(schedule.start_ns, schedule.end_ns, schedule.zone, strict=True):
        r = r[~(zone.eq(z) & (t >= s) & (t < e))]
        zone, t = zone[r.index], t[r.index]
    return r.reset_index(drop=True)


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    fleet = syn.make_fleet()
    schedule = parse_schedule(CUT_TEXT)
    readings = faulty_readings(fleet, schedule)
    result = triage_fleet(readings, fleet, syn.SINCE, syn.UNTIL, schedule=schedule)
    labels, P = syn.hourly_power()
    clean_r = drop_cut_readings(syn.readings_from_power(fleet, labels, P), fleet, schedule)
    clean = triage_fleet(clean_r, fleet, syn.SINCE, syn.UNTIL, schedule=schedule)
    return Scenario(fleet, readings, schedule, result, clean)
