"""Structural checks of a provisioning folder: what Grafana needs to load it as it is.

No Grafana runs here, so these check what Grafana's provisioning and dashboard loaders rely on:
``apiVersion: 1`` documents of the right shape; datasource uids unique and every datasource
reference (panels, targets, variables, alert queries) resolving to a provisioned uid (or to
``__expr__`` for alert expressions); dashboard uids unique and at most 40 characters; panel ids
unique per dashboard and panels on the 24-column grid; raw InfluxQL targets with unique refIds;
every ``$variable`` of a query defined (or one of Grafana's own); alert rules with unique uids, a
condition naming one of their refIds, expressions referring to existing refIds, relative time
ranges on datasource queries, and valid ``for``/no-data/error states.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from telemetry.errors import InputError

__all__ = ["GRAFANA_VARIABLES", "check_provisioning", "panels_of", "variables_used"]

#: Names Grafana defines itself (macros and global variables).
GRAFANA_VARIABLES = frozenset(
    {
        "timeFilter",
        "__timeFilter",
        "__interval",
        "__interval_ms",
        "interval",
        "__from",
        "__to",
        "__range",
        "__range_s",
        "__range_ms",
        "__rate_interval",
        "__dashboard",
        "__org",
        "__user",
        "__name",
        "tag_plant_id",
        "tag_province",
        "tag_instance",
        "tag_finding",
        "tag_method",
        "tag_reason",
        "col",
        "m",
        "measurement",
    }
)
_VAR = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)\]\]|\$(\w+)")
_DURATION = re.compile(r"^\d+(ms|s|m|h|d|w)$")
_STATES_NO_DATA = {"OK", "NoData", "Alerting", "KeepLast"}
_STATES_ERROR = {"OK", "Error", "Alerting", "KeepLast"}
_EXPRESSION_TYPES = {"math", "reduce", "resample", "classic_conditions", "threshold", "sql"}


def variables_used(text: str) -> set[str]:
    """Names of the ``$variables`` in a query or alias."""
    return {m[1] or m[2] or m[3] for m in _VAR.finditer(text)}


def panels_of(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, including those inside collapsed rows."""
    out = []
    for p in dashboard.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []) if p.get("type") == "row" else [])
    return out


def _load_yaml(path: Path) -> Any:
    import yaml  # a declared dependency; imported here to keep the CLI's start quick

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not YAML: {exc}") from None


def _check_datasources(doc: Any, where: str, problems: list[str]) -> set[str]:
    uids: set[str] = set()
    if not isinstance(doc, dict) or doc.get("apiVersion") != 1:
        problems.append(f"{where}: needs apiVersion: 1")
        return uids
    for i, ds in enumerate(doc.get("datasources") or []):
        at = f"{where}: datasource {i}"
        for key in ("name", "type", "uid", "url", "access"):
            if not isinstance(ds.get(key), str) or not ds[key]:
                problems.append(f"{at}: missing {key}")
        if ds.get("access") not in ("proxy", "direct"):
            problems.append(f"{at}: access must be proxy or direct")
        if ds.get("type") == "influxdb":
            jd = ds.get("jsonData") or {}
            if jd.get("version", "InfluxQL") != "InfluxQL":
                problems.append(f"{at}: the dashboards need the InfluxQL query language")
            if not (jd.get("dbName") or ds.get("database")):
                problems.append(f"{at}: no database (jsonData.dbName)")
        uid = ds.get("uid")
        if uid in uids:
            problems.append(f"{at}: duplicate uid {uid}")
        uids.add(uid)
    if not uids:
        problems.append(f"{where}: no datasources")
    return uids


def _check_provider(doc: Any, where: str, root: Path, problems: list[str]) -> None:
    if not isinstance(doc, dict) or doc.get("apiVersion") != 1:
        problems.append(f"{where}: needs apiVersion: 1")
        return
    for i, p in enumerate(doc.get("providers") or []):
        at = f"{where}: provider {i}"
        if p.get("type") != "file":
            problems.append(f"{at}: type must be file")
        if not (p.get("options") or {}).get("path"):
            problems.append(f"{at}: options.path missing")
        if not p.get("name"):
            problems.append(f"{at}: name missing")


def _check_dashboard(d: Any, where: str, ds_uids: set[str], problems: list[str]) -> str | None:
    if not isinstance(d, dict):
        problems.append(f"{where}: not a dashboard object")
        return None
    uid = d.get("uid")
    if not isinstance(uid, str) or not uid or len(uid) > 40:
        problems.append(f"{where}: uid must be 1-40 characters")
    if not d.get("title"):
        problems.append(f"{where}: no title")
    variables = {v.get("name") for v in (d.get("templating") or {}).get("list", [])}
    for v in (d.get("templating") or {}).get("list", []):
        if v.get("type") == "query":
            if (v.get("datasource") or {}).get("uid") not in ds_uids:
                problems.append(f"{where}: variable {v.get('name')} uses an unknown datasource")
            unknown = variables_used(v.get("query", "")) - variables - GRAFANA_VARIABLES
            if unknown:
                problems.append(
                    f"{where}: variable {v.get('name')} uses undefined {sorted(unknown)}"
                )
    if len(variables) != len((d.get("templating") or {}).get("list", [])):
        problems.append(f"{where}: duplicate variable names")
    ids: set[int] = set()
    for p in panels_of(d):
        pid = p.get("id")
        at = f"{where}: panel {pid} {p.get('title')!r}"
        if not isinstance(pid, int) or pid in ids:
            problems.append(f"{at}: panel ids must be unique integers")
        elif isinstance(pid, int):
            ids.add(pid)
        g = p.get("gridPos") or {}
        if (
            not all(isinstance(g.get(k), int) for k in ("x", "y", "w", "h"))
            or g.get("x", 0) + g.get("w", 0) > 24
            or g.get("w", 0) < 1
            or g.get("h", 0) < 1
        ):
            problems.append(f"{at}: gridPos must be whole numbers within 24 columns")
        if p.get("type") in ("row", "text"):
            continue
        if (p.get("datasource") or {}).get("uid") not in ds_uids:
            problems.append(f"{at}: datasource does not resolve")
        targets = p.get("targets") or []
        if not targets:
            problems.append(f"{at}: no queries")
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs) or not all(refs):
            problems.append(f"{at}: refIds must be unique and set")
        for t in targets:
            if (t.get("datasource") or {}).get("uid") not in ds_uids:
                problems.append(f"{at}: target {t.get('refId')} datasource does not resolve")
            if t.get("rawQuery") is not True or not str(t.get("query", "")).strip():
                problems.append(f"{at}: target {t.get('refId')} must be raw InfluxQL")
            unknown = (
                (variables_used(t.get("query", "")) | variables_used(t.get("alias", "")))
                - variables
                - GRAFANA_VARIABLES
            )
            if unknown:
                problems.append(f"{at}: target {t.get('refId')} uses undefined {sorted(unknown)}")
            if t.get("resultFormat") not in ("time_series", "table", "logs"):
                problems.append(f"{at}: target {t.get('refId')} has a bad resultFormat")
    return uid if isinstance(uid, str) else None


