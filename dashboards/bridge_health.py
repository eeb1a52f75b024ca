"""Bridge health: message rates, lag, spool, quarantine by reason."""

from __future__ import annotations

from dashboards import queries as q
from dashboards.panels import Dashboard, Json, target

__all__ = ["bridge_dashboard"]


def bridge_dashboard() -> Json:
    d = Dashboard(
        "roshanai-bridge",
        "Roshanai · Bridge health",
        "Is telemetry flowing? Messages in and readings stored per second, how far the "
        "bridge lags, how much waits in its spool, and what it quarantined.",
        ["roshanai", "operators"],
        time_from="now-24h",
        refresh="30s",
    )
    d.add(
        "table",
        "Bridges now",
        [target("A", q.BRIDGE_TOTALS, table=True)],
        w=24,
        h=5,
        description="Cumulative counters since each instance's spool was created; the "
        "gauges as last reported.",
        transformations=[
            {
                "id": "organize",
                "options": {
                    "excludeByName": {},
                    "indexByName": {},
                    "renameByName": {"Time": "last report", "lag_s": "lag s"},
                },
            }
        ],
    )
    d.add(
        "timeseries",
        "Messages per second",
        [
            target("A", q.BRIDGE_RECEIVED_RATE, alias="$tag_instance received"),
            target("B", q.BRIDGE_STORED_RATE, alias="$tag_instance stored"),
            target("C", q.BRIDGE_DUPLICATES_RATE, alias="$tag_instance duplicates"),
        ],
        w=12,
        h=8,
        unit="reqps",
        min_=0,
        description="Messages received from MQTT and lines confirmed by InfluxDB (a batch "
        "message stores many lines).",
    )
    d.add(
        "timeseries",
        "Lag (age of the oldest line waiting)",
        [target("A", q.BRIDGE_LAG, alias="$tag_instance")],
        w=12,
        h=8,
        unit="s",
        min_=0,
        thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 300}],
        custom={"thresholdsStyle": {"mode": "line"}},
    )
    d.add(
        "timeseries",
        "Spool depth (lines waiting for InfluxDB)",
        [target("A", q.BRIDGE_SPOOL, alias="$tag_instance")],
        w=12,
        h=8,
        decimals=0,
        min_=0,
    )
    d.add(
        "timeseries",
        "Spool size",
        [target("A", q.BRIDGE_SPOOL_BYTES, alias="$tag_instance")],
        w=12,
        h=8,
        unit="bytes",
        min_=0,
        description="Pages in use of the spool's SQLite file; at the disk bound the bridge "
        "stops acknowledging and the broker keeps the messages.",
    )
    d.add(
        "timeseries",
        "Quarantined per second",
        [target("A", q.BRIDGE_QUARANTINED_RATE, alias="$tag_instance")],
        w=12,
        h=8,
        unit="reqps",
        min_=0,
    )
    d.add(
        "bargauge",
        "Quarantined by reason (total)",
        [target("A", q.QUARANTINE_BY_REASON, alias="$tag_reason")],
        w=12,
        h=8,
        decimals=0,
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
        description="From the bridge's spool (`roshanai dashboards publish-quarantine`); "
        "`roshanai bridge quarantine` lists the messages.",
    )
    d.add(
        "timeseries",
        "Quarantined by reason",
        [target("A", q.QUARANTINE_OVER_TIME, alias="$tag_reason")],
        w=24,
        h=8,
        decimals=0,
        min_=0,
        custom={"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "normal"}},
    )
    return d.json()
