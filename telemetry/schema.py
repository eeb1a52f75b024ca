"""InfluxDB names: the one place where measurements, tags and fields are spelled.

Contract (docs/contracts.md): database/bucket ``roshanai``; measurement ``inverter`` with tag
``plant_id`` (+ registry tags such as ``province``) and the canonical payload's fields, time =
the device's ``ts``; measurement ``bridge`` with tag ``instance`` and cumulative fields
``received``, ``stored``, ``quarantined``. The other measurements below are the project's own.

Measurements
------------
inverter
    Live telemetry, one point per reading. Tags: ``plant_id``, ``province``; and
    ``inverter`` (the OpenDTU serial or AhoyDTU name) on the readings of a plant that lists
    more than one gateway inverter in the fleet, one series per inverter (sum them for the
    plant). Fields: see :data:`INVERTER_FIELDS` (units in the names; ``energy_today_wh`` is the
    inverter's own day counter, sent by OpenDTU and AhoyDTU); DC inputs as ``dc1_voltage_v``,
    ``dc1_current_a``, ``dc1_power_w``, ``dc2_...`` (numbered from 1 in payload order); and
    ``counter_reset=true`` on the one reading whose lifetime energy counter went backwards.
bridge
    Bridge self-metrics every few seconds. Tag ``instance`` (the MQTT client id). Counters,
    cumulative over the instance's life (kept across restarts), the same the bridge prints when
    it stops:

    - ``received``: MQTT messages (each delivery, a redelivery again);
    - ``accepted``: readings that passed validation and went to the spool (one canonical
      message holds one reading or a batch of them; an OpenDTU/AhoyDTU reading is gathered
      from the many messages of one publish cycle);
    - ``stored``: readings InfluxDB confirmed (points of ``inverter``; self-metrics and status
      points are not counted). Once the spool is drained, ``stored`` = ``accepted`` (plus any
      reading written twice across a crash, which overwrites itself);
    - ``duplicates``: accepted readings InfluxDB already had (a redelivery, the same
      ``plant_id`` and ``ts`` sent again): their point is overwritten with itself;
    - ``quarantined``: quarantine entries, each a refused message or reading, with its reason
      (``roshanai bridge quarantine``), including lines InfluxDB refused;
    - ``stale``: messages and gathered readings that changed no history: retained messages the
      broker replayed at subscription, DTU publish cycles without a newer timestamp (repeats,
      zeroed runtime data), values without a timestamp;
    - ``unregistered``: messages of gateway inverters the fleet does not list, dropped after
      the one quarantine entry each such inverter gets per hour.

    Gauges: ``spool_depth`` (lines waiting), ``spool_bytes``, ``lag_s`` (age of the oldest
    waiting line), ``spool_full`` (the disk-bound alarm), ``rejected_by_store``.
plant_status
    Written by the bridge when a plant's status changes and every 5 minutes. Tags
    ``plant_id``, ``province``. Fields ``online``, ``producing``, ``alarm``,
    ``underperforming`` (booleans), ``alarm_code``, ``inverter_status``, ``last_seen_s``,
    ``ac_power_w``, ``energy_today_wh`` (from the counter, robust to resets), and when an
    expectation is known: ``expected_ac_power_w`` (the plant's clear-sky AC power at the
    reading's time × ``sky_index`` [W]), ``performance_index`` (actual / expected [-]),
    ``sky_index`` (the local sky index used [-]: the weighted median of the peers' latest
    measured ÷ clear-sky power, or the climate default's mean clear-sky index of the month)
    and ``expected_from_peers`` (boolean: at least ``triage.expected.MIN_PEERS`` peers within
    25 km reported; false: the climate fallback). ``underperforming`` is the hour's average
    index below 0.7 against the peers (0.5 against the climate fallback); plants with no
    default weather (open sea) get no expectation. The same JSON is published retained on
    ``roshanai/v1/<plant_id>/status``. A DTU gateway's ``status/reachable``,
    ``status/producing`` (OpenDTU) and ``available`` (AhoyDTU) set ``inverter_status`` (and
    ``ac_power_w`` to 0 when the inverter is off or on standby) on their own, values or not.
plant_finding
    Written by ``roshanai triage``: one point per finding of a plant (:mod:`triage.findings`).
    Tags ``plant_id``, ``province``, ``finding`` (:data:`FINDING_KINDS`). Fields
    :data:`FINDING_FIELDS`: ``lost_kwh_per_day`` (energy lost per day since the start
    [kWh/day]; 0 for ``comms_loss``), ``confidence`` (0–1), ``evidence`` (a line: which peers,
    which hours), ``triaged_until`` (end of the period it was found in, ISO 8601 UTC). Time: the
    finding's start, so a later run that finds the same fault again overwrites its point (with
    the newer figures) instead of adding one. A run that writes to InfluxDB carries the
    worklist on (:mod:`triage.worklist`): a finding of the same plant and kind that is still
    open keeps its first start (so the point is the same one, "since when" does not creep
    with the window), a closed one found again no later than its point's time reopens that
    point (``open=true``, ``closed_at=""``: a write cannot remove a field), and an open
    finding the run no longer finds among the plants and hours it judged is closed. So every
    write lands on the latest point of its plant and kind or after it. Fields ``open``
    (boolean: still on the worklist) and ``closed_at`` (ISO 8601 UTC, end of the run that
    closed it; set on closed findings, ``""`` on reopened ones). The current worklist is the
    latest point of each plant and kind whose ``open`` is not false (a point written before
    the field existed counts as open). Triage reads it with no lower time bound
    (:func:`triage.io.read_open_findings`), so a finding open for any length of time keeps
    its start; :func:`dashboards.queries.worklist` spells it in InfluxQL that holds on 1.x
    (``last(*)`` would take each field from a different point and lose the start), and its
    30-day look-back (and the finding alert rules' 30-day range) does not show a finding
    open longer than that (its point stays at its first start).
plant_expected
    Written by ``roshanai triage``: the expectation each plant was judged against, one point
    per plant and daylight hour. Tags ``plant_id``, ``province``. Fields
    :data:`EXPECTED_FIELDS`: ``expected_ac_power_w`` (the hour's mean expected AC power
    [W]: clear-sky output × the local sky index), ``clear_sky_ac_power_w`` [W],
    ``sky_index`` (the index used, the peers' or the climate default's [-]),
    ``peers_reporting`` (peers whose index went into the median), ``from_peers`` (boolean:
    at least the minimum of peers reported), and ``ac_power_w`` (the plant's measured hourly
    mean [W], absent when it sent nothing). Time: the **start** of the hour (UTC), as
    InfluxQL's ``GROUP BY time(1h)`` labels the ``inverter`` readings it is drawn beside.
sim_plant_year
    One point per plant and simulation run: annual figures. Tags: ``plant_id``, ``province``,
    ``run_id``, ``weather``. Fields: :data:`SIM_YEAR_FIELDS` (``ac_energy_kwh``,
    ``specific_yield_kwh_per_kwp``, ``performance_ratio``, ``capacity_factor_pct``,
    ``peak_ac_power_w``, ``poa_insolation_kwh_m2``, the ratings ``dc_kwp`` and ``ac_kw`` for
    weighting, ``ac_energy_p90_kwh``/``_p50_``/``_p10_`` over sampled years on the climate
    default, and the outage figures when the run has them). Time: 1 January of the
    simulated year, 00:00 UTC.
sim_plant_month
    One point per plant, Gregorian month and run: ``ac_energy_kwh``. Tags as
    ``sim_plant_year`` plus ``month`` (``"01"`` … ``"12"``, two digits so they sort). Time: the
    1st of the month in the simulated year, 00:00 UTC. (Months of the two calendars do not
    align; Solar Hijri sums live in ``sim_plant_hijri_month``.)
sim_plant_hijri_month
    One point per plant, Solar Hijri month and run: ``ac_energy_kwh``; tag ``hijri_month``
    (``"01"`` = Farvardin … ``"12"`` = Esfand). Time: 00:00 UTC of the Gregorian date the month
    starts on, in the Hijri year whose Nowruz falls in the simulated year (Esfand thus lies in
    the next Gregorian year).

    Simulation points: ``run_id`` is a tag (``20260701T090000Z-3fa2c1`` by default) so runs do
    not overwrite each other; select one with ``WHERE run_id = '...'``, drop one with
    ``DROP SERIES WHERE run_id = '...'``. Each run adds about 25 series per plant. ``weather``
    is the weather file (``name (format)``) or ``embedded climatology (estimate)``. Monthly
    figures, like the summary's, sum the run's local days (zone of the run) by month number,
    so a typical year wraps around; months without simulated days are not written.
sim_expected
    Expected AC power of a plant for each simulated hour (``ac_power_w``), written when hourly
    output is asked for. Tags ``plant_id``, ``province``, ``run_id``.
sim_outage_region
    Written by ``roshanai simulate outage``: the grid contribution and outage coverage of each
    province and of the whole fleet, for the year and each month. Tags ``run_id``, ``weather``,
    ``region`` (province, ``(none)`` for plants without one, ``(fleet)`` for all),
    ``calendar`` (``year``, ``gregorian``, ``solar_hijri``), ``month`` (``"00"`` for the year,
    ``"01"`` … ``"12"``). Fields :data:`OUTAGE_REGION_FIELDS`: ``plants``, ``outage_hours``
    (plant-hours of cuts), ``outage_hours_served`` (fully served), ``coverage_pct``,
    ``unserved_kwh`` and ``essential_served_kwh`` (household load during cuts),
    ``exported_kwh``, ``exported_peak_kwh`` (in the evening-peak hours), ``peak_mw`` (largest
    hourly mean of the summed export), ``income_toman``, ``co2_avoided_t`` (gas
    margin), ``gas_avoided_m3``, ``co2_avoided_grid_t`` (grid average),
    ``export_lost_to_cuts_kwh`` (PV energy the cuts kept from the grid) and
    ``grid_tied_lost_to_cuts_kwh`` (that of grid-tied plants: anti-islanding). Time as the
    ``sim_plant_*`` measurements of the same calendar. The run's per-plant outage figures go
    to ``sim_plant_year`` (:data:`SIM_YEAR_FIELDS`).
sim_outage_heatmap
    The fleet's coverage by month and local hour of the cut's start. Tags ``run_id``,
    ``weather``, ``calendar`` (``gregorian``/``solar_hijri``), ``month``, ``start_hour``
    (``"00"`` … ``"23"``). Fields ``outage_hours``, ``outage_hours_served``, ``coverage_pct``.
    Time: the month's first day, 00:00 UTC.
sim_battery_sizing
    Written by ``roshanai simulate size-battery``: one point per battery size tried. Tags
    ``run_id``, ``weather``, ``site`` (``"<lat>,<lon>"``), ``battery_kwh`` (the size as text).
    Fields ``battery_kwh``, ``coverage_pct``, ``outage_hours``, ``outage_hours_served``,
    ``unserved_kwh``, ``exported_kwh``, ``cost_toman``, ``target_pct``, ``smallest`` (true on
    the smallest size reaching the target). Time: 1 January of the simulated year.
sim_forecast
    Written by ``roshanai simulate forecast`` with ``--influx-url``: one point per region and
    forecast hour (tag ``kind=region``, ``region`` = a province or ``(fleet)``) and one per
    plant and hour (``kind=plant``, ``plant_id``, ``province``). Tags ``run_id`` and
    ``method`` (``nwp``: a weather model's forecast; ``climate``, ``persistence``: the
    baselines). Fields
    ``ac_power_w`` (the deterministic or control run [W]), ``lead_h`` (hours from ``issued``
    to the hour's end), ``issued`` (the run's start, ISO 8601 UTC); for an ensemble also
    ``ac_power_mean_w`` and, on regions, ``ac_power_p90_w``/``_p50_``/``_p10_`` (P90: exceeded
    with 90 % probability, over the members' sums). Time: the **start** of the forecast hour,
    as ``GROUP BY time(1h)`` labels the ``inverter`` readings it is compared with.
sim_forecast_skill
    Written by ``roshanai simulate forecast-skill``: how each ``sim_forecast`` run did against
    what the plants then produced (:mod:`simulate.forecast_skill`). One point per run and
    region (tags ``kind=region``, ``region``: a province or ``(fleet)``) and one per run and
    plant (``kind=plant``, ``plant_id``, ``province``; no error ratios). Tags ``run_id``,
    ``method``. Fields
    ``plant_hours`` (scored: forecast and a measured hourly mean both there), ``mae_w`` [W],
    ``nmae_pct`` (Σ|forecast − measured| / Σ measured [%]), ``skill_vs_climate`` and
    ``skill_vs_persistence`` (1 − MAE / the baseline's MAE on the same plant-hours [-]; absent
    where no baseline covers them), ``error_ratio_q10``/``_q50``/``_q90`` (percentiles of the
    region's hourly measured / forecast over daylight hours: the spread later deterministic
    forecasts take for their P90/P50/P10), ``scored_since``/``scored_until`` (ISO 8601 UTC),
    ``issued`` (the run's). Time: the end of the scored period (scoring it again overwrites).
plant_registry
    The fleet file as points, for the dashboards' map and availability (``roshanai dashboards
    publish-registry --fleet FLEET.csv``; rerun when the fleet changes). One point per plant,
    time = when published. Tags ``plant_id``, ``province``. Fields ``latitude``, ``longitude``
    [degree], ``dc_kwp``, ``ac_kw``, ``battery_kwh``, ``inverter_type``, ``outage_zone``.
    Queried with ``last()`` and no time bound.
bridge_quarantine
    Cumulative quarantined messages of a bridge by reason, read from its spool (``roshanai
    dashboards publish-quarantine --state-dir DIR``). Tags ``instance``, ``reason``; field
    ``quarantined``.
rollup_1h.inverter_1h, rollup_1h.province_1h, rollup_1d.inverter_1d, rollup_1d.province_day
    Rollups in their own retention policies, written by ``roshanai dashboards rollups``
    (:mod:`dashboards.rollups` lists their fields): hourly per plant and per province, daily per
    plant, and daily per province with the tags ``month`` (``2026-07``) and ``hijri_month``
    (``1405-04 Tir``) so that the months of both calendars are a ``GROUP BY``. Days are UTC days
    (03:30–03:30 in Iran: each holds one local solar day).
"""

