"""The raw InfluxQL of every panel, alert rule and report figure, in one place.

Queries keep Grafana's macros (``$timeFilter``, ``$__interval``, ``${__to}``) and the dashboard
variables (``$province``, ``$plant_id``, ``$run_id``, ``$outage_run_id``,
``$tariff_toman_per_kwh``, ``$co2_kg_per_kwh``); :func:`dashboards.macros.interpolate` expands
them. Measurement names come from :mod:`telemetry.schema` and :mod:`dashboards.rollups`.

Conventions: ``"province" =~ /^$province$/`` is the province filter (``.*`` for all, which also
matches plants without a province); a "latest status" is ``last()`` of each field of
``plant_status`` over the dashboard's range, per plant (the bridge rewrites every status every
5 minutes, so any range of 10 minutes or more sees every live plant). Simulation queries have no
time filter: typical-year runs are dated 1990; they select a run by its ``run_id`` tag instead.
"""

from __future__ import annotations

from dashboards.rollups import (
    INVERTER_1D,
    PROVINCE_1H,
    PROVINCE_DAY,
    RP_DAILY,
    RP_HOURLY,
)
from telemetry.schema import (
    MEASUREMENT_BRIDGE,
    MEASUREMENT_BRIDGE_QUARANTINE,
    MEASUREMENT_INVERTER,
    MEASUREMENT_OUTAGE_HEATMAP,
    MEASUREMENT_OUTAGE_REGION,
    MEASUREMENT_PLANT_EXPECTED,
    MEASUREMENT_PLANT_FINDING,
    MEASUREMENT_PLANT_REGISTRY,
    MEASUREMENT_PLANT_STATUS,
    MEASUREMENT_SIM_FORECAST,
    MEASUREMENT_SIM_FORECAST_SKILL,
    MEASUREMENT_SIM_HIJRI_MONTH,
    MEASUREMENT_SIM_MONTH,
    MEASUREMENT_SIM_YEAR,
)

INV = f'"{MEASUREMENT_INVERTER}"'
STATUS = f'"{MEASUREMENT_PLANT_STATUS}"'
REGISTRY = f'"{MEASUREMENT_PLANT_REGISTRY}"'
FINDING = f'"{MEASUREMENT_PLANT_FINDING}"'
EXPECTED = f'"{MEASUREMENT_PLANT_EXPECTED}"'
BRIDGE = f'"{MEASUREMENT_BRIDGE}"'
QUARANTINE = f'"{MEASUREMENT_BRIDGE_QUARANTINE}"'
DAY = f'"{RP_DAILY}"."{PROVINCE_DAY}"'
PLANT_DAY = f'"{RP_DAILY}"."{INVERTER_1D}"'
PROV_HOUR = f'"{RP_HOURLY}"."{PROVINCE_1H}"'

PROVINCE = '"province" =~ /^$province$/'
PLANT = '"plant_id" =~ /^$plant_id$/'

#: Power above which a plant counts as producing, and a province as in daylight. [W]
PRODUCING_W = 50

# -- technicians: fleet status ----------------------------------------------------------------

LATEST_STATUS = (
    'SELECT last("online") AS "online", last("producing") AS "producing", '
    'last("alarm") AS "alarm", last("underperforming") AS "underperforming", '
    'last("last_seen_s") AS "last_seen_s", last("alarm_code") AS "alarm_code", '
    'last("inverter_status") AS "inverter_status", last("ac_power_w") AS "ac_power_w", '
    'last("expected_ac_power_w") AS "expected_ac_power_w", '
    'last("performance_index") AS "performance_index", '
    'last("energy_today_wh") AS "energy_today_wh" '
    f'FROM {STATUS} WHERE $timeFilter AND {PROVINCE} GROUP BY "plant_id", "province"'
)


def _count_status(where: str = "") -> str:
    cond = f" WHERE {where}" if where else ""
    return f'SELECT count("last_seen_s") FROM ({LATEST_STATUS}){cond}'


