"""The report as one self-contained HTML page (English left to right, Persian right to left).

Every figure is written with its exact value in ``data-value`` (and its place in
``data-key``, ``section/row/column``), so a reader — or a test — can compare the page with the
queries' results digit for digit.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dashboards.labels import Labels, labels_for

if TYPE_CHECKING:
    from dashboards.report import ReportData

__all__ = ["render"]

_CSS = """
body{font-family:Vazirmatn,"Noto Sans Arabic",Tahoma,"DejaVu Sans",Arial,sans-serif;
margin:2rem auto;max-width:1100px;color:#222;line-height:1.5;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #e0a100;padding-bottom:.2rem;
margin-top:2.2rem}h3{margin-top:1.4rem}
.meta{color:#555;font-size:.92rem}.cards{display:flex;flex-wrap:wrap;gap:.8rem}
.card{border:1px solid #ddd;border-radius:6px;padding:.6rem .9rem;min-width:150px;flex:1}
.card .v{font-size:1.5rem;font-weight:600}.card .l{color:#555;font-size:.85rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem}th{background:#f6f3ea}
td.n{text-align:right;font-variant-numeric:tabular-nums}[dir=rtl] td.n{text-align:left}
tr.total td{font-weight:600;background:#faf8f2}figure{margin:1rem 0}img{max-width:100%}
.scroll{overflow-x:auto}pre{white-space:pre-wrap;font-size:.8rem;background:#f7f7f7;
padding:.5rem;direction:ltr;text-align:left}.none{color:#777;font-style:italic}
"""


def _decimals(value: Any) -> int:
    if not isinstance(value, int | float):
        return 0
    v = abs(float(value))
    return 2 if v < 10 else 1 if v < 1000 else 0


class _Page:
    def __init__(self, data: ReportData, L: Labels, charts: dict[str, Path]) -> None:
        self.data, self.L, self.charts = data, L, charts
        self.parts: list[str] = []

    def add(self, text: str) -> None:
        self.parts.append(text)

    def esc(self, text: Any) -> str:
        return html.escape(str(text))

    def num(self, key: str, value: Any, decimals: int | None = None) -> str:
        shown = self.L.number(value, _decimals(value) if decimals is None else decimals)
        raw = "" if value is None else repr(value)
        return (
            f'<td class="n" data-key="{self.esc(key)}" data-value="{self.esc(raw)}">'
            f"{self.esc(shown)}</td>"
        )

    def figure(self, name: str, caption: str) -> None:
        path = self.charts.get(name)
        if path is None:
            return
        b64 = base64.b64encode(Path(path).read_bytes()).decode()
        self.add(
            f'<figure><img alt="{self.esc(caption)}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{self.esc(caption)}</figcaption></figure>"
        )

    def table(
        self,
        section: str,
        rows: list[dict[str, Any]],
        key_col: str,
        key_label: Callable[[Any], str],
        columns: list[tuple[str, str, int | None]],
        total: dict[str, Any] | None = None,
    ) -> None:
        if not rows:
            self.add(f'<p class="none">{self.esc(self.L.t("no_data"))}</p>')
            return
        head = "".join(f"<th>{self.esc(self.L.t(label))}</th>" for _, label, _ in columns)
        first = self.L.t(_KEY_HEADINGS[key_col])
        self.add(
            f'<div class="scroll"><table><thead><tr><th>{self.esc(first)}'
            f"</th>{head}</tr></thead><tbody>"
        )
        for r in rows:
            k = r.get(_KEY_FIELDS[key_col])
            cells = "".join(
                self.num(f"{section}/{k}/{col}", r.get(col), d) for col, _, d in columns
            )
            self.add(f"<tr><th>{self.esc(key_label(k))}</th>{cells}</tr>")
        if total is not None:
            cells = "".join(
                self.num(f"{section}/(total)/{col}", total.get(col), d) for col, _, d in columns
            )
            self.add(f'<tr class="total"><th>{self.esc(self.L.t("total"))}</th>{cells}</tr>')
        self.add("</tbody></table></div>")

    def matrix(
        self,
        section: str,
        rows: list[dict[str, Any]],
        month_tag: str,
        month_label: Callable[[Any], str],
        value: str,
    ) -> None:
        if not rows:
            self.add(f'<p class="none">{self.esc(self.L.t("no_data"))}</p>')
            return
        months = sorted({str(r.get(month_tag)) for r in rows})
        provinces = sorted({str(r.get("province")) for r in rows}, key=lambda p: self.L.province(p))
        cell = {(str(r.get("province")), str(r.get(month_tag))): r.get(value) for r in rows}
        head = "".join(f"<th>{self.esc(month_label(m))}</th>" for m in months)
        self.add(
            f'<div class="scroll"><table><thead><tr><th>{self.esc(self.L.t("province"))}'
            f"</th>{head}</tr></thead><tbody>"
        )
        for p in provinces:
            cells = "".join(
                self.num(f"{section}/{p}/{m}/{value}", cell.get((p, m))) for m in months
            )
            self.add(f"<tr><th>{self.esc(self.L.province(p))}</th>{cells}</tr>")
        self.add("</tbody></table></div>")


_KEY_FIELDS = {
    "province": "province",
    "month": "month",
    "hijri": "hijri_month",
    "method": "method",
}
_KEY_HEADINGS = {"province": "province", "month": "month", "hijri": "month", "method": "method"}
_FIGURE_COLUMNS = [
    ("energy_mwh", "energy_mwh", None),
    ("income_million_toman", "income_mt", None),
    ("co2_avoided_t", "co2_t", None),
    ("availability_pct", "avail", 1),
]


def render(
    data: ReportData, *, lang: str, charts: dict[str, Path], persian_digits: bool = True
) -> str:
    """The report page in ``lang`` (``en`` or ``fa``)."""
    L = labels_for(lang, persian_digits=persian_digits)
    p = _Page(data, L, charts)
    esc = p.esc
    period = f"{L.moment(data.from_ms)} – {L.moment(data.to_ms)}"
    provinces = ", ".join(L.province(x) for x in data.provinces) or L.t("all_provinces")
    p.add(
        f'<!doctype html>\n<html lang="{lang}" dir="{"rtl" if L.rtl else "ltr"}"><head>'
        f'<meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{esc(L.t('title'))}</title><style>{_CSS}</style></head><body>"
    )
    p.add(
        f'<header><h1>{esc(L.t("title"))}</h1><p class="meta">'
        f"<b>{esc(L.t('period'))}:</b> {esc(period)}<br>"
        f"<b>{esc(L.t('provinces'))}:</b> {esc(provinces)}<br>"
        f"<b>{esc(L.t('generated'))}:</b> {esc(L.moment(data.generated_ms))} · "
        f"<b>{esc(L.t('source'))}:</b> InfluxDB <code>{esc(data.database)}</code></p></header>"
    )

    totals, peak, plants = data.one("totals"), data.one("peak"), data.one("plants")
    cards = [
        ("energy", "totals/energy_mwh", totals.get("energy_mwh"), L.t("mwh")),
        ("peak", "peak/peak_mw", peak.get("peak_mw"), L.t("mw")),
        (
            "income",
            "totals/income_million_toman",
            totals.get("income_million_toman"),
            L.t("million_toman"),
        ),
        ("co2", "totals/co2_avoided_t", totals.get("co2_avoided_t"), L.t("tonnes")),
        (
            "availability",
            "totals/availability_pct",
            totals.get("availability_pct"),
            "٪" if L.rtl else "%",
        ),
    ]
    p.add(f'<section id="key"><h2>{esc(L.t("key_figures"))}</h2><div class="cards">')
    for word, key, value, unit in cards:
        raw = "" if value is None else repr(value)
        p.add(
            f'<div class="card"><div class="l">{esc(L.t(word))}</div><div class="v" '
            f'data-key="{key}" data-value="{esc(raw)}">{esc(L.number(value, _decimals(value)))}'
            f" <small>{esc(unit)}</small></div></div>"
        )
    rep, reg = plants.get("plants_reporting"), plants.get("plants_registered")
    p.add(
        f'<div class="card"><div class="l">{esc(L.t("plants"))}</div><div class="v">'
        f'<span data-key="plants/plants_reporting" data-value="{esc(rep)}">'
        f'{esc(L.number(rep, 0))}</span> / <span data-key="plants/plants_registered" '
        f'data-value="{esc(reg)}">{esc(L.number(reg, 0))}</span></div></div></div>'
    )
    p.figure("daily_energy", L.t("daily"))
    p.add("</section>")

    p.add(f'<section id="provinces"><h2>{esc(L.t("by_province"))}</h2>')
    rows = sorted(data.table("provinces"), key=lambda r: -(r.get("energy_mwh") or 0.0))
    p.table(
        "provinces",
        rows,
        "province",
        L.province,
        [
            ("plants", "plants_n", 0),
            *_FIGURE_COLUMNS[:1],
            ("peak_kw", "peak_kw", None),
            *_FIGURE_COLUMNS[1:],
        ],
        total={
            **totals,
            "plants": reg,
            "peak_kw": None if peak.get("peak_mw") is None else peak["peak_mw"] * 1000,
        },
    )
    p.figure("province_energy", f"{L.t('energy')} ({L.t('mwh')})")
    p.figure("province_availability", L.t("avail"))
    p.add("</section>")

    for section, title, tag, label, matrix in (
        ("hijri_months", "by_hijri", "hijri", L.hijri_month, "province_hijri_months"),
        ("gregorian_months", "by_gregorian", "month", L.month, "province_gregorian_months"),
    ):
        month_tag = _KEY_FIELDS[tag]
        p.add(f'<section id="{section}"><h2>{esc(L.t(title))}</h2>')
        months = sorted(data.table(section), key=lambda r: str(r.get(month_tag)))
        p.table(section, months, tag, label, _FIGURE_COLUMNS)
        p.figure(f"{section}_energy", f"{L.t('energy')} ({L.t('mwh')})")
        p.add(f"<h3>{esc(L.t('energy_matrix'))}</h3>")
        p.matrix(matrix, data.table(matrix), month_tag, label, "energy_mwh")
        p.add(f"<h3>{esc(L.t('peak_matrix'))}</h3>")
        p.matrix(matrix, data.table(matrix), month_tag, label, "peak_kw")
        p.add("</section>")

    p.add(f'<section id="simulation"><h2>{esc(L.t("simulation"))}</h2>')
    p.add(f"<h3>{esc(L.t('sim_yield'))} <code>{esc(data.run_id or '–')}</code></h3>")
    p.table(
        "sim_yield",
        sorted(data.table("sim_yield"), key=lambda r: L.province(r.get("province"))),
        "province",
        L.province,
        [
            ("plants", "plants_n", 0),
            ("expected_mwh", "expected_mwh", None),
            ("expected_p90_mwh", "expected_p90_mwh", None),
            ("specific_yield_kwh_per_kwp", "specific_yield", 0),
            ("income_year1_million_toman", "income_year1_mt", 1),
            ("income_lifetime_million_toman", "income_lifetime_mt", 0),
        ],
    )
    p.add(f"<h3>{esc(L.t('outage'))} <code>{esc(data.outage_run_id or '–')}</code></h3>")
    regions = sorted(
        data.table("outage_regions"),
        key=lambda r: (r.get("region") == "(fleet)", L.province(r.get("region"))),
    )
    p.table(
        "outage_regions",
        [{**r, "province": r.get("region")} for r in regions],
        "province",
        L.province,
        [
            ("plants", "plants_n", 0),
            ("outage_hours", "outage_hours", 0),
            ("outage_hours_served", "served_hours", 0),
            ("coverage_pct", "coverage_pct", 1),
            ("unserved_kwh", "unserved_kwh", 0),
            ("grid_tied_lost_to_cuts_kwh", "lost_to_cuts_kwh", 0),
        ],
    )
    p.figure("outage_coverage", L.t("coverage_pct"))
    p.add(f"<h3>{esc(L.t('outage_months'))}</h3>")
    p.table(
        "outage_months",
        [
            {**r, "hijri_month": r.get("month")}
            for r in sorted(data.table("outage_months"), key=lambda r: str(r.get("month")))
        ],
        "hijri",
        L.hijri_month,
        [
            ("outage_hours", "outage_hours", 0),
            ("outage_hours_served", "served_hours", 0),
            ("coverage_pct", "coverage_pct", 1),
        ],
    )
    p.add("</section>")

    p.add(f'<section id="day_ahead"><h2>{esc(L.t("day_ahead"))}</h2>')
    p.add(f"<h3>{esc(L.t('forecast_run'))} <code>{esc(data.forecast_run_id or '–')}</code></h3>")
    fc_regions = sorted(
        data.table("forecast_regions"),
        key=lambda r: (r.get("region") == "(fleet)", L.province(r.get("region"))),
    )
    p.table(
        "forecast_regions",
        [{**r, "province": r.get("region")} for r in fc_regions],
        "province",
        L.province,
        [
            ("energy_mwh", "forecast_mwh", 2),
            ("peak_mw", "forecast_peak_mw", 3),
            ("peak_p90_mw", "forecast_peak_p90_mw", 3),
            ("hours", "forecast_hours", 0),
        ],
    )
    p.add(f"<h3>{esc(L.t('forecast_skill'))}</h3>")
    p.table(
        "forecast_skill",
        _skill_by_method(data.table("forecast_skill")),
        "method",
        str,
        [
            ("nMAE %", "nmae_pct", 1),
            ("skill vs climate", "skill_climate", 2),
            ("skill vs persistence", "skill_persistence", 2),
        ],
    )
    p.add("</section>")

    tariff = L.number(data.tariff_toman_per_kwh, 0)
    co2 = L.number(data.co2_kg_per_kwh, 2)
    p.add(f'<section id="notes"><h2>{esc(L.t("notes"))}</h2><ul>')
    for key in ("note_energy", "note_peak", "note_income", "note_availability", "note_sim"):
        p.add(f"<li>{esc(L.t(key).format(tariff=tariff, co2=co2))}</li>")
    p.add("</ul>")
    p.add(f"<details><summary>{esc(L.t('queries'))}</summary>")
    for s in data.sections.values():
        p.add(f"<p><code>{esc(s.key)}</code></p><pre>{esc(s.influxql)}</pre>")
    p.add("</details></section></body></html>\n")
    return "".join(p.parts)


def _skill_by_method(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The period's mean of the daily skill rows, per method."""
    out: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        per = out.setdefault(str(r.get("method") or "nwp"), {})
        for col in ("nMAE %", "skill vs climate", "skill vs persistence"):
            v = r.get(col)
            if isinstance(v, int | float):
                per.setdefault(col, []).append(float(v))
    return [
        {"method": m, **{c: sum(v) / len(v) for c, v in cols.items() if v}}
        for m, cols in sorted(out.items())
    ]
