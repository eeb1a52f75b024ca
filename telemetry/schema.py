"""InfluxDB names: the one place where measurements, tags and fields are spelled.

Contract (../shared/DESIGN.md): database/bucket ``roshanai``; measurement ``inverter`` with tag
``plant_id`` (+ registry tags such as ``province``) and the canonical payload's fields, time =
the device's ``ts``; measurement ``bridge`` with tag ``instance`` and cumulative fields
``received``, ``stored``, ``quarantined``. The other measurements below are the project's own.

Measurements
------------
inverter
    Live telemetry, one point per reading. Tags: ``plant_id``, ``province``.
    Fields: see :data:`INVERTER_FIELDS` (units in the names).
bridge
    Bridge self-metrics every few seconds. Tag ``instance``. Cumulative counters
    ``received``, ``stored``, ``quarantined``, ``duplicates``; gauges ``spool_depth``,
    ``lag_s``.
sim_plant_year
    One point per plant and simulation run: annual figures. Tags: ``plant_id``, ``province``,
    ``run_id``, ``weather``. Fields: ``ac_energy_kwh``, ``specific_yield_kwh_per_kwp``,
    ``performance_ratio``, ``capacity_factor_pct``, ``peak_ac_power_w``,
    ``poa_insolation_kwh_m2``. Time: start of the simulated year (UTC).
sim_plant_month
    One point per plant, Gregorian month and run: ``ac_energy_kwh``. Tags as
    ``sim_plant_year`` plus ``month`` (1–12) and ``hijri_month`` is not a tag here (months of
    the two calendars do not align; Solar Hijri sums live in ``sim_plant_hijri_month``).
sim_plant_hijri_month
    One point per plant, Solar Hijri month and run: ``ac_energy_kwh``; tag ``hijri_month``
    (1 = Farvardin … 12 = Esfand).
sim_expected
    Expected AC power of a plant for each simulated hour (``ac_power_w``), written when hourly
    output is asked for. Tags ``plant_id``, ``province``, ``run_id``.
"""

from __future__ import annotations

__all__ = [
    "DATABASE",
    "INVERTER_FIELDS",
    "MEASUREMENT_BRIDGE",
    "MEASUREMENT_INVERTER",
    "MEASUREMENT_SIM_EXPECTED",
    "MEASUREMENT_SIM_HIJRI_MONTH",
    "MEASUREMENT_SIM_MONTH",
    "MEASUREMENT_SIM_YEAR",
    "REGISTRY_TAGS",
    "TAG_PLANT_ID",
]

DATABASE = "roshanai"

MEASUREMENT_INVERTER = "inverter"
MEASUREMENT_BRIDGE = "bridge"
MEASUREMENT_SIM_YEAR = "sim_plant_year"
MEASUREMENT_SIM_MONTH = "sim_plant_month"
MEASUREMENT_SIM_HIJRI_MONTH = "sim_plant_hijri_month"
MEASUREMENT_SIM_EXPECTED = "sim_expected"

TAG_PLANT_ID = "plant_id"
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
    "temp_c": float,
    "status": str,
    "alarm_code": int,
    "rssi_dbm": float,
    "seq": int,
}