from __future__ import annotations

__all__ = [
    "DATABASE",
    "EXPECTED_FIELDS",
    "FINDING_FIELDS",
    "FINDING_KINDS",
    "INVERTER_FIELDS",
    "MEASUREMENT_BATTERY_SIZING",
    "MEASUREMENT_BRIDGE",
    "MEASUREMENT_BRIDGE_QUARANTINE",
    "MEASUREMENT_INVERTER",
    "MEASUREMENT_OUTAGE_HEATMAP",
    "MEASUREMENT_OUTAGE_REGION",
    "MEASUREMENT_PLANT_EXPECTED",
    "MEASUREMENT_PLANT_FINDING",
    "MEASUREMENT_PLANT_REGISTRY",
    "MEASUREMENT_PLANT_STATUS",
    "MEASUREMENT_SIM_EXPECTED",
    "MEASUREMENT_SIM_FORECAST",
    "MEASUREMENT_SIM_FORECAST_SKILL",
    "MEASUREMENT_SIM_HIJRI_MONTH",
    "MEASUREMENT_SIM_MONTH",
    "MEASUREMENT_SIM_YEAR",
    "OUTAGE_REGION_FIELDS",
    "REGISTRY_TAGS",
    "SIM_YEAR_FIELDS",
    "TAG_FINDING",
    "TAG_HIJRI_MONTH",
    "TAG_INVERTER",
    "TAG_MONTH",
    "TAG_PLANT_ID",
    "TAG_RUN_ID",
    "TAG_WEATHER",
]

