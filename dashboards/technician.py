"""Technicians' dashboards: the fleet's status now, and one plant in detail."""

from __future__ import annotations

from dashboards import queries as q
from dashboards.labels import FINDINGS_EN, finding_label
from dashboards.panels import Dashboard, Json, query_variable, target
from telemetry.schema import FINDING_KINDS

__all__ = ["fleet_dashboard", "plant_dashboard"]

PROVINCE_VAR = query_variable(
    "province",
    "Province",
    'SHOW TAG VALUES FROM "inverter" WITH KEY = "province"',
    description="Provinces of the plants (registry tag on every reading).",
)
PLANT_VAR = query_variable(
    "plant_id",
    "Plant",
    'SHOW TAG VALUES FROM "inverter" WITH KEY = "plant_id" WHERE "province" =~ /^$province$/',
    multi=False,
    include_all=False,
)

_HIDE_TIME = {
    "id": "organize",
    "options": {"excludeByName": {"Time": True}, "indexByName": {}, "renameByName": {}},
}
_STATE_MAPPINGS: list[Json] = [
    {
        "type": "value",
        "options": {
            "0": {"text": "normal", "color": "green", "index": 0},
            "1": {"text": "underperforming", "color": "orange", "index": 1},
            "2": {"text": "alarm", "color": "red", "index": 2},
            "3": {"text": "offline", "color": "#6e6e6e", "index": 3},
        },
    }
]
_STATE_THRESHOLDS: list[Json] = [
    {"color": "green", "value": None},
    {"color": "orange", "value": 1},
    {"color": "red", "value": 2},
    {"color": "#6e6e6e", "value": 3},
]


def _organize(rename: dict[str, str], hide: tuple[str, ...] = ("Time",)) -> Json:
    return {
        "id": "organize",
        "options": {
            "excludeByName": dict.fromkeys(hide, True),
            "indexByName": {},
            "renameByName": rename,
        },
    }


#: The plant dashboard, opened on one plant from a worklist row (keeps the time range).
PLANT_LINK = "/d/roshanai-plant/roshanai-plant?var-plant_id=${__value.raw}&${__url_time_range}"

#: Each kind of finding shown as Persian with the English kind (a value mapping).
FINDING_MAPPINGS: list[Json] = [
    {
        "type": "value",
        "options": {
            kind: {"text": finding_label(kind), "index": i} for i, kind in enumerate(FINDING_KINDS)
        },
    }
]
#: Green/red for the finding's ``open`` field; a point written before the field existed has
#: none, and counts as open.
OPEN_MAPPINGS: list[Json] = [
    {
        "type": "value",
        "options": {
            "true": {"text": "open · باز", "color": "red", "index": 0},
            "false": {"text": "closed · بسته", "color": "green", "index": 1},
        },
    },
    {
        "type": "special",
        "options": {"match": "null", "result": {"text": "open · باز", "color": "red", "index": 2}},
    },
]


def _by_name(name: str, *properties: Json) -> Json:
    return {"matcher": {"id": "byName", "options": name}, "properties": list(properties)}


