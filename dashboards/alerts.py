"""Grafana unified-alerting rules (file provisioning format, Grafana 9.1 and later).

Each rule runs raw InfluxQL (``$timeFilter`` = the rule's relative range) and Grafana
server-side expressions: ``reduce`` to one number per series, ``math``, ``threshold``. Math on
two queries joins their series by labels when one label set is a subset of the other, which is
how "offline in daylight" pairs each plant (``plant_id``, ``province``) with its province's
production (``province``).

Contact points and notification policies are left to the operator (they name people);
route on the labels ``audience`` (technicians, operators) and ``severity``.

Findings (group "Roshanai findings"): one rule per kind of :data:`telemetry.schema.FINDING_KINDS`,
an alert instance per plant with an open finding of that kind on the triage worklist
(:func:`dashboards.queries.worklist`) losing at least the kind's threshold
(:data:`FINDING_ALERTS`):

================  ===========  ========  =====================================================
kind              threshold    severity  why
                  [kWh/day]
================  ===========  ========  =====================================================
offline           0            critical  the plant produces nothing while its peers do
comms_loss        (none)       info      loses nothing by definition (the counter advances);
                                         the gateway needs its power or SIM seen to
inverter_fault    0            critical  an inverter in alarm or at zero in daylight
string_fault      1.0          warning   one DC input far under its share: a van trip pays
                                         from about 5 % of a 5 kW plant's ~20 kWh day
shading           1.0          info      recurring; a new obstacle, rarely urgent
soiling           1.5          info      ~7 % of a day: about where a wash pays for the visit
degradation       1.0          info      slow; for the next scheduled visit
underperforming   2.0          warning   10 % of a clear day, the issue's bar for a finding
                                         worth a visit, with no specific cause found
================  ===========  ========  =====================================================

The annotations name the plant and its province, the kWh/day and the confidence in English
and Persian. The evidence is text, and Grafana's alert values are numbers and its labels the
series' tags, so it cannot ride in the alert: each annotation links to the plant dashboard,
whose findings table shows it (``__dashboardUid__``/``__panelId__``, and the plant's URL in
the description).
"""

from __future__ import annotations

from typing import Any

from dashboards import queries as q
from dashboards.panels import DATASOURCE_UID
from dashboards.persian import FINDINGS_FA
from telemetry.schema import FINDING_KINDS

__all__ = [
    "ALERT_FOLDER",
    "FINDING_ALERTS",
    "FINDING_RULES",
    "RULES",
    "alert_provisioning",
    "finding_rule",
]

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

#: kind → (threshold on lost_kwh_per_day [kWh/day], None for none; severity); the table above.
FINDING_ALERTS: dict[str, tuple[float | None, str]] = {
    "offline": (0.0, "critical"),
    "comms_loss": (None, "info"),
    "inverter_fault": (0.0, "critical"),
    "string_fault": (1.0, "warning"),
    "shading": (1.0, "info"),
    "soiling": (1.5, "info"),
    "degradation": (1.0, "info"),
    "underperforming": (2.0, "warning"),
}
#: How long the findings' queries look back (the worklist's 30 days). [s]
_FINDINGS_RANGE_S = 30 * 86400
#: Where the plant's findings (with their evidence) are: dashboard uid and panel title.
PLANT_DASHBOARD_UID = "roshanai-plant"
_FINDINGS_PANEL = "Findings of this plant (open and closed)"


def _findings_panel_id() -> int:
    from dashboards.technician import plant_dashboard  # the panel's id where it is placed

    return next(p["id"] for p in plant_dashboard()["panels"] if p["title"] == _FINDINGS_PANEL)


def finding_rule(kind: str) -> Json:
    """The rule of one kind of finding: an instance per plant whose open finding of that kind
    loses at least the kind's threshold (any, for ``comms_loss``)."""
    threshold, severity = FINDING_ALERTS[kind]
    fa = FINDINGS_FA[kind]
    loss = "$B >= 0" if threshold is None else f"$B >= {threshold}"
    plant = "{{ $labels.plant_id }} ({{ $labels.province }})"
    kwh = '{{ printf "%.1f" $values.B.Value }}'
    confidence = "{{ humanizePercentage $values.C.Value }}"
    url = f"/d/{PLANT_DASHBOARD_UID}/roshanai-plant?var-plant_id={{{{ $labels.plant_id }}}}"
    return _rule(
        f"roshanai-finding-{kind.replace('_', '-')}",
        f"Finding: {kind} ({fa})",
        [
            _query("A", q.alert_finding(kind), _FINDINGS_RANGE_S),
            _query("Q", q.alert_finding(kind, "confidence"), _FINDINGS_RANGE_S),
            _reduce("B", "A", "last"),
            _reduce("C", "Q", "last"),
            _expr("D", {"type": "math", "expression": loss}),
            _threshold("E", "D", "gt", 0),
        ],
        "E",
        "0s",
        summary=f"{plant}: {kind}, {kwh} kWh/day lost · {fa} در {plant}، {kwh} کیلووات‌ساعت در روز",
        description=f"Open finding {kind} on the triage worklist: {kwh} kWh/day lost, "
        f"confidence {confidence}. The evidence (which peers, which hours) is in the "
        f"plant's findings table: {url}\n"
        f"یافتهٔ باز «{fa}» در فهرست کار: {kwh} کیلووات‌ساعت در روز از دست می‌رود، "
        f"اطمینان {confidence}. شواهد (کدام همسایه‌ها، کدام ساعت‌ها) در جدول یافته‌های "
        f"نیروگاه: {url}",
        labels={"severity": severity, "audience": "technicians", "finding": kind},
    )


def _with_links(rule: Json) -> Json:
    rule["annotations"]["__dashboardUid__"] = PLANT_DASHBOARD_UID
    rule["annotations"]["__panelId__"] = str(_findings_panel_id())
    return rule


FINDING_RULES: list[Json] = [_with_links(finding_rule(kind)) for kind in FINDING_KINDS]

RULES = PLANT_RULES + FINDING_RULES + BRIDGE_RULES


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
                "name": "Roshanai findings",
                "folder": ALERT_FOLDER,
                "interval": "15m",
                "rules": FINDING_RULES,
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
