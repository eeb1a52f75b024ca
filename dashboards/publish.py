"""Points the dashboards need that nothing else writes: the fleet registry and the quarantine.

- ``plant_registry`` (:func:`registry_lines`): the fleet file as one point per plant, so the map
  has coordinates and availability knows how many plants a province has. Run
  ``roshanai dashboards publish-registry --fleet FLEET.csv`` whenever the fleet file changes
  (and at least once within the raw retention, if it is limited).
- ``bridge_quarantine`` (:func:`quarantine_lines`): the bridge keeps quarantined messages in its
  SQLite spool, and its ``bridge`` measurement counts them only in total. ``roshanai dashboards
  publish-quarantine --state-dir DIR`` reads the counts by reason (read-only, beside the running
  bridge) and writes them as cumulative counters; ``--every 60`` keeps doing so.
"""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path

from telemetry.errors import InputError
from telemetry.lineprotocol import format_point
from telemetry.registry import Fleet
from telemetry.schema import (
    MEASUREMENT_BRIDGE_QUARANTINE,
    MEASUREMENT_PLANT_REGISTRY,
    REGISTRY_TAGS,
    TAG_PLANT_ID,
)

__all__ = ["SPOOL_FILE", "quarantine_counts", "quarantine_lines", "registry_lines"]

#: The bridge's spool inside its state directory.
SPOOL_FILE = "spool.sqlite3"
_REGISTRY_NUMBERS = ("latitude", "longitude", "dc_kwp", "ac_kw", "battery_kwh")
_REGISTRY_TEXTS = ("inverter_type", "outage_zone")


def registry_lines(fleet: Fleet, time_ns: int | None = None) -> list[str]:
    """One ``plant_registry`` line per plant (time: now unless given)."""
    t = time.time_ns() if time_ns is None else int(time_ns)
    lines = []
    for rec in fleet.plants.to_dict("records"):
        tags = {TAG_PLANT_ID: str(rec[TAG_PLANT_ID])}
        for tag in REGISTRY_TAGS:
            value = rec.get(tag)
            if isinstance(value, str) and value:
                tags[tag] = value
        fields: dict[str, float | str] = {}
        for name in _REGISTRY_NUMBERS:
            value = rec.get(name)
            if value is not None and math.isfinite(float(value)):
                fields[name] = float(value)
        for name in _REGISTRY_TEXTS:
            value = rec.get(name)
            if isinstance(value, str) and value:
                fields[name] = value
        lines.append(format_point(MEASUREMENT_PLANT_REGISTRY, tags, fields, t))
    return lines


def quarantine_counts(state_dir: str | Path) -> dict[str, int]:
    """Quarantined messages by reason in a bridge's spool, read-only.

    Raises
    ------
    InputError
        No spool in ``state_dir``, or not a bridge spool.
    """
    path = Path(state_dir) / SPOOL_FILE
    if not path.is_file():
        raise InputError(
            f"no bridge spool {SPOOL_FILE} in {state_dir} (pass the bridge's --state-dir)"
        )
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            rows = con.execute("SELECT reason, count(*) FROM quarantine GROUP BY reason")
            return {str(reason): int(n) for reason, n in rows}
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise InputError(f"cannot read the quarantine of {path}: {exc}") from None


def quarantine_lines(
    counts: dict[str, int], instance: str, time_ns: int | None = None
) -> list[str]:
    """``bridge_quarantine`` lines of the counts (time: now unless given)."""
    t = time.time_ns() if time_ns is None else int(time_ns)
    return [
        format_point(
            MEASUREMENT_BRIDGE_QUARANTINE,
            {"instance": instance, "reason": r},
            {"quarantined": int(n)},
            t,
        )
        for r, n in sorted(counts.items())
    ]