DATABASE = "roshanai"

MEASUREMENT_INVERTER = "inverter"
MEASUREMENT_BRIDGE = "bridge"
MEASUREMENT_SIM_YEAR = "sim_plant_year"
MEASUREMENT_SIM_MONTH = "sim_plant_month"
MEASUREMENT_SIM_HIJRI_MONTH = "sim_plant_hijri_month"
MEASUREMENT_SIM_EXPECTED = "sim_expected"
MEASUREMENT_PLANT_STATUS = "plant_status"
MEASUREMENT_PLANT_REGISTRY = "plant_registry"
MEASUREMENT_PLANT_FINDING = "plant_finding"
MEASUREMENT_PLANT_EXPECTED = "plant_expected"
MEASUREMENT_BRIDGE_QUARANTINE = "bridge_quarantine"
MEASUREMENT_OUTAGE_REGION = "sim_outage_region"
MEASUREMENT_OUTAGE_HEATMAP = "sim_outage_heatmap"
MEASUREMENT_BATTERY_SIZING = "sim_battery_sizing"
MEASUREMENT_SIM_FORECAST = "sim_forecast"
MEASUREMENT_SIM_FORECAST_SKILL = "sim_forecast_skill"

TAG_PLANT_ID = "plant_id"
#: Tag of the gateway inverter on readings of plants with several (see ``inverter`` above).
TAG_INVERTER = "inverter"
#: Tags of the simulation measurements (see the module docstring).
TAG_RUN_ID = "run_id"
TAG_WEATHER = "weather"
TAG_MONTH = "month"
TAG_HIJRI_MONTH = "hijri_month"
#: Tag of ``plant_finding``: the kind of finding.
TAG_FINDING = "finding"
#: Registry columns copied as tags onto every point of a plant (coarse location only; never
#: personal data).
REGISTRY_TAGS = ("province",)

