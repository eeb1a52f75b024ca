"""Grafana provisioning (datasource, dashboards, alert rules), rollups and static reports.

Every panel, alert rule and report figure reads InfluxDB through the raw InfluxQL of
:mod:`dashboards.queries`; :mod:`dashboards.macros` expands Grafana's macros and variables the
way Grafana does, so the report and the tests run exactly what a Grafana panel runs.
"""