def _worklist(d: Dashboard) -> None:
    """The triage worklist: what is lost, how many findings by kind, the ranked table."""
    d.row("Worklist: open findings of the triage (فهرست کار)")
    d.add(
        "stat",
        "kWh/day lost on the worklist",
        [target("A", q.WORKLIST_LOST, alias="kWh/day")],
        w=4,
        h=5,
        unit="kwatth",
        decimals=1,
        no_value="0",
        thresholds=[{"color": "orange", "value": None}],
        description="Sum of lost_kwh_per_day over the open findings (comms_loss loses "
        "nothing by definition). Findings of the last 30 days, whatever the time picker.",
    )
    d.add(
        "stat",
        "Open findings",
        [target("A", q.WORKLIST_COUNT, alias="findings")],
        w=4,
        h=5,
        decimals=0,
        no_value="0",
        thresholds=[{"color": "blue", "value": None}],
    )
    d.add(
        "bargauge",
        "Open findings by kind",
        [target("A", q.WORKLIST_BY_KIND, alias="$tag_finding")],
        w=16,
        h=5,
        decimals=0,
        thresholds=[{"color": "blue", "value": None}],
        description="; ".join(f"{k}: {FINDINGS_EN[k]}" for k in FINDING_KINDS),
        overrides=[
            _by_name(kind, {"id": "displayName", "value": finding_label(kind)})
            for kind in FINDING_KINDS
        ],
    )
    d.add(
        "table",
        "Worklist: open findings, most kWh/day lost first",
        [target("A", q.WORKLIST, table=True)],
        w=24,
        h=10,
        description="What `roshanai triage` found and has not closed: the latest point of "
        "each plant and kind of plant_finding over the last 30 days, kept when open (a "
        "point written before the `open` field existed counts as open). 'since' is the "
        "finding's start (kept while it stays open); the plant opens its dashboard.",
        transformations=[
            {
                "id": "organize",
                "options": {
                    "excludeByName": {},
                    "indexByName": {
                        "plant_id": 0,
                        "finding": 1,
                        "Time": 2,
                        "lost_kwh_per_day": 3,
                        "confidence": 4,
                        "evidence": 5,
                        "province": 6,
                        "triaged_until": 7,
                    },
                    "renameByName": {
                        "plant_id": "plant",
                        "Time": "since",
                        "lost_kwh_per_day": "kWh/day",
                        "triaged_until": "triaged until",
                    },
                },
            },
            {"id": "sortBy", "options": {"sort": [{"field": "kWh/day", "desc": True}]}},
        ],
        overrides=[
            _by_name(
                "plant",
                {
                    "id": "links",
                    "value": [{"title": "Plant dashboard", "url": PLANT_LINK}],
                },
            ),
            _by_name("finding", {"id": "mappings", "value": FINDING_MAPPINGS}),
            _by_name("kWh/day", {"id": "decimals", "value": 1}),
            _by_name("confidence", {"id": "unit", "value": "percentunit"}),
            _by_name("since", {"id": "unit", "value": "dateTimeAsLocal"}),
        ],
    )


