"""Every panel, variable and alert query runs against a real influxd holding realistic data.

The database is the seed scenario (tests/dashboards/seed.py): a day of a 40-plant fleet through
the bridge, two simulation runs, the registry, the quarantine and the rollups. Each dashboard is
opened as Grafana would open it — its default time range ending at the scenario's end, its
variables at their defaults — and every target must run and return data.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from dashboards.alerts import RULES
from dashboards.macros import TimeRange, interpolate, relative_range
from dashboards.provision import dashboards
from dashboards.runner import (
    dashboard_queries,
    resolve_variables,
    rows,
    run_query,
    variable_values,
)
from tests.dashboards.seed import Scenario

pytestmark = pytest.mark.slow


def _has_data(result: list[dict]) -> bool:
    return any(v is not None for r in rows(result) for k, v in r.items() if k != "time")


def _open(store, sc: Scenario, name: str, overrides=None):
    model = dashboards()[name]
    t = model["time"]
    tr = relative_range(t["from"], t["to"], sc.end_ns // 1_000_000)
    return model, tr, resolve_variables(store, model, overrides, tr)


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_every_panel_query_runs_and_returns_data(store, scenario, name):
    overrides = {"plant_id": scenario.faulted} if name == "roshanai-plant.json" else None
    model, tr, variables = _open(store, scenario, name, overrides)
    ran, empty = 0, []
    for pq in dashboard_queries(model, tr, variables):
        assert "$" not in pq.influxql.replace("$/", "/"), pq.influxql  # all expanded
        result = run_query(store, pq.influxql)  # raises on any InfluxQL error
        ran += 1
        if not _has_data(result):
            empty.append(f"{pq.panel_id} {pq.panel_title} {pq.ref_id}: {pq.influxql}")
    assert ran >= 10
    assert not empty, "\n".join(empty)


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_every_variable_offers_values(store, scenario, name):
    model = dashboards()[name]
    tr = TimeRange(scenario.start_ns // 1_000_000, scenario.end_ns // 1_000_000)
    resolved = resolve_variables(store, model, None, tr)
    for v in model["templating"]["list"]:
        if v["type"] == "query":
            query = interpolate(v["query"], tr, variables=resolved)
            assert variable_values(store, {**v, "query": query}), v["name"]


def test_fleet_dashboard_with_one_province_selected(store, scenario):
    """Provinces with spaces in their names go through the regex filter."""
    province = "Sistan and Baluchestan"
    model, tr, variables = _open(store, scenario, "roshanai-fleet.json", {"province": [province]})
    assert re.search(
        r"/\^Sistan and Baluchestan\$/",
        next(pq.influxql for pq in dashboard_queries(model, tr, variables)),
    )
    registered = run_query(
        store,
        next(
            pq.influxql
            for pq in dashboard_queries(model, tr, variables)
            if pq.panel_title == "Registered"
        ),
    )
    assert rows(registered)[0]["count"] == sum(scenario.fleet.plants["province"] == province)
    for pq in dashboard_queries(model, tr, variables):
        run_query(store, pq.influxql)


def _panel_rows(store, sc, name, title, ref="A", overrides=None):
    model, tr, variables = _open(store, sc, name, overrides)
    pq = next(
        p
        for p in dashboard_queries(model, tr, variables)
        if p.panel_title == title and p.ref_id == ref
    )
    return rows(run_query(store, pq.influxql))


def test_technician_lists_show_the_scenarios_events(store, scenario):
    offline = {
        r["plant_id"]: r
        for r in _panel_rows(
            store, scenario, "roshanai-fleet.json", "Offline in daylight (longest first)"
        )
    }
    for pid in scenario.dead:  # silent for the last 3 hours
        assert offline[pid]["offline_s"] == pytest.approx(3 * 3600, abs=600)
    daylight = {
        r["province"]
        for r in _panel_rows(
            store, scenario, "roshanai-fleet.json", "Offline in daylight (longest first)", "B"
        )
    }
    assert {offline[p]["province"] for p in scenario.dead} <= daylight
    alarm_now = {
        r["plant_id"]: r
        for r in _panel_rows(store, scenario, "roshanai-fleet.json", "In alarm now")
    }
    assert alarm_now[scenario.faulted]["alarm_code"] == 301
    minutes = {
        r["plant_id"]: r
        for r in _panel_rows(store, scenario, "roshanai-fleet.json", "Alarms in the range")
    }
    # The injected 100-minute fault, and any fault of the emulator's own that day.
    assert minutes[scenario.faulted]["alarm_minutes"] >= 95
    under = {
        r["plant_id"]: r
        for r in _panel_rows(
            store, scenario, "roshanai-fleet.json", "Producing under expectation in the range"
        )
    }
    assert under[scenario.faulted]["shortfall_kwh"] > 0
    state = {
        r["plant_id"]: r["state"]
        for r in _panel_rows(store, scenario, "roshanai-fleet.json", "Plants by status", "B")
    }
    assert all(state[p] == 3 for p in scenario.dead)
    assert state[scenario.faulted] == 2
    assert len(state) == len(scenario.fleet)


# -- alert rules: the queries, and what Grafana's expressions would make of them -----------------


def _labels(series: dict) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((series.get("tags") or {}).items()))


def _evaluate(store, rule: dict, end_ms: int) -> dict[tuple, float]:
    """Grafana's server-side expressions for the forms our rules use: reduce (last/max of each
    series), math (comparisons and products, series joined when one label set contains the
    other) and threshold. Returns the condition's value per label set."""
    values: dict[str, dict[tuple, Any]] = {}
    for d in rule["data"]:
        model = d["model"]
        if d["datasourceUid"] != "__expr__":
            tr = TimeRange(end_ms - d["relativeTimeRange"]["from"] * 1000, end_ms)
            result = run_query(store, interpolate(model["query"], tr))
            values[d["refId"]] = {_labels(s): [row[1] for row in s["values"]] for s in result}
        elif model["type"] == "reduce":
            fn = {"last": lambda v: v[-1], "max": max}[model["reducer"]]
            values[d["refId"]] = {
                k: fn([x for x in v if x is not None])
                for k, v in values[model["expression"]].items()
                if any(x is not None for x in v)
            }
        elif model["type"] == "math":
            refs = re.findall(r"\$(\w+)", model["expression"])
            expr = re.sub(r"\$(\w+)", r"v['\1']", model["expression"])
            base = max(refs, key=lambda r: max((len(k) for k in values[r]), default=0))
            out = {}
            for labels in values[base]:
                v = {}
                for r in refs:
                    match = [x for k, x in values[r].items() if set(k) <= set(labels)]
                    if match:
                        v[r] = match[0]
                if len(v) == len(refs):
                    out[labels] = float(eval(expr, {}, {"v": v}))
            values[d["refId"]] = out
        elif model["type"] == "threshold":
            ev = model["conditions"][0]["evaluator"]
            limit, above = ev["params"][0], ev["type"] == "gt"
            values[d["refId"]] = {
                k: float(x > limit if above else x < limit)
                for k, x in values[model["expression"]].items()
            }
    return values[rule["condition"]]