PLANTS_REGISTERED = (
    f'SELECT count("latitude") FROM (SELECT last("latitude") AS "latitude" FROM {REGISTRY} '
    f'WHERE {PROVINCE} GROUP BY "plant_id")'
)
PLANTS_REPORTING = _count_status()
PLANTS_ONLINE = _count_status('"online" = true')
PLANTS_PRODUCING = _count_status('"producing" = true')
PLANTS_OFFLINE = _count_status('"online" = false')
PLANTS_IN_ALARM = _count_status('"alarm" = true')
PLANTS_UNDERPERFORMING = _count_status('"underperforming" = true')

#: Coordinates of every registered plant (the map's first query).
MAP_PLANTS = (
    'SELECT last("latitude") AS "latitude", last("longitude") AS "longitude", '
    f'last("dc_kwp") AS "dc_kwp" FROM {REGISTRY} WHERE {PROVINCE} GROUP BY "plant_id", '
    '"province"'
)
#: Status code per plant for the map's colours: 0 normal, 1 underperforming, 2 alarm,
#: 3 offline (the worst one wins).
MAP_STATE = (
    'SELECT max("state") AS "state" FROM '
    f'(SELECT "last_seen_s" * 0 + 3 AS "state" FROM ({LATEST_STATUS}) WHERE "online" = false), '
    f'(SELECT "last_seen_s" * 0 + 2 AS "state" FROM ({LATEST_STATUS}) WHERE "alarm" = true), '
    f'(SELECT "last_seen_s" * 0 + 1 AS "state" FROM ({LATEST_STATUS}) '
    'WHERE "underperforming" = true), '
    f'(SELECT "last_seen_s" * 0 AS "state" FROM ({LATEST_STATUS})) '
    'GROUP BY "plant_id"'
)

OFFLINE_PLANTS = (
    'SELECT "last_seen_s" AS "offline_s", "inverter_status", "alarm_code", '
    '"expected_ac_power_w", "energy_today_wh" '
    f'FROM ({LATEST_STATUS}) WHERE "online" = false GROUP BY "plant_id", "province"'
)
#: Provinces where some plant produced in the last 30 minutes of the range: daylight there.
DAYLIGHT_PROVINCES = (
    f'SELECT max("ac_power_w") AS "province_max_w" FROM {INV} '
    f'WHERE time >= ${{__to}}ms - 30m AND time <= ${{__to}}ms AND "ac_power_w" > {PRODUCING_W} '
    f'AND {PROVINCE} GROUP BY "province"'
)
#: Plants whose alarm is on now (latest status).
ALARM_NOW = (
    'SELECT "alarm_code", "inverter_status", "ac_power_w", "last_seen_s" '
    f'FROM ({LATEST_STATUS}) WHERE "alarm" = true GROUP BY "plant_id", "province"'
)
#: Minutes in alarm during the range (5-minute resolution) and the highest code.
ALARM_MINUTES = (
    'SELECT count("code") * 5 AS "alarm_minutes", max("code") AS "max_alarm_code" FROM '
    f'(SELECT max("alarm_code") AS "code" FROM {INV} WHERE $timeFilter AND "alarm_code" > 0 '
    f'AND {PROVINCE} GROUP BY time(5m), "plant_id", "province") GROUP BY "plant_id", '
    '"province"'
)
#: The time of each plant's last alarm reading in the range, with its code.
ALARM_LAST = (
    f'SELECT last("alarm_code") AS "last_alarm_code" FROM {INV} WHERE $timeFilter AND '
    f'"alarm_code" > 0 AND {PROVINCE} GROUP BY "plant_id", "province"'
)
#: How long (≈ minutes; statuses come every 5 minutes) and by how much each plant produced
#: under the simulator's expectation during the range: statuses flagged underperforming by the
#: bridge whose actual/expected was also under one half then (the flag alone lags by up to an
#: hour and outlasts the evening).
UNDERPERFORMING = (
    'SELECT count("performance_index") * 5 AS "minutes_flagged", '
    'mean("performance_index") AS "mean_performance_index", '
    '(mean("expected_ac_power_w") - mean("ac_power_w")) * count("performance_index") / 12000 '
    'AS "shortfall_kwh" '
    f'FROM {STATUS} WHERE $timeFilter AND "underperforming" = true AND '
    f'"performance_index" < 0.5 AND {PROVINCE} GROUP BY "plant_id", "province"'
)


