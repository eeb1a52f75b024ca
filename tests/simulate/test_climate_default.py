"""The climate default's sources, its daily spread, its sampled years and its validation.

``simulate.merra2`` (MERRA-2 monthly distributions of daily GHI), ``simulate.climate_sources``
(the built table and its rule), ``simulate.climatology`` (typical and sampled years),
``simulate.spread`` (P90/P50/P10) and ``simulate.climate_validation`` (the README's table).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulate import merra2
from simulate.climate_sources import (
    CASPIAN_LOWLAND,
    DAYS_IN_MONTH,
    angstrom_prescott_ghi,
    capital_ghi_sources,
    default_csv_text,
    sources,
    station_normals,
)
from simulate.climatology import default_weather, load_climatology, sampled_years
from telemetry.errors import InputError
from telemetry.registry import parse_fleet

ROOT = Path(__file__).resolve().parents[2]
MONTHS = [f"{m:02d}" for m in range(1, 13)]

# The default's annual GHI per capital [kWh/m²/yr] and the source it was taken from. A change
# of any of them must be a decision: re-check the named source and the README's validation.
DEFAULT_ANNUAL_GHI = {
    "Tehran": (2081, "merra2"),
    "Mashhad": (2056, "merra2"),
    "Isfahan": (2220, "merra2"),
    "Shiraz": (2259, "merra2"),
    "Tabriz": (1923, "merra2"),
    "Ahvaz": (2140, "merra2"),
    "Kerman": (2315, "merra2"),
    "Karaj": (2077, "merra2"),
    "Qom": (2140, "merra2"),
    "Urmia": (1969, "merra2"),
    "Rasht": (1386, "previous"),
    "Zahedan": (2300, "merra2"),
    "Kermanshah": (2102, "merra2"),
    "Hamadan": (2121, "merra2"),
    "Yazd": (2238, "merra2"),
    "Ardabil": (1868, "merra2"),
    "Bandar Abbas": (2179, "merra2"),
    "Arak": (2152, "merra2"),
    "Zanjan": (2028, "merra2"),
    "Sanandaj": (2087, "merra2"),
    "Qazvin": (2051, "merra2"),
    "Khorramabad": (2144, "merra2"),
    "Gorgan": (1538, "previous"),
    "Sari": (1481, "previous"),
    "Birjand": (2226, "merra2"),
    "Bojnurd": (1978, "merra2"),
    "Ilam": (2094, "merra2"),
    "Bushehr": (2173, "merra2"),
    "Shahr-e Kord": (2220, "merra2"),
    "Yasuj": (2229, "merra2"),
    "Semnan": (2069, "merra2"),
}


# --------------------------------------------------------------------------- MERRA-2


def test_merra2_tehran_is_the_issue_s_reference() -> None:
    """Issue 16 quotes MERRA-2 2011–2015 (3° cell) at about 2,070 kWh/m² for Tehran."""
    annual = merra2.monthly_ghi(35.689, 51.389) @ DAYS_IN_MONTH
    assert 2040 < annual < 2110, annual
    g = merra2.monthly_ghi(35.689, 51.389)
    assert g.argmax() == 5
    assert g.argmin() in (0, 11)


def test_merra2_relative_quantiles_are_a_distribution() -> None:
    p = (np.arange(1000) + 0.5) / 1000
    for lat, lon, month in [(35.7, 51.4, 1), (37.3, 49.6, 11), (31.9, 54.4, 6), (52.5, 13.4, 12)]:
        q = merra2.relative_quantiles(lat, lon, month, p)
        assert np.all(np.diff(q) >= 0), (lat, lon, month)
        assert q.min() >= 0
        assert abs(q.mean() - 1) < 0.02, (lat, lon, month, q.mean())
    # Grey days: a Caspian November spreads far wider than a Yazd June.
    wide = merra2.relative_quantiles(37.3, 49.6, 11, p, 2.0)
    narrow = merra2.relative_quantiles(31.9, 54.4, 6, p, 8.4)
    assert np.percentile(wide, 90) - np.percentile(wide, 10) > 3 * (
        np.percentile(narrow, 90) - np.percentile(narrow, 10)
    )


def test_merra2_refuses_the_open_ocean_in_one_line() -> None:
    with pytest.raises(InputError) as info:
        merra2.monthly_ghi(0.0, -140.0)
    assert "\n" not in str(info.value)
    assert "--weather" in str(info.value)
    assert not merra2.coverage(0.0, -140.0).covered
    assert merra2.coverage(35.7, 51.4).weight_with_data == 1.0


# --------------------------------------------------------------------------- the built table


def test_shipped_table_is_the_build_of_its_sources() -> None:
    shipped = (ROOT / "simulate" / "data" / "iran_climatology.csv").read_text("utf-8")
    assert shipped == default_csv_text(), (
        "simulate/data/iran_climatology.csv is not what its sources and rule give: rebuild "
        "it with `python -m simulate.climate_sources --write` and re-check the README's "
        "validation table"
    )


def test_every_default_value_names_a_cited_source() -> None:
    table = load_climatology()
    known = set(sources())
    for col in ("ghi_source", "temp_source", "wind_source"):
        for value in table[col]:
            assert value.split(" ")[0] in known, (col, value)
    assert set(station_normals()["source_id"]) <= known
    for s in sources().values():
        assert s.citation, s.source_id
        assert s.dated, s.source_id


@pytest.mark.parametrize("city", list(DEFAULT_ANNUAL_GHI))
def test_default_annual_ghi_is_pinned_with_its_source(city: str) -> None:
    want, source = DEFAULT_ANNUAL_GHI[city]
    row = load_climatology().set_index("city").loc[city]
    annual = row[[f"ghi_kwh_m2_day_{m}" for m in MONTHS]].to_numpy(float) @ DAYS_IN_MONTH
    cite = sources()[source]
    assert round(annual) == want, (
        f"{city}: the default's annual GHI changed ({want} -> {annual:.0f} kWh/m2): re-check "
        f"{cite.citation} ({cite.period}, {cite.dated}) and the README's validation table"
    )
    assert row["ghi_source"].split(" ")[0] == source
    if source == "merra2":
        np.testing.assert_allclose(
            row[[f"ghi_kwh_m2_day_{m}" for m in MONTHS]].to_numpy(float),
            merra2.monthly_ghi(row["latitude"], row["longitude"]),
            atol=5e-4,
        )


def test_caspian_lowland_keeps_its_cloudy_coast() -> None:
    table = load_climatology().set_index("city")
    for city in CASPIAN_LOWLAND:
        ghi = table.loc[city, [f"ghi_kwh_m2_day_{m}" for m in MONTHS]].to_numpy(float)
        mer = capital_ghi_sources(city)["merra2"]
        assert ghi @ DAYS_IN_MONTH < 0.85 * (mer @ DAYS_IN_MONTH), city


def test_angstrom_prescott_against_fao56_example_10() -> None:
    """FAO-56 Example 10: Rio de Janeiro (22°54' S), May, 220 h of sunshine: Ra 25.1 MJ/m²/day,
    N 10.9 h, Rs = (0.25 + 0.50 × 7.1/10.9) × 25.1 = 14.5 MJ/m²/day (for 15 May)."""
    sun = np.full(12, 200.0)
    sun[4] = 220.0
    rs_kwh = angstrom_prescott_ghi(-22.9, sun)[4]
    assert rs_kwh * 3.6 == pytest.approx(14.5, rel=0.02)


def test_station_sources_are_independent_estimates() -> None:
    src = capital_ghi_sources("Tabriz")
    assert set(src) == {"merra2", "ap:euwiki_Tabriz"}
    assert 1500 < src["ap:euwiki_Tabriz"] @ DAYS_IN_MONTH < 2100


# --------------------------------------------------------------------------- daily spread


def _daily_kwh(w: pd.DataFrame) -> pd.Series:
    return w["ghi"].resample("D").sum() / 1000.0


def test_typical_year_has_the_grey_days_of_its_month() -> None:
    """The generated days follow MERRA-2's distribution for the month, not a fixed shape."""
    lat, lon = 37.28, 49.583  # Rasht: cloudy winters
    w = default_weather(lat, lon)
    d = _daily_kwh(w)
    nov = d[d.index.month == 11]
    jun = _daily_kwh(default_weather(31.897, 54.357))  # Yazd: clear summers
    jun = jun[jun.index.month == 6]
    assert nov.std() / nov.mean() > 0.35  # many grey days
    assert jun.std() / jun.mean() < 0.12
    # Quantiles of the generated days ≈ the source's (day ÷ month mean), within the clipping.
    p = (np.arange(30) + 0.5) / 30
    want = merra2.relative_quantiles(lat, lon, 11, p, float(nov.mean()))
    got = np.sort(nov.to_numpy() / nov.mean())
    assert np.abs(np.percentile(got, [25, 50, 75]) - np.percentile(want, [25, 50, 75])).max() < 0.15


def test_sampled_years_vary_about_the_typical_year() -> None:
    lat, lon = 35.689, 51.389
    frames = sampled_years(lat, lon, [None, *range(30)])
    typical = frames[0]
    annual = np.array([f["ghi"].sum() / 1000 for f in frames[1:]])
    assert annual.std() > 0
    assert abs(annual.mean() / (typical["ghi"].sum() / 1000) - 1) < 0.01
    assert annual.max() / annual.min() - 1 < 0.08
    pd.testing.assert_frame_equal(default_weather(lat, lon, sample=7), frames[8])
    pd.testing.assert_frame_equal(default_weather(lat, lon), typical)
    assert "sampled year 7" in frames[8].attrs["source"]
    for bad in (-1, 1.5, True):
        with pytest.raises(InputError):
            default_weather(lat, lon, sample=bad)


# --------------------------------------------------------------------------- P90/P50/P10


def test_yield_spread_orders_and_centres(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from simulate.fleet import run_fleet
    from simulate.spread import yield_spread

    monkeypatch.setenv("ROSHANAI_CACHE_DIR", str(tmp_path))
    fleet = parse_fleet(
        "plant_id,latitude,longitude,dc_kwp,ac_kw,tilt_deg,azimuth_deg\n"
        "A,35.70,51.40,5,5,30,180\nB,35.72,51.42,5,5,25,170\nC,37.28,49.58,5,5,30,180\n",
        "three",
    )
    spread = yield_spread(fleet, 12)
    plants = spread.plants().set_index("plant_id")
    assert (plants["ac_energy_p90_kwh"] <= plants["ac_energy_p50_kwh"]).all()
    assert (plants["ac_energy_p50_kwh"] <= plants["ac_energy_p10_kwh"]).all()
    assert (plants["ac_energy_p10_kwh"] > plants["ac_energy_p90_kwh"]).all()
    typical = run_fleet(fleet).summary.set_index("plant_id")["ac_energy_kwh"]
    np.testing.assert_allclose(plants["ac_energy_p50_kwh"], typical, rtol=0.015)
    f = spread.fleet_kwh()
    assert f["p90"] <= f["p50"] <= f["p10"]
    # A and B share a cell and a draw: their years rise and fall together.
    assert np.corrcoef(spread.energy_kwh[0], spread.energy_kwh[1])[0, 1] > 0.9
    for bad in (1, 0, 2.5, True):
        with pytest.raises(InputError):
            yield_spread(fleet, bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- validation


@pytest.fixture(scope="module")
def validation() -> pd.DataFrame:
    from simulate.climate_validation import validation_table

    return validation_table()


def test_every_capital_has_a_validation_row(validation: pd.DataFrame) -> None:
    assert len(validation) == 31
    assert validation["merra2_ghi_kwh_m2"].notna().all()


def test_default_within_tolerance_where_sources_agree(validation: pd.DataFrame) -> None:
    from simulate.climate_validation import AGREEMENT_PCT, TOLERANCE_PCT

    agree = validation["sources_spread_pct"] <= AGREEMENT_PCT
    assert (validation.loc[agree, "default_vs_sources_pct"].abs() <= TOLERANCE_PCT).all()
    assert not validation["verdict"].str.contains("OUTSIDE").any()


def test_program_yields_are_met_within_seven_percent(validation: pd.DataFrame) -> None:
    """The program's own figures (Tehran ≈ 1,800, south-east ≈ 1,950, Caspian ≈ 1,200)."""
    v = validation.dropna(subset=["program_yield"])
    assert len(v) == 6
    ratio = v["default_yield"] / v["program_yield"]
    assert ratio.between(0.93, 1.09).all(), v[["city", "default_yield", "program_yield"]]


def test_readme_carries_todays_validation_table(validation: pd.DataFrame) -> None:
    from simulate.climate_validation import markdown

    readme = (ROOT / "README.md").read_text("utf-8")
    m = re.search(r"<!-- climate-validation -->\n(.*?)<!-- /climate-validation -->", readme, re.S)
    assert m, "README lacks the climate validation table markers"
    assert m.group(1) == markdown(validation), (
        "the README's climate validation table is stale: paste the output of "
        "`roshanai simulate climate --markdown`"
    )