#: Fields of measurement ``inverter`` and their InfluxDB types.
INVERTER_FIELDS: dict[str, type] = {
    "ac_power_w": float,
    "ac_voltage_v": float,
    "ac_current_a": float,
    "ac_freq_hz": float,
    "energy_total_wh": float,
    "energy_today_wh": float,
    "temp_c": float,
    "status": str,
    "alarm_code": int,
    "rssi_dbm": float,
    "seq": int,
}

#: Kinds of finding (tag ``finding`` of ``plant_finding``), as ``roshanai triage`` names them.
FINDING_KINDS = (
    "offline",
    "comms_loss",
    "inverter_fault",
    "string_fault",
    "shading",
    "soiling",
    "degradation",
    "underperforming",
)

#: Fields of ``plant_finding`` and their InfluxDB types.
FINDING_FIELDS: dict[str, type] = {
    "lost_kwh_per_day": float,
    "confidence": float,
    "evidence": str,
    "triaged_until": str,
    "open": bool,
    "closed_at": str,
}

#: Fields of ``plant_expected`` and their InfluxDB types.
EXPECTED_FIELDS: dict[str, type] = {
    "expected_ac_power_w": float,
    "clear_sky_ac_power_w": float,
    "sky_index": float,
    "peers_reporting": int,
    "from_peers": bool,
    "ac_power_w": float,
}