def _status_over_time(where: str) -> str:
    return (
        'SELECT count("s") FROM (SELECT last("last_seen_s") AS "s", last("online") AS "online", '
        'last("alarm") AS "alarm", last("underperforming") AS "underperforming" '
        f"FROM {STATUS} WHERE $timeFilter AND {PROVINCE} GROUP BY time($__interval), "
        f'"plant_id") WHERE $timeFilter AND {where} GROUP BY time($__interval)'
    )


STATUS_ONLINE_OVER_TIME = _status_over_time('"online" = true')
STATUS_OFFLINE_OVER_TIME = _status_over_time('"online" = false')
STATUS_ALARM_OVER_TIME = _status_over_time('"alarm" = true')
STATUS_UNDER_OVER_TIME = _status_over_time('"underperforming" = true')

FLEET_POWER_LIVE = (
    'SELECT sum("p") / 1000 AS "fleet_kw" FROM (SELECT mean("ac_power_w") AS "p" '
    f'FROM {INV} WHERE $timeFilter AND {PROVINCE} GROUP BY time($__interval), "plant_id") '
    "WHERE $timeFilter GROUP BY time($__interval)"
)

# -- technicians: the triage worklist ---------------------------------------------------------

#: How far back the alert rules look for findings (their time is their start); the worklist
#: and the plant page look back without bound: a finding open for months keeps its first start
#: (measured on influxd 1.6, 20,000 plants, 40,000 finding points over 3 years: 2.5 s for the
#: worklist against 1.7 s with a 30-day bound). [InfluxQL duration]
WORKLIST_DAYS = "30d"
_FINDING_TAGS = '"plant_id", "finding", "province"'
_FINDING_FIELDS = (
    '"lost_kwh_per_day", "confidence", "evidence", "open", "closed_at", "triaged_until"'
)


def worklist(
    finding: str | None = None,
    *,
    province: bool = True,
    time_filter: str = "time <= now()",
) -> str:
    """The open findings now: one row per plant and kind, time = the finding's start.

    The schema's worklist (``last(*)`` per plant and kind, rows whose ``open`` is true),
    written so that it holds on InfluxDB 1.x:

    1. the latest point of each plant and kind: ``last("lost_kwh_per_day")`` with the other
       fields beside it, which InfluxQL takes from that same point and stamps with its time
       (``last(*)`` returns each field's own last value, so an open finding would show the
       ``closed_at`` of an older closed one, and the time of the range's start);
    2. closed rows are told by ``closed_at`` being set on a row whose ``open`` is not true.
       A point written before the field existed has no ``open``, and InfluxQL compares a
       missing boolean as false (``"open" = true`` would drop it, ``"open" = false`` keep it)
       and cannot test for a missing field. So the rows are tagged ``k`` = 1, the closed ones
       again with ``k`` = 0, both sets are merged (``FROM (…), (…)``) and ``min("k")`` keeps,
       per plant and kind, the row that says whether it is closed; rows with ``k`` = 1 are open.

    Every level groups by the tags: without it influxd 1.6 drops rows of nested subqueries.

    Parameters
    ----------
    finding : str, optional
        Only this kind (``telemetry.schema.FINDING_KINDS``); all when omitted.
    province : bool
        Apply the dashboard's ``$province`` filter (alert rules have none).
    time_filter : str
        Which starts count: every one up to now, whatever the dashboard's time picker (the
        ``open`` flags are today's, and a finding open for months started months ago); alert
        rules pass ``$timeFilter`` with a 30-day range.
    """
    where = [time_filter]
    if finding is not None:
        where.append(f"\"finding\" = '{finding}'")
    if province:
        where.append(PROVINCE)
    latest = (
        'SELECT last("lost_kwh_per_day") AS "lost_kwh_per_day", "confidence", "evidence", '
        f'"open", "closed_at", "triaged_until" FROM {FINDING} WHERE {" AND ".join(where)} '
        f"GROUP BY {_FINDING_TAGS}"
    )
    every = (
        f'SELECT "lost_kwh_per_day" * 0 + 1 AS "k", {_FINDING_FIELDS} FROM ({latest}) '
        f"GROUP BY {_FINDING_TAGS}"
    )
    closed = (
        f'SELECT "lost_kwh_per_day" * 0 AS "k", {_FINDING_FIELDS} FROM ({latest}) '
        f'WHERE "open" = false AND "closed_at" =~ /./ GROUP BY {_FINDING_TAGS}'
    )
    merged = (
        f'SELECT min("k") AS "k", {_FINDING_FIELDS} FROM ({every}), ({closed}) '
        f"GROUP BY {_FINDING_TAGS}"
    )
    return (
        'SELECT "lost_kwh_per_day", "confidence", "evidence", "triaged_until" '
        f'FROM ({merged}) WHERE "k" = 1 GROUP BY {_FINDING_TAGS}'
    )


