"""The defaults of money, fuel and carbon are claims with sources: a changed value fails here,
naming the source to re-check (telemetry/factors.py, telemetry/tariffs.py)."""

from __future__ import annotations

import pytest

from telemetry import factors as f
from telemetry.tariffs import DEFAULT_CATEGORY, DEFAULT_TARIFFS, TariffTable

#: name → (value, source, date) as last checked against the source.
CHECKED = {
    "TARIFF_TOMAN_PER_KWH": (2500.0, "IRIB News Hamedan", "2025-10-03"),
    "THERMAL_EFFICIENCY": (0.3856, "Mehr News", "2020-12-02"),
    "GAS_LHV_MJ_PER_M3": (34.0, "assumption", "-"),
    "CO2_GAS_G_PER_MJ": (56.1, "IPCC 2006", "2006"),
    "CO2_GRID_AVERAGE_KG_PER_KWH": (0.655, "Our World in Data", "2023"),
    "DEGRADATION_PER_YEAR": (0.005, "Jordan & Kurtz", "2013"),
    "RIAL_PER_TOMAN": (10.0, "1 toman = 10 rial", "-"),
}

#: category → (toman/kWh for all 20 years, source, date).
TARIFFS = {
    "household": (2500.0, "IRIB News Hamedan", "2025-10-03"),
    "supported": (3000.0, "IRIB News Hamedan", "2025-10-03"),
    "relief_committee": (4580.0, "IRIB News Isfahan", "2025-10-11"),
    "satba_base": (1456.0, "SATBA", "undated"),
}


@pytest.mark.parametrize("name", sorted(CHECKED))
def test_each_default_is_the_value_its_source_gives(name: str) -> None:
    value, source, date = CHECKED[name]
    got = getattr(f, name)
    entry = f.SOURCES[name]
    hint = f"if you changed {name}, re-check {entry.source} ({entry.date}) and update this test"
    assert got == pytest.approx(value), hint
    assert entry.value == pytest.approx(got), f"SOURCES[{name!r}] disagrees with {name}"
    assert source in entry.source, hint
    assert entry.date == date, hint


def test_every_sourced_default_is_checked() -> None:
    assert set(f.SOURCES) == set(CHECKED), "a default without a checked source is a bare claim"


def test_derived_factors_follow_their_inputs() -> None:
    hint = "re-check Mehr News 2020-12-02 (TPPH efficiency) and IPCC 2006 table 2.2"
    # 3.6 MJ/kWh / 0.3856 = 9.336 MJ of gas burnt per kWh
    co2, gas = f.CO2_GAS_MARGIN_KG_PER_KWH, f.GAS_M3_PER_KWH
    assert co2 == pytest.approx(0.52376, abs=1e-5), hint
    assert f.CO2_KG_PER_KWH == f.CO2_GAS_MARGIN_KG_PER_KWH  # the reports' CO2 is the gas margin
    assert gas == pytest.approx(0.27459, abs=1e-5), hint
    # the two CO2 factors are different things: the grid average is the larger here
    assert f.CO2_GRID_AVERAGE_KG_PER_KWH > f.CO2_GAS_MARGIN_KG_PER_KWH


@pytest.mark.parametrize("category", sorted(TARIFFS))
def test_each_tariff_is_the_rate_its_source_gives(category: str) -> None:
    rate, source, date = TARIFFS[category]
    rows = [r for r in DEFAULT_TARIFFS if r.category == category]
    where = "; ".join(f"{r.source} ({r.date})" for r in rows)
    hint = f"if you changed tariff {category!r}, re-check {where} and update this test"
    assert TariffTable().rates(category).tolist() == [rate] * 20, hint
    assert all(source in r.source and r.date == date for r in rows), hint


def test_the_default_category_and_tariff_agree() -> None:
    assert DEFAULT_CATEGORY == "household"
    assert TariffTable().rates(DEFAULT_CATEGORY)[0] == f.TARIFF_TOMAN_PER_KWH
    assert set(TariffTable().categories) == set(TARIFFS)
