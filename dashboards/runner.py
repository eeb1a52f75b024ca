"""Run a dashboard's panels as Grafana would: variables resolved, macros expanded, InfluxQL sent.

Used by ``roshanai report`` (so its figures are the panels' figures) and by the tests (every
panel of every dashboard must run and return data).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dashboards.check import panels_of
from dashboards.macros import TimeRange, interpolate, relative_range
from telemetry.influx import InfluxStore

__all__ = ["PanelQuery", "dashboard_queries", "resolve_variables", "rows", "run_query"]

#: Points per panel assumed for ``$__interval`` (about a panel's pixel width).
MAX_DATA_POINTS = 1000


@dataclass(frozen=True)
class PanelQuery:
    """One target of one panel, ready to run."""

    dashboard: str
    panel_id: int
    panel_title: str
    ref_id: str
    raw: str
    influxql: str


def variable_values(store: InfluxStore, variable: Mapping[str, Any]) -> list[str]:
    """The values a query variable offers (its ``SHOW TAG VALUES``), in its sort order."""
    series = store.query(variable["query"])
    values = [str(row[1]) for s in series for row in s.get("values") or []]
    values = sorted(set(values), reverse=variable.get("sort") == 2)
    return values


def resolve_variables(
    store: InfluxStore,
    dashboard: Mapping[str, Any],
    overrides: Mapping[str, str | Sequence[str]] | None = None,
    time_range: TimeRange | None = None,
) -> dict[str, str | Sequence[str]]:
    """Each variable's value as a fresh dashboard would have it: *All* (``.*``) where
    offered, else the first option (a textbox: its default); ``overrides`` win."""
    out: dict[str, str | Sequence[str]] = {}
    overrides = dict(overrides or {})
    for v in (dashboard.get("templating") or {}).get("list", []):
        name = v["name"]
        if name in overrides:
            out[name] = overrides[name]
        elif v["type"] == "textbox" or v["type"] == "constant":
            out[name] = str(v.get("query", ""))
        elif v.get("includeAll"):
            out[name] = v.get("allValue") or ".*"
        else:
            tr = time_range or TimeRange(0, 1)
            query = interpolate(v["query"], tr, variables=out)
            options = variable_values(store, {**v, "query": query})
            out[name] = options[0] if options else ""
    return out


def dashboard_queries(
    dashboard: Mapping[str, Any],
    time_range: TimeRange | None = None,
    variables: Mapping[str, str | Sequence[str]] | None = None,
    now_ms: int | None = None,
    max_data_points: int = MAX_DATA_POINTS,
    min_interval: str | None = "1m",
) -> Iterator[PanelQuery]:
    """Every target of every panel, expanded for the range (default: the dashboard's own
    relative range ending at ``now_ms``)."""
    if time_range is None:
        if now_ms is None:
            raise ValueError("give a time range or now_ms")
        t = dashboard.get("time") or {"from": "now-24h", "to": "now"}
        time_range = relative_range(t["from"], t["to"], now_ms)
    for panel in panels_of(dict(dashboard)):
        for t in panel.get("targets") or []:
            interval = panel.get("interval") or min_interval
            yield PanelQuery(
                dashboard.get("uid", ""),
                panel["id"],
                panel.get("title", ""),
                t["refId"],
                t["query"],
                interpolate(
                    t["query"],
                    time_range,
                    variables=variables or {},
                    max_data_points=max_data_points,
                    min_interval=interval,
                ),
            )


def run_query(store: InfluxStore, influxql: str) -> list[dict[str, Any]]:
    """Run an expanded query; the series (epoch milliseconds)."""
    return store.query(influxql, epoch="ms")


def rows(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Series as flat rows: tags and columns in one dict per value row (Grafana's table)."""
    out = []
    for s in series:
        tags = s.get("tags") or {}
        for values in s.get("values") or []:
            out.append({**tags, **dict(zip(s["columns"], values, strict=True))})
    return out