#: The worklist table (ranked by the panel: most kWh/day first).
WORKLIST = worklist()
#: Energy lost per day by every open finding of the worklist. [kWh/day]
WORKLIST_LOST = f'SELECT sum("lost_kwh_per_day") AS "lost_kwh_per_day" FROM ({WORKLIST})'
#: Open findings on the worklist.
WORKLIST_COUNT = f'SELECT count("lost_kwh_per_day") AS "findings" FROM ({WORKLIST})'
#: Open findings by kind (series per ``finding``).
WORKLIST_BY_KIND = (
    f'SELECT count("lost_kwh_per_day") AS "findings" FROM ({WORKLIST}) GROUP BY "finding"'
)

# -- technicians: one plant -------------------------------------------------------------------

PLANT_STATUS_NOW = (
    'SELECT last("online") AS "online", last("inverter_status") AS "inverter_status", '
    'last("alarm_code") AS "alarm_code", last("last_seen_s") AS "last_seen_s", '
    'last("performance_index") AS "performance_index", '
    'last("energy_today_wh") / 1000 AS "energy_today_kwh" '
    f'FROM {STATUS} WHERE $timeFilter AND {PLANT} GROUP BY "plant_id"'
)
PLANT_AC_POWER = (
    f'SELECT mean("ac_power_w") AS "ac_power_w" FROM {INV} WHERE $timeFilter AND {PLANT} '
    'GROUP BY time($__interval), "plant_id" fill(none)'
)
PLANT_EXPECTED_POWER = (
    f'SELECT mean("expected_ac_power_w") AS "expected_ac_power_w" FROM {STATUS} '
    f'WHERE $timeFilter AND {PLANT} GROUP BY time($__interval), "plant_id" fill(none)'
)
PLANT_DC_POWER = (
    f"SELECT mean(/^dc[0-9]+_power_w$/) FROM {INV} WHERE $timeFilter AND {PLANT} "
    'GROUP BY time($__interval), "plant_id" fill(none)'
)
PLANT_DC_VOLTAGE = (
    f"SELECT mean(/^dc[0-9]+_voltage_v$/) FROM {INV} WHERE $timeFilter AND {PLANT} "
    'GROUP BY time($__interval), "plant_id" fill(none)'
)
PLANT_TEMPERATURE = (
    f'SELECT mean("temp_c") AS "temp_c", max("temp_c") AS "temp_c_max" FROM {INV} '
    f'WHERE $timeFilter AND {PLANT} GROUP BY time($__interval), "plant_id" fill(none)'
)
PLANT_AC_GRID = (
    f'SELECT mean("ac_voltage_v") AS "ac_voltage_v", mean("ac_freq_hz") AS "ac_freq_hz" '
    f'FROM {INV} WHERE $timeFilter AND {PLANT} GROUP BY time($__interval), "plant_id" '
    "fill(none)"
)
PLANT_ENERGY_PER_DAY = (
    f'SELECT sum("energy_wh") / 1000 AS "energy_kwh" FROM {PLANT_DAY} WHERE $timeFilter AND '
    f'{PLANT} GROUP BY time(1d), "plant_id" fill(none)'
)
PLANT_ALARM_TIMELINE = (
    f'SELECT max("alarm_code") AS "alarm_code" FROM {INV} WHERE $timeFilter AND {PLANT} '
    'GROUP BY time($__interval), "plant_id" fill(none)'
)
PLANT_ALARM_READINGS = (
    f'SELECT "alarm_code", "status", "ac_power_w", "temp_c" FROM {INV} WHERE $timeFilter AND '
    f'{PLANT} AND "alarm_code" > 0 ORDER BY time DESC LIMIT 500'
)
PLANT_RSSI = (
    f'SELECT mean("rssi_dbm") AS "rssi_dbm" FROM {INV} WHERE $timeFilter AND {PLANT} '
    'GROUP BY time($__interval), "plant_id" fill(none)'
)
PLANT_READINGS_PER_HOUR = (
    f'SELECT count("ac_power_w") AS "readings" FROM {INV} WHERE $timeFilter AND {PLANT} '
    'GROUP BY time(1h), "plant_id" fill(0)'
)
PLANT_LAST_SEEN = (
    f'SELECT max("last_seen_s") AS "last_seen_s" FROM {STATUS} WHERE $timeFilter AND {PLANT} '
    'GROUP BY time($__interval), "plant_id" fill(none)'
)