def fleet_dashboard() -> Json:
    """Fleet status: counts, map, offline/alarm/underperforming lists, status over time."""
    d = Dashboard(
        "roshanai-fleet",
        "Roshanai · Fleet status",
        "What technicians watch: which plants are offline, in alarm or producing "
        "under expectation, and since when.",
        ["roshanai", "technicians"],
    )
    d.variables.append(PROVINCE_VAR)
    _worklist(d)
    d.row("Now")
    counts = [
        ("Registered", q.PLANTS_REGISTERED, "blue"),
        ("Reporting", q.PLANTS_REPORTING, "blue"),
        ("Online", q.PLANTS_ONLINE, "green"),
        ("Producing", q.PLANTS_PRODUCING, "green"),
        ("Offline", q.PLANTS_OFFLINE, "#6e6e6e"),
        ("In alarm", q.PLANTS_IN_ALARM, "red"),
        ("Underperforming", q.PLANTS_UNDERPERFORMING, "orange"),
    ]
    for i, (name, query, colour) in enumerate(counts):
        d.add(
            "stat",
            name,
            [target("A", query, alias=name)],
            w=4 if i < 4 else 8,
            h=4,
            decimals=0,
            no_value="0",
            thresholds=[{"color": colour, "value": None}],
            description="Plants by their latest status in the range (plant_status; the "
            "registry for Registered).",
        )
    d.add(
        "geomap",
        "Plants by status",
        [target("A", q.MAP_PLANTS, table=True), target("B", q.MAP_STATE, table=True)],
        w=12,
        h=16,
        thresholds=_STATE_THRESHOLDS,
        mappings=_STATE_MAPPINGS,
        description="Registry coordinates joined with each plant's latest status: green "
        "normal, orange underperforming, red alarm, grey offline.",
        transformations=[
            {"id": "joinByField", "options": {"byField": "plant_id", "mode": "inner"}},
            _organize({}, ("Time", "Time 1", "Time 2")),
        ],
        options={
            "view": {"id": "coords", "lat": 32.4, "lon": 53.7, "zoom": 4.5, "allLayers": True},
            "controls": {"showZoom": True, "mouseWheelZoom": True, "showAttribution": True},
            "basemap": {"type": "default", "name": "Basemap", "config": {}},
            "layers": [
                {
                    "type": "markers",
                    "name": "Plants",
                    "tooltip": True,
                    "location": {
                        "mode": "coords",
                        "latitude": "latitude",
                        "longitude": "longitude",
                    },
                    "config": {
                        "showLegend": True,
                        "style": {
                            "size": {"fixed": 6, "min": 4, "max": 12},
                            "color": {"field": "state", "fixed": "dark-green"},
                            "opacity": 0.8,
                            "symbol": {"mode": "fixed", "fixed": "img/icons/marker/circle.svg"},
                        },
                    },
                }
            ],
            "tooltip": {"mode": "details"},
        },
    )
    d.add(
        "table",
        "Offline in daylight (longest first)",
        [target("A", q.OFFLINE_PLANTS, table=True), target("B", q.DAYLIGHT_PROVINCES, table=True)],
        w=12,
        h=8,
        description="Plants whose gateway has been silent for 15 minutes or more "
        "(or whose last will said offline), in provinces where other plants produced in the "
        "last 30 minutes of the range: production is being lost. 'offline for' counts from "
        "the last message the bridge received.",
        transformations=[
            {"id": "joinByField", "options": {"byField": "province", "mode": "inner"}},
            _organize(
                {
                    "offline_s": "offline for",
                    "expected_ac_power_w": "expected W (last reading)",
                    "energy_today_wh": "energy today Wh",
                    "province_max_w": "province producing W",
                },
                ("Time", "Time 1", "Time 2"),
            ),
            {"id": "sortBy", "options": {"sort": [{"field": "offline for", "desc": True}]}},
        ],
        overrides=[
            {
                "matcher": {"id": "byName", "options": "offline for"},
                "properties": [{"id": "unit", "value": "s"}],
            }
        ],
    )
    d.add(
        "table",
        "In alarm now",
        [target("A", q.ALARM_NOW, table=True)],
        w=12,
        h=8,
        description="Latest status with an alarm code or inverter status 'fault'.",
        transformations=[_organize({"last_seen_s": "last seen s ago"})],
    )
    d.add(
        "table",
        "Alarms in the range",
        [target("A", q.ALARM_MINUTES, table=True), target("B", q.ALARM_LAST, table=True)],
        w=12,
        h=8,
        description="Minutes with an alarm reading (5-minute resolution), highest "
        "code, and when the last alarm reading came. Codes: 101 grid overvoltage, 202 "
        "isolation resistance, 301 over-temperature, 404 DC arc, 505 fan failure.",
        transformations=[
            {"id": "joinByField", "options": {"byField": "plant_id", "mode": "inner"}},
            _organize(
                {"Time 2": "last alarm", "province 1": "province"}, ("Time", "Time 1", "province 2")
            ),
            {"id": "sortBy", "options": {"sort": [{"field": "alarm_minutes", "desc": True}]}},
        ],
    )
    d.add(
        "table",
        "Producing under expectation in the range",
        [target("A", q.UNDERPERFORMING, table=True)],
        w=12,
        h=8,
        description="Minutes flagged underperforming by the bridge (actual under half the "
        "simulator's expected power over an hour of daylight) while actual/expected was under "
        "one half, the mean ratio then, and the energy short of expectation.",
        transformations=[
            _organize(
                {
                    "minutes_flagged": "minutes",
                    "mean_performance_index": "actual / expected",
                    "shortfall_kwh": "short kWh",
                }
            ),
            {"id": "sortBy", "options": {"sort": [{"field": "short kWh", "desc": True}]}},
        ],
    )
    d.row("Over time")
    d.add(
        "timeseries",
        "Plants by status",
        [
            target("A", q.STATUS_ONLINE_OVER_TIME, alias="online"),
            target("B", q.STATUS_OFFLINE_OVER_TIME, alias="offline"),
            target("C", q.STATUS_ALARM_OVER_TIME, alias="alarm"),
            target("D", q.STATUS_UNDER_OVER_TIME, alias="underperforming"),
        ],
        w=12,
        h=8,
        interval="5m",
        decimals=0,
        description="Plants in each state per interval.",
    )
    d.add(
        "timeseries",
        "Fleet AC power",
        [target("A", q.FLEET_POWER_LIVE, alias="fleet kW")],
        w=12,
        h=8,
        interval="5m",
        unit="kwatt",
        description="Sum of the plants' mean AC power per interval (raw readings).",
    )
    return d.json()


