"""The tariff table, its CSV, the plants' contract columns and the 20-year projection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from telemetry.errors import FleetFileError, InputError
from telemetry.registry import parse_fleet
from telemetry.tariffs import (
    TariffTable,
    contract_starts,
    parse_tariff_table,
    plant_categories,
    project,
    read_tariff_table,
)

HEADER = "plant_id,latitude,longitude,dc_kwp,ac_kw,tilt_deg,azimuth_deg"
ROW = "35.7,51.4,5,5,30,180"
SHAPED = (
    "category,first_year,last_year,toman_per_kwh,source,date\n"
    "household,1,7,2500,test,2025\n"
    "household,8,11,1500,test,2025\n"
    "household,12,20,1000,test,2025\n"
)


def test_hand_checked_projection_flat() -> None:
    # 5 kWp, 8,000 kWh in year 1, 0.5 %/year: sum of 8000 * 0.995**k, k = 0..19
    p = project(np.array([8000.0]), TariffTable().plant_rates(["household"], ["a"]), 0.005)
    assert p.energy_kwh[0, 0] == 8000.0
    assert p.energy_kwh[0, 19] == pytest.approx(8000.0 * 0.995**19)  # 7,273.25 kWh
    t = p.totals()
    assert t["energy_lifetime_kwh"][0] == pytest.approx(152_623.23, abs=0.01)
    assert t["income_year1_toman"][0] == 20_000_000.0
    assert t["income_lifetime_toman"][0] == pytest.approx(381_558_079, abs=1)
    assert t["income_lifetime_rial"][0] == pytest.approx(3_815_580_789, abs=10)


def test_hand_checked_projection_year_shaped() -> None:
    table = TariffTable().merged(parse_tariff_table(SHAPED))
    p = project(np.array([8000.0]), table.plant_rates(["household"], ["a"]), 0.005)
    e = 8000.0 * 0.995 ** np.arange(20)
    want = 2500 * e[:7].sum() + 1500 * e[7:11].sum() + 1000 * e[11:].sum()
    assert p.totals()["income_lifetime_toman"][0] == pytest.approx(want)
    # by hand: 55,166.7 kWh x 2500 + 30,665.6 x 1500 + 66,790.1 x 1000 = 137.92 + 46.00 + 66.79 M
    assert want == pytest.approx(250_706_533, abs=1)
    assert table.rates("supported")[10] == 3000.0  # other categories stay


def test_no_degradation_is_twenty_equal_years() -> None:
    p = project(np.array([1000.0, 0.0]), np.full((2, 20), 3000.0), 0.0)
    assert p.totals()["income_lifetime_toman"].tolist() == [60_000_000.0, 0.0]


def test_plant_and_region_tables() -> None:
    fleet = parse_fleet(
        f"{HEADER},province,tariff_category,contract_start\n"
        f"a,{ROW},Tehran,supported,2024-02-29\n"
        f"b,{ROW},,,\n"
    )
    cats = plant_categories(fleet.plants)
    assert cats == ["supported", "household"]
    starts = contract_starts(fleet.plants, 2025)
    assert starts.astype(str).tolist() == ["2024-02-29", "2025-01-01"]
    p = project(np.array([8000.0, 4000.0]), TariffTable().plant_rates(cats, fleet.plant_ids))
    plants = p.plant_table(fleet.plant_ids, ["Tehran", ""], cats, starts)
    assert len(plants) == 40
    a = plants[plants.plant_id == "a"].set_index("contract_year")
    assert str(a.year_start[2])[:10] == "2025-02-28"  # 29 February → 28 February
    assert str(a.year_start[5])[:10] == "2028-02-29"
    assert (a.income_rial == 10 * a.income_toman).all()
    regions = p.region_table(["Tehran", ""])
    assert set(regions.region) == {"Tehran", "(none)", "(fleet)"}
    fleet_rows = regions[regions.region == "(fleet)"]
    assert fleet_rows.income_toman.sum() == pytest.approx(p.income_toman.sum())
    assert fleet_rows.iloc[0].income_toman == 8000 * 3000 + 4000 * 2500


def test_fleet_files_without_the_columns_still_read() -> None:
    fleet = parse_fleet(f"{HEADER}\na,{ROW}\n")
    assert plant_categories(fleet.plants) == ["household"]
    assert contract_starts(fleet.plants, 2030).astype(str).tolist() == ["2030-01-01"]
    assert plant_categories(pd.DataFrame({"x": [1]})) == ["household"]


@pytest.mark.parametrize("value", ["2025-13-01", "21/03/2025", "1404-01-01x", "soon"])
def test_a_contract_start_not_a_date_is_refused(value: str) -> None:
    with pytest.raises(FleetFileError, match=r"line 2, column contract_start: .* is not a date"):
        parse_fleet(f"{HEADER},contract_start\na,{ROW},{value}\n")


def test_an_unknown_category_names_the_plant() -> None:
    with pytest.raises(InputError, match=r"plant b: tariff_category 'widow' is not in"):
        TariffTable().plant_rates(["household", "widow"], ["a", "b"])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("category,first_year,toman_per_kwh\n", "missing column"),
        ("category,first_year,last_year,toman_per_kwh\n", "no rates"),
        ("category,first_year,last_year,toman_per_kwh\nhousehold,1,10,2500\n", "year 11"),
        (
            "category,first_year,last_year,toman_per_kwh\nh,1,20,2500\nh,5,5,1\n",
            "more than one rate for contract year 5",
        ),
        ("category,first_year,last_year,toman_per_kwh\nh,1,21,2500\n", "within 1–20"),
        ("category,first_year,last_year,toman_per_kwh\nh,1,20,cheap\n", "not a number"),
        ("category,first_year,last_year,toman_per_kwh\nh,1,20,-5\n", ">= 0"),
        ("category,first_year,last_year,toman_per_kwh\nh,one,20,5\n", "whole years"),
        ("category,first_year,last_year,toman_per_kwh\nh h,1,20,5\n", "category"),
        ("category,first_year,last_year,toman_per_kwh\nh,1,20\n", "3 fields"),
    ],
)
def test_a_malformed_tariff_csv_is_one_reason(text: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        parse_tariff_table(text, "t.csv")


def test_read_tariff_table(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(SHAPED, encoding="utf-8")
    assert read_tariff_table(tmp_path / "t.csv").rates("household")[7] == 1500.0
    with pytest.raises(InputError, match="not found"):
        read_tariff_table(tmp_path / "missing.csv")