#: Clear-sky output below which the sky index is not drawn (dawn, dusk: a ratio of two small
#: numbers); triage's own floor is 5 % of the plant's AC rating, 250 W for a 5 kW plant. [W]
SKY_INDEX_FLOOR_W = 250
#: The plant's measured hourly mean AC power (gateway inverters of one plant added), labelled
#: at the start of the hour like ``plant_expected``.
PLANT_HOURLY_MEASURED = (
    'SELECT sum("p") AS "ac_power_w" FROM (SELECT mean("ac_power_w") AS "p" '
    f'FROM {INV} WHERE $timeFilter AND {PLANT} GROUP BY time(1h), "plant_id", "inverter") '
    'WHERE $timeFilter GROUP BY time(1h), "plant_id" fill(none)'
)
#: What triage expected of the plant each hour, from its peers' sky (``plant_expected``).
PLANT_PEERS_EXPECTED = (
    f'SELECT "expected_ac_power_w" FROM {EXPECTED} WHERE $timeFilter AND {PLANT} '
    'GROUP BY "plant_id"'
)
#: The plant's output under a clear sky, the same hours.
PLANT_CLEAR_SKY = (
    f'SELECT "clear_sky_ac_power_w" FROM {EXPECTED} WHERE $timeFilter AND {PLANT} '
    'GROUP BY "plant_id"'
)
#: The plant's own sky index: measured ÷ clear-sky, where the clear sky gives enough to divide.
PLANT_OWN_SKY_INDEX = (
    'SELECT "ac_power_w" / "clear_sky_ac_power_w" AS "sky_index" '
    f"FROM {EXPECTED} WHERE $timeFilter AND {PLANT} AND "
    f'"clear_sky_ac_power_w" >= {SKY_INDEX_FLOOR_W} GROUP BY "plant_id"'
)
#: The sky index the plant was judged against (the peers' median, or the climate's).
PLANT_PEERS_SKY_INDEX = (
    f'SELECT "sky_index" FROM {EXPECTED} WHERE $timeFilter AND {PLANT} AND '
    f'"clear_sky_ac_power_w" >= {SKY_INDEX_FLOOR_W} GROUP BY "plant_id"'
)
#: Peers whose index went into the median.
PLANT_PEERS_REPORTING = (
    f'SELECT "peers_reporting" FROM {EXPECTED} WHERE $timeFilter AND {PLANT} GROUP BY "plant_id"'
)
#: The plant's findings, open and closed, that started before the range's end (however long
#: before: a finding open for months is still the plant's), newest first.
PLANT_FINDINGS = (
    'SELECT "lost_kwh_per_day", "confidence", "open", "closed_at", "evidence", '
    f'"triaged_until" FROM {FINDING} WHERE time <= ${{__to}}ms AND {PLANT} '
    'GROUP BY "finding" ORDER BY time DESC'
)

