"""triage.worklist: the worklist carried on from run to run (pure; no InfluxDB)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from triage.findings import FINDING_COLUMNS
from triage.worklist import carry_on, judged_plants, recovered_plants

T = pd.Timestamp


def _found(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "plant_id": p,
                "finding": f,
                "start": T(s),
                "lost_kwh_per_day": 5.0,
                "confidence": 0.9,
                "evidence": "e",
            }
            for p, f, s in rows
        ],
        columns=list(FINDING_COLUMNS),
    )


def _latest(*rows: tuple[str, str, str, bool]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"plant_id": p, "finding": f, "start": T(s), "open": o} for p, f, s, o in rows],
        columns=["plant_id", "finding", "start", "open"],
    )


IDS = ("A", "B", "C")


def test_open_finding_keeps_its_start_new_ones_are_new() -> None:
    found = _found(("A", "offline", "2026-07-03T05:00Z"), ("B", "soiling", "2026-07-01T05:00Z"))
    latest = _latest(("A", "offline", "2026-06-28T06:00Z", True))
    wl = carry_on(found, latest, IDS, np.ones(3, bool))
    a = wl.findings.set_index("plant_id").loc["A"]
    assert a["start"] == T("2026-06-28T06:00Z")
    assert bool(a["carried"])
    assert wl.carried == 1
    assert wl.new == 1
    assert wl.closed.empty


def test_gone_finding_is_closed_only_where_the_run_judged_the_plant() -> None:
    latest = _latest(
        ("A", "offline", "2026-06-28T06:00Z", True),
        ("B", "inverter_fault", "2026-06-29T06:00Z", True),
        ("Z", "offline", "2026-06-29T06:00Z", True),  # not in this run's fleet
        ("C", "shading", "2026-06-20T06:00Z", False),  # already closed
    )
    judged = np.array([True, False, True])
    wl = carry_on(_found(), latest, IDS, judged)
    assert list(zip(wl.closed.plant_id, wl.closed.finding, strict=True)) == [("A", "offline")]
    assert wl.closed.start.iloc[0] == T("2026-06-28T06:00Z")


def test_repaired_plant_leaves_the_list_and_is_closed_but_not_its_shading() -> None:
    found = _found(
        ("A", "inverter_fault", "2026-07-01T05:00Z"), ("A", "shading", "2026-07-01T05:00Z")
    )
    latest = _latest(("A", "inverter_fault", "2026-06-30T05:00Z", True))
    wl = carry_on(found, latest, IDS, np.ones(3, bool), recovered=np.array([True, False, False]))
    assert list(wl.findings.finding) == ["shading"]
    assert wl.repaired == 1
    assert list(wl.closed.finding) == ["inverter_fault"]


def test_found_again_at_a_closed_points_time_is_a_reopen() -> None:
    found = _found(("A", "offline", "2026-07-01T05:00Z"))
    latest = _latest(("A", "offline", "2026-07-01T05:00Z", False))
    wl = carry_on(found, latest, IDS, np.ones(3, bool))
    assert bool(wl.findings.reopen.iloc[0])
    assert not bool(wl.findings.carried.iloc[0])


def test_found_again_before_a_closed_points_time_reopens_that_point() -> None:
    """Dated earlier than the latest point, a closed one (readings backfilled): that point is
    reopened; a later start is a new finding."""
    found = _found(("A", "offline", "2026-06-30T05:00Z"), ("B", "offline", "2026-07-02T05:00Z"))
    latest = _latest(
        ("A", "offline", "2026-07-01T05:00Z", False), ("B", "offline", "2026-07-01T05:00Z", False)
    )
    wl = carry_on(found, latest, IDS, np.ones(3, bool))
    got = wl.findings.set_index("plant_id")
    assert got.loc["A", "start"] == T("2026-07-01T05:00Z")
    assert bool(got.loc["A", "reopen"])
    assert got.loc["B", "start"] == T("2026-07-02T05:00Z")
    assert not bool(got.loc["B", "reopen"])
    assert wl.new == 2


def test_judged_and_recovered_from_arrays() -> None:
    from triage.expected import Expectation
    from triage.hourly import HourlyReadings

    labels = pd.date_range("2026-07-01T01:00Z", periods=48, freq="h")
    n_p, n_h = 3, len(labels)
    hour = np.asarray(labels.hour)
    clear = np.where((hour >= 2) & (hour <= 14), 4000.0, 0.0)[None, :].repeat(n_p, 0)
    expected = clear * 0.9
    power = expected.copy()
    power[1, 24:] = 0.0  # B: tripped in the last day
    power[2, :24] = 0.0  # C: tripped on day 1, fine in the last day
    readings = np.ones((n_p, n_h), int)
    e = Expectation(clear, np.full((n_p, n_h), 0.9), expected, np.full((n_p, n_h), 8), clear > 0)
    h = HourlyReadings(
        ("A", "B", "C"),
        labels,
        power,
        readings,
        np.full((n_p, n_h), np.nan),
        np.full((n_p, n_h), np.nan),
        np.zeros((n_p, n_h), int),
    )
    rating = np.full(n_p, 5000.0)
    assert judged_plants(e, rating).all()
    night = Expectation(*(np.zeros((n_p, n_h)) for _ in range(3)), e.peers_reporting, e.from_peers)
    assert not judged_plants(night, rating).any()
    rec = recovered_plants(h, e, np.zeros((n_p, n_h), int), rating)
    assert rec.tolist() == [True, False, True]
