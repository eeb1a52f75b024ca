"""Small builders of Grafana dashboard JSON (schema 39, Grafana 10.4 and later).

Only what the Roshanai dashboards use: raw InfluxQL targets, the panel types (time series,
stat, table, bar chart, bar gauge, geomap, state timeline, text, rows), dashboard variables
and a left-to-right, top-to-bottom layout on Grafana's 24-column grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DATASOURCE",
    "DATASOURCE_UID",
    "Dashboard",
    "query_variable",
    "target",
    "textbox_variable",
]

#: The provisioned InfluxQL datasource every panel uses.
DATASOURCE_UID = "roshanai-influxql"
DATASOURCE = {"type": "influxdb", "uid": DATASOURCE_UID}
SCHEMA_VERSION = 39

Json = dict[str, Any]


def target(ref: str, query: str, *, table: bool = False, alias: str | None = None) -> Json:
    """A raw InfluxQL target (``rawQuery: true``: the query is sent as written)."""
    t: Json = {
        "refId": ref,
        "datasource": DATASOURCE,
        "rawQuery": True,
        "query": query,
        "resultFormat": "table" if table else "time_series",
    }
    if alias:
        t["alias"] = alias
    return t


def query_variable(
    name: str,
    label: str,
    query: str,
    *,
    multi: bool = True,
    include_all: bool = True,
    sort: int = 1,
    description: str = "",
) -> Json:
    """A variable filled by an InfluxQL ``SHOW TAG VALUES`` query (``sort`` 1 ascending, 2
    descending). With *All*, the value is ``.*`` so regex filters stay short."""
    v: Json = {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DATASOURCE,
        "query": query,
        "definition": query,
        "refresh": 1,
        "multi": multi,
        "includeAll": include_all,
        "sort": sort,
        "regex": "",
        "hide": 0,
        "description": description,
        "options": [],
        "skipUrlSync": False,
    }
    if include_all:
        v["allValue"] = ".*"
        v["current"] = {
            "selected": True,
            "text": ["All"] if multi else "All",
            "value": ["$__all"] if multi else "$__all",
        }
    else:
        v["current"] = {}
    return v


def textbox_variable(name: str, label: str, default: str, description: str = "") -> Json:
    """A free-text variable with a default (a factor the user may change)."""
    return {
        "type": "textbox",
        "name": name,
        "label": label,
        "query": default,
        "current": {"selected": False, "text": default, "value": default},
        "options": [{"selected": True, "text": default, "value": default}],
        "hide": 0,
        "description": description,
        "skipUrlSync": False,
    }


def _field_config(
    unit: str | None,
    decimals: int | None,
    thresholds: list[Json] | None,
    mappings: list[Json] | None,
    min_: float | None,
    max_: float | None,
    custom: Json | None,
    no_value: str | None,
    color: Json | None,
) -> Json:
    defaults: Json = {
        "mappings": mappings or [],
        "thresholds": {
            "mode": "absolute",
            "steps": thresholds or [{"color": "green", "value": None}],
        },
    }
    if unit:
        defaults["unit"] = unit
    if decimals is not None:
        defaults["decimals"] = decimals
    if min_ is not None:
        defaults["min"] = min_
    if max_ is not None:
        defaults["max"] = max_
    if custom:
        defaults["custom"] = custom
    if no_value is not None:
        defaults["noValue"] = no_value
    defaults["color"] = color or {"mode": "palette-classic" if not thresholds else "thresholds"}
    return {"defaults": defaults, "overrides": []}


_TIMESERIES_CUSTOM: Json = {
    "drawStyle": "line",
    "lineWidth": 1,
    "fillOpacity": 10,
    "showPoints": "never",
    "spanNulls": 3_600_000,
    "axisPlacement": "auto",
    "stacking": {"mode": "none"},
}


@dataclass
class Dashboard:
    """A dashboard being built; :meth:`add` places panels and :meth:`json` returns the model."""

    uid: str
    title: str
    description: str
    tags: list[str]
    time_from: str = "now-24h"
    refresh: str = "1m"
    variables: list[Json] = field(default_factory=list)
    panels: list[Json] = field(default_factory=list)
    _x: int = 0
    _y: int = 0
    _row_h: int = 0

    def row(self, title: str) -> None:
        """Start a new row of panels under a heading."""
        self._newline()
        self.panels.append(
            {
                "type": "row",
                "title": title,
                "collapsed": False,
                "id": len(self.panels) + 1,
                "panels": [],
                "gridPos": {"x": 0, "y": self._y, "w": 24, "h": 1},
            }
        )
        self._y += 1

    def _newline(self) -> None:
        if self._x:
            self._y += self._row_h
            self._x, self._row_h = 0, 0

    def add(
        self,
        kind: str,
        title: str,
        targets: list[Json],
        *,
        w: int = 12,
        h: int = 8,
        description: str = "",
        unit: str | None = None,
        decimals: int | None = None,
        thresholds: list[Json] | None = None,
        mappings: list[Json] | None = None,
        min_: float | None = None,
        max_: float | None = None,
        options: Json | None = None,
        custom: Json | None = None,
        transformations: list[Json] | None = None,
        interval: str | None = None,
        no_value: str | None = None,
        overrides: list[Json] | None = None,
        color: Json | None = None,
    ) -> Json:
        """Add a panel at the next free place; returns its JSON (to adjust further)."""
        if self._x + w > 24:
            self._newline()
        if kind == "timeseries":
            custom = {**_TIMESERIES_CUSTOM, **(custom or {})}
        panel: Json = {
            "id": len(self.panels) + 1,
            "type": kind,
            "title": title,
            "description": description,
            "datasource": DATASOURCE,
            "gridPos": {"x": self._x, "y": self._y, "w": w, "h": h},
            "targets": targets,
            "fieldConfig": _field_config(
                unit, decimals, thresholds, mappings, min_, max_, custom, no_value, color
            ),
            "options": {**_default_options(kind), **(options or {})},
            "transformations": transformations or [],
        }
        if overrides:
            panel["fieldConfig"]["overrides"] = overrides
        if interval:
            panel["interval"] = interval
        self.panels.append(panel)
        self._x += w
        self._row_h = max(self._row_h, h)
        return panel

    def text(self, title: str, markdown: str, *, w: int = 24, h: int = 4) -> Json:
        """A text panel (no query)."""
        if self._x + w > 24:
            self._newline()
        panel = {
            "id": len(self.panels) + 1,
            "type": "text",
            "title": title,
            "gridPos": {"x": self._x, "y": self._y, "w": w, "h": h},
            "options": {"mode": "markdown", "content": markdown},
        }
        self.panels.append(panel)
        self._x += w
        self._row_h = max(self._row_h, h)
        return panel

    def json(self) -> Json:
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": self.tags,
            "timezone": "Asia/Tehran",
            "editable": True,
            "graphTooltip": 1,
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "time": {"from": self.time_from, "to": "now"},
            "refresh": self.refresh,
            "fiscalYearStartMonth": 0,
            "liveNow": False,
            "weekStart": "saturday",
            "annotations": {"list": []},
            "links": [
                {
                    "type": "dashboards",
                    "tags": ["roshanai"],
                    "asDropdown": True,
                    "title": "Roshanai",
                    "includeVars": False,
                    "keepTime": True,
                    "icon": "external link",
                    "targetBlank": False,
                    "tooltip": "",
                    "url": "",
                }
            ],
            "templating": {"list": self.variables},
            "panels": self.panels,
        }


def _default_options(kind: str) -> Json:
    legend = {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []}
    if kind == "timeseries":
        return {"legend": legend, "tooltip": {"mode": "multi", "sort": "desc"}}
    if kind == "stat":
        return {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
            "showPercentChange": False,
            "wideLayout": True,
        }
    if kind == "table":
        return {
            "showHeader": True,
            "cellHeight": "sm",
            "footer": {"show": False, "reducer": ["sum"], "countRows": False},
        }
    if kind == "barchart":
        return {
            "orientation": "auto",
            "showValue": "auto",
            "stacking": "none",
            "groupWidth": 0.7,
            "barWidth": 0.97,
            "xTickLabelRotation": -45,
            "xTickLabelSpacing": 0,
            "legend": legend,
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    if kind == "bargauge":
        return {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": True},
            "orientation": "horizontal",
            "displayMode": "gradient",
            "showUnfilled": True,
            "valueMode": "color",
            "namePlacement": "auto",
            "sizing": "auto",
            "minVizWidth": 8,
            "minVizHeight": 16,
            "maxVizHeight": 300,
        }
    if kind == "state-timeline":
        return {
            "mergeValues": True,
            "showValue": "auto",
            "alignValue": "left",
            "rowHeight": 0.9,
            "legend": legend,
            "tooltip": {"mode": "single"},
        }
    return {}