# -- program managers -------------------------------------------------------------------------

_FIGURES = (
    'sum("energy_kwh") / 1000 AS "energy_mwh", '
    'sum("energy_kwh") * $tariff_toman_per_kwh / 1000000 AS "income_million_toman", '
    'sum("energy_kwh") * $co2_kg_per_kwh / 1000 AS "co2_avoided_t", '
    '100 * sum("producing_plant_hours") / sum("plant_daylight_hours") AS "availability_pct"'
)
#: The headline figures of the range (one row).
FLEET_TOTALS = f"SELECT {_FIGURES} FROM {DAY} WHERE $timeFilter AND {PROVINCE}"
#: Largest hourly mean of the fleet's (or the selected provinces') summed power. [MW]
FLEET_PEAK = (
    'SELECT max("p") / 1000000 AS "peak_mw" FROM (SELECT sum("ac_power_w") AS "p" '
    f"FROM {PROV_HOUR} WHERE $timeFilter AND {PROVINCE} GROUP BY time(1h)) WHERE $timeFilter"
)
#: Plants registered and reporting (the largest daily count in the range).
FLEET_PLANTS = (
    'SELECT max("registered") AS "plants_registered", max("reporting") AS "plants_reporting" '
    'FROM (SELECT sum("plants_registered") AS "registered", sum("plants_reporting") AS '
    f'"reporting" FROM {DAY} WHERE $timeFilter AND {PROVINCE} GROUP BY time(1d)) '
    "WHERE $timeFilter"
)
#: One row per province: energy, income, CO2, peak power, availability, plants.
PROVINCE_SUMMARY = (
    f'SELECT {_FIGURES}, max("peak_ac_power_w") / 1000 AS "peak_kw", '
    'max("plants_registered") AS "plants" '
    f'FROM {DAY} WHERE $timeFilter AND {PROVINCE} GROUP BY "province"'
)


def monthly(tag: str) -> str:
    """Figures per month of a calendar (``tag`` = ``month`` or ``hijri_month``)."""
    return f'SELECT {_FIGURES} FROM {DAY} WHERE $timeFilter AND {PROVINCE} GROUP BY "{tag}"'


def province_month(tag: str) -> str:
    """Energy and peak power per province and month of a calendar (a matrix)."""
    return (
        'SELECT sum("energy_kwh") / 1000 AS "energy_mwh", max("peak_ac_power_w") / 1000 '
        f'AS "peak_kw" FROM {DAY} WHERE $timeFilter AND {PROVINCE} GROUP BY "{tag}", '
        '"province"'
    )


MONTHLY_GREGORIAN = monthly("month")
MONTHLY_HIJRI = monthly("hijri_month")
PROVINCE_MONTH_GREGORIAN = province_month("month")
PROVINCE_MONTH_HIJRI = province_month("hijri_month")
DAILY_ENERGY = (
    f'SELECT sum("energy_kwh") / 1000 AS "energy_mwh" FROM {DAY} WHERE $timeFilter AND '
    f"{PROVINCE} GROUP BY time(1d) fill(none)"
)
DAILY_AVAILABILITY = (
    'SELECT 100 * sum("producing_plant_hours") / sum("plant_daylight_hours") AS '
    f'"availability_pct" FROM {DAY} WHERE $timeFilter AND {PROVINCE} GROUP BY time(1d) '
    "fill(none)"
)
FLEET_POWER_HOURLY = (
    'SELECT mean("p") / 1000 AS "fleet_kw" FROM (SELECT sum("ac_power_w") AS "p" '
    f"FROM {PROV_HOUR} WHERE $timeFilter AND {PROVINCE} GROUP BY time(1h)) WHERE $timeFilter "
    "GROUP BY time($__interval) fill(none)"
)

# -- simulation runs --------------------------------------------------------------------------

RUN = "\"run_id\" = '$run_id'"
OUTAGE_RUN = "\"run_id\" = '$outage_run_id'"

