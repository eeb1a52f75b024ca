"""The triage's worklist, the plant's expectation from its peers, and the finding alert rules.

Every query runs on a real influxd: a small database written per the schema
(``plant_finding`` points open, closed, reopened, out of the 30 days, and one written before the
``open`` field existed) for the worklist's rules, and the seed scenario (tests/dashboards/seed.py:
triage's expectation of the stored day, an open finding of every kind) for the panels.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from dashboards.alerts import FINDING_ALERTS, FINDING_RULES
from dashboards.labels import FINDINGS_EN, finding_label
from dashboards.persian import FINDINGS_FA
from dashboards.provision import dashboards
from dashboards.runner import dashboard_queries, rows, run_query
from telemetry.influx import InfluxStore
from telemetry.schema import FINDING_KINDS
from tests.dashboards.seed import DAY, HOUR, Scenario, finding_line
from tests.dashboards.test_queries import _evaluate, _open

pytestmark = pytest.mark.slow

WORKLIST_TITLE = "Worklist: open findings, most kWh/day lost first"
NOW_NS = time.time_ns() // HOUR * HOUR


def _finding(pid: str, kind: str, start_ns: int, lost: float, **kw: Any) -> dict:
    return {
        "plant_id": pid,
        "finding": kind,
        "start_ns": start_ns,
        "lost_kwh_per_day": lost,
        "confidence": kw.pop("confidence", 0.8),
        "evidence": kw.pop("evidence", f"evidence of {pid}"),
        "triaged_until": "2026-01-01T00:00:00Z",
        "province": kw.pop("province", "Tehran"),
        **kw,
    }


#: The worklist's cases; comments say what the worklist must make of each.
WORKLIST_POINTS = [
    _finding("P1", "soiling", NOW_NS - 5 * DAY, 3.5, open=True),  # open
    _finding("P2", "offline", NOW_NS - 4 * DAY, 20.0, open=False, closed_at="x"),  # closed
    _finding("P3", "string_fault", NOW_NS - 3 * DAY, 7.0),  # before `open`: open
    # closed long ago, open again since: the open one, with its own start
    _finding("P1", "offline", NOW_NS - 12 * DAY, 10.0, open=False, closed_at="y"),
    _finding("P1", "offline", NOW_NS - 2 * DAY, 12.0, open=True, evidence="again"),
    _finding("P4", "inverter_fault", NOW_NS - 40 * DAY, 30.0, open=True),  # open 40 days
    _finding("P6", "shading", NOW_NS - 1 * DAY, 1.5, open=True, province="Fars"),
]
#: A finding open, then closed by a later run (the same point rewritten): gone.
REWRITTEN = [
    _finding("P5", "underperforming", NOW_NS - 6 * DAY, 25.0, open=True),
    _finding("P5", "underperforming", NOW_NS - 6 * DAY, 25.0, open=False, closed_at="z"),
]


@pytest.fixture
def findings_store(influxd, influx_db) -> Iterator[InfluxStore]:
    with InfluxStore(influxd.url, influx_db, timeout_s=60) as s:
        s.write_lines([finding_line(f) for f in WORKLIST_POINTS + REWRITTEN[:1]])
        s.write_lines([finding_line(REWRITTEN[1])])
        yield s


def _panel(model: dict, title: str) -> dict:
    return next(p for p in model["panels"] if p.get("title") == title)


def _as_panel_shows(table: list[dict], panel: dict) -> list[dict]:
    """The rows renamed and sorted by the panel's organize and sortBy transformations (the
    time column is ``Time`` in Grafana's table)."""
    out = [{("Time" if k == "time" else k): v for k, v in r.items()} for r in table]
    for t in panel["transformations"]:
        if t["id"] == "organize":
            ren = t["options"]["renameByName"]
            out = [{ren.get(k, k): v for k, v in r.items()} for r in out]
        elif t["id"] == "sortBy":
            for s in reversed(t["options"]["sort"]):
                out = sorted(out, key=lambda r: r[s["field"]], reverse=s["desc"])
    return out


