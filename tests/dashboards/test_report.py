"""The report renders in English and Persian, and every figure in it is the panel query's."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import jdatetime
import pytest

from dashboards.macros import TimeRange, interpolate
from dashboards.program import TARIFF_TOMAN_PER_KWH
from dashboards.provision import dashboards
from dashboards.report import SECTIONS, collect, write_report
from dashboards.runner import rows, run_query

pytestmark = pytest.mark.slow

DAY_MS = 86_400_000
_CELL = re.compile(r'data-key="([^"]*)" data-value="([^"]*)"')
_PERSIAN_DIGIT = re.compile("[۰-۹]")


@pytest.fixture(scope="module")
def report(scenario, tmp_path_factory):
    from telemetry.influx import InfluxStore

    out = tmp_path_factory.mktemp("report")
    period = TimeRange(scenario.start_ns // 1_000_000 - DAY_MS, scenario.end_ns // 1_000_000)
    with InfluxStore(scenario.url, scenario.database, timeout_s=60) as store:
        data = collect(store, period)
    files = write_report(data, out)
    return data, out, files, period


def _cells(text: str) -> dict[str, str]:
    return {html.unescape(k): html.unescape(v) for k, v in _CELL.findall(text)}


def _expected(store, period: TimeRange, data) -> dict[str, float]:
    """Every figure the page should show, from the queries run here afresh."""
    variables = {
        "province": ".*",
        "tariff_toman_per_kwh": f"{data.tariff_toman_per_kwh:g}",
        "co2_kg_per_kwh": f"{data.co2_kg_per_kwh:g}",
        "run_id": data.run_id,
        "outage_run_id": data.outage_run_id,
        "forecast_run_id": data.forecast_run_id,
    }
    got = {
        key: rows(run_query(store, interpolate(query, period, variables=variables)))
        for key, query in SECTIONS.items()
    }
    out: dict[str, float] = {}
    for key in ("totals", "peak", "plants"):
        for col, value in got[key][0].items():
            out[f"{key}/{col}"] = value
    for key, tag in (
        ("provinces", "province"),
        ("hijri_months", "hijri_month"),
        ("gregorian_months", "month"),
        ("sim_yield", "province"),
        ("outage_regions", "region"),
        ("outage_months", "month"),
        ("forecast_regions", "region"),
    ):
        for r in got[key]:
            for col, value in r.items():
                out[f"{key}/{r[tag]}/{col}"] = value
    # The skill section shows the period's mean of the daily rows, per method.
    per: dict[str, dict[str, list[float]]] = {}
    for r in got["forecast_skill"]:
        for col, value in r.items():
            if col not in ("time", "method"):
                values = per.setdefault(r["method"], {}).setdefault(col, [])
                if value is not None:
                    values.append(value)
    for method, cols in per.items():
        for col, values in cols.items():
            out[f"forecast_skill/{method}/{col}"] = sum(values) / len(values) if values else None
    for key, tag in (
        ("province_hijri_months", "hijri_month"),
        ("province_gregorian_months", "month"),
    ):
        for r in got[key]:
            for col in ("energy_mwh", "peak_kw"):
                out[f"{key}/{r['province']}/{r[tag]}/{col}"] = r[col]
    return out


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_every_figure_equals_the_query(store, report, lang):
    data, out, _, period = report
    cells = _cells((out / f"report.{lang}.html").read_text(encoding="utf-8"))
    expected = _expected(store, period, data)
    assert len(cells) > 200
    for key, raw in cells.items():
        if key.startswith("provinces/(total)/"):
            continue  # the total row repeats the fleet figures, checked below
        assert key in expected, key
        want = expected[key]
        assert (float(raw) if raw else None) == want, key
    shown = {k for k in cells if not k.startswith("provinces/(total)/")}
    # Everything the province, month and simulation queries returned is on the page.
    missing = {
        k
        for k in expected
        if k.count("/") >= 2
        and k.split("/")[-1]
        in ("energy_mwh", "peak_kw", "coverage_pct", "expected_mwh", "availability_pct")
    } - shown
    assert not missing
    total = {k.rsplit("/", 1)[1]: v for k, v in cells.items() if k.startswith("provinces/(total)/")}
    assert float(total["energy_mwh"]) == expected["totals/energy_mwh"]
    assert float(total["peak_kw"]) == pytest.approx(expected["peak/peak_mw"] * 1000)


def test_figures_agree_with_the_raw_readings(store, report):
    """Energy from the raw lifetime counters, summed here, equals the report's total."""
    data, _, _, period = report
    per_day: dict[tuple[str, int], list[float]] = defaultdict(list)
    for s in store.query(
        'SELECT "energy_total_wh" FROM "inverter" GROUP BY "plant_id"', epoch="ms"
    ):
        for t, v in s["values"]:
            per_day[(s["tags"]["plant_id"], t // DAY_MS * DAY_MS)].append(v)
    mwh = (
        sum(
            max(v) - min(v)
            for (_, day), v in per_day.items()
            if period.from_ms <= day <= period.to_ms
        )
        / 1e6
    )
    totals = data.one("totals")
    assert totals["energy_mwh"] == pytest.approx(mwh, rel=1e-12)
    assert totals["income_million_toman"] == pytest.approx(
        mwh * 1000 * TARIFF_TOMAN_PER_KWH / 1e6, rel=1e-12
    )
    provinces = sum(r["energy_mwh"] for r in data.table("provinces"))
    assert provinces == pytest.approx(mwh, rel=1e-12)
    hijri = sum(r["energy_mwh"] for r in data.table("hijri_months"))
    gregorian = sum(r["energy_mwh"] for r in data.table("gregorian_months"))
    assert hijri == pytest.approx(mwh, rel=1e-12)
    assert gregorian == pytest.approx(mwh, rel=1e-12)


def test_report_queries_are_the_program_panels_queries(report):
    panel_queries = {
        t["query"]
        for p in dashboards()["roshanai-program.json"]["panels"]
        for t in p.get("targets", [])
    }
    for key, section in report[0].sections.items():
        assert section.query in panel_queries, key


def test_persian_report_is_right_to_left_with_solar_hijri_months(report, scenario):
    _, out, files, _ = report
    fa = (out / "report.fa.html").read_text(encoding="utf-8")
    en = (out / "report.en.html").read_text(encoding="utf-8")
    assert '<html lang="fa" dir="rtl">' in fa
    assert '<html lang="en" dir="ltr">' in en
    last = datetime.fromtimestamp(scenario.end_ns / 1e9, UTC).date()
    j = jdatetime.date.fromgregorian(date=last)
    month_fa = jdatetime.date.j_months_fa[j.month - 1]
    assert f"{month_fa} {str(j.year).translate(str.maketrans('0123456789', '۰۱۲۳۴۵۶۷۸۹'))}" in fa
    assert f"{jdatetime.date.j_months_en[j.month - 1]} {j.year}" in en
    assert "استان" in fa
    assert "انرژی تحویلی" in fa
    cells = re.findall(r'data-value="[^"]*">([^<]*)</td>', fa)
    assert cells
    assert all(_PERSIAN_DIGIT.search(c) or c == "–" for c in cells)
    assert not _PERSIAN_DIGIT.search(en)
    pngs = [f for f in files if f.suffix == ".png"]
    assert len(pngs) >= 10
    assert all(f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in pngs)
    assert fa.count("data:image/png;base64,") == len([f for f in pngs if ".fa." in f.name])


def test_report_cli(scenario, tmp_path, monkeypatch):
    from roshanai.cli import main

    monkeypatch.chdir(tmp_path)
    end = datetime.fromtimestamp(scenario.end_ns / 1e9, UTC).date()
    j = jdatetime.date.fromgregorian(date=end)
    args = ["--influx-url", scenario.url, "--influx-db", scenario.database]
    assert (
        main(
            [
                "report",
                "--out",
                "r1",
                "--lang",
                "fa",
                "--latin-digits",
                "--month",
                f"{j.year}-{j.month:02d}",
                *args,
            ]
        )
        == 0
    )
    fa = (tmp_path / "r1/report.fa.html").read_text(encoding="utf-8")
    assert not _PERSIAN_DIGIT.search("".join(re.findall(r'data-value="[^"]*">([^<]*)</td>', fa)))
    assert not (tmp_path / "r1/report.en.html").exists()
    assert (
        main(
            [
                "report",
                "--out",
                "r2",
                "--from",
                f"{end:%Y-%m-%d}",
                "--to",
                f"{end:%Y-%m-%d}",
                "--province",
                "Tehran",
                *args,
            ]
        )
        == 0
    )
    en = (tmp_path / "r2/report.en.html").read_text(encoding="utf-8")
    assert "provinces/Tehran/energy_mwh" in en
    assert "provinces/Isfahan/" not in en
    # The province in another case or in Persian is the same province; an unknown one is a
    # one-line error (it used to give an empty report and exit 0).
    for spelling in ("tehran", "تهران"):
        out = f"r-{len(spelling)}"
        assert (
            main(
                [
                    "report",
                    "--out",
                    out,
                    "--from",
                    f"{end:%Y-%m-%d}",
                    "--to",
                    f"{end:%Y-%m-%d}",
                    "--province",
                    spelling,
                    *args,
                ]
            )
            == 0
        )
        assert "provinces/Tehran/energy_mwh" in (tmp_path / out / "report.en.html").read_text(
            encoding="utf-8"
        )
    assert main(["report", "--out", "r3", "--province", "Atlantis", *args]) == 2
    (tmp_path / "a-file").write_text("not a folder")
    assert main(["report", "--out", "a-file", *args]) == 2
    assert not (tmp_path / "r3").exists()
    assert main(["report", "--lang", "de", *args]) == 2
    assert main(["report", "--month", "1405-13", *args]) == 2


def test_the_simulation_shows_the_contract_by_province(report):
    """First-year and 20-year income by province come from the run's per-plant contract
    (flat default tariffs: 20 years = year 1 × Σ 0.995^k, 19.078)."""
    data, out, _, _ = report
    rows_ = data.table("sim_yield")
    assert rows_
    for r in rows_:
        assert r["income_year1_million_toman"] > 0, r
        want = r["income_year1_million_toman"] * (1 - 0.995**20) / 0.005
        assert r["income_lifetime_million_toman"] == pytest.approx(want, rel=1e-9), r
    page = (out / "report.en.html").read_text(encoding="utf-8")
    assert "20 years, million toman" in page
    assert "sim_yield/" + rows_[0]["province"] + "/income_lifetime_million_toman" in page


def test_a_period_without_rollups_says_where_they_are(scenario, tmp_path, monkeypatch, capsys):
    from roshanai.cli import main

    monkeypatch.chdir(tmp_path)
    args = ["--influx-url", scenario.url, "--influx-db", scenario.database]
    assert main(["report", "--out", "r", "--month", "1380-01", *args]) == 0
    out = " ".join(capsys.readouterr().out.split())
    end = datetime.fromtimestamp(scenario.end_ns / 1e9, UTC)
    assert "no daily rollups in this period; the database holds them from" in out
    assert f"to {end:%Y-%m-%d} UTC" in out or f"to {end - timedelta(days=1):%Y-%m-%d} UTC" in out
    assert "run `roshanai dashboards rollups`" not in out