SIM_YIELD_BY_PROVINCE = (
    'SELECT sum("ac_energy_kwh") / 1000 AS "expected_mwh", '
    'sum("ac_energy_kwh") / sum("dc_kwp") AS "specific_yield_kwh_per_kwp", '
    'count("ac_energy_kwh") AS "plants", '
    # P90 over sampled years (simulate.spread), written by runs on the climate default; the
    # plants' P90s summed (their years are drawn alike, so close to the fleet's own P90)
    'sum("ac_energy_p90_kwh") / 1000 AS "expected_p90_mwh", '
    # the purchase contract (telemetry.tariffs), written by runs since the tariff table
    'sum("income_year1_toman") / 1000000 AS "income_year1_million_toman", '
    'sum("income_lifetime_toman") / 1000000 AS "income_lifetime_million_toman" '
    f'FROM "{MEASUREMENT_SIM_YEAR}" WHERE {RUN} AND {PROVINCE} GROUP BY "province"'
)
SIM_HIJRI_MONTHS = (
    f'SELECT sum("ac_energy_kwh") / 1000 AS "expected_mwh" FROM "{MEASUREMENT_SIM_HIJRI_MONTH}" '
    f'WHERE {RUN} AND {PROVINCE} GROUP BY "hijri_month"'
)
SIM_GREGORIAN_MONTHS = (
    f'SELECT sum("ac_energy_kwh") / 1000 AS "expected_mwh" FROM "{MEASUREMENT_SIM_MONTH}" '
    f'WHERE {RUN} AND {PROVINCE} GROUP BY "month"'
)
OUTAGE_BY_REGION = (
    'SELECT last("coverage_pct") AS "coverage_pct", last("outage_hours") AS "outage_hours", '
    'last("outage_hours_served") AS "outage_hours_served", '
    'last("unserved_kwh") AS "unserved_kwh", last("exported_kwh") AS "exported_kwh", '
    'last("income_toman") AS "income_toman", last("co2_avoided_t") AS "co2_avoided_t", '
    'last("grid_tied_lost_to_cuts_kwh") AS "grid_tied_lost_to_cuts_kwh", '
    f'last("plants") AS "plants" FROM "{MEASUREMENT_OUTAGE_REGION}" WHERE {OUTAGE_RUN} AND '
    '"calendar" = \'year\' GROUP BY "region"'
)
OUTAGE_BY_HIJRI_MONTH = (
    'SELECT last("coverage_pct") AS "coverage_pct", last("outage_hours") AS "outage_hours", '
    'last("outage_hours_served") AS "outage_hours_served" '
    f'FROM "{MEASUREMENT_OUTAGE_REGION}" WHERE {OUTAGE_RUN} AND "calendar" = \'solar_hijri\' '
    'AND "region" = \'(fleet)\' GROUP BY "month"'
)
OUTAGE_HEATMAP = (
    f'SELECT last("coverage_pct") AS "coverage_pct" FROM "{MEASUREMENT_OUTAGE_HEATMAP}" '
    f'WHERE {OUTAGE_RUN} AND "calendar" = \'solar_hijri\' GROUP BY "month", "start_hour"'
)

# -- bridge health ----------------------------------------------------------------------------


def _rate(counter: str) -> str:
    return (
        f'SELECT non_negative_derivative(max("{counter}"), 1s) AS "{counter}_per_s" '
        f'FROM {BRIDGE} WHERE $timeFilter GROUP BY time($__interval), "instance" fill(none)'
    )