@pytest.mark.parametrize("rule", RULES, ids=[r["uid"] for r in RULES])
def test_alert_queries_return_data(store, scenario, rule):
    end_ms = scenario.end_ns // 1_000_000
    for d in rule["data"]:
        if d["datasourceUid"] != "__expr__":
            tr = TimeRange(end_ms - d["relativeTimeRange"]["from"] * 1000, end_ms)
            assert _has_data(run_query(store, interpolate(d["model"]["query"], tr))), d["refId"]
    assert _evaluate(store, rule, end_ms), "the rule evaluates to no series"


def test_offline_rule_fires_for_the_dead_gateways_only(store, scenario):
    rule = next(r for r in RULES if r["uid"] == "roshanai-plant-offline")
    firing = {
        dict(k)["plant_id"]
        for k, v in _evaluate(store, rule, scenario.end_ns // 1_000_000).items()
        if v
    }
    assert firing == set(scenario.dead)


def test_bridge_rules_stay_quiet_for_a_healthy_bridge(store, scenario):
    for uid in ("roshanai-bridge-lag", "roshanai-bridge-spool"):
        rule = next(r for r in RULES if r["uid"] == uid)
        result = _evaluate(store, rule, scenario.end_ns // 1_000_000)
        assert result
        assert not any(result.values())
