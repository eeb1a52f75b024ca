"""Grafana unified-alerting rules (file provisioning format, Grafana 9.1 and later).

Each rule runs raw InfluxQL (``$timeFilter`` = the rule's relative range) and Grafana
server-side expressions: ``reduce`` to one number per series, ``math``, ``threshold``. Math on
two queries joins their series by labels when one label set is a subset of the other, which is
how "offline in daylight" pairs each plant (``plant_id``, ``province``) with its province's
production (``province``).

Contact points and notification policies are left to the operator (they name people);
route on the labels ``audience`` (technicians, operators) and ``severity``.
"""

from __future__ import annotations

from typing import Any

from dashboards import queries as q
from dashboards.panels import DATASOURCE_UID

__all__ = ["ALERT_FOLDER", "RULES", "alert_provisioning"]

ALERT_FOLDER = "Roshanai"
#: Silence longer than this counts as "offline for more than an hour". [s]
OFFLINE_S = 3600
#: Mean actual/expected over a day below this is "underperforming for a day" (the bridge's
#: own ``underperformance_ratio``).
UNDERPERFORMANCE_RATIO = 0.5
#: Bridge lag that alerts. [s]
LAG_S = 300
#: Lines waiting in a bridge's spool that alert (a few minutes of a 500,000-plant fleet).
SPOOL_LINES = 1_000_000

Json = dict[str, Any]


def _query(ref: str, query: str, seconds: int) -> Json:
    return {
        "refId": ref,
        "relativeTimeRange": {"from": seconds, "to": 0},
        "datasourceUid": DATASOURCE_UID,
        "model": {
            "refId": ref,
            "rawQuery": True,
            "query": query,
            "resultFormat": "time_series",
            "intervalMs": 60000,
            "maxDataPoints": 43200,
        },
    }


def _expr(ref: str, model: Json) -> Json:
    return {
        "refId": ref,
        "datasourceUid": "__expr__",
        "model": {"refId": ref, "datasource": {"type": "__expr__", "uid": "__expr__"}, **model},
    }


def _reduce(ref: str, of: str, reducer: str) -> Json:
    return _expr(
        ref,
        {"type": "reduce", "expression": of, "reducer": reducer, "settings": {"mode": "dropNN"}},
    )


def _threshold(ref: str, of: str, op: str, value: float) -> Json:
    return _expr(
        ref,
        {
            "type": "threshold",
            "expression": of,
            "conditions": [{"evaluator": {"type": op, "params": [value]}}],
        },
    )


def _rule(
    uid: str,
    title: str,
    data: list[Json],
    condition: str,
    for_: str,
    *,
    summary: str,
    description: str,
    labels: Json,
    no_data: str = "OK",
) -> Json:
    return {
        "uid": uid,
        "title": title,
        "condition": condition,
        "data": data,
        "noDataState": no_data,
        "execErrState": "Error",
        "for": for_,
        "annotations": {"summary": summary, "description": description},
        "labels": labels,
        "isPaused": False,
    }


PLANT_RULES: list[Json] = [
    _rule(
        "roshanai-plant-offline",
        "Plant offline for more than an hour in daylight",
        [
            _query("A", q.ALERT_LAST_SEEN, 1800),
            _query("B", q.ALERT_DAYLIGHT, 1800),
            _reduce("C", "A", "last"),
            _reduce("D", "B", "max"),
            _expr(
                "E", {"type": "math", "expression": f"($C > {OFFLINE_S}) * ($D > {q.PRODUCING_W})"}
            ),
            _threshold("F", "E", "gt", 0),
        ],
        "F",
        "5m",
        summary="{{ $labels.plant_id }} ({{ $labels.province }}) offline for over an hour "
        "while its province produces",
        description="No message from the gateway for {{ humanizeDuration $values.C.Value }}. "
        "Check the gateway's power and SIM, then the inverter.",
        labels={"severity": "warning", "audience": "technicians"},
    ),
    _rule(
        "roshanai-plant-underperforming",
        "Plant underperforming for a day",
        [
            _query("A", q.ALERT_PERFORMANCE_DAY, 86400),
            _reduce("B", "A", "last"),
            _threshold("C", "B", "lt", UNDERPERFORMANCE_RATIO),
        ],
        "C",
        "1h",
        summary="{{ $labels.plant_id }} ({{ $labels.province }}) produced under half of its "
        "expected power over the last day",
        description="Mean actual/expected power over the day's daylight statuses: "
        '{{ printf "%.2f" $values.B.Value }}. Soiling, shading, a string '
        "fault or a derating inverter.",
        labels={"severity": "warning", "audience": "technicians"},
    ),
]

BRIDGE_RULES: list[Json] = [
    _rule(
        "roshanai-bridge-lag",
        "Bridge lagging (or silent)",
        [
            _query("A", q.ALERT_BRIDGE_LAG, 600),
            _reduce("B", "A", "max"),
            _threshold("C", "B", "gt", LAG_S),
        ],
        "C",
        "5m",
        summary="Bridge {{ $labels.instance }} holds lines older than 5 minutes",
        description="Oldest line waiting for InfluxDB: {{ humanizeDuration $values.B.Value }}. "
        "Is InfluxDB reachable and accepting writes? No data means no bridge "
        "reported for 10 minutes.",
        labels={"severity": "critical", "audience": "operators"},
        no_data="Alerting",
    ),
    _rule(
        "roshanai-bridge-spool",
        "Bridge spool filling",
        [
            _query("A", q.ALERT_BRIDGE_SPOOL, 600),
            _reduce("B", "A", "last"),
            _threshold("C", "B", "gt", SPOOL_LINES),
        ],
        "C",
        "10m",
        summary="Bridge {{ $labels.instance }} has {{ $values.B.Value }} lines waiting",
        description="At its disk bound the bridge stops acknowledging messages (the broker "
        "then queues them). Restore InfluxDB or give the spool more room.",
        labels={"severity": "critical", "audience": "operators"},
    ),
]

RULES = PLANT_RULES + BRIDGE_RULES


def alert_provisioning() -> Json:
    """The alerting provisioning document (``provisioning/alerting/roshanai.yaml``)."""
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": "Roshanai plants",
                "folder": ALERT_FOLDER,
                "interval": "5m",
                "rules": PLANT_RULES,
            },
            {
                "orgId": 1,
                "name": "Roshanai bridge",
                "folder": ALERT_FOLDER,
                "interval": "1m",
                "rules": BRIDGE_RULES,
            },
        ],
    }