def _fleet_rows(store, title: str, province: str | list[str] = ".*") -> list[dict]:
    model = dashboards()["roshanai-fleet.json"]
    from dashboards.macros import TimeRange

    tr = TimeRange(NOW_NS // 1_000_000 - 86_400_000, NOW_NS // 1_000_000)
    pq = next(
        p
        for p in dashboard_queries(model, tr, {"province": province})
        if p.panel_title == title and p.ref_id == "A"
    )
    return rows(run_query(store, pq.influxql))


def test_worklist_keeps_open_findings_ranked_by_the_energy_lost(findings_store):
    panel = _panel(dashboards()["roshanai-fleet.json"], WORKLIST_TITLE)
    shown = _as_panel_shows(_fleet_rows(findings_store, WORKLIST_TITLE), panel)
    assert [(r["plant"], r["finding"], r["kWh/day"]) for r in shown] == [
        ("P4", "inverter_fault", 30.0),  # open for 40 days: still there, its start kept
        ("P1", "offline", 12.0),  # reopened: the open point, not the older closed one
        ("P3", "string_fault", 7.0),  # no `open` field: counts as open
        ("P1", "soiling", 3.5),
        ("P6", "shading", 1.5),
    ]  # P2 closed, P5 closed by a rewrite of its point: gone
    assert shown[0]["since"] == (NOW_NS - 40 * DAY) // 1_000_000
    first = shown[1]
    assert first["since"] == (NOW_NS - 2 * DAY) // 1_000_000  # the finding's start [ms]
    assert first["evidence"] == "again"
    assert first["confidence"] == 0.8
    assert first["province"] == "Tehran"


def test_worklist_honours_the_province_filter_and_its_stats_add_up(findings_store):
    shown = _fleet_rows(findings_store, WORKLIST_TITLE, ["Fars"])
    assert [(r["plant_id"], r["finding"]) for r in shown] == [("P6", "shading")]
    lost = _fleet_rows(findings_store, "kWh/day lost on the worklist")
    assert lost[0]["lost_kwh_per_day"] == pytest.approx(30.0 + 12.0 + 7.0 + 3.5 + 1.5)
    assert _fleet_rows(findings_store, "Open findings")[0]["findings"] == 5
    by_kind = {
        r["finding"]: r["findings"] for r in _fleet_rows(findings_store, "Open findings by kind")
    }
    assert by_kind == {
        "inverter_fault": 1,
        "offline": 1,
        "string_fault": 1,
        "soiling": 1,
        "shading": 1,
    }


# -- alert rules ----------------------------------------------------------------------------


def _alert_points() -> list[dict]:
    """Per kind: ``hi-`` open above the threshold, ``legacy-`` above it without ``open``,
    ``lo-`` open under it (kinds with a threshold over 0), ``closed-`` closed."""
    points = []
    for i, kind in enumerate(FINDING_KINDS):
        threshold = FINDING_ALERTS[kind][0] or 0.0
        above = 0.0 if kind == "comms_loss" else threshold + 1.0
        t = NOW_NS - (i + 1) * DAY
        points += [
            _finding(f"hi-{kind}", kind, t, above, open=True),
            _finding(f"legacy-{kind}", kind, t, above),
            _finding(f"closed-{kind}", kind, t, above + 10, open=False, closed_at="x"),
        ]
        if threshold > 0:
            points.append(_finding(f"lo-{kind}", kind, t, threshold - 0.5, open=True))
    return points


@pytest.mark.parametrize("rule", FINDING_RULES, ids=[r["uid"] for r in FINDING_RULES])
def test_each_finding_rule_fires_for_its_open_findings_above_the_threshold(
    influxd, influx_db, rule
):
    with InfluxStore(influxd.url, influx_db, timeout_s=60) as store:
        store.write_lines([finding_line(f) for f in _alert_points()])
        result = _evaluate(store, rule, NOW_NS // 1_000_000)
    kind = rule["labels"]["finding"]
    firing = {dict(k)["plant_id"] for k, v in result.items() if v}
    assert firing == {f"hi-{kind}", f"legacy-{kind}"}
    assert rule["labels"]["audience"] == "technicians"
    assert rule["labels"]["severity"] == FINDING_ALERTS[kind][1]
    notes = rule["annotations"]
    assert "$labels.plant_id" in notes["summary"]
    assert "$values.B.Value" in notes["summary"]
    assert FINDINGS_FA[kind] in notes["summary"]
    assert kind in notes["summary"]
    assert "evidence" in notes["description"]
    assert "شواهد" in notes["description"]


def test_every_kind_has_a_rule_and_labels():
    assert [r["labels"]["finding"] for r in FINDING_RULES] == list(FINDING_KINDS)
    assert set(FINDING_ALERTS) == set(FINDINGS_FA) == set(FINDINGS_EN) == set(FINDING_KINDS)
    assert finding_label("inverter_fault") == "خطای اینورتر (inverter_fault)"
    assert all("\u0600" <= FINDINGS_FA[k][0] <= "\u06ff" for k in FINDING_KINDS)  # Persian


# -- the seed scenario: the panels as a technician opens them ---------------------------------


def _plant_series(store, sc: Scenario, title: str, ref: str) -> dict[int, float]:
    model, tr, variables = _open(store, sc, "roshanai-plant.json", {"plant_id": sc.faulted})
    pq = next(
        p
        for p in dashboard_queries(model, tr, variables)
        if p.panel_title == title and p.ref_id == ref
    )
    result = run_query(store, pq.influxql)
    assert len(result) == 1, pq.influxql  # one series: the plant
    return {t: v for t, v in result[0]["values"] if v is not None}


def test_expected_and_measured_align_on_the_hour(store, scenario):
    title = "Expected vs actual, from the peers (hourly)"
    measured = _plant_series(store, scenario, title, "A")
    expected = _plant_series(store, scenario, title, "B")
    clear = _plant_series(store, scenario, title, "C")
    assert len(expected) >= 10
    assert set(expected) == set(clear)
    assert all(t % 3_600_000 == 0 for t in [*measured, *expected])
    # triage's own hourly mean, stored beside its expectation, is the panel's measured one at
    # the same timestamp: both label the hour at its start
    own = rows(
        run_query(
            store,
            f'SELECT "ac_power_w" FROM "plant_expected" WHERE "plant_id" = \'{scenario.faulted}\'',
        )
    )
    common = [r for r in own if r["time"] in measured and r["ac_power_w"] is not None]
    assert len(common) >= 10
    for r in common:
        assert measured[r["time"]] == pytest.approx(r["ac_power_w"], rel=1e-6, abs=1e-6)
    # the injected fault: measured ~0 in its last daylight hour, while the peers expect power
    last = max(t for t in expected if t < scenario.end_ns // 1_000_000 - 3_600_000)
    assert measured[last] < 0.1 * expected[last]


def test_sky_index_panel_is_measured_over_clear_sky(store, scenario):
    title = "Sky index: the plant's own and its peers'"
    own = _plant_series(store, scenario, title, "A")
    peers = _plant_series(store, scenario, title, "B")
    reporting = _plant_series(store, scenario, title, "C")
    clear = _plant_series(store, scenario, "Expected vs actual, from the peers (hourly)", "C")
    stored = {
        r["time"]: r["ac_power_w"]
        for r in rows(
            run_query(
                store,
                f'SELECT "ac_power_w" FROM "plant_expected" WHERE "plant_id" = '
                f"'{scenario.faulted}'",
            )
        )
    }
    assert own
    assert set(own) <= set(peers)
    for t, k in own.items():
        assert k == pytest.approx(stored[t] / clear[t])
    assert all(0 <= k < 3 for k in peers.values())
    # the seed's 40 plants are spread over Iran: few have peers within 25 km, and the index
    # is then the climate's (peers_reporting 0); the panel draws what triage stored
    assert set(reporting) >= set(peers)
    assert all(isinstance(n, int) and n >= 0 for n in reporting.values())


def test_plant_findings_table_shows_open_and_closed(store, scenario):
    model, tr, variables = _open(
        store, scenario, "roshanai-plant.json", {"plant_id": scenario.faulted}
    )
    pq = next(
        p
        for p in dashboard_queries(model, tr, variables)
        if p.panel_title == "Findings of this plant (open and closed)"
    )
    table = {r["finding"]: r for r in rows(run_query(store, pq.influxql))}
    seeded = {f["finding"]: f for f in scenario.findings if f["plant_id"] == scenario.faulted}
    assert set(table) == set(seeded) == {"inverter_fault", "underperforming"}
    assert table["inverter_fault"]["open"] is True
    assert table["inverter_fault"]["closed_at"] is None
    assert table["underperforming"]["open"] is False
    assert table["underperforming"]["closed_at"] == seeded["underperforming"]["closed_at"]


def test_seeded_worklist_and_rules_show_every_open_finding(store, scenario):
    model, tr, variables = _open(store, scenario, "roshanai-fleet.json")
    pq = next(p for p in dashboard_queries(model, tr, variables) if p.panel_title == WORKLIST_TITLE)
    shown = _as_panel_shows(rows(run_query(store, pq.influxql)), _panel(model, WORKLIST_TITLE))
    open_seeded = sorted(
        (f for f in scenario.findings if f["open"] is not False),
        key=lambda f: -f["lost_kwh_per_day"],
    )
    assert [(r["plant"], r["finding"]) for r in shown] == [
        (f["plant_id"], f["finding"]) for f in open_seeded
    ]
    assert {f["finding"] for f in open_seeded} == set(FINDING_KINDS)
    for rule in FINDING_RULES:
        kind = rule["labels"]["finding"]
        firing = {
            dict(k)["plant_id"]
            for k, v in _evaluate(store, rule, scenario.end_ns // 1_000_000).items()
            if v
        }
        assert firing == {f["plant_id"] for f in open_seeded if f["finding"] == kind}, kind