def _peers(d: Dashboard) -> None:
    """What triage expected of the plant from its peers' sky, and its findings."""
    d.add(
        "timeseries",
        "Expected vs actual, from the peers (hourly)",
        [
            target("A", q.PLANT_HOURLY_MEASURED, alias="measured (hourly mean)"),
            target("B", q.PLANT_PEERS_EXPECTED, alias="expected from the peers"),
            target("C", q.PLANT_CLEAR_SKY, alias="clear sky"),
        ],
        w=24,
        h=9,
        unit="watt",
        min_=0,
        description="Hourly means, each labelled at the start of its hour: the plant's "
        "measured AC power (GROUP BY time(1h)); what `roshanai triage` expected of it "
        "(plant_expected: its clear-sky output × the sky index its peers saw); and its "
        "clear-sky output. Measured well under expected while the peers produce is a fault.",
        overrides=[
            _by_name(
                "clear sky",
                {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                {"id": "custom.fillOpacity", "value": 0},
                {"id": "color", "value": {"mode": "fixed", "fixedColor": "#8f8f8f"}},
            ),
            _by_name(
                "expected from the peers",
                {"id": "color", "value": {"mode": "fixed", "fixedColor": "blue"}},
            ),
        ],
    )
    d.add(
        "timeseries",
        "Sky index: the plant's own and its peers'",
        [
            target("A", q.PLANT_OWN_SKY_INDEX, alias="this plant (measured / clear sky)"),
            target("B", q.PLANT_PEERS_SKY_INDEX, alias="peers (the index it was judged by)"),
            target("C", q.PLANT_PEERS_REPORTING, alias="peers reporting"),
        ],
        w=24,
        h=8,
        min_=0,
        decimals=2,
        description="Sky index = AC power ÷ the clear-sky output, in hours whose clear sky "
        f"gives at least {q.SKY_INDEX_FLOOR_W} W. The peers' is the weighted median of the "
        "neighbours' (or the climate's when fewer than 5 report). A plant below its peers on "
        "clear and grey days alike has a fault of its own; bars: peers reporting (right axis).",
        overrides=[
            _by_name(
                "peers reporting",
                {"id": "custom.axisPlacement", "value": "right"},
                {"id": "custom.drawStyle", "value": "bars"},
                {"id": "custom.fillOpacity", "value": 30},
                {"id": "decimals", "value": 0},
                {"id": "min", "value": 0},
            )
        ],
    )
    d.add(
        "table",
        "Findings of this plant (open and closed)",
        [target("A", q.PLANT_FINDINGS, table=True)],
        w=24,
        h=7,
        description="Every finding of the plant that started up to 30 days before the range "
        "and until its end, newest first: 'closed at' is the end of the triage run that no "
        "longer found it.",
        transformations=[
            _organize(
                {
                    "Time": "since",
                    "lost_kwh_per_day": "kWh/day",
                    "closed_at": "closed at",
                    "triaged_until": "triaged until",
                },
                (),
            )
        ],
        overrides=[
            _by_name("finding", {"id": "mappings", "value": FINDING_MAPPINGS}),
            _by_name("open", {"id": "mappings", "value": OPEN_MAPPINGS}),
            _by_name("confidence", {"id": "unit", "value": "percentunit"}),
            _by_name("kWh/day", {"id": "decimals", "value": 1}),
        ],
    )


def plant_dashboard() -> Json:
    """One plant: power against expectation, DC strings, temperature, energy, alarms, link."""
    d = Dashboard(
        "roshanai-plant",
        "Roshanai · Plant",
        "One plant in detail, for a technician on the phone or on the roof.",
        ["roshanai", "technicians"],
        time_from="now-7d",
    )
    d.variables += [PROVINCE_VAR, PLANT_VAR]
    d.add(
        "table",
        "Status now",
        [target("A", q.PLANT_STATUS_NOW, table=True)],
        w=24,
        h=4,
        transformations=[
            _organize(
                {
                    "last_seen_s": "last seen s ago",
                    "energy_today_kwh": "energy today kWh",
                    "performance_index": "actual / expected",
                }
            )
        ],
    )
    d.add(
        "timeseries",
        "AC power and the simulator's expectation",
        [
            target("A", q.PLANT_AC_POWER, alias="$tag_plant_id actual"),
            target("B", q.PLANT_EXPECTED_POWER, alias="$tag_plant_id expected"),
        ],
        w=24,
        h=9,
        unit="watt",
        min_=0,
        description="Mean AC power per interval; expected = the simulator's typical-year mean "
        "for the month and hour (as the bridge's status carries it).",
    )
    _peers(d)
    d.add(
        "timeseries",
        "DC strings: power",
        [target("A", q.PLANT_DC_POWER)],
        w=12,
        h=8,
        unit="watt",
        min_=0,
        description="Each DC input (MPPT/string) of the inverter.",
    )
    d.add(
        "timeseries",
        "DC strings: voltage",
        [target("A", q.PLANT_DC_VOLTAGE)],
        w=12,
        h=8,
        unit="volt",
    )
    d.add(
        "timeseries",
        "Inverter temperature",
        [target("A", q.PLANT_TEMPERATURE)],
        w=12,
        h=8,
        unit="celsius",
    )
    d.add(
        "timeseries",
        "Grid: AC voltage and frequency",
        [target("A", q.PLANT_AC_GRID)],
        w=12,
        h=8,
        overrides=[
            {
                "matcher": {"id": "byRegexp", "options": ".*freq.*"},
                "properties": [
                    {"id": "unit", "value": "hertz"},
                    {"id": "custom.axisPlacement", "value": "right"},
                ],
            }
        ],
        unit="volt",
    )
    d.add(
        "barchart",
        "Energy per day",
        [target("A", q.PLANT_ENERGY_PER_DAY, table=True)],
        w=12,
        h=8,
        unit="kwatth",
        decimals=1,
        description="Daily energy from the lifetime counter (rollup_1d).",
    )
    d.add(
        "state-timeline",
        "Alarm code",
        [target("A", q.PLANT_ALARM_TIMELINE)],
        w=12,
        h=8,
        thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 1}],
        mappings=[{"type": "value", "options": {"0": {"text": "ok", "color": "green"}}}],
    )
    d.add(
        "table",
        "Alarm readings",
        [target("A", q.PLANT_ALARM_READINGS, table=True)],
        w=12,
        h=8,
        description="The newest 500 readings with an alarm code.",
    )
    d.add("timeseries", "Signal (RSSI)", [target("A", q.PLANT_RSSI)], w=12, h=8, unit="dBm")
    d.add(
        "timeseries",
        "Readings per hour",
        [target("A", q.PLANT_READINGS_PER_HOUR)],
        w=12,
        h=8,
        decimals=0,
        custom={"drawStyle": "bars", "fillOpacity": 60},
        description="Fewer than expected (60 at one reading a minute) means gaps in the link "
        "(power cuts silence grid-powered gateways; their batches fill in later).",
    )
    d.add(
        "timeseries",
        "Seconds since the last message",
        [target("A", q.PLANT_LAST_SEEN)],
        w=12,
        h=8,
        unit="s",
        description="As the bridge's status saw it every 5 minutes.",
    )
    return d.json()