BRIDGE_RECEIVED_RATE = _rate("received")
BRIDGE_STORED_RATE = _rate("stored")
BRIDGE_QUARANTINED_RATE = _rate("quarantined")
BRIDGE_DUPLICATES_RATE = _rate("duplicates")
BRIDGE_LAG = (
    f'SELECT max("lag_s") AS "lag_s" FROM {BRIDGE} WHERE $timeFilter '
    'GROUP BY time($__interval), "instance" fill(none)'
)
BRIDGE_SPOOL = (
    f'SELECT max("spool_depth") AS "spool_depth" FROM {BRIDGE} WHERE $timeFilter '
    'GROUP BY time($__interval), "instance" fill(none)'
)
BRIDGE_SPOOL_BYTES = (
    f'SELECT max("spool_bytes") AS "spool_bytes" FROM {BRIDGE} WHERE $timeFilter '
    'GROUP BY time($__interval), "instance" fill(none)'
)
BRIDGE_TOTALS = (
    'SELECT last("received") AS "received", last("stored") AS "stored", '
    'last("quarantined") AS "quarantined", last("duplicates") AS "duplicates", '
    'last("rejected_by_store") AS "rejected_by_store", last("spool_depth") AS "spool_depth", '
    f'last("lag_s") AS "lag_s" FROM {BRIDGE} WHERE $timeFilter GROUP BY "instance"'
)
QUARANTINE_BY_REASON = (
    f'SELECT last("quarantined") AS "quarantined" FROM {QUARANTINE} WHERE $timeFilter '
    'GROUP BY "reason"'
)
QUARANTINE_OVER_TIME = (
    f'SELECT non_negative_difference(max("quarantined")) AS "quarantined" FROM {QUARANTINE} '
    'WHERE $timeFilter GROUP BY time($__interval), "reason" fill(none)'
)

# -- alert rules ------------------------------------------------------------------------------

ALERT_LAST_SEEN = (
    f'SELECT last("last_seen_s") AS "last_seen_s" FROM {STATUS} WHERE $timeFilter '
    'GROUP BY "plant_id", "province"'
)
ALERT_DAYLIGHT = (
    f'SELECT max("ac_power_w") AS "province_max_w" FROM {INV} WHERE $timeFilter GROUP BY "province"'
)
ALERT_PERFORMANCE_DAY = (
    f'SELECT mean("performance_index") AS "performance_index" FROM {STATUS} '
    'WHERE $timeFilter GROUP BY "plant_id", "province"'
)


def alert_finding(finding: str, field: str = "lost_kwh_per_day") -> str:
    """One field of the open findings of one kind, a series per plant (alert rules: the rule's
    relative range, 30 days, is the worklist's)."""
    inner = worklist(finding, province=False, time_filter="$timeFilter")
    return f'SELECT "{field}" FROM ({inner}) GROUP BY "plant_id", "province"'


ALERT_BRIDGE_LAG = (
    f'SELECT max("lag_s") AS "lag_s" FROM {BRIDGE} WHERE $timeFilter GROUP BY "instance"'
)
ALERT_BRIDGE_SPOOL = (
    f'SELECT last("spool_depth") AS "spool_depth" FROM {BRIDGE} WHERE $timeFilter '
    'GROUP BY "instance"'
)


# --- day ahead: sim_forecast and sim_forecast_skill (roshanai simulate forecast, forecast-skill)

FORECAST_RUN = "\"run_id\" = '$forecast_run_id'"
#: A forecast run's regions over its whole horizon (hourly points: the sum of MW is MWh). The
#: P-columns are the highest hourly P90/P10 (a horizon's P90 energy is not the sum of hourly
#: P90s, so none is shown).
FORECAST_BY_REGION = (
    'SELECT sum("ac_power_w") / 1000000 AS "energy_mwh", '
    'sum("ac_power_mean_w") / 1000000 AS "energy_mean_mwh", '
    'max("ac_power_w") / 1000000 AS "peak_mw", '
    'max("ac_power_p90_w") / 1000000 AS "peak_p90_mw", '
    'max("ac_power_p10_w") / 1000000 AS "peak_p10_mw", count("ac_power_w") AS "hours" '
    f'FROM "{MEASUREMENT_SIM_FORECAST}" WHERE "kind" = \'region\' AND {FORECAST_RUN} '
    'GROUP BY "region"'
)
#: The fleet's forecast skill so far, per day the forecasts were issued, per method.
FORECAST_SKILL = (
    'SELECT mean("nmae_pct") AS "nMAE %", mean("skill_vs_climate") AS "skill vs climate", '
    'mean("skill_vs_persistence") AS "skill vs persistence" '
    f'FROM "{MEASUREMENT_SIM_FORECAST_SKILL}" WHERE "region" = \'(fleet)\' AND $timeFilter '
    'GROUP BY time(1d), "method" fill(none)'
)
