"""Technician triage: which plants need a visit, why, since when, and what it costs.

A pure numeric core on pandas/numpy arrays (no I/O):

- :mod:`triage.hourly` bins readings shaped like the InfluxDB ``inverter`` measurement into
  plant × hour matrices;
- :mod:`triage.expected` gives each plant-hour its expected AC power from its peers (the fleet
  as its own irradiance sensor), with the climate default as the fallback;
- :mod:`triage.gaps` explains silent plant-hours (grid cut, comms loss, offline);
- :mod:`triage.findings` turns all of it into findings with a start, lost kWh per day, a
  confidence and the evidence.

I/O lives at the edges: :mod:`triage.io` (InfluxDB in and out, the findings CSV) and
:mod:`triage.cli` (``roshanai triage``).
"""
