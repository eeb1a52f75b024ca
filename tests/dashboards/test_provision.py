"""Provisioning files: the committed ones are the generated ones, and Grafana can load them.

No Grafana here: the checks are those of :mod:`dashboards.check` (what Grafana's loaders need),
the YAML is read back with PyYAML, and broken copies prove that the checks catch what they
should.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml

from dashboards import queries as q
from dashboards.alerts import RULES, alert_provisioning
from dashboards.check import GRAFANA_VARIABLES, check_provisioning, panels_of, variables_used
from dashboards.panels import DATASOURCE_UID
from dashboards.provision import (
    REPO_PROVISIONING,
    build_files,
    dashboards,
    datasource_provisioning,
    private_files,
    to_yaml,
    write_files,
)
from roshanai.config import Settings
from telemetry import schema


def test_committed_provisioning_is_the_generated_one():
    """`dashboards/provisioning/` must be regenerated when the builders change."""
    for rel, text in build_files().items():
        path = REPO_PROVISIONING / rel
        assert path.is_file(), (
            f"{rel} missing: run `roshanai dashboards export --template --out "
            "dashboards/provisioning`"
        )
        assert path.read_text(encoding="utf-8") == text, f"{rel} is stale"
    committed = {
        p.relative_to(REPO_PROVISIONING).as_posix()
        for p in REPO_PROVISIONING.rglob("*")
        if p.is_file()
    }
    assert committed == set(build_files())


def test_committed_provisioning_passes_the_checks():
    assert check_provisioning(REPO_PROVISIONING) == []


def test_yaml_reads_back_as_written():
    for doc in (
        datasource_provisioning(),
        alert_provisioning(),
        datasource_provisioning(Settings(influx_url="http://u:p%40ss@h:8086", influx_db="db-1")),
    ):
        assert yaml.safe_load(to_yaml(doc)) == doc
    tricky = {
        "a": [
            "yes",
            "no",
            "1m",
            "01",
            "1.5",
            "",
            "null",
            "a: b",
            "#x",
            "$v",
            "ایران",
            'q"uote',
            "back\\slash",
            "multi\nline",
            True,
            None,
            3,
            2.5,
            [],
            {},
        ],
        "nested": [{"k": [{"x": 1}]}],
        "": "empty key",
    }
    assert yaml.safe_load(to_yaml(tricky)) == tricky


def test_dashboards_have_unique_uids_titles_and_panel_ids():
    models = dashboards()
    uids = [m["uid"] for m in models.values()]
    assert len(set(uids)) == len(uids) == 4
    assert len({m["title"] for m in models.values()}) == 4
    for m in models.values():
        ids = [p["id"] for p in panels_of(m)]
        assert len(ids) == len(set(ids))
        assert all(len(m["uid"]) <= 40 for m in models.values())


def test_every_query_is_raw_influxql_on_the_provisioned_datasource():
    ds = datasource_provisioning()["datasources"][0]
    assert ds["uid"] == DATASOURCE_UID
    assert ds["type"] == "influxdb"
    assert ds["jsonData"]["version"] == "InfluxQL"
    n = 0
    for m in dashboards().values():
        names = {v["name"] for v in m["templating"]["list"]}
        for v in m["templating"]["list"]:
            if v["type"] == "query":
                assert v["datasource"]["uid"] == DATASOURCE_UID
        for p in panels_of(m):
            if p["type"] in ("row", "text"):
                continue
            assert p["datasource"]["uid"] == DATASOURCE_UID
            for t in p["targets"]:
                n += 1
                assert t["rawQuery"] is True
                assert t["datasource"]["uid"] == DATASOURCE_UID
                assert t["query"].startswith("SELECT ")
                assert variables_used(t["query"]) <= names | GRAFANA_VARIABLES
    assert n >= 60


def test_queries_name_only_documented_measurements():
    documented = {getattr(schema, k) for k in dir(schema) if k.startswith("MEASUREMENT_")}
    documented |= {"inverter_1h", "province_1h", "inverter_1d", "province_day"}
    import re

    for name in dir(q):
        text = getattr(q, name)
        if isinstance(text, str) and text.startswith("SELECT"):
            for m in re.finditer(r'FROM (?:"\w+"\.)?"(\w+)"', text):
                assert m[1] in documented, f"{name} reads undocumented {m[1]}"


def test_alert_rules_cover_the_issue_and_are_well_formed():
    titles = " / ".join(r["title"] for r in RULES)
    for words in (
        "offline for more than an hour in daylight",
        "underperforming for a day",
        "lagging",
        "spool",
    ):
        assert words in titles.lower()
    uids = [r["uid"] for r in RULES]
    assert len(set(uids)) == len(uids)
    for r in RULES:
        refs = [d["refId"] for d in r["data"]]
        assert r["condition"] == refs[-1]
        # Grafana interpolates environment variables in labels (not in annotations, queries).
        assert "$" not in json.dumps(r["labels"])
        for d in r["data"]:
            if d["datasourceUid"] != "__expr__":
                assert d["relativeTimeRange"]["from"] > 0
                assert "$timeFilter" in d["model"]["query"]


def _broken_copy(tmp_path: Path, mutate) -> list[str]:
    files = build_files()
    docs = {
        rel: (json.loads(t) if rel.endswith(".json") else yaml.safe_load(t))
        for rel, t in files.items()
    }
    mutate(docs)
    out = {rel: (json.dumps(d) if rel.endswith(".json") else to_yaml(d)) for rel, d in docs.items()}
    write_files(tmp_path, out)
    return check_provisioning(tmp_path)


@pytest.mark.parametrize(
    ("what", "mutate", "expect"),
    [
        (
            "duplicate dashboard uid",
            lambda d: d["dashboards/json/roshanai-plant.json"].update(uid="roshanai-fleet"),
            "uid roshanai-fleet also in",
        ),
        (
            "unknown datasource",
            lambda d: d["dashboards/json/roshanai-bridge.json"]["panels"][0]["targets"][0].update(
                datasource={"type": "influxdb", "uid": "nope"}
            ),
            "datasource does not resolve",
        ),
        (
            "duplicate panel id",
            lambda d: d["dashboards/json/roshanai-fleet.json"]["panels"][2].update(id=2),
            "panel ids must be unique",
        ),
        (
            "panel off the grid",
            lambda d: d["dashboards/json/roshanai-fleet.json"]["panels"][2]["gridPos"].update(
                x=20, w=8
            ),
            "within 24 columns",
        ),
        (
            "undefined variable",
            lambda d: d["dashboards/json/roshanai-program.json"]["panels"][1]["targets"][0].update(
                query="SELECT 1 FROM x WHERE $nope"
            ),
            "undefined ['nope']",
        ),
        (
            "not raw",
            lambda d: d["dashboards/json/roshanai-fleet.json"]["panels"][1]["targets"][0].update(
                rawQuery=False
            ),
            "must be raw InfluxQL",
        ),
        (
            "alert condition",
            lambda d: d["alerting/roshanai.yaml"]["groups"][0]["rules"][0].update(condition="Z"),
            "condition names no refId",
        ),
        (
            "alert expression",
            lambda d: d["alerting/roshanai.yaml"]["groups"][0]["rules"][0]["data"][4][
                "model"
            ].update(expression="$C * $Q"),
            "refers to",
        ),
        (
            "alert no range",
            lambda d: d["alerting/roshanai.yaml"]["groups"][1]["rules"][0]["data"][0].pop(
                "relativeTimeRange"
            ),
            "needs a relativeTimeRange",
        ),
        (
            "datasource api",
            lambda d: d["datasources/roshanai.yaml"].update(apiVersion=2),
            "needs apiVersion: 1",
        ),
    ],
)
def test_checks_catch_broken_provisioning(tmp_path, what, mutate, expect):
    problems = _broken_copy(tmp_path, mutate)
    assert any(expect in p for p in problems), (what, problems)


def test_export_fills_the_datasource_and_keeps_secrets_private(tmp_path):
    s = Settings(influx_url="http://grafana-reader:pa$$word@influx:8086/", influx_db="roshanai")
    files = build_files(s, "/srv/grafana/provisioning")
    written = write_files(tmp_path, files, private_files(s))
    assert check_provisioning(tmp_path) == []
    ds = yaml.safe_load((tmp_path / "datasources/roshanai.yaml").read_text())["datasources"][0]
    assert ds["url"] == "http://influx:8086"  # credentials out of the URL
    assert ds["user"] == "grafana-reader"
    assert ds["secureJsonData"]["password"] == "pa$$$$word"  # `$` doubled: Grafana expands `$`
    assert ds["jsonData"]["dbName"] == ds["database"] == "roshanai"
    mode = stat.S_IMODE(os.stat(tmp_path / "datasources/roshanai.yaml").st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "dashboards/roshanai.yaml").st_mode) == 0o644
    provider = yaml.safe_load((tmp_path / "dashboards/roshanai.yaml").read_text())
    assert (
        provider["providers"][0]["options"]["path"] == "/srv/grafana/provisioning/dashboards/json"
    )
    assert len(written) == 7


def test_export_with_a_token_sends_it_as_a_header():
    ds = datasource_provisioning(
        Settings(
            influx_url="https://influx.example:8086", influx_db="roshanai", influx_token="tok$en"
        )
    )
    d = ds["datasources"][0]
    assert d["jsonData"]["httpHeaderName1"] == "Authorization"
    assert d["secureJsonData"] == {"httpHeaderValue1": "Token tok$$en"}
    assert "user" not in d
    assert private_files(Settings(influx_url="http://h:8086")) == set()


def test_template_leaves_the_connection_to_grafanas_environment():
    d = datasource_provisioning()["datasources"][0]
    assert d["url"] == "${ROSHANAI_INFLUX_URL}"
    assert d["jsonData"]["dbName"] == "${ROSHANAI_INFLUX_DB}"
    assert d["secureJsonData"]["password"] == "${ROSHANAI_INFLUX_PASSWORD}"


def test_export_cli_writes_a_loadable_folder(tmp_path, monkeypatch):
    from roshanai.cli import main

    monkeypatch.setenv("ROSHANAI_INFLUX_PASSWORD", "s3cret")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "prov"
    assert (
        main(
            [
                "dashboards",
                "export",
                "--out",
                str(out),
                "--influx-url",
                "http://reader@influx:8086",
                "--influx-db",
                "fleet",
            ]
        )
        == 0
    )
    assert main(["dashboards", "check", str(out)]) == 0
    assert stat.S_IMODE(os.stat(out / "datasources/roshanai.yaml").st_mode) == 0o600
    assert main(["dashboards", "export", "--out", str(tmp_path / "t"), "--template"]) == 0
    assert (tmp_path / "t/datasources/roshanai.yaml").read_text() == (
        REPO_PROVISIONING / "datasources/roshanai.yaml"
    ).read_text()