#: Fields of ``sim_plant_year`` (summary columns of the same names; the outage ones only when
#: the run computed them).
SIM_YEAR_FIELDS = (
    "ac_energy_kwh",
    "specific_yield_kwh_per_kwp",
    "performance_ratio",
    "capacity_factor_pct",
    "peak_ac_power_w",
    "poa_insolation_kwh_m2",
    "dc_kwp",
    "ac_kw",
    "outage_hours",
    "outage_hours_served",
    "coverage_pct",
    "unserved_kwh",
    # written by ``simulate outage`` (summary columns of the same names)
    "battery_kwh",
    "essential_served_kwh",
    "exported_kwh",
    "exported_peak_kwh",
    "curtailed_kwh",
    "export_lost_to_cuts_kwh",
    "income_toman",
    "co2_avoided_kg",
    "gas_avoided_m3",
    # P90/P50/P10 of annual AC energy over sampled years (``simulate fleet`` on the climate
    # default: simulate.spread; P90 = exceeded in 9 years of 10)
    "ac_energy_p90_kwh",
    "ac_energy_p50_kwh",
    "ac_energy_p10_kwh",
    # the contract's projection (``simulate fleet`` and ``simulate outage``), and the CO2 at
    # the grid's average carbon intensity (``simulate outage``): telemetry.tariffs, .factors
    "co2_avoided_grid_kg",
    "income_year1_toman",
    "income_lifetime_toman",
    "energy_lifetime_kwh",
)

#: Fields of ``sim_outage_region`` (columns of the same names in the region table).
OUTAGE_REGION_FIELDS = (
    "plants",
    "outage_hours",
    "outage_hours_served",
    "coverage_pct",
    "unserved_kwh",
    "essential_served_kwh",
    "exported_kwh",
    "exported_peak_kwh",
    "peak_mw",
    "income_toman",
    "co2_avoided_t",
    "gas_avoided_m3",
    "co2_avoided_grid_t",
    "export_lost_to_cuts_kwh",
    "grid_tied_lost_to_cuts_kwh",
)