def _check_alerts(doc: Any, where: str, ds_uids: set[str], problems: list[str]) -> None:
    if not isinstance(doc, dict) or doc.get("apiVersion") != 1:
        problems.append(f"{where}: needs apiVersion: 1")
        return
    uids: set[str] = set()
    for g in doc.get("groups") or []:
        gat = f"{where}: group {g.get('name')!r}"
        for key in ("name", "folder", "interval"):
            if not g.get(key):
                problems.append(f"{gat}: missing {key}")
        if not _DURATION.match(str(g.get("interval", ""))):
            problems.append(f"{gat}: interval must be a duration like 1m")
        if not isinstance(g.get("orgId"), int):
            problems.append(f"{gat}: orgId must be an integer")
        for r in g.get("rules") or []:
            at = f"{gat} rule {r.get('uid')}"
            uid = r.get("uid")
            if not isinstance(uid, str) or not uid or len(uid) > 40 or uid in uids:
                problems.append(f"{at}: uid must be unique, 1-40 characters")
            uids.add(uid)
            if not r.get("title"):
                problems.append(f"{at}: no title")
            refs = [q.get("refId") for q in r.get("data") or []]
            if len(set(refs)) != len(refs) or not refs:
                problems.append(f"{at}: data refIds must be unique")
            if r.get("condition") not in refs:
                problems.append(f"{at}: condition names no refId")
            if r.get("noDataState") not in _STATES_NO_DATA:
                problems.append(f"{at}: bad noDataState")
            if r.get("execErrState") not in _STATES_ERROR:
                problems.append(f"{at}: bad execErrState")
            if not _DURATION.match(str(r.get("for", "0s"))):
                problems.append(f"{at}: bad for")
            for q in r.get("data") or []:
                model = q.get("model") or {}
                if q.get("datasourceUid") == "__expr__":
                    if model.get("type") not in _EXPRESSION_TYPES:
                        problems.append(f"{at}: {q.get('refId')} has an unknown expression type")
                    used = {m[1] or m[3] for m in _VAR.finditer(str(model.get("expression", "")))}
                    if model.get("type") in ("reduce", "threshold", "resample"):
                        used = {str(model.get("expression"))}
                    if not used <= set(refs):
                        problems.append(f"{at}: {q.get('refId')} refers to {sorted(used)}")
                else:
                    if q.get("datasourceUid") not in ds_uids:
                        problems.append(f"{at}: {q.get('refId')} datasource does not resolve")
                    rtr = q.get("relativeTimeRange") or {}
                    if not isinstance(rtr.get("from"), int) or rtr.get("from", 0) <= 0:
                        problems.append(f"{at}: {q.get('refId')} needs a relativeTimeRange")
                    if model.get("rawQuery") is not True or not model.get("query"):
                        problems.append(f"{at}: {q.get('refId')} must be raw InfluxQL")


def check_provisioning(root: str | Path) -> list[str]:
    """Problems found in a provisioning folder (empty: it loads as it is).

    Raises
    ------
    InputError
        The folder or one of its files cannot be read as YAML/JSON at all.
    """
    root = Path(root)
    problems: list[str] = []
    ds_uids: set[str] = set()
    ds_files = sorted((root / "datasources").glob("*.y*ml"))
    if not ds_files:
        problems.append(f"{root}: no datasources/*.yaml")
    for path in ds_files:
        ds_uids |= _check_datasources(_load_yaml(path), str(path), problems)
    for path in sorted((root / "dashboards").glob("*.y*ml")):
        _check_provider(_load_yaml(path), str(path), root, problems)
    seen: dict[str, Path] = {}
    titles: set[str] = set()
    json_files = sorted((root / "dashboards").rglob("*.json"))
    if not json_files:
        problems.append(f"{root}: no dashboards/**/*.json")
    for path in json_files:
        try:
            model = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise InputError(f"{path}: not JSON: {exc}") from None
        uid = _check_dashboard(model, str(path), ds_uids, problems)
        if uid in seen:
            problems.append(f"{path}: uid {uid} also in {seen[uid]}")
        if uid:
            seen[uid] = path
        if model.get("title") in titles:
            problems.append(f"{path}: title {model.get('title')!r} used twice")
        titles.add(model.get("title"))
    for path in sorted((root / "alerting").glob("*.y*ml")):
        _check_alerts(_load_yaml(path), str(path), ds_uids, problems)
    return problems
